// Inline SVG pictures: a bar chart, a pipeline DAG by layer, a Gantt of task attempts; a side-by-side diff.
import { h, s, fmtDuration, fmtTime } from "./dom.js";

export const RUN_STATES = ["PENDING", "QUEUED", "RUNNING", "SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"];

/** Horizontal bars: [[label, value, cssClass]]. */
export function barChart(rows, { title, width = 520 } = {}) {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const rowH = 26;
  const labelW = 96;
  const height = rows.length * rowH + 8;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title },
    s("title", {}, title),
    rows.map(([label, value, cls], i) => {
      const y = 4 + i * rowH;
      const w = Math.max(value ? 2 : 0, ((width - labelW - 60) * value) / max);
      return s("g", { class: cls },
        s("text", { x: labelW - 8, y: y + 16, "text-anchor": "end", class: "axis" }, label),
        s("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8, rx: 3, class: "bar" }),
        s("text", { x: labelW + w + 6, y: y + 16, class: "value" }, String(value)));
    }));
  return svg;
}

/** Topological layers of nodes (each layer depends only on earlier ones). */
export function layersOf(nodes, edges) {
  const deps = new Map(nodes.map((n) => [n.id, new Set()]));
  for (const e of edges) deps.get(e.to)?.add(e.from);
  const layers = [];
  const done = new Set();
  while (done.size < nodes.length) {
    const layer = nodes.filter((n) => !done.has(n.id) && [...deps.get(n.id)].every((d) => done.has(d))).map((n) => n.id);
    if (!layer.length) { layers.push(nodes.filter((n) => !done.has(n.id)).map((n) => n.id)); break; }
    layer.forEach((id) => done.add(id));
    layers.push(layer);
  }
  return layers;
}

