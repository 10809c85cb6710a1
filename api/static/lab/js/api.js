// The lab's only way to the API: JSON requests, problem+json errors, the API key, live events.
// When the API answers 401 the lab asks for a key once and keeps it for the tab
// (sessionStorage), sent as `Authorization: Bearer KEY` on every request and stream.

const KEY = "gradatlas-api-key";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    /** [{field, message}] for a 422. */
    this.errors = problem.errors || [];
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = sessionStorage.getItem(KEY);
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

let asking = null;
/** Ask for a key (one dialog however many requests wait for it); false if dismissed. */
function askForKey() {
  if (asking) return asking;
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  asking = new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      asking = null;
      const ok = dialog.returnValue === "ok" && input.value.trim() !== "";
      if (ok) sessionStorage.setItem(KEY, input.value.trim());
      input.value = "";
      resolve(ok);
    }, { once: true });
    dialog.showModal();
    input.focus();
  });
  return asking;
}

async function send(method, path, body, accept) {
  for (;;) {
    const init = { method, headers: headers({ Accept: accept }) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const r = await fetch(path, init);
    if (r.status === 401 && (await askForKey())) continue;
    if (!r.ok) {
      let problem;
      try { problem = await r.json(); } catch { problem = { title: r.statusText, status: r.status }; }
      throw new ApiError(r.status, problem);
    }
    return r;
  }
}

export async function getJSON(path) {
  return (await send("GET", path, undefined, "application/json")).json();
}

export async function postJSON(path, body) {
  return (await send("POST", path, body, "application/json")).json();
}

/** A URL an <img> can load: with a key configured, fetched and turned into a blob URL. */
export async function imageURL(path) {
  if (!sessionStorage.getItem(KEY)) return path;
  const r = await send("GET", path, undefined, "image/*");
  return URL.createObjectURL(await r.blob());
}

/**
 * Follow a server-sent event stream over fetch (an EventSource cannot send the key).
 * Calls onEvent(name, data, id) for each event; reconnects with Last-Event-ID when the
 * connection drops; resolves after `end`. `signal` aborts it.
 */
export async function follow(path, onEvent, { signal } = {}) {
  let lastId = null;
  let retryMs = 1000;
  while (!signal?.aborted) {
    let ended = false;
    try {
      const h = { Accept: "text/event-stream" };
      if (lastId !== null) h["Last-Event-ID"] = lastId;
      const r = await fetch(path, { headers: headers(h), signal });
      if (r.status === 401 && (await askForKey())) continue;
      if (!r.ok) {
        let problem;
        try { problem = await r.json(); } catch { problem = { title: r.statusText }; }
        throw new ApiError(r.status, problem);
      }
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "", name = "", data = [], id = null;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let nl;
        while ((nl = buffer.search(/\r?\n/)) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(buffer[nl] === "\r" ? nl + 2 : nl + 1);
          if (line === "") {
            if (data.length) {
              if (id !== null) lastId = id;
              onEvent(name || "message", JSON.parse(data.join("\n")), id);
              if (name === "end") ended = true;
            }
            name = ""; data = [];
          } else if (!line.startsWith(":")) {
            const i = line.indexOf(":");
            const field = i < 0 ? line : line.slice(0, i);
            const v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
            if (field === "event") name = v;
            else if (field === "data") data.push(v);
            else if (field === "id") id = v;
            else if (field === "retry" && /^\d+$/.test(v)) retryMs = Number(v);
          }
        }
      }
    } catch (e) {
      if (e instanceof ApiError || signal?.aborted) throw e;
      // A dropped connection: reconnect below, resuming after the last event.
    }
    if (ended) return;
    await new Promise((res) => setTimeout(res, retryMs));
  }
}
