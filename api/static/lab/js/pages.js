// The experiments list, one experiment's figures, and sweeps (grid builder, live table, figures).

import { ApiError, follow, getJSON, imageURL, postJSON } from "./api.js";
import * as spec from "./spec.js";

const $ = (id) => document.getElementById(id);
function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function status(s) { return el("span", { className: `status ${s}`, textContent: s }); }

function bar(fraction, label) {
  return el("progress", { max: 1, value: fraction, ariaLabel: label, title: `${Math.round(fraction * 100)} %` });
}

function figure(src, caption, alt) {
  const img = el("img", { alt: alt || caption, loading: "lazy" });
  imageURL(src).then((u) => { img.src = u; });
  return el("figure", {}, img, el("figcaption", { textContent: caption }));
}

export async function showExperiments() {
  let cursor = null;
  const body = $("experiments");
  const load = async () => {
    const page = await getJSON(`/v1/experiments?limit=30${cursor ? `&cursor=${cursor}` : ""}`);
    for (const e of page.items) {
      body.append(el("tr", {},
        el("td", {}, el("a", { href: `/?page=experiment&id=${e.id}`, textContent: e.spec.name })),
        el("td", {}, status(e.status)),
        el("td", {}, bar(e.progress.fraction, `${e.spec.name} progress`)),
        el("td", { textContent: e.diagnosis ? e.diagnosis.verdict : "" }),
        el("td", { textContent: new Date(e.created_at).toLocaleString() })));
    }
    cursor = page.next_cursor;
    $("more").hidden = !cursor;
  };
  $("more").addEventListener("click", load);
  await load();
  // While anything runs, refresh the first page now and then.
  setInterval(async () => {
    if (!body.querySelector(".status.running, .status.queued")) return;
    body.replaceChildren();
    cursor = null;
    await load();
  }, 2000);
}

export async function showExperiment(id) {
  const exp = await getJSON(`/v1/experiments/${id}`);
  $("exp-title").textContent = `${exp.spec.name} (${exp.id})`;
  $("exp-status").replaceWith(Object.assign(status(exp.status), { id: "exp-status" }));
  $("exp-spec").textContent = JSON.stringify(exp.spec, null, 2);
  const q = new URLSearchParams({ run: exp.id });
  $("exp-lab").href = `/?${q}`;
  const d = exp.diagnosis;
  $("exp-diagnosis").replaceChildren(...(d ? [
    el("h3", { textContent: `Verdict: ${d.verdict}` }),
    el("ul", {}, ...d.evidence.map((t) => el("li", { textContent: t }))),
  ] : exp.error ? [el("p", { className: "error", textContent: exp.error })] : []));
  // Names and captions from the API (GET .../plots), so the page follows its figures.
  const index = await getJSON(`/v1/experiments/${id}/plots`);
  const plots = index.plots.map((p) => ({ name: p.name, caption: `${p.title}: ${p.caption}`, url: p.urls.png }));
  if (exp.status === "queued") {
    $("exp-figures").replaceChildren(el("p", { className: "hint", textContent: "No figure until it has recorded something." }));
    return;
  }
  $("exp-figures").replaceChildren(...plots.map((p) => figure(p.url, p.caption, p.alt)));
}

function parseValues(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    if (s === "true" || s === "false") return s === "true";
    return s !== "" && !Number.isNaN(Number(s)) ? Number(s) : s;
  });
}

