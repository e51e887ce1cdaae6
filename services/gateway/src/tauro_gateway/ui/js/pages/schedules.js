// Schedules: list with next and last firing; create and edit (CRON or INTERVAL in a time zone, with a
// preview of the next 10 firings computed in the browser); enable/disable; tick history; backfill
// with a dry-run preview before it is confirmed.
import { get, post, put, can } from "../api.js";
import { h, table, link, ago, fmtTime, field, select, button, busy, section, clear, badge, errorBox, flash, pager, short } from "../dom.js";
import { nextFirings } from "../cron.js";
import { navigate, setQuery } from "../main.js";
import { projectOptions, pipelineOptions } from "./runs.js";

const zones = () => (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : ["UTC"]);

export async function schedulesList({ query }) {
  const offset = Number(query.get("offset") || 0);
  const r = await get("/schedules", { limit: 25, offset, sort: "next_run_at" });
  return h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, "Schedules"),
      can("schedules") ? link("#/schedules/new", "New schedule", { class: "button", id: "new-schedule" }) : null),
    table([
      ["Schedule", (x) => link(`#/schedules/${x.id}`, x.description || x.id)],
      ["Pipeline", (x) => x.pipeline_name || x.pipeline_id],
      ["Rule", (x) => h("code", {}, `${x.kind} ${x.expression}`), ],
      ["Zone", (x) => x.timezone],
      ["Enabled", (x) => (x.enabled ? "yes" : "no")],
      ["Next firing", (x) => h("span", { title: fmtTime(x.next_run_at, x.timezone) }, x.enabled ? ago(x.next_run_at) : "—")],
      ["Last firing", (x) => h("span", { title: fmtTime(x.last_run_at, x.timezone) }, ago(x.last_run_at))],
      ["Ticks", (x) => `${x.tick_counts?.fired ?? 0} fired · ${x.tick_counts?.skipped ?? 0} skipped · ${x.tick_counts?.missed ?? 0} missed`],
    ], r.data, { empty: "No schedule yet.", caption: `${r.meta.total} schedule(s)` }),
    pager(r.meta, (o) => setQuery({ offset: o })));
}

function previewList(kind, expression, tz, anchor) {
  try {
    if (!expression.trim()) return h("p", { class: "muted" }, "Type an expression to see its next firings.");
    const times = nextFirings(kind, expression, tz, 10, anchor);
    if (!times.length) return h("p", { class: "muted" }, "It never fires in the next five years.");
    return h("ol", { class: "preview", id: "preview-list" }, times.map((t) => h("li", {},
      h("time", { datetime: t.toISOString() }, fmtTime(t.toISOString(), tz)), h("small", { class: "muted" }, ` (${tz}) · ${t.toISOString().replace(".000Z", "Z")}`))));
  } catch (err) {
    return h("p", { class: "error", role: "alert", id: "preview-error" }, `Not a valid ${kind}: ${err.message}`);
  }
}

