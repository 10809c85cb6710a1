// The lab's entry point: one page per ?page= (lab by default), all in index.html.

import { showLab } from "./lab.js";
import { showExperiment, showExperiments, showSweep, showSweepBuilder } from "./pages.js";

const q = new URLSearchParams(location.search);
const page = q.get("page") || "lab";
const id = q.get("id");

document.getElementById(`page-${page}`)?.removeAttribute("hidden");
for (const a of document.querySelectorAll("nav a[data-page]")) {
  if (a.dataset.page === page || (page === "experiment" && a.dataset.page === "experiments")) {
    a.setAttribute("aria-current", "page");
  }
}

const shows = {
  lab: showLab,
  experiments: showExperiments,
  experiment: () => showExperiment(id),
  sweep: () => (id ? showSweep(id) : showSweepBuilder()),
};

(shows[page] || showLab)().then(() => {
  document.body.dataset.ready = "true";
}).catch((e) => {
  const banner = document.getElementById("banner");
  banner.hidden = false;
  banner.textContent = `The lab could not load: ${e.message}`;
  document.body.dataset.ready = "error";
});
