// The lab page: pick a preset or set the controls, run, watch the gradients live, read the
// verdict, press a remedy, compare with earlier runs. Its state is its URL (see spec.js).

import { ApiError, follow, getJSON, imageURL, postJSON } from "./api.js";
import { drawCurves, drawProfile } from "./charts.js";
import { LESSONS } from "./lessons.js";
import * as spec from "./spec.js";

const $ = (id) => document.getElementById(id);
let presets = [];
let current = null; // {id, rows, metrics, theory, abort}
const statsCache = new Map();

const emptyMetrics = () => ({ epoch: [], train_loss: [], val_loss: [], train_accuracy: [], val_accuracy: [] });

function params() { return new URLSearchParams(location.search); }

function setStatus(el, status) {
  el.textContent = status || "";
  el.className = `status ${status || ""}`;
}

function presetValues(name) {
  const p = presets.find((x) => x.name === name);
  return p ? spec.valuesOf(p.spec) : null;
}

function applyPreset(name, change = {}) {
  const values = presetValues(name);
  if (!values) return;
  spec.writeValues({ ...values, ...change });
  $("preset").value = name;
  $("preset-text").textContent = presets.find((x) => x.name === name).description;
  spec.valuesToURL(spec.readValues(), { name });
}

async function theoryFor(values) {
  const q = new URLSearchParams();
  const map = { activation: "model.activation", depth: "model.depth", init: "model.init",
    width: "model.width", negative_slope: "model.negative_slope" };
  for (const [k, path] of Object.entries(map)) if (values[path] !== undefined) q.set(k, values[path]);
  try {
    const t = await getJSON(`/v1/theory?${q}`);
    return values["model.batch_norm"] || values["model.residual"] || !t.applies ? null : t.grad_profile_log10;
  } catch {
    return null; // a spec the theory cannot take (a width list, a server limit): no line
  }
}

let pending = false;
function redraw() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(async () => {
    pending = false;
    const c = current;
    if (!c || !c.rows.length) return;
    const last = c.rows.at(-1);
    const overlays = [];
    for (const id of compareIds()) {
      if (id === c.id) continue;
      const s = statsCache.get(id);
      if (s) overlays.push({ label: s.label, grad: s.grad0 });
    }
    drawProfile($("profile"), {
      step: last.step, grad: last.stats.grad_norm, backprop: last.stats.backprop_norm,
      grad0: c.rows[0].stats.grad_norm, theory: c.theory, overlays,
    });
    $("profile-caption").textContent = `Gradient profile at step ${last.step} (record ${last.index + 1}): ` +
      "weight-gradient norm and back-propagated signal per layer, log scale, input on the left; " +
      "dashed: step 0 and the mean-field theory.";
  });
}

function showVerdict(exp) {
  const d = exp.diagnosis;
  $("verdict-panel").hidden = !d && !exp.error;
  $("run-link").href = `/?page=experiment&id=${exp.id}`;
  if (!d) {
    $("verdict").textContent = exp.error ? `${exp.status}: ${exp.error}` : exp.status;
    $("evidence").replaceChildren();
    $("remedies").replaceChildren();
    return;
  }
  $("verdict").textContent = d.verdict;
  $("evidence").replaceChildren(...d.evidence.map((e) => Object.assign(document.createElement("li"), { textContent: e })));
  $("remedies").replaceChildren(...d.remedies.map((r, k) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "remedy";
    b.dataset.k = k;
    const change = Object.entries(r.change).map(([p, v]) => `${p} = ${v}`).join(", ");
    b.append(`${k + 1}. Rerun with ${change}`, Object.assign(document.createElement("small"), { textContent: r.why }));
    b.addEventListener("click", () => runRemedy(exp.id, k));
    return b;
  }));
}

