// Streams: executions with state, records in/out, dead letters and consumer lag per partition; start and stop.
import { get, post, can } from "../api.js";
import { h, table, ago, field, button, busy, section, badge, fmtDuration, flash, pager } from "../dom.js";
import { navigate, setQuery } from "../main.js";

function lagTable(x) {
  const rows = Object.entries(x.consumer_lag || {}).flatMap(([topic, parts]) =>
    Object.entries(parts || {}).map(([partition, lag]) => ({ topic, partition, lag })));
  if (!rows.length) return h("span", { class: "muted" }, x.total_lag ?? "—");
  return h("table", { class: "mini" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Topic"), h("th", { scope: "col" }, "Partition"), h("th", { scope: "col" }, "Lag"))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, r.topic), h("td", {}, r.partition), h("td", {}, r.lag)))));
}

export async function streamsPage({ query }) {
  if (!can("read", null)) return h("div", { class: "page" }, h("h1", {}, "Streams"), h("p", {}, "Streaming executions belong to no project: they need a global grant."));
  const offset = Number(query.get("offset") || 0);
  const r = await get("/stream/status", { limit: 20, offset });
  const operate = can("execute", null);
  const errors = h("div", {});
  const form = h("form", { class: "inline-form", "aria-label": "Start a stream", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(form.querySelector("button"), async () => {
      const d = Object.fromEntries(new FormData(form));
      const body = { config: d.config, pipeline: d.pipeline, mode: "async" };
      if (d.max_duration) body.max_duration_seconds = Number(d.max_duration);
      const x = (await post("/stream/run", body)).data;
      flash(`Stream ${x.execution_id || x.id} started`);
      navigate("/streams");
    }, errors);
  } },
    field("Definition file", h("input", { name: "config", value: "streaming.yaml", required: true })),
    field("Pipeline", h("input", { name: "pipeline", value: "events_processor", required: true })),
    field("Stop after (seconds)", h("input", { name: "max_duration", type: "number", min: 1 })),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "start-stream" }, "Start stream")));
  const stopErr = h("div", {});
  return h("div", { class: "page" },
    h("div", { class: "page-head" }, h("h1", {}, "Streams"), button("Refresh", () => navigate(`/streams${offset ? `?offset=${offset}` : ""}`), { class: "secondary" })),
    stopErr,
    table([
      ["Execution", (x) => h("code", {}, x.execution_id || x.id)],
      ["Pipeline", (x) => x.pipeline || "inline"],
      ["State", (x) => badge(x.state)],
      ["In", (x) => x.records_in], ["Out", (x) => x.records_out], ["Dead letters", (x) => x.dead_lettered],
      ["Lag per partition", lagTable],
      ["Started", (x) => ago(x.started_at)],
      ["Duration", (x) => fmtDuration(x.duration_seconds)],
      ["Last error", (x) => h("span", { class: "err-text" }, x.last_error || x.error || "")],
      ["", (x) => (operate && x.state === "RUNNING" ? button("Stop", (ev) => busy(ev.target, async () => {
        await post("/stream/stop", { execution_id: x.execution_id || x.id, reason: "stopped from Tauro UI" });
        flash("Stop requested");
        navigate("/streams");
      }, stopErr), { class: "danger small" }) : "")],
    ], r.data, { empty: "No streaming execution yet.", caption: `${r.meta.total} execution(s)` }),
    pager(r.meta, (o) => setQuery({ offset: o })),
    operate ? section("Start a stream", h("p", { class: "muted" }, "A pipeline of a definition file in the streams folder (examples/streams)."), form, errors) : null);
}
