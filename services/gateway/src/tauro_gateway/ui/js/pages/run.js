// A run: state and actions; the DAG coloured by task state, live; a Gantt of task attempts; metrics;
// the live log (level filter, search) that resumes after a dropped connection (Last-Event-ID).
// Live updates ride on the log's Server-Sent Events: each burst of lines refreshes the run once
// (debounced), and a slow check covers quiet stretches; no polling storm.
import { get, post, can, eventStream } from "../api.js";
import { h, badge, table, link, fmtTime, fmtDuration, button, busy, section, clear, field, select, errorBox, flash } from "../dom.js";
import { dagGraph, gantt } from "../charts.js";
import { navigate } from "../main.js";
import { progressBar } from "./overview.js";

const TERMINAL = new Set(["SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"]);
const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const MAX_LINES = 5000;

export async function runPage({ params, onLeave }) {
  const runId = params[0];
  let run = (await get(`/runs/${runId}`)).data;
  let dag = null;
  try { dag = (await get(`/pipelines/${encodeURIComponent(run.pipeline_id)}/dag`)).data; } catch { dag = null; }
  if (!dag) dag = { nodes: run.tasks.map((t) => ({ id: t.node_id, type: t.type })), edges: [] };

  const headBox = h("div", {});
  const actions = h("div", { class: "actions", id: "run-actions" });
  const actionErr = h("div", {});
  const dagBox = h("div", { id: "run-dag" });
  const ganttBox = h("div", { id: "gantt" });
  const metricsBox = h("div", { id: "metrics" });
  const tasksBox = h("div", {});

  function draw() {
    clear(headBox,
      h("div", { class: "page-head" }, h("h1", {}, "Run ", h("code", {}, run.id)), h("span", { id: "run-state", "data-state": run.state }, badge(run.state))),
      h("dl", { class: "facts" },
        fact("Pipeline", link(`#/pipelines/${run.pipeline_id}`, `${run.pipeline_name || run.pipeline_id} v${run.pipeline_version ?? ""}`)),
        fact("Project", link(`#/projects/${run.project_id}`, run.project_id)),
        fact("Trigger", run.trigger + (run.schedule_id ? ` (${run.schedule_id})` : "")),
        fact("Created", fmtTime(run.created_at)), fact("Started", fmtTime(run.started_at)), fact("Finished", fmtTime(run.finished_at)),
        fact("Duration", fmtDuration(run.duration_seconds)), fact("Progress", progressBar(run.progress)),
        Object.keys(run.params || {}).length ? fact("Params", h("code", {}, JSON.stringify(run.params))) : null,
        Object.keys(run.tags || {}).length ? fact("Tags", Object.entries(run.tags).map(([k, v]) => h("span", { class: "tag" }, `${k}:${v}`))) : null),
      run.error ? h("p", { class: "error", role: "alert" }, h("strong", {}, "Error: "), run.error) : null,
      run.cancel_reason ? h("p", { class: "muted" }, `Cancelled: ${run.cancel_reason}`) : null);
    clear(actions);
    if (can("execute", run.project_id)) {
      if (run.state === "PENDING") actions.append(button("Start", (ev) => busy(ev.target, async () => { await post(`/runs/${run.id}/start`, {}); await refresh(); }, actionErr), { id: "start-run" }));
      if (!TERMINAL.has(run.state)) actions.append(button("Cancel run", (ev) => busy(ev.target, async () => {
        run = (await post(`/runs/${run.id}/cancel`, { reason: "cancelled from Tauro UI" })).data; draw(); flash("Run cancelled");
      }, actionErr), { id: "cancel-run", class: "danger" }));
      if (TERMINAL.has(run.state)) actions.append(button("Retry (new run)", (ev) => busy(ev.target, async () => {
        const again = (await post("/runs", { project_id: run.project_id, pipeline_id: run.pipeline_id, params: run.params,
          tags: { ...run.tags, retry_of: run.id }, start: true })).data;
        navigate(`/runs/${again.id}`);
      }, actionErr), { id: "retry-run" }));
    }
    const states = Object.fromEntries(run.tasks.map((t) => [t.node_id, t.status]));
    clear(dagBox, dagGraph(dag, states, { onSelect: (id) => { nodeSel.value = id; applyFilter(); } }));
    clear(ganttBox, gantt(run));
    const m = run.metrics || {};
    clear(metricsBox, h("dl", { class: "facts" },
      fact("Rows processed", m.rows_processed ?? 0), fact("Bytes processed", m.bytes_processed ?? 0), fact("Errors", m.error_count ?? 0),
      fact("Tasks", `${run.progress?.completed_tasks ?? 0} done · ${run.progress?.running_tasks ?? 0} running · ${run.progress?.failed_tasks ?? 0} failed of ${run.progress?.total_tasks ?? 0}`)));
    clear(tasksBox, table([
      ["Task", (t) => t.node_id], ["Type", (t) => t.type], ["State", (t) => badge(t.status)], ["Attempts", (t) => t.attempt],
      ["Started", (t) => fmtTime(t.started_at)], ["Finished", (t) => fmtTime(t.finished_at)],
      ["Metrics", (t) => (Object.keys(t.metrics || {}).length ? h("code", {}, JSON.stringify(t.metrics)) : "—")],
      ["Error", (t) => h("span", { class: "err-text" }, t.error || "")],
    ], run.tasks));
  }

  // ---- refresh: debounced, at most one request in flight ----
  let timer = null, inflight = false, lastRefresh = Date.now();
  async function refresh() {
    if (inflight) { schedule(); return; }
    inflight = true;
    try { run = (await get(`/runs/${runId}`)).data; lastRefresh = Date.now(); draw(); }
    catch (err) { clear(actionErr, errorBox(err)); }
    finally { inflight = false; }
  }
  function schedule(ms = 1500) { if (!timer) timer = setTimeout(() => { timer = null; refresh(); }, ms); }
  const slow = setInterval(() => { if (!TERMINAL.has(run.state) && Date.now() - lastRefresh > 4000) refresh(); }, 2000);

  // ---- the log ----
  const seen = new Set();
  const lines = h("ol", { class: "log", id: "log", "aria-live": "off" });
  const levelSel = select("level", LEVELS.map((l) => [l, `${l} and above`]), "DEBUG", { id: "log-level", onchange: () => applyFilter() });
  const search = h("input", { type: "search", id: "log-search", placeholder: "text in the message", oninput: () => applyFilter() });
  const nodeSel = select("node", [["", "All tasks"], ...dag.nodes.map((n) => n.id)], "", { id: "log-node", onchange: () => applyFilter() });
  const status = h("span", { class: "live", id: "log-status" }, "connecting");
  const count = h("span", { class: "muted", id: "log-count" }, "");
  function visible(li) {
    const min = LEVELS.indexOf(levelSel.value);
    const q = search.value.trim().toLowerCase();
    return LEVELS.indexOf(li.dataset.level) >= min && (!q || li.dataset.text.includes(q)) && (!nodeSel.value || li.dataset.node === nodeSel.value);
  }
  function applyFilter() {
    let n = 0;
    for (const li of lines.children) { li.hidden = !visible(li); if (!li.hidden) n++; }
    count.textContent = `${n} of ${lines.children.length} line(s) shown`;
  }
  function addLine(line) {
    if (seen.has(line.id)) return;
    seen.add(line.id);
    const li = h("li", { class: `lv-${line.level.toLowerCase()}`, "data-level": line.level, "data-node": line.node_id || "", "data-id": line.id },
      h("time", { datetime: line.timestamp }, line.timestamp.slice(11, 23)), " ",
      h("span", { class: "lvl" }, line.level), " ",
      line.node_id ? h("span", { class: "node-ref" }, `${line.node_id}${line.attempt ? "#" + line.attempt : ""}`) : null, " ",
      h("span", { class: "msg" }, line.message));
    li.dataset.text = `${line.message} ${line.node_id || ""}`.toLowerCase();
    li.hidden = !visible(li);
    const atBottom = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 30;
    lines.append(li);
    if (lines.children.length > MAX_LINES) lines.firstElementChild.remove();
    if (atBottom) lines.scrollTop = lines.scrollHeight;
  }
  let countTimer = null;
  const stream = eventStream(`/runs/${runId}/logs`, {}, {
    onEvent: (event, data) => {
      if (event === "log") {
        addLine(data);
        schedule();
        if (!countTimer) countTimer = setTimeout(() => { countTimer = null; applyFilter(); }, 300);
      } else if (event === "end") { applyFilter(); refresh(); }
    },
    onStatus: (st, message) => { status.textContent = message ? `${st}: ${message}` : st; status.dataset.status = st; },
  });
  onLeave(() => { stream.close(); clearInterval(slow); clearTimeout(timer); clearTimeout(countTimer); });

  draw();
  return h("div", { class: "page run" },
    headBox, actions, actionErr,
    section("Graph", h("p", { class: "muted" }, "Task states update live. Select a task to filter the log by it."), dagBox),
    section("Metrics", metricsBox),
    section("Timeline of task attempts", ganttBox),
    section("Tasks", tasksBox),
    section("Log",
      h("div", { class: "log-tools" }, field("Level", levelSel), field("Search", search), field("Task", nodeSel),
        h("div", { class: "log-state" }, "Stream: ", status, " ", count, " ",
          button("Reconnect", () => stream.drop(), { class: "secondary small", id: "log-reconnect", title: "Drop the connection and resume from the last line received" }))),
      lines));
}

function fact(name, value) {
  return h("div", {}, h("dt", {}, name), h("dd", {}, value));
}
