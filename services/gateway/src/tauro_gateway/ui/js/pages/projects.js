// Projects: list, create, edit; a project's statistics and pipelines (and adding one).
import { get, post, put, can } from "../api.js";
import { h, table, link, ago, field, button, busy, section, clear, fmtTime, pretty, flash } from "../dom.js";
import { navigate } from "../main.js";

export async function projectsList() {
  const r = await get("/projects", { limit: 100, sort: "name" });
  const errors = h("div", {});
  const form = h("form", { class: "inline-form", "aria-label": "New project", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(form.querySelector("button"), async () => {
      const data = Object.fromEntries(new FormData(form));
      const p = (await post("/projects", { name: data.name.trim(), description: data.description, owner: data.owner || null })).data;
      flash(`Project ${p.name} created`);
      navigate(`/projects/${p.id}`);
    }, errors);
  } },
    field("Name", h("input", { name: "name", id: "project-name", required: true, maxlength: 100, pattern: "[A-Za-z0-9_.\\-]+", title: "letters, digits, _ . -" })),
    field("Description", h("input", { name: "description", id: "project-description" })),
    field("Owner", h("input", { name: "owner", id: "project-owner" })),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "create-project" }, "Create project")));
  return h("div", { class: "page" },
    h("h1", {}, "Projects"),
    table([
      ["Name", (p) => link(`#/projects/${p.id}`, p.name)],
      ["Description", (p) => p.description || "—"],
      ["Owner", (p) => p.owner || "—"],
      ["Created", (p) => ago(p.created_at)],
    ], r.data, { empty: "No project yet.", caption: `${r.meta.total} project(s)` }),
    can("write", null) ? section("New project", form, errors) : null,
    section("Shared pipeline catalog", h("p", { class: "muted" }, "Pipelines discovered from the pipelines folder, available to every project:"),
      await catalog()));
}

async function catalog() {
  const r = await get("/pipelines", { limit: 100, sort: "name" });
  return pipelineTable(r.data.filter((p) => !p.project_id));
}

function pipelineTable(rows) {
  return table([
    ["Pipeline", (p) => link(`#/pipelines/${p.id}`, p.name)],
    ["Nodes", (p) => (p.nodes || []).length],
    ["Version", (p) => `v${p.version}`],
    ["Source", (p) => p.source || "—"],
    ["Updated", (p) => ago(p.updated_at)],
  ], rows, { empty: "No pipeline." });
}

const EXAMPLE = {
  name: "hello_pipeline",
  description: "Two shell steps",
  nodes: [{ id: "say_hello", type: "shell", config: { command: ["echo", "hello"] } },
    { id: "say_done", type: "shell", config: { command: ["echo", "done"] } }],
  edges: [{ from: "say_hello", to: "say_done" }],
};

export async function projectPage({ params }) {
  const id = params[0];
  const [project, stats, pipelines] = await Promise.all([
    get(`/projects/${id}`).then((r) => r.data),
    get(`/projects/${id}/statistics`).then((r) => r.data),
    get(`/projects/${id}/pipelines`, { limit: 100, sort: "name" }),
  ]);
  const writable = can("write", id);
  const errors = h("div", {});
  const edit = h("form", { class: "stack", "aria-label": "Edit project", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(edit.querySelector("button"), async () => {
      const data = Object.fromEntries(new FormData(edit));
      let metadata;
      try { metadata = JSON.parse(data.metadata || "{}"); } catch (err) { throw new Error(`metadata is not JSON: ${err.message}`); }
      await put(`/projects/${id}`, { description: data.description, owner: data.owner || null, metadata });
      flash("Project saved");
      navigate(`/projects/${id}`);
    }, errors);
  } },
    field("Description", h("input", { name: "description", value: project.description || "", id: "edit-description" })),
    field("Owner", h("input", { name: "owner", value: project.owner || "" })),
    field("Metadata (JSON)", h("textarea", { name: "metadata", rows: 3 }, pretty(project.metadata || {}))),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "save-project" }, "Save")));
  const pipeErr = h("div", {});
  const addPipe = h("form", { class: "stack", "aria-label": "New pipeline", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(addPipe.querySelector("button"), async () => {
      let body;
      try { body = JSON.parse(new FormData(addPipe).get("definition")); } catch (err) { throw new Error(`the definition is not JSON: ${err.message}`); }
      const p = (await post(`/projects/${id}/pipelines`, body)).data;
      navigate(`/pipelines/${p.id}`);
    }, pipeErr);
  } },
    field("Definition (JSON: name, description, nodes, edges, config)", h("textarea", { name: "definition", rows: 12, class: "code", id: "pipeline-definition" }, pretty(EXAMPLE))),
    pipeErr,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "create-pipeline" }, "Create pipeline")));
  const byState = Object.entries(stats.runs_by_state || {});
  return h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, "Project ", project.name),
      can("execute", id) ? link(`#/runs/new?project_id=${id}`, "New run", { class: "button" }) : null),
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "Id"), h("dd", {}, h("code", {}, project.id))),
      h("div", {}, h("dt", {}, "Owner"), h("dd", {}, project.owner || "—")),
      h("div", {}, h("dt", {}, "Created"), h("dd", {}, fmtTime(project.created_at))),
      h("div", {}, h("dt", {}, "Runs"), h("dd", {}, link(`#/runs?project_id=${id}`, String(stats.total_runs)))),
      h("div", {}, h("dt", {}, "Success rate"), h("dd", {}, stats.success_rate === null ? "—" : `${Math.round(stats.success_rate * 100)}%`)),
      h("div", {}, h("dt", {}, "By state"), h("dd", {}, byState.length ? byState.map(([k, v]) => `${k} ${v}`).join(" · ") : "—"))),
    project.description ? h("p", {}, project.description) : null,
    section("Pipelines", pipelineTable(pipelines.data)),
    writable ? section("Edit project", edit, errors) : null,
    writable ? h("details", { class: "card" }, h("summary", {}, "Add a pipeline"), addPipe) : null);
}
