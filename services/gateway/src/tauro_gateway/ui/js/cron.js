// Next firings of a CRON (5 fields, in an IANA time zone) or INTERVAL schedule, computed in the browser.

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MACROS = { "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *" };

function parseField(text, min, max, names) {
  const values = new Set();
  for (const part of text.toUpperCase().split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in '${part}'`);
    const value = (v) => {
      const i = names ? names.indexOf(v) : -1;
      const n = i >= 0 ? i + (min === 1 ? 1 : 0) : Number(v);
      if (!/^\d+$/.test(v) && i < 0) throw new Error(`bad value '${v}'`);
      if (n < min || n > max) throw new Error(`'${v}' is out of range ${min}-${max}`);
      return n;
    };
    let lo, hi;
    if (range === "*") { lo = min; hi = max; }
    else if (range.includes("-")) { const [x, y] = range.split("-"); lo = value(x); hi = value(y); }
    else { lo = value(range); hi = stepText === undefined ? lo : max; }
    if (lo > hi) throw new Error(`bad range '${range}'`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

export function parseCron(expression) {
  const expr = MACROS[expression.trim().toLowerCase()] || expression.trim();
  const f = expr.split(/\s+/);
  if (f.length !== 5) throw new Error("a CRON expression has 5 fields: minute hour day-of-month month day-of-week");
  const dow = parseField(f[4], 0, 7, DAYS);
  if (dow.has(7)) { dow.delete(7); dow.add(0); }
  return { minute: parseField(f[0], 0, 59), hour: parseField(f[1], 0, 23), dom: parseField(f[2], 1, 31),
    month: parseField(f[3], 1, 12, MONTHS), dow, domStar: f[2] === "*" || f[2] === "?", dowStar: f[4] === "*" || f[4] === "?" };
}

function wallClock(tz) {
  const fmt = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric",
    day: "numeric", hour: "numeric", minute: "numeric", weekday: "short" });
  return (ms) => {
    const p = {};
    for (const { type, value } of fmt.formatToParts(new Date(ms))) p[type] = value;
    return { month: +p.month, day: +p.day, hour: +p.hour % 24, minute: +p.minute, dow: DAYS.indexOf(p.weekday.toUpperCase()) };
  };
}

/** The next `count` firing times (Date) of a CRON expression in time zone `tz`, after `from`. */
export function cronNext(expression, tz = "UTC", count = 10, from = new Date()) {
  const c = parseCron(expression);
  const wall = wallClock(tz || "UTC");
  const out = [];
  let t = Math.floor(from.getTime() / 60000) * 60000 + 60000;
  const limit = t + 5 * 366 * 86400000;
  const dayOk = (w) => {
    const d = c.dom.has(w.day), wd = c.dow.has(w.dow);
    if (c.domStar && c.dowStar) return true;
    if (c.domStar) return wd;
    if (c.dowStar) return d;
    return d || wd; // both restricted: either matches (as cron and croniter do)
  };
  let seen = null;
  while (out.length < count && t < limit) {
    const w = wall(t);
    if (!c.month.has(w.month) || !dayOk(w)) { t += ((23 - w.hour) * 60 + (60 - w.minute)) * 60000; continue; }
    if (!c.hour.has(w.hour)) { t += (60 - w.minute) * 60000; continue; }
    if (c.minute.has(w.minute)) {
      const key = `${w.month}-${w.day}-${w.hour}-${w.minute}`;
      if (key !== seen) out.push(new Date(t)); // a wall time repeated by a DST change fires once
      seen = key;
    }
    t += 60000;
  }
  return out;
}

/** Seconds of an interval such as 15s, 1h30m, 1d, 2w. */
export function parseInterval(text) {
  const units = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const str = text.trim().toLowerCase();
  if (/^\d+$/.test(str)) return Number(str);
  const re = /(\d+)\s*([smhdw])/g;
  let total = 0, used = 0, m;
  while ((m = re.exec(str))) { total += Number(m[1]) * units[m[2]]; used += m[0].length; }
  if (!total || used !== str.replace(/\s+/g, "").length) throw new Error("an interval looks like 15s, 10m, 1h30m or 1d");
  return total;
}

export function intervalNext(expression, count = 10, anchor = null) {
  const step = parseInterval(expression) * 1000;
  let t = anchor ? new Date(anchor).getTime() : Date.now() + step;
  while (t <= Date.now()) t += step;
  return Array.from({ length: count }, (_, i) => new Date(t + i * step));
}

export function nextFirings(kind, expression, tz, count = 10, anchor = null) {
  return String(kind).toUpperCase() === "CRON" ? cronNext(expression, tz, count) : intervalNext(expression, count, anchor);
}
