// The public REST API (/api/v1) and its Server-Sent Events, with the user's API key.
// The key lives in sessionStorage only: it is gone when the browser session ends.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
const KEY = "tauro.apiKey";

export const config = {
  root: meta("tauro-root"),
  auth: meta("tauro-auth") === "on",
  header: meta("tauro-key-header") || "X-API-Key",
  version: meta("tauro-version"),
};
export const API = `${config.root}/api/v1`;

export class ApiError extends Error {
  constructor(status, code, message, requestId, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details || [];
  }
}

export const apiKey = () => sessionStorage.getItem(KEY);
export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
  session.me = null;
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const key = apiKey();
  if (key) h[config.header] = key;
  return h;
}

export function url(path, query) {
  const u = new URL(path.startsWith("/api/") || path === "/health" ? config.root + path : API + path,
    location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
    else u.searchParams.set(k, v);
  }
  return u.toString();
}

export async function api(method, path, { query, body, signal } = {}) {
  let response;
  try {
    response = await fetch(url(path, query), {
      method,
      headers: headers(body !== undefined ? { "Content-Type": "application/json" } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", `cannot reach the gateway: ${err.message}`);
  }
  let doc = null;
  const text = await response.text();
  try { doc = text ? JSON.parse(text) : null; } catch { doc = null; }
  if (!response.ok) {
    const e = doc?.error;
    let message = e?.message || `${response.status} ${response.statusText}`;
    if (e?.details?.length) message += ": " + e.details.map((d) => (d.field ? `${d.field}: ` : "") + d.message).join("; ");
    if (response.status === 429) message += ` (retry in ${response.headers.get("retry-after") || "a few"} s)`;
    throw new ApiError(response.status, e?.code || "HTTP_" + response.status, message, doc?.meta?.request_id, e?.details);
  }
  return doc;
}

export const get = (path, query, opts = {}) => api("GET", path, { query, ...opts });
export const post = (path, body) => api("POST", path, { body: body ?? {} });
export const put = (path, body) => api("PUT", path, { body });
export const del = (path) => api("DELETE", path);

// ---- who the caller is, and what its roles allow --------------------------------------

export const session = { me: null };
const RANK = { viewer: 1, operator: 2, admin: 3 };
const NEED = { read: 1, execute: 2, schedules: 2, write: 3, keys: 3 };

export const needsSignIn = () => config.auth && !apiKey();

export async function whoami(force = false) {
  if (needsSignIn()) return null;
  if (!session.me || force) {
    const key = apiKey();
    const me = (await get("/auth/whoami")).data;
    if (apiKey() !== key) return whoami(true); // signed in or out meanwhile: ask again
    session.me = me;
  }
  return session.me;
}

function grants() {
  if (!config.auth) return [{ role: "admin", project: null }];
  return (session.me?.roles || []).map((r) => {
    const [role, project] = r.split(":");
    return { role, project: project || null };
  });
}

/** Whether the caller may do `need` (read, execute, schedules, write, keys) on a project
 * (projectId given), somewhere (undefined), or globally (null). */
export function can(need, projectId) {
  const min = NEED[need];
  return grants().some((g) => {
    if ((RANK[g.role] || 0) < min) return false;
    if (g.project === null) return true;
    if (need === "keys" || projectId === null) return false;
    return projectId === undefined || projectId === g.project;
  });
}

// ---- Server-Sent Events over fetch (so the key header goes along), resuming with Last-Event-ID ----

export function eventStream(path, query, { onEvent, onStatus, lastEventId = null } = {}) {
  let stopped = false;
  let controller = null;
  let last = lastEventId;
  let retry = 1000;
  let failures = 0;

  async function connect() {
    while (!stopped) {
      controller = new AbortController();
      onStatus?.(failures ? "reconnecting" : "connecting");
      try {
        const extra = { Accept: "text/event-stream" };
        if (last) extra["Last-Event-ID"] = last;
        const response = await fetch(url(path, query), { headers: headers(extra), signal: controller.signal });
        if (!response.ok) {
          let message = `${response.status}`;
          try { message = (await response.json()).error.message; } catch { /* not JSON */ }
          throw new ApiError(response.status, "HTTP_" + response.status, message);
        }
        onStatus?.("live");
        failures = 0;
        const ended = await read(response.body.getReader());
        if (ended) { stopped = true; onStatus?.("ended"); return; }
      } catch (err) {
        if (stopped || err.name === "AbortError") return;
        if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          onStatus?.("error", err.message);
          return;
        }
      }
      failures += 1;
      onStatus?.("reconnecting");
      await new Promise((r) => setTimeout(r, Math.min(retry * failures, 10000)));
    }
  }

  async function read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        const ev = { event: "message", data: [], id: null };
        for (const line of block.split(/\r?\n/)) {
          if (!line || line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "data") ev.data.push(val);
          else if (field === "event") ev.event = val;
          else if (field === "id") ev.id = val;
          else if (field === "retry" && /^\d+$/.test(val)) retry = Number(val);
        }
        if (ev.id) last = ev.id;
        if (!ev.data.length) continue;
        let data = ev.data.join("\n");
        try { data = JSON.parse(data); } catch { /* plain text */ }
        onEvent?.(ev.event, data, ev.id);
        if (ev.event === "end") { reader.cancel().catch(() => {}); return true; }
      }
    }
  }

  connect();
  return {
    close() { stopped = true; controller?.abort(); },
    /** Drop the connection (as a network failure would): the stream reconnects and resumes. */
    drop() { controller?.abort(new DOMException("dropped", "NetworkError")); },
    get lastEventId() { return last; },
  };
}