/** The DAG, nodes by layer left to right; states: node id -> task state (coloured). */
export function dagGraph(dag, states = {}, { onSelect } = {}) {
  const layers = dag.layers || layersOf(dag.nodes, dag.edges);
  const types = Object.fromEntries(dag.nodes.map((n) => [n.id, n.type]));
  const nodeW = 170, nodeH = 48, gapX = 60, gapY = 22, pad = 12;
  const pos = {};
  const tallest = Math.max(...layers.map((l) => l.length));
  layers.forEach((layer, li) => {
    const offset = ((tallest - layer.length) * (nodeH + gapY)) / 2;
    layer.forEach((id, ni) => {
      pos[id] = { x: pad + li * (nodeW + gapX), y: pad + offset + ni * (nodeH + gapY) };
    });
  });
  const width = pad * 2 + layers.length * nodeW + (layers.length - 1) * gapX;
  const height = pad * 2 + tallest * nodeH + (tallest - 1) * gapY;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "dag", role: "img", "aria-label": `Pipeline graph: ${dag.nodes.length} nodes in ${layers.length} layers`, style: { maxWidth: `${width}px` } },
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))),
    dag.edges.map((e) => {
      const a = pos[e.from], b = pos[e.to];
      if (!a || !b) return null;
      const x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x - 2, y2 = b.y + nodeH / 2, mx = (x1 + x2) / 2;
      return s("path", { d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`, class: "edge", "marker-end": "url(#arrow)" });
    }),
    dag.nodes.map((n) => {
      const p = pos[n.id];
      const state = states[n.id];
      const label = n.id.length > 20 ? n.id.slice(0, 19) + "…" : n.id;
      const g = s("g", { class: ["node", `type-${n.type}`, state ? `st-${state.toLowerCase()}` : ""].join(" "), "data-node": n.id, "data-state": state || "", transform: `translate(${p.x},${p.y})` },
        s("title", {}, `${n.id} (${n.type})${state ? `: ${state}` : ""}`),
        s("rect", { width: nodeW, height: nodeH, rx: 8 }),
        s("text", { x: 10, y: 20, class: "node-id" }, label),
        s("text", { x: 10, y: 38, class: "node-type" }, state ? `${types[n.id]} · ${state}` : types[n.id]));
      if (onSelect) {
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        g.addEventListener("click", () => onSelect(n.id));
        g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); onSelect(n.id); } });
      }
      return g;
    }));
  return h("div", { class: "dag-wrap" }, svg);
}

/** Gantt of the run's task attempts: a row per task, a bar per attempt (retries side by side). */
export function gantt(run) {
  const tasks = run.tasks || [];
  const attempts = tasks.flatMap((t) => (t.attempts || []).map((a) => ({ ...a, node: t.node_id })));
  if (!attempts.length) return h("p", { class: "muted" }, "No task attempt has started yet.");
  const now = Date.now();
  const t0 = Math.min(...attempts.map((a) => Date.parse(a.started_at || run.started_at || run.created_at)));
  const t1 = Math.max(t0 + 1000, ...attempts.map((a) => (a.finished_at ? Date.parse(a.finished_at) : now)));
  const labelW = 150, width = 1000, rowH = 28, top = 22;
  const plotW = width - labelW - 10;
  const x = (t) => labelW + ((t - t0) / (t1 - t0)) * plotW;
  const height = top + tasks.length * rowH + 6;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => t0 + f * (t1 - t0));
  return h("div", { class: "gantt-wrap" }, s("svg", { viewBox: `0 0 ${width} ${height}`, class: "gantt", role: "img", "aria-label": `Timeline of ${attempts.length} task attempts` },
    ticks.map((t) => s("g", {},
      s("line", { x1: x(t), x2: x(t), y1: top - 4, y2: height, class: "grid" }),
      s("text", { x: x(t), y: 12, "text-anchor": "middle", class: "axis" }, `+${fmtDuration((t - t0) / 1000)}`))),
    tasks.map((t, i) => s("g", {},
      s("text", { x: labelW - 8, y: top + i * rowH + 18, "text-anchor": "end", class: "axis" }, t.node_id.length > 20 ? t.node_id.slice(0, 19) + "…" : t.node_id),
      (t.attempts || []).map((a) => {
        const start = Date.parse(a.started_at || run.started_at);
        const end = a.finished_at ? Date.parse(a.finished_at) : now;
        return s("rect", { x: x(start), y: top + i * rowH + 5, width: Math.max(3, x(end) - x(start)), height: rowH - 10, rx: 3, class: `attempt at-${a.status}`, "data-attempt": a.attempt },
          s("title", {}, `${t.node_id} attempt ${a.attempt}: ${a.status}, ${fmtDuration(a.duration_seconds ?? (end - start) / 1000)} from ${fmtTime(a.started_at)}${a.error ? `\n${a.error}` : ""}`));
      })))));
}

/** Side-by-side line diff of two texts (longest common subsequence). */
export function sideBySide(leftText, rightText, leftTitle, rightTitle) {
  const a = leftText.split("\n"), b = rightText.split("\n");
  const n = a.length, m = b.length;
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const rows = [];
  let i = 0, j = 0, changes = 0, dels = [], adds = [];
  const flush = () => { // a run of changes: removed lines beside the added ones
    for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
      const d = dels[k], e = adds[k];
      rows.push([d && e ? "change" : d ? "del" : "add", d ? d[0] : "", d ? d[1] : "", e ? e[0] : "", e ? e[1] : ""]);
    }
    dels = []; adds = [];
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { flush(); rows.push(["same", i + 1, a[i], j + 1, b[j]]); i++; j++; }
    else if (j < m && (i >= n || L[i][j + 1] >= L[i + 1][j])) { adds.push([j + 1, b[j]]); j++; changes++; }
    else { dels.push([i + 1, a[i]]); i++; changes++; }
  }
  flush();
  return h("div", { class: "diff-wrap" },
    h("p", { class: "muted" }, changes ? `${changes} changed line(s)` : "The two versions are identical."),
    h("table", { class: "diff" },
      h("colgroup", {}, h("col", { class: "ln" }), h("col", {}), h("col", { class: "ln" }), h("col", {})),
      h("thead", {}, h("tr", {}, h("th", { colspan: 2, scope: "col" }, leftTitle), h("th", { colspan: 2, scope: "col" }, rightTitle))),
      h("tbody", {}, rows.map(([kind, ln, lt, rn, rt]) => h("tr", { class: `d-${kind}` },
        h("td", { class: "ln" }, ln), h("td", { class: lt !== "" && kind !== "same" ? "del" : "" }, h("code", {}, lt)),
        h("td", { class: "ln" }, rn), h("td", { class: rt !== "" && kind !== "same" ? "add" : "" }, h("code", {}, rt)))))));
}
