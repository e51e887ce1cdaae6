// Overview: health of each dependency and service, runs by state (last hour / day), active runs,
// next schedule firings, recent failures.
import { get } from "../api.js";
import { h, s, badge, table, link, ago, fmtTime, section, errorBox, short } from "../dom.js";
import { barChart, RUN_STATES } from "../charts.js";

const WINDOWS = { hour: 3600, day: 86400 };

function healthCards(health) {
  const c = health.checks || {};
  const rows = [
    ["Event store", c.event_store], ["Read store", c.read_store], ["Bus", c.bus], ["Database", c.database],
    ["Dead letters", c.dead_letters],
    ...Object.entries(c.services || {}).map(([name, check]) => [`Service: ${name}`, check]),
  ].filter(([, check]) => check);
  return h("ul", { class: "health", "aria-label": "Health checks" },
    rows.map(([name, check]) => h("li", { class: `check ck-${check.status}` },
      h("span", { class: "dot", "aria-hidden": "true" }), h("strong", {}, name), " ",
      h("span", { class: "ck-status" }, check.status),
      h("small", { class: "muted" },
        [check.kind, check.latency_ms !== undefined && check.latency_ms !== null ? `${check.latency_ms} ms` : null,
          check.instances ? `${check.instances} instance(s)` : null, check.age_seconds !== undefined && check.age_seconds !== null ? `seen ${check.age_seconds} s ago` : null,
          check.recent !== undefined && check.recent !== null ? `${check.recent} in ${Math.round(check.window_seconds / 60)} min` : null,
          check.error].filter(Boolean).join(" · ")))));
}

async function countsByState(windowSeconds) {
  const after = new Date(Date.now() - windowSeconds * 1000).toISOString();
  const totals = await Promise.all(RUN_STATES.map((state) =>
    get("/runs", { state, created_after: after, limit: 1, fields: "id" }).then((r) => r.meta.total)));
  return RUN_STATES.map((state, i) => [state, totals[i], `st-${state.toLowerCase()}`]);
}

export async function overview({ query }) {
  const win = WINDOWS[query.get("window")] ? query.get("window") : "hour";
  const settle = (p) => p.then((v) => ({ ok: v }), (err) => ({ err }));
  const [health, counts, active, failures, schedules] = await Promise.all([
    settle(get("/health")),
    settle(countsByState(WINDOWS[win])),
    settle(get("/runs", { state: "RUNNING,QUEUED", limit: 10, sort: "-created_at" })),
    settle(get("/runs", { state: "FAILED,TIMED_OUT", limit: 5, sort: "-created_at" })),
    settle(get("/schedules", { enabled: true, sort: "next_run_at", limit: 6 })),
  ]);
  const part = (r, fn) => (r.err ? errorBox(r.err) : fn(r.ok));
  return h("div", { class: "page overview" },
    h("h1", {}, "Overview"),
    h("div", { class: "grid2" },
      section("Health",
        part(health, (hl) => [h("p", {}, "Platform ", badge(hl.status.toUpperCase()), ` · ${hl.mode} mode · v${hl.version}`,
          hl.failing?.length ? h("span", { class: "muted" }, ` · failing: ${hl.failing.join(", ")}`) : null), healthCards(hl)])),
      section("Runs by state",
        h("nav", { class: "tabs", "aria-label": "Time window" },
          Object.keys(WINDOWS).map((w) => link(`#/?window=${w}`, `Last ${w}`, w === win ? { "aria-current": "true" } : {}))),
        part(counts, (rows) => [barChart(rows, { title: `Runs created in the last ${win}, by state` }),
          h("p", { class: "muted" }, `${rows.reduce((a, r) => a + r[1], 0)} run(s) created in the last ${win}. `, link("#/runs", "All runs →"))]))),
    h("div", { class: "grid2" },
      section("Active runs",
        part(active, (r) => table([
          ["Run", (x) => link(`#/runs/${x.id}`, short(x.id))],
          ["Pipeline", (x) => x.pipeline_name || x.pipeline_id],
          ["State", (x) => badge(x.state)],
          ["Progress", (x) => progressBar(x.progress)],
          ["Started", (x) => ago(x.started_at || x.created_at)],
        ], r.data, { empty: "No run is queued or running." }))),
      section("Next schedule firings",
        part(schedules, (r) => table([
          ["Schedule", (x) => link(`#/schedules/${x.id}`, x.description || x.pipeline_name || x.id)],
          ["Rule", (x) => h("code", {}, `${x.kind} ${x.expression}`)],
          ["Next", (x) => h("span", { title: fmtTime(x.next_run_at) }, ago(x.next_run_at))],
        ], r.data.filter((x) => x.next_run_at), { empty: "No enabled schedule." })))),
    section("Recent failures",
      part(failures, (r) => table([
        ["Run", (x) => link(`#/runs/${x.id}`, short(x.id))],
        ["Pipeline", (x) => x.pipeline_name || x.pipeline_id],
        ["State", (x) => badge(x.state)],
        ["When", (x) => ago(x.finished_at || x.updated_at)],
        ["Error", (x) => h("span", { class: "err-text" }, x.error || "—")],
      ], r.data, { empty: "No failed run. " }))));
}

export function progressBar(p) {
  const pct = Math.round(p?.percent_complete || 0);
  return h("span", { class: "progress", title: `${p?.completed_tasks ?? 0}/${p?.total_tasks ?? 0} tasks` },
    s("svg", { viewBox: "0 0 100 8", width: 80, height: 8, "aria-hidden": "true" },
      s("rect", { width: 100, height: 8, rx: 4, class: "track" }), s("rect", { width: pct, height: 8, rx: 4, class: "fill" })),
    ` ${pct}%`);
}
