// Tauro UI: hash routes (bookmarkable), the page shell, sign-in state.
import { config, needsSignIn, whoami, setApiKey, session } from "./api.js";
import { h, clear, errorBox, button } from "./dom.js";

const ROUTES = [
  [/^\/?$/, "overview", () => import("./pages/overview.js").then((m) => m.overview)],
  [/^\/runs\/new$/, "runs", () => import("./pages/runs.js").then((m) => m.newRun)],
  [/^\/runs\/(run_[^/]+)$/, "runs", () => import("./pages/run.js").then((m) => m.runPage)],
  [/^\/runs$/, "runs", () => import("./pages/runs.js").then((m) => m.runsList)],
  [/^\/projects$/, "projects", () => import("./pages/projects.js").then((m) => m.projectsList)],
  [/^\/projects\/(proj_[^/]+)$/, "projects", () => import("./pages/projects.js").then((m) => m.projectPage)],
  [/^\/pipelines\/([^/]+)$/, "projects", () => import("./pages/pipeline.js").then((m) => m.pipelinePage)],
  [/^\/schedules$/, "schedules", () => import("./pages/schedules.js").then((m) => m.schedulesList)],
  [/^\/schedules\/new$/, "schedules", () => import("./pages/schedules.js").then((m) => m.scheduleForm)],
  [/^\/schedules\/([^/]+)\/edit$/, "schedules", () => import("./pages/schedules.js").then((m) => m.scheduleForm)],
  [/^\/schedules\/([^/]+)$/, "schedules", () => import("./pages/schedules.js").then((m) => m.schedulePage)],
  [/^\/streams$/, "streams", () => import("./pages/streams.js").then((m) => m.streamsPage)],
  [/^\/access$/, "access", () => import("./pages/access.js").then((m) => m.accessPage)],
  [/^\/signin$/, "access", () => import("./pages/access.js").then((m) => m.signInPage)],
];

let leaving = [];
let generation = 0;

export function navigate(path) {
  if (location.hash === "#" + path) render();
  else location.hash = path;
}

/** The current route: path and query (the part of the hash after '?'). */
function current() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(qs || "") };
}

export function setQuery(params) {
  const { path } = current();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const qs = q.toString();
  navigate(qs ? `${path}?${qs}` : path);
}

function renderWho() {
  const who = document.getElementById("who");
  if (!config.auth) { clear(who, h("span", { class: "muted" }, "auth off · admin")); return; }
  if (!session.me) { clear(who, h("a", { href: "#/signin" }, "Sign in")); return; }
  clear(who, h("span", { title: session.me.actor || "" }, session.me.roles.join(", ") || "no roles"), " ",
    button("Sign out", () => { setApiKey(null); renderWho(); navigate("/signin"); }, { class: "link", id: "signout" }));
}

async function render(moveFocus = false) {
  const mine = ++generation;
  leaving.forEach((fn) => { try { fn(); } catch { /* already gone */ } });
  leaving = [];
  const main = document.getElementById("main");
  const { path, query } = current();
  const route = ROUTES.find(([re]) => re.test(path));
  document.querySelectorAll("#nav a").forEach((a) => a.removeAttribute("aria-current"));
  if (route) document.querySelector(`#nav a[data-nav="${route[1]}"]`)?.setAttribute("aria-current", "page");
  try {
    if (needsSignIn() && path !== "/signin") { navigate(`/signin?next=${encodeURIComponent(location.hash.slice(1) || "/")}`); return; }
    if (!needsSignIn()) await whoami();
    renderWho();
    if (!route) { clear(main, errorBox({ message: `no page at ${path}` })); return; }
    const page = await route[2]();
    const params = route[0].exec(path).slice(1);
    const ctx = { params, query, onLeave: (fn) => leaving.push(fn), stale: () => mine !== generation };
    const node = await page(ctx);
    if (mine !== generation) return;
    clear(main, node);
    if (moveFocus) main.focus({ preventScroll: true }); // after a navigation, keyboard and reader start at the page
    document.title = `${main.querySelector("h1")?.textContent || "Tauro"} · Tauro UI`;
  } catch (err) {
    if (mine !== generation) return;
    if (err.status === 401 && config.auth) { setApiKey(null); renderWho(); navigate("/signin"); return; }
    clear(main, h("h1", {}, "Something went wrong"), errorBox(err));
  }
}

window.addEventListener("hashchange", () => render(true));
window.addEventListener("unhandledrejection", (ev) => {
  const area = document.getElementById("flash");
  area.append(errorBox(ev.reason));
});
render();
