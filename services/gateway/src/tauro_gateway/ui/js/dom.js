// Small DOM helpers: h() builds elements, s() SVG elements; formatting; shared widgets.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  return fill(el, attrs, children);
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG, tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k === "value" && "value" in el) el.value = v;
    else if (k === "checked" || k === "selected" || k === "disabled") { el[k] = !!v; if (v) el.setAttribute(k, ""); }
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
export const nextId = (prefix = "f") => `${prefix}-${++uid}`;

/** A labelled form control: field("Name", h("input", {...})). */
export function field(label, control, hint) {
  if (!control.id) control.id = nextId();
  return h("div", { class: "field" },
    h("label", { for: control.id }, label),
    control,
    hint ? h("small", { class: "hint" }, hint) : null);
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs },
    options.map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: String(v) === String(value ?? "") }, label);
    }));
}

export function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, label);
}

/** Run an async action from a button: disabled meanwhile, errors shown in `where` (or the flash). */
export async function busy(btn, action, where) {
  btn.disabled = true;
  try {
    return await action();
  } catch (err) {
    showError(err, where);
    return undefined;
  } finally {
    btn.disabled = false;
  }
}

export function errorBox(err) {
  const code = err?.code ? `${err.code}: ` : "";
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, "Error "), code, err?.message || String(err),
    err?.requestId ? h("small", { class: "muted" }, ` (request ${err.requestId})`) : null);
}

export function showError(err, where) {
  console.warn(err);
  const box = errorBox(err);
  if (where) clear(where, box);
  else flash(box, 8000);
}

export function flash(content, ms = 4000) {
  const area = document.getElementById("flash");
  const item = h("div", { class: "flash-item" }, content);
  area.append(item);
  setTimeout(() => item.remove(), ms);
}

// ---- formatting ----

export function fmtTime(iso, tz) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts = { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  if (tz) opts.timeZone = tz;
  return d.toLocaleString(undefined, opts);
}

export function ago(iso) {
  if (!iso) return "—";
  const sec = (Date.now() - new Date(iso).getTime()) / 1000;
  const f = (n, u) => `${Math.round(n)} ${u}`;
  const a = Math.abs(sec);
  const str = a < 60 ? f(a, "s") : a < 3600 ? f(a / 60, "min") : a < 86400 ? f(a / 3600, "h") : f(a / 86400, "d");
  return sec >= 0 ? `${str} ago` : `in ${str}`;
}

export function fmtDuration(sec) {
  if (sec === null || sec === undefined) return "—";
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const badge = (state) => h("span", { class: `badge st-${String(state).toLowerCase()}` }, state);

export function table(columns, rows, { empty = "Nothing here yet.", caption } = {}) {
  if (!rows.length) return h("p", { class: "muted empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c[0])))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", { "data-label": c[0] }, c[1](r))))))));
}

export const link = (href, text, attrs = {}) => h("a", { href, ...attrs }, text);
export const short = (id) => (id && id.length > 22 ? id.slice(0, 22) + "…" : id);

export function pager(meta, go) {
  const { total, limit, offset } = meta;
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  return h("nav", { class: "pager", "aria-label": "Pages" },
    button("← Previous", () => go(Math.max(0, offset - limit)), { disabled: offset <= 0 }),
    h("span", {}, `${from}–${to} of ${total}`),
    button("Next →", () => go(offset + limit), { disabled: offset + limit >= total }));
}

export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}