export async function scheduleForm({ params, query }) {
  const editing = params[0] ? (await get(`/schedules/${params[0]}`)).data : null;
  const projects = await projectOptions();
  const projectId = editing?.project_id || query.get("project_id") || projects[0]?.[0] || "";
  const pipelines = await pipelineOptions(projectId);
  const errors = h("div", {});
  const kind = select("kind", [["CRON", "CRON"], ["INTERVAL", "INTERVAL"]], editing?.kind || "CRON", { id: "sched-kind" });
  const expr = h("input", { name: "expression", id: "sched-expression", required: true, value: editing?.expression || "0 6 * * *", autocomplete: "off" });
  const tzInput = h("input", { name: "timezone", id: "sched-timezone", list: "zones", value: editing?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
  const zoneList = h("datalist", { id: "zones" }, zones().map((z) => h("option", { value: z })));
  const preview = h("div", { id: "preview", "aria-live": "polite" });
  const update = () => clear(preview, previewList(kind.value, expr.value, tzInput.value || "UTC", editing?.kind === kind.value && editing?.expression === expr.value ? editing?.next_run_at : null));
  [kind, expr, tzInput].forEach((el) => el.addEventListener("input", update));
  update();
  const form = h("form", { class: "stack", "aria-label": editing ? "Edit schedule" : "New schedule", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(form.querySelector("button[type=submit]"), async () => {
      const d = Object.fromEntries(new FormData(form));
      let paramsValue = {};
      try { paramsValue = JSON.parse(d.params || "{}"); } catch (err) { throw new Error(`params is not JSON: ${err.message}`); }
      const body = { kind: d.kind, expression: d.expression.trim(), timezone: d.timezone || "UTC", description: d.description,
        params: paramsValue, max_concurrency: Number(d.max_concurrency) || 1, overlap_policy: d.overlap_policy, catch_up_policy: d.catch_up_policy };
      let saved;
      if (editing) saved = (await put(`/schedules/${editing.id}`, { ...body, pipeline_id: d.pipeline_id })).data;
      else saved = (await post("/schedules", { ...body, project_id: d.project_id, pipeline_id: d.pipeline_id, enabled: d.enabled === "on" })).data;
      flash(editing ? "Schedule saved" : "Schedule created");
      navigate(`/schedules/${saved.id}`);
    }, errors);
  } },
    field("Project", select("project_id", projects, projectId, { disabled: !!editing, onchange: (ev) => setQuery({ project_id: ev.target.value }) })),
    field("Pipeline", select("pipeline_id", pipelines, editing?.pipeline_id || query.get("pipeline_id") || pipelines[0]?.[0])),
    field("Description", h("input", { name: "description", id: "sched-description", value: editing?.description || "" })),
    h("div", { class: "grid3" },
      field("Kind", kind),
      field("Expression", expr, "CRON: minute hour day month weekday (e.g. 0 6 * * MON-FRI) · INTERVAL: 15s, 10m, 1h30m, 1d"),
      field("Time zone", tzInput)),
    zoneList,
    h("div", { class: "card inner" }, h("h3", {}, "Next 10 firings"), preview),
    h("div", { class: "grid3" },
      field("Max concurrent runs", h("input", { name: "max_concurrency", type: "number", min: 1, value: editing?.max_concurrency ?? 1 })),
      field("Overlap policy", select("overlap_policy", ["skip", "buffer_one", "allow_all", "cancel_running"], editing?.overlap_policy || "skip")),
      field("Catch-up policy", select("catch_up_policy", ["none", "latest", "all"], editing?.catch_up_policy || "latest"))),
    field("Run params (JSON)", h("textarea", { name: "params", rows: 3, class: "code" }, JSON.stringify(editing?.params || {}, null, 2))),
    editing ? null : h("div", { class: "check" }, h("input", { type: "checkbox", name: "enabled", id: "sched-enabled", checked: true }), h("label", { for: "sched-enabled" }, "Enabled")),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "save-schedule" }, editing ? "Save" : "Create schedule"),
      link(editing ? `#/schedules/${editing.id}` : "#/schedules", "Cancel", { class: "button secondary" })));
  return h("div", { class: "page" }, h("h1", {}, editing ? "Edit schedule" : "New schedule"),
    projects.length ? section(editing ? editing.id : "Schedule a pipeline", form) : h("p", {}, "Create a project first: ", link("#/projects", "Projects")));
}

export async function schedulePage({ params, query }) {
  const id = params[0];
  const status = query.get("status") || "";
  const offset = Number(query.get("offset") || 0);
  const [sched, ticks] = await Promise.all([
    get(`/schedules/${id}`).then((r) => r.data),
    get(`/schedules/${id}/ticks`, { status: status || undefined, limit: 20, offset }),
  ]);
  const manage = can("schedules", sched.project_id);
  const actionErr = h("div", {});
  const toggle = button(sched.enabled ? "Disable" : "Enable", (ev) => busy(ev.target, async () => {
    await post(`/schedules/${id}/${sched.enabled ? "disable" : "enable"}`, {});
    navigate(`/schedules/${id}`);
  }, actionErr), { id: "toggle-schedule" });
  const s = sched.statistics;
  return h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, "Schedule ", sched.description || sched.id),
      h("span", {}, sched.enabled ? badge("ENABLED") : badge("DISABLED"))),
    manage ? h("div", { class: "actions" }, toggle, link(`#/schedules/${id}/edit`, "Edit", { class: "button secondary", id: "edit-schedule" })) : null,
    actionErr,
    h("dl", { class: "facts" },
      fact("Pipeline", link(`#/pipelines/${sched.pipeline_id}`, sched.pipeline_name || sched.pipeline_id)),
      fact("Project", link(`#/projects/${sched.project_id}`, sched.project_id)),
      fact("Rule", h("code", {}, `${sched.kind} ${sched.expression}`)), fact("Time zone", sched.timezone),
      fact("Next firing", `${fmtTime(sched.next_run_at, sched.timezone)} (${ago(sched.next_run_at)})`),
      fact("Last firing", fmtTime(sched.last_run_at, sched.timezone)),
      fact("Overlap / catch-up", `${sched.overlap_policy} / ${sched.catch_up_policy}`),
      s ? fact("Runs", `${s.total_runs} total · ${s.successful_runs} ok · ${s.failed_runs} failed · ${s.active_runs} active`) : null),
    section("Next 10 firings", previewList(sched.kind, sched.expression, sched.timezone, sched.next_run_at)),
    manage ? backfillSection(sched) : null,
    section("Tick history",
      h("nav", { class: "tabs", "aria-label": "Tick status" }, ["", "fired", "waiting", "skipped", "missed", "failed"].map((st) =>
        link(`#/schedules/${id}${st ? `?status=${st}` : ""}`, st || "all", st === status ? { "aria-current": "true" } : {}))),
      table([
        ["Nominal time", (t) => fmtTime(t.nominal_time, sched.timezone)],
        ["Status", (t) => (t.status ? badge(t.status.toUpperCase()) : "—")],
        ["Origin", (t) => t.origin],
        ["Reason", (t) => [t.reason || "", t.message ? h("small", { class: "muted" }, ` ${t.message}`) : null]],
        ["Run", (t) => (t.run_id ? [link(`#/runs/${t.run_id}`, short(t.run_id)), " ", t.run_state ? badge(t.run_state) : null] : "—")],
        ["Recorded", (t) => ago(t.recorded_at)],
      ], ticks.data, { empty: "No tick yet.", caption: `${ticks.meta.total} tick(s)` }),
      pager(ticks.meta, (o) => setQuery({ status, offset: o }))));
}

