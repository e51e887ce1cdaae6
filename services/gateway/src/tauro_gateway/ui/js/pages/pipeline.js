// A pipeline: its DAG by layer, its definition (and editing it), its config versions with a
// side-by-side diff of two of them (bookmarkable: ?left=1&right=2).
import { get, put, can } from "../api.js";
import { h, table, link, field, select, button, busy, section, fmtTime, pretty, flash } from "../dom.js";
import { dagGraph, layersOf, sideBySide } from "../charts.js";
import { navigate, setQuery } from "../main.js";

const definition = (p) => ({ name: p.name, description: p.description, nodes: p.nodes, edges: p.edges, config: p.config });

export async function pipelinePage({ params, query }) {
  const id = decodeURIComponent(params[0]);
  const [pipeline, dag, versions] = await Promise.all([
    get(`/pipelines/${encodeURIComponent(id)}`).then((r) => r.data),
    get(`/pipelines/${encodeURIComponent(id)}/dag`).then((r) => r.data),
    get(`/pipelines/${encodeURIComponent(id)}/versions`, { limit: 100, sort: "-version" }),
  ]);
  const list = versions.data;
  const numbers = list.map((v) => v.version);
  const right = Number(query.get("right")) || numbers[0];
  const left = Number(query.get("left")) || numbers.find((n) => n < right) || right;
  const byNumber = Object.fromEntries(list.map((v) => [v.version, v]));
  const leftSel = select("left", numbers.map((n) => [n, `v${n}`]), left, { id: "diff-left" });
  const rightSel = select("right", numbers.map((n) => [n, `v${n}`]), right, { id: "diff-right" });
  const compare = h("form", { class: "inline-form", "aria-label": "Compare versions", onsubmit: (ev) => {
    ev.preventDefault();
    setQuery({ left: leftSel.value, right: rightSel.value });
  } }, field("Old version", leftSel), field("New version", rightSel), h("div", { class: "actions" }, h("button", { type: "submit", id: "compare" }, "Compare")));
  const showDiff = query.has("left") || query.has("right");
  const errors = h("div", {});
  const writable = can("write", pipeline.project_id ?? null);
  const editor = h("form", { class: "stack", "aria-label": "Edit definition", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(editor.querySelector("button"), async () => {
      let body;
      try { body = JSON.parse(new FormData(editor).get("definition")); } catch (err) { throw new Error(`the definition is not JSON: ${err.message}`); }
      const p = (await put(`/pipelines/${encodeURIComponent(id)}`, body)).data;
      flash(`Saved as version ${p.version}`);
      navigate(`/pipelines/${id}?left=${pipeline.version}&right=${p.version}`);
    }, errors);
  } },
    field("Definition (JSON)", h("textarea", { name: "definition", rows: 16, class: "code", id: "edit-definition" }, pretty(definition(pipeline)))),
    errors, h("div", { class: "actions" }, h("button", { type: "submit", id: "save-definition" }, "Save as a new version")));
  const types = [...new Set(pipeline.nodes.map((n) => n.type))];
  return h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, "Pipeline ", pipeline.name),
      can("execute", pipeline.project_id ?? undefined) ? link(`#/runs/new?${pipeline.project_id ? `project_id=${pipeline.project_id}&` : ""}pipeline_id=${pipeline.id}`, "Run it", { class: "button" }) : null),
    h("p", {}, pipeline.description || ""),
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "Id"), h("dd", {}, h("code", {}, pipeline.id))),
      h("div", {}, h("dt", {}, "Project"), h("dd", {}, pipeline.project_id ? link(`#/projects/${pipeline.project_id}`, pipeline.project_id) : "shared catalog")),
      h("div", {}, h("dt", {}, "Version"), h("dd", {}, `v${pipeline.version}`)),
      h("div", {}, h("dt", {}, "Source"), h("dd", {}, pipeline.source || "—")),
      h("div", {}, h("dt", {}, "Layers"), h("dd", {}, String((dag.layers || layersOf(dag.nodes, dag.edges)).length)))),
    section("Graph", h("p", { class: "legend" }, "Node types: ", types.map((t) => h("span", { class: `legend-item type-${t}` }, t))), dagGraph(dag)),
    section("Config versions",
      table([
        ["Version", (v) => `v${v.version}`], ["Created", (v) => fmtTime(v.created_at)], ["By", (v) => v.created_by || "—"],
        ["Source", (v) => v.source || "—"], ["Checksum", (v) => h("code", {}, (v.checksum || "").slice(0, 12))],
        ["Nodes", (v) => v.nodes.length],
      ], list, { empty: "No version recorded." }),
      list.length > 1 ? compare : h("p", { class: "muted" }, "One version only: change the definition to compare versions."),
      showDiff && byNumber[left] && byNumber[right]
        ? h("div", { id: "diff" }, sideBySide(pretty(definition(byNumber[left])), pretty(definition(byNumber[right])), `v${left}`, `v${right}`))
        : null),
    h("details", { class: "card", open: !writable }, h("summary", {}, "Definition"), h("pre", { class: "code" }, pretty(definition(pipeline)))),
    writable ? h("details", { class: "card" }, h("summary", {}, "Edit the definition"), editor) : null);
}