export async function showSweepBuilder() {
  const schema = await spec.loadSchema();
  for (const sel of document.querySelectorAll(".axis-path")) {
    for (const path of spec.CONTROLS) if (schema.has(path)) sel.add(new Option(path, path));
  }
  $("axis1-path").value = "model.activation";
  $("axis2-path").value = "model.depth";
  // The base: the lab's last spec, from the lab's URL parameters if the link carries them.
  $("sweep-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    for (const id of ["axis1-error", "axis2-error", "sweep-error"]) $(id).textContent = "";
    const grid = {
      [$("axis1-path").value]: parseValues($("axis1-values").value),
      [$("axis2-path").value]: parseValues($("axis2-values").value),
    };
    const base = {};
    for (const [k, raw] of new URLSearchParams(location.search)) {
      if (spec.RESERVED.has(k) || k in grid || !schema.has(k)) continue;
      const v = spec.fromRaw(schema.get(k), raw);
      const parts = k.split(".");
      let node = base;
      for (const p of parts.slice(0, -1)) node = node[p] ??= {};
      node[parts.at(-1)] = v;
    }
    try {
      const sweep = await postJSON("/v1/sweeps", { name: $("sweep-name").value, base, grid });
      history.pushState(null, "", `/?page=sweep&id=${sweep.id}`);
      showSweep(sweep.id);
    } catch (e) {
      if (!(e instanceof ApiError)) { $("sweep-error").textContent = e.message; return; }
      const rest = [];
      for (const err of e.errors) {
        const path = err.field.replace(/^grid\./, "");
        if (path === $("axis1-path").value) $("axis1-error").textContent = err.message;
        else if (path === $("axis2-path").value) $("axis2-error").textContent = err.message;
        else rest.push(`${err.field}: ${err.message}`);
      }
      if (rest.length || !e.errors.length) $("sweep-error").textContent = rest.join("; ") || e.message;
    }
  });
}

function sweepRow(paths, r) {
  const fmt = (v) => (v === null || v === undefined ? "" : Number(v).toFixed(2));
  return el("tr", { id: `row-${r.id}` },
    ...paths.map((p) => el("td", { textContent: String(r.params[p]) })),
    el("td", {}, status(r.status)),
    el("td", {}, bar(r.progress, `${r.id} progress`)),
    el("td", { textContent: fmt(r.backprop_ratio_log10) }),
    el("td", { textContent: fmt(r.backprop_decay_per_layer) }),
    el("td", { textContent: fmt(r.weight_grad_ratio_log10) }),
    el("td", { textContent: fmt(r.weight_grad_decay_per_layer) }),
    el("td", { textContent: fmt(r.final_val_accuracy) }),
    el("td", { textContent: r.verdict || r.error || "" }),
    el("td", {}, el("a", { href: `/?page=experiment&id=${r.id}`, textContent: "figures" })));
}

export async function showSweep(id) {
  $("sweep-form").hidden = true;
  $("sweep-view").hidden = false;
  let sweep = await getJSON(`/v1/sweeps/${id}`);
  const paths = Object.keys(sweep.grid);
  $("sweep-title").textContent = `Sweep ${sweep.name} (${sweep.id}): ${paths.join(" × ")}`;
  $("sweep-head").replaceChildren(el("tr", {}, ...[...paths, "status", "progress",
    "back-propagated: log10 layer 0 / last", "back-propagated: factor / layer",
    "weight gradient: log10 layer 0 / last", "weight gradient: factor / layer",
    "val accuracy", "verdict", ""].map((t) => el("th", { scope: "col", textContent: t }))));
  const render = () => {
    $("sweep-status").replaceWith(Object.assign(status(sweep.status), { id: "sweep-status" }));
    $("sweep-progress").value = sweep.progress;
    $("sweep-rows").replaceChildren(...sweep.children.map((r) => sweepRow(paths, r)));
  };
  render();
  const done = async () => {
    const index = await getJSON(`/v1/sweeps/${id}/plots`);
    $("sweep-figures").replaceChildren(...index.plots.map((p) =>
      figure(p.urls.png, `${p.title}: ${p.caption}`)));
  };
  await follow(`/v1/sweeps/${id}/events`, (name, data) => {
    if (name === "status") sweep.status = data.status;
    else if (name === "child") sweep.children = sweep.children.map((r) => (r.id === data.id ? data : r));
    else if (name === "progress") { sweep.progress = data.progress; sweep.counts = data.counts; }
    else if (name === "end") sweep = data;
    render();
  });
  done();
}
