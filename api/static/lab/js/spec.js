// The spec controls, made from the spec's JSON schema (/openapi.json), and the URL state.
//
// URL state: every control is a query parameter named by its dotted spec path, e.g.
//   /?model.depth=20&model.activation=sigmoid&model.init=xavier_normal&seed=0&training.epochs=5
// Only values that differ from the schema's defaults are written; a shared link therefore
// rebuilds the same spec and seed. Other parameters: run=ID (show that run), compare=ID,ID
// (overlay), hide=controls,presets,curves,compare,verdict (hide parts), lesson=N (teacher mode),
// page=experiments|experiment|sweep with id=ID.

import { getJSON } from "./api.js";

/** The controls, in order; a path the server's schema lacks is left out. */
export const CONTROLS = [
  "seed",
  "model.depth", "model.width", "model.activation", "model.negative_slope", "model.init",
  "model.init_gain", "model.bias_std", "model.batch_norm", "model.residual",
  "data.dataset", "data.n_samples",
  "training.optimizer", "training.learning_rate", "training.epochs", "training.batch_size",
  "recording.every_steps",
];
/** Query parameters that are not spec paths. */
export const RESERVED = new Set(["run", "compare", "hide", "lesson", "page", "id", "name"]);

let fields = null; // path -> {schema, input}

function resolve(schemas, node) {
  if (node && node.$ref) return schemas[node.$ref.split("/").pop()];
  return node;
}

/** path -> property schema, for every leaf of ExperimentSpec. */
export async function loadSchema() {
  const doc = await getJSON("/openapi.json");
  const schemas = doc.components.schemas;
  const out = new Map();
  const walk = (schema, prefix) => {
    for (const [name, prop0] of Object.entries(schema.properties || {})) {
      const prop = resolve(schemas, prop0);
      const path = prefix ? `${prefix}.${name}` : name;
      if (prop && prop.properties) walk(prop, path);
      else out.set(path, prop);
    }
  };
  walk(schemas.ExperimentSpec, "");
  return out;
}

function kindOf(schema) {
  if (schema.enum) return "enum";
  const types = schema.anyOf ? schema.anyOf.map((s) => s.type) : [schema.type];
  if (types.includes("boolean")) return "boolean";
  if (types.includes("integer")) return "integer";
  if (types.includes("number")) return "number";
  return "string";
}

function label(path, schema) {
  const title = schema.title || path.split(".").pop();
  return title;
}

/** Build the controls into `container`; returns the paths shown. */
export function buildControls(container, schema, onChange) {
  fields = new Map();
  container.replaceChildren();
  for (const path of CONTROLS) {
    const s = schema.get(path);
    if (!s) continue;
    const kind = kindOf(s);
    const id = `f-${path.replace(/\./g, "-")}`;
    const wrap = document.createElement("label");
    wrap.className = kind === "boolean" ? "field check" : "field";
    const text = document.createElement("span");
    text.textContent = label(path, s);
    let input;
    if (kind === "enum") {
      input = document.createElement("select");
      for (const v of s.enum) input.add(new Option(v, v));
    } else {
      input = document.createElement("input");
      if (kind === "boolean") input.type = "checkbox";
      else {
        input.type = "number";
        const range = s.anyOf ? s.anyOf.find((x) => x.type === kind) || s : s;
        if (range.minimum !== undefined) input.min = range.minimum;
        if (range.maximum !== undefined) input.max = range.maximum;
        if (range.exclusiveMinimum !== undefined) input.min = range.exclusiveMinimum;
        input.step = kind === "integer" ? "1" : "any";
      }
    }
    input.id = id;
    input.name = path;
    input.dataset.path = path;
    const err = document.createElement("span");
    err.className = "error";
    err.id = `${id}-error`;
    err.setAttribute("role", "alert");
    input.setAttribute("aria-describedby", err.id);
    if (s.description) wrap.title = s.description;
    if (kind === "boolean") wrap.append(input, text); else wrap.append(text, input);
    container.append(wrap, err);
    fields.set(path, { schema: s, kind, input, err });
    input.addEventListener("change", onChange);
  }
  return [...fields.keys()];
}

