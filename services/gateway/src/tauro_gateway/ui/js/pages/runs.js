// Runs: the list with filters and paging; a new run with params (a form built from the pipeline).
import { get, post, can } from "../api.js";
import { h, badge, table, link, ago, fmtDuration, field, select, button, busy, pager, section, short, errorBox, clear } from "../dom.js";
import { RUN_STATES } from "../charts.js";
import { navigate, setQuery } from "../main.js";
import { progressBar } from "./overview.js";

const PAGE = 20;

export async function projectOptions() {
  const r = await get("/projects", { limit: 100, sort: "name", fields: "id,name" });
  return r.data.map((p) => [p.id, p.name]);
}

export async function pipelineOptions(projectId) {
  // the project's own pipelines and the shared catalog (discovered pipelines, project_id null)
  const r = await get("/pipelines", { limit: 100, sort: "name", fields: "id,name,project_id" });
  return r.data.filter((p) => !projectId || !p.project_id || p.project_id === projectId)
    .map((p) => [p.id, p.project_id ? p.name : `${p.name} (catalog)`]);
}

function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export async function runsList({ query }) {
  const f = Object.fromEntries(["project_id", "pipeline_id", "state", "tag", "created_after", "created_before"].map((k) => [k, query.get(k) || ""]));
  const offset = Number(query.get("offset") || 0);
  const [projects, pipelines, runs] = await Promise.all([
    projectOptions(), pipelineOptions(f.project_id),
    get("/runs", { ...f, tag: f.tag ? f.tag.split(",").map((t) => t.trim()).filter(Boolean) : undefined,
      created_after: f.created_after ? new Date(f.created_after).toISOString() : undefined,
      created_before: f.created_before ? new Date(f.created_before).toISOString() : undefined,
      limit: PAGE, offset, sort: "-created_at" }),
  ]);
  const form = h("form", { class: "filters", "aria-label": "Filter runs", onsubmit: (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    setQuery({ ...data, created_after: data.created_after ? new Date(data.created_after).toISOString() : "",
      created_before: data.created_before ? new Date(data.created_before).toISOString() : "" });
  } },
    field("Project", select("project_id", [["", "All projects"], ...projects], f.project_id)),
    field("Pipeline", select("pipeline_id", [["", "All pipelines"], ...pipelines], f.pipeline_id)),
    field("State", select("state", [["", "Any state"], ...RUN_STATES], f.state)),
    field("Tags", h("input", { name: "tag", value: f.tag, placeholder: "key:value, …" })),
    field("Created after", h("input", { name: "created_after", type: "datetime-local", value: localInput(f.created_after) })),
    field("Created before", h("input", { name: "created_before", type: "datetime-local", value: localInput(f.created_before) })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"), button("Clear", () => setQuery({}), { class: "secondary" })));
  return h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, "Runs"),
      button("Refresh", () => navigate(`/runs${query.toString() ? `?${query}` : ""}`), { class: "secondary" }),
      can("execute") ? link("#/runs/new", "New run", { class: "button", id: "new-run" }) : null),
    form,
    table([
      ["Run", (x) => link(`#/runs/${x.id}`, short(x.id))],
      ["Pipeline", (x) => x.pipeline_name || x.pipeline_id],
      ["State", (x) => badge(x.state)],
      ["Progress", (x) => progressBar(x.progress)],
      ["Trigger", (x) => x.trigger],
      ["Tags", (x) => Object.entries(x.tags || {}).map(([k, v]) => h("span", { class: "tag" }, `${k}:${v}`))],
      ["Created", (x) => ago(x.created_at)],
      ["Duration", (x) => fmtDuration(x.duration_seconds)],
    ], runs.data, { empty: "No run matches these filters.", caption: `${runs.meta.total} run(s)` }),
    pager(runs.meta, (o) => setQuery({ ...Object.fromEntries(query), offset: o })));
}