async function runRemedy(id, k) {
  try {
    const exp = await postJSON(`/v1/experiments/${id}/remedies/${k}`);
    spec.writeValues(spec.valuesOf(exp.spec));
    spec.valuesToURL(spec.readValues(), { run: exp.id, name: exp.spec.name });
    watch(exp);
  } catch (e) {
    $("form-error").textContent = e.message;
  }
}

/** Follow an experiment's live events into the figures. */
export async function watch(exp) {
  if (current?.abort) current.abort.abort();
  const abort = new AbortController();
  const c = current = { id: exp.id, rows: [], metrics: emptyMetrics(), theory: null, abort };
  $("run-title").textContent = `${exp.spec.name} (${exp.id})`;
  $("verdict-panel").hidden = true;
  const profile = $("profile");
  if (profile._plot) { profile._plot.destroy(); profile._plot = null; }
  profile.replaceChildren();
  profile.dataset.updates = "0";
  delete profile.dataset.step;
  profile.setAttribute("aria-label", "Gradient profile: nothing recorded yet");
  $("profile-caption").textContent = "Gradient profile: waiting for the first record.";
  drawCurves($("curves"), c.metrics);
  $("run-progress").value = 0;
  $("run-step").textContent = "";
  setStatus($("run-status"), exp.status);
  theoryFor(spec.valuesOf(exp.spec)).then((t) => { c.theory = t; redraw(); });
  const onEvent = (name, data) => {
    if (current !== c) return;
    if (name === "status") {
      setStatus($("run-status"), data.status);
      $("cancel").disabled = !["queued", "running"].includes(data.status);
    } else if (name === "record") {
      c.rows[data.index] = data;
      redraw();
    } else if (name === "metrics") {
      for (const k of Object.keys(c.metrics)) c.metrics[k][data.index] = data[k];
      drawCurves($("curves"), c.metrics);
    } else if (name === "progress") {
      $("run-progress").value = data.fraction;
      $("run-step").textContent = `step ${data.step} of ${data.total_steps}, epoch ${data.epoch}`;
    } else if (name === "end") {
      setStatus($("run-status"), data.status);
      $("cancel").disabled = true;
      if (data.status === "succeeded") $("run-progress").value = 1;
      showVerdict(data);
      loadCompareList();
    }
  };
  try {
    await follow(`/v1/experiments/${exp.id}/events`, onEvent, { signal: abort.signal });
  } catch (e) {
    if (!abort.signal.aborted) $("form-error").textContent = e.message;
  }
}

function compareIds() {
  return (params().get("compare") || "").split(",").filter(Boolean);
}

async function stats0(id, label) {
  if (!statsCache.has(id)) {
    const s = await getJSON(`/v1/experiments/${id}/stats`);
    statsCache.set(id, { label, grad0: s.stats.grad_norm[0] });
  }
}

async function loadCompareList() {
  let page;
  try { page = await getJSON("/v1/experiments?status=succeeded&limit=20"); } catch { return; }
  const chosen = new Set(compareIds());
  $("compare-list").replaceChildren(...page.items.map((e) => {
    const li = document.createElement("li");
    const box = Object.assign(document.createElement("input"), { type: "checkbox", checked: chosen.has(e.id) });
    box.id = `cmp-${e.id}`;
    box.dataset.id = e.id;
    const lab = Object.assign(document.createElement("label"), { htmlFor: box.id });
    const verdict = e.diagnosis ? ` · ${e.diagnosis.verdict}` : "";
    lab.textContent = ` ${e.spec.name}${verdict} (${e.spec.model.activation}, depth ${e.spec.model.depth}, ${e.spec.model.init})`;
    box.addEventListener("change", async () => {
      const ids = new Set(compareIds());
      if (box.checked) { await stats0(e.id, e.spec.name); ids.add(e.id); } else ids.delete(e.id);
      spec.valuesToURL(spec.readValues(), { compare: [...ids].join(",") });
      redraw();
    });
    li.append(box, lab);
    return li;
  }));
  for (const id of chosen) {
    const e = page.items.find((x) => x.id === id);
    if (e) await stats0(id, e.spec.name).catch(() => {});
  }
  redraw();
}

