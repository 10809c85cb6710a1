// The lab's two live figures, drawn with uPlot (vendored), each with a text alternative.

import uPlot from "/static/vendor/uplot/uPlot.esm.js";

const COLORS = ["#0b5cad", "#d1242f", "#1a7f37", "#8250df", "#bc4c00", "#0598bc", "#bf3989", "#57606a"];
const positive = (v) => (v !== null && v !== undefined && v > 0 && Number.isFinite(v) ? v : null);
const fmt = (v) => (v === null || v === undefined ? "n/a" : Number(v).toPrecision(3));

function width(el) {
  return Math.max(320, Math.floor(el.getBoundingClientRect().width || el.parentElement.clientWidth || 640));
}

function draw(el, opts, data) {
  if (el._plot) el._plot.destroy();
  el.replaceChildren();
  el._plot = new uPlot({ width: width(el), height: 300, ...opts }, data, el);
}

/**
 * The gradient profile: per layer, the weight-gradient norm and the back-propagated signal
 * at the latest record, the step-0 gradient, the theory's line, and any overlaid runs.
 * `p`: {layers, step, grad, backprop, grad0, theory (log10 profile or null), overlays:[{label, grad}]}.
 */
export function drawProfile(el, p) {
  const n = p.grad.length;
  const xs = [...Array(n).keys()];
  const series = [{ label: "layer" }];
  const data = [xs];
  const add = (label, values, style = {}) => {
    series.push({ label, stroke: COLORS[(series.length - 1) % COLORS.length], width: 2, ...style,
      value: (u, v) => fmt(v) });
    data.push(values.map(positive));
  };
  add(`weight gradient ‖dL/dW‖, step ${p.step}`, p.grad);
  add(`back-propagated signal, step ${p.step}`, p.backprop);
  if (p.grad0) add("weight gradient, step 0", p.grad0, { dash: [6, 4], width: 1.5 });
  if (p.theory && p.grad0) {
    const depth = p.theory.length - 1;
    const anchor = p.grad0[depth - 1];
    add("theory (mean field, anchored at the last hidden layer)",
      p.theory.map((t) => (t === null || anchor === null ? null : anchor * 10 ** t)),
      { stroke: "#57606a", dash: [2, 3], width: 1.5 });
  }
  for (const o of p.overlays || []) {
    add(`${o.label} (step 0)`, o.grad.slice(0, n).concat(Array(Math.max(0, n - o.grad.length)).fill(null)),
      { width: 1.5 });
  }
  draw(el, {
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: "layer (input → output)" }, { label: "norm (log scale)", size: 70,
      values: (u, vals) => vals.map((v) => (v == null ? "" : v.toExponential(0))) }],
    series,
  }, data);
  const first = positive(p.grad[0]), last = positive(p.grad[Math.max(0, n - 2)]);
  const ratio = first && last ? Math.log10(first / last).toFixed(1) : "n/a";
  el.setAttribute("aria-label",
    `Gradient profile at step ${p.step} over ${n} layers: weight-gradient norm ${fmt(p.grad[0])} at ` +
    `the input layer and ${fmt(p.grad[n - 1])} at the output layer (log10 ratio input/last hidden ` +
    `${ratio}); back-propagated signal ${fmt(p.backprop[0])} at the input, ${fmt(p.backprop[n - 1])} ` +
    `at the output.`);
  el.dataset.step = String(p.step);
  el.dataset.updates = String(Number(el.dataset.updates || 0) + 1);
}

/** Loss (left) and accuracy (right) per epoch; `m` has the Metrics arrays. */
export function drawCurves(el, m) {
  const series = [
    { label: "epoch" },
    { label: "train loss", stroke: COLORS[0], width: 2, scale: "loss", value: (u, v) => fmt(v) },
    { label: "val loss", stroke: COLORS[1], width: 2, scale: "loss", value: (u, v) => fmt(v) },
    { label: "train accuracy", stroke: COLORS[2], width: 2, scale: "acc", dash: [5, 3], value: (u, v) => fmt(v) },
    { label: "val accuracy", stroke: COLORS[3], width: 2, scale: "acc", dash: [5, 3], value: (u, v) => fmt(v) },
  ];
  draw(el, {
    scales: { x: { time: false }, acc: { range: [0, 1] } },
    axes: [{ label: "epoch" }, { scale: "loss", label: "loss" },
      { scale: "acc", side: 1, label: "accuracy", grid: { show: false } }],
    series,
  }, [m.epoch, m.train_loss, m.val_loss, m.train_accuracy, m.val_accuracy]);
  const e = m.epoch.length;
  el.setAttribute("aria-label", e
    ? `Training curves over ${e} epochs: last train loss ${fmt(m.train_loss[e - 1])}, ` +
      `val loss ${fmt(m.val_loss[e - 1])}, val accuracy ${fmt(m.val_accuracy[e - 1])}.`
    : "Training curves: no epoch finished yet.");
}