/** Parameters a pipeline's node configs refer to as {{ name }} (output_dir and date are built in). */
export function templateParams(pipeline) {
  const names = new Set();
  const walk = (v) => {
    if (typeof v === "string") for (const m of v.matchAll(/\{\{\s*(?:params\.)?([A-Za-z_][\w]*)\s*\}\}/g)) names.add(m[1]);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  (pipeline.nodes || []).forEach((n) => walk(n.config));
  ["output_dir", "run_id", "work_dir"].forEach((n) => names.delete(n));
  return [...names];
}

function kvRows(container, initial = {}) {
  const add = (k = "", v = "") => {
    const row = h("div", { class: "kv" },
      h("input", { class: "k", "aria-label": "Parameter name", placeholder: "name", value: k }),
      h("input", { class: "v", "aria-label": "Parameter value", placeholder: "value", value: v }),
      button("Remove", () => row.remove(), { class: "secondary small" }));
    container.append(row);
  };
  Object.entries(initial).forEach(([k, v]) => add(k, typeof v === "string" ? v : JSON.stringify(v)));
  return add;
}

function readKv(container) {
  const out = {};
  container.querySelectorAll(".kv").forEach((row) => {
    const k = row.querySelector(".k").value.trim();
    let v = row.querySelector(".v").value;
    if (!k) return;
    try { v = JSON.parse(v); } catch { /* a string */ }
    out[k] = v;
  });
  return out;
}

export async function newRun({ query }) {
  const projects = await projectOptions();
  const projectId = query.get("project_id") || projects[0]?.[0] || "";
  const pipelines = projectId ? await pipelineOptions(projectId) : [];
  const pipelineId = query.get("pipeline_id") || pipelines[0]?.[0] || "";
  const errors = h("div", {});
  const paramsBox = h("div", { class: "params", id: "params" });
  const extra = h("div", {});
  let addExtra = kvRows(extra);
  const loadParams = async (pid) => {
    clear(paramsBox);
    if (!pid) return;
    try {
      const p = (await get(`/pipelines/${encodeURIComponent(pid)}`)).data;
      const names = templateParams(p);
      if (names.length) paramsBox.append(h("p", { class: "muted" }, `Parameters used by ${p.name}:`));
      names.forEach((n) => paramsBox.append(field(n, h("input", { name: `param:${n}`, placeholder: n === "date" ? "YYYY-MM-DD (default: today)" : "" }))));
    } catch (err) { clear(paramsBox, errorBox(err)); }
  };
  const projectSel = select("project_id", projects, projectId, { required: true, onchange: (ev) => setQuery({ project_id: ev.target.value }) });
  const pipelineSel = select("pipeline_id", pipelines, pipelineId, { required: true, onchange: (ev) => loadParams(ev.target.value) });
  const form = h("form", { class: "stack", "aria-label": "New run", onsubmit: async (ev) => {
    ev.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    await busy(submit, async () => {
      const data = new FormData(form);
      const params = readKv(extra);
      for (const [k, v] of data) if (k.startsWith("param:") && v !== "") params[k.slice(6)] = v;
      const tags = {};
      String(data.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean).forEach((t) => {
        const [k, ...rest] = t.split(":"); tags[k.trim()] = rest.join(":").trim();
      });
      const body = { project_id: data.get("project_id"), pipeline_id: data.get("pipeline_id"), params, tags,
        start: data.get("start") === "on" };
      if (data.get("timeout")) body.timeout_seconds = Number(data.get("timeout"));
      const run = (await post("/runs", body)).data;
      navigate(`/runs/${run.id}`);
    }, errors);
  } },
    field("Project", projectSel),
    field("Pipeline", pipelineSel),
    paramsBox,
    h("fieldset", {}, h("legend", {}, "More parameters (values are JSON or text)"), extra,
      button("Add parameter", () => addExtra(), { class: "secondary small" })),
    field("Tags", h("input", { name: "tags", placeholder: "team:data, env:dev" })),
    field("Timeout (seconds)", h("input", { name: "timeout", type: "number", min: 1 })),
    h("div", { class: "check" }, h("input", { type: "checkbox", name: "start", id: "start-now", checked: true }), h("label", { for: "start-now" }, "Start at once")),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "create-run" }, "Create run")));
  loadParams(pipelineId);
  return h("div", { class: "page" }, h("h1", {}, "New run"),
    projects.length ? section("Run a pipeline", form) : h("p", {}, "Create a project first: ", link("#/projects", "Projects")));
}