function backfillSection(sched) {
  const out = h("div", { id: "backfill-result", "aria-live": "polite" });
  const form = h("form", { class: "inline-form", "aria-label": "Backfill" });
  const mode = select("mode", [["count", "The N most recent nominal times"], ["range", "Every nominal time in a range"]], "count", { id: "bf-mode" });
  const count = h("input", { name: "count", type: "number", min: 1, max: 1000, value: 3, id: "bf-count" });
  const start = h("input", { name: "start", type: "datetime-local", id: "bf-start" });
  const end = h("input", { name: "end", type: "datetime-local", id: "bf-end" });
  const countField = field("How many", count), startField = field("From", start), endField = field("To", end);
  const sync = () => { countField.hidden = mode.value !== "count"; startField.hidden = endField.hidden = mode.value === "count"; };
  mode.addEventListener("change", sync);
  sync();
  const body = (dryRun) => (mode.value === "count" ? { count: Number(count.value), dry_run: dryRun }
    : { start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString(), dry_run: dryRun });
  const dry = button("Preview (dry run)", (ev) => busy(ev.target, async () => {
    const request = body(true);
    const r = (await post(`/schedules/${sched.id}/backfill`, request)).data;
    clear(out, h("p", {}, `${r.total} nominal time(s); a backfill would create ${r.would_create ?? r.runs.filter((x) => x.status === "would_create").length} run(s):`),
      backfillTable(r, sched.timezone),
      h("div", { class: "actions" },
        button(`Confirm: backfill ${r.total} nominal time(s)`, (e2) => busy(e2.target, async () => {
          const done = (await post(`/schedules/${sched.id}/backfill`, { ...request, dry_run: false })).data;
          clear(out, h("p", { id: "backfill-done" }, `Backfill ${done.backfill_id}: ${done.queued} run(s) queued of ${done.total}.`), backfillTable(done, sched.timezone));
        }, out), { id: "bf-confirm", class: "danger" }),
        button("Discard", () => clear(out), { class: "secondary" })));
  }, out), { id: "bf-dry-run" });
  form.append(field("Backfill", mode), countField, startField, endField, h("div", { class: "actions" }, dry));
  form.addEventListener("submit", (ev) => { ev.preventDefault(); dry.click(); });
  return section("Backfill", h("p", { class: "muted" }, "Runs for past nominal times. Preview them first; nothing is created until you confirm."), form, out);
}

function backfillTable(r, tz) {
  return table([
    ["Nominal time", (x) => fmtTime(x.nominal_time, tz)], ["Logical date", (x) => x.logical_date],
    ["Status", (x) => badge(x.status.toUpperCase())],
    ["Run", (x) => (r.dry_run || x.status === "would_create" ? h("code", {}, short(x.run_id)) : link(`#/runs/${x.run_id}`, short(x.run_id)))],
  ], r.runs, { empty: "No nominal time in that window." });
}

function fact(name, value) {
  return h("div", {}, h("dt", {}, name), h("dd", {}, value));
}