function defaultOf(f) {
  return f.schema.default;
}

/** The controls' values: path -> value (numbers as numbers, checkboxes as booleans). */
export function readValues() {
  const out = {};
  for (const [path, f] of fields) {
    if (f.kind === "boolean") out[path] = f.input.checked;
    else if (f.kind === "integer" || f.kind === "number") {
      if (f.input.value === "") continue;
      out[path] = Number(f.input.value);
    } else out[path] = f.input.value;
  }
  return out;
}

/** Set every control from `values` (path -> value); missing paths take the default. */
export function writeValues(values) {
  for (const [path, f] of fields) {
    const v = path in values ? values[path] : defaultOf(f);
    if (f.kind === "boolean") f.input.checked = v === true || v === "true" || v === "1";
    else f.input.value = v === undefined || v === null ? "" : String(v);
  }
}

/** A spec (nested JSON) from dotted values. */
export function specOf(values, name) {
  const spec = { name: name || "lab" };
  for (const [path, v] of Object.entries(values)) {
    const parts = path.split(".");
    let node = spec;
    for (const p of parts.slice(0, -1)) node = node[p] ??= {};
    node[parts.at(-1)] = v;
  }
  return spec;
}

/** Dotted values of the controls' paths from a nested spec. */
export function valuesOf(spec) {
  const out = {};
  for (const path of fields.keys()) {
    let node = spec;
    for (const p of path.split(".")) node = node == null ? undefined : node[p];
    if (node !== undefined && !Array.isArray(node)) out[path] = node;
  }
  return out;
}

function coerce(f, raw) {
  if (f.kind === "boolean") return raw === "true" || raw === "1";
  if (f.kind === "integer" || f.kind === "number") return Number(raw);
  return raw;
}

/** A query-string value as the spec field of `schema` takes it (a number for a number). */
export function fromRaw(schema, raw) {
  return coerce({ kind: kindOf(schema) }, raw);
}

/** Values from the query string (only the controls' paths). */
export function valuesFromURL(params) {
  const out = {};
  for (const [k, raw] of params) {
    const f = fields.get(k);
    if (f) out[k] = coerce(f, raw);
  }
  return out;
}

/** Write the values that differ from the defaults into the URL, keeping other parameters. */
export function valuesToURL(values, extra = {}) {
  const params = new URLSearchParams(location.search);
  for (const k of [...params.keys()]) if (fields.has(k)) params.delete(k);
  for (const [k, v] of Object.entries(values)) {
    if (v !== defaultOf(fields.get(k))) params.set(k, String(v));
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === null || v === undefined || v === "") params.delete(k); else params.set(k, v);
  }
  const q = params.toString();
  history.replaceState(null, "", q ? `/?${q}` : "/");
}

/** Show a problem's field errors beside their controls; the rest in `fallback`. */
export function showErrors(error, fallback) {
  clearErrors(fallback);
  const rest = [];
  for (const e of error.errors || []) {
    const f = fields.get(e.field);
    if (f) {
      f.err.textContent = e.message;
      f.input.setAttribute("aria-invalid", "true");
    } else rest.push(`${e.field}: ${e.message}`);
  }
  if (rest.length || !(error.errors || []).length) {
    fallback.textContent = rest.length ? rest.join("; ") : error.message;
  }
  const first = [...fields.values()].find((f) => f.input.getAttribute("aria-invalid") === "true");
  if (first) first.input.focus();
}

export function clearErrors(fallback) {
  for (const f of fields.values()) {
    f.err.textContent = "";
    f.input.removeAttribute("aria-invalid");
  }
  if (fallback) fallback.textContent = "";
}

export function controlPaths() {
  return [...fields.keys()];
}