function showLesson(n) {
  const i = Math.min(Math.max(1, n), LESSONS.length) - 1;
  const l = LESSONS[i];
  $("lesson").hidden = false;
  $("lesson").querySelector(".lesson-step").textContent = `Claim ${i + 1} of ${LESSONS.length}`;
  $("lesson").querySelector(".lesson-title").textContent = l.title;
  const text = $("lesson").querySelector(".lesson-text");
  text.textContent = l.text;
  if (l.figure) {
    const img = document.createElement("img");
    img.alt = "The activation functions (top) and their derivatives (bottom): the sigmoid's derivative peaks at 0.25.";
    img.width = 480;
    imageURL(l.figure).then((u) => { img.src = u; });
    text.append(document.createElement("br"), img);
  }
  applyPreset(l.preset, l.change || {});
  spec.valuesToURL(spec.readValues(), { lesson: String(i + 1) });
  $("lesson-prev").disabled = i === 0;
  $("lesson-next").disabled = i === LESSONS.length - 1;
}

export async function showLab() {
  const schema = await spec.loadSchema();
  presets = await (await fetch("/static/lab/presets.json")).json();
  const onChange = () => {
    $("preset").value = "";
    $("preset-text").textContent = "";
    spec.clearErrors($("form-error"));
    spec.valuesToURL(spec.readValues(), { name: null });
  };
  spec.buildControls($("fields"), schema, onChange);
  for (const p of presets) $("preset").add(new Option(`${p.name}: ${p.description}`, p.name));
  $("preset").addEventListener("change", () => applyPreset($("preset").value));

  const q = params();
  const fromURL = spec.valuesFromURL(q);
  const preset = presetValues(q.get("name"));
  if (q.get("lesson")) showLesson(Number(q.get("lesson")) || 1);
  else if (preset) {
    // A preset's link: the preset, with whatever the link changes.
    spec.writeValues({ ...preset, ...fromURL });
    if (!Object.keys(fromURL).length) applyPreset(q.get("name"));
  } else if (Object.keys(fromURL).length) spec.writeValues(fromURL);
  else applyPreset("sigmoid-deep", { "training.epochs": 5 });
  const hidden = (q.get("hide") || "").split(",").filter(Boolean);
  for (const part of hidden) document.querySelectorAll(`[data-part="${part}"]`).forEach((el) => { el.hidden = true; });

  $("lesson-prev").addEventListener("click", () => showLesson(Number(params().get("lesson")) - 1));
  $("lesson-next").addEventListener("click", () => showLesson(Number(params().get("lesson")) + 1));
  $("controls").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    spec.clearErrors($("form-error"));
    const values = spec.readValues();
    try {
      const exp = await postJSON("/v1/experiments", spec.specOf(values, params().get("name") || "lab"));
      spec.valuesToURL(values, { run: exp.id });
      watch(exp);
    } catch (e) {
      if (e instanceof ApiError) spec.showErrors(e, $("form-error")); else $("form-error").textContent = e.message;
    }
  });
  $("cancel").addEventListener("click", async () => {
    if (current) await postJSON(`/v1/experiments/${current.id}/cancel`).catch((e) => { $("form-error").textContent = e.message; });
  });
  $("share").addEventListener("click", async () => {
    spec.valuesToURL(spec.readValues());
    try { await navigator.clipboard.writeText(location.href); $("form-error").textContent = ""; } catch { /* no clipboard: the address bar has it */ }
    $("share").textContent = "Link in the address bar";
  });
  spec.valuesToURL(spec.readValues());
  loadCompareList();
  drawCurves($("curves"), emptyMetrics());
  const run = q.get("run");
  if (run) {
    try { watch(await getJSON(`/v1/experiments/${run}`)); } catch (e) { $("form-error").textContent = e.message; }
  }
}
