"""The chaos suite's pure parts: statistics, ledger parsing, the invariant checks and the
recovery-time rule. No I/O here: :mod:`tests.chaos.rig` gathers the facts (client records,
event-store rows, ledger text, kills) and these functions judge them. Unit tests:
``tests/unit/test_chaos_checks.py``.

Rules, as the README's "Chaos testing" paragraph states them:

* **Runs**: every run whose ``POST /runs`` got a 2xx is in the store (``RunCreated``) under the
  id the client was given, and terminal through the API. A client key (``Idempotency-Key``,
  also written in the run's ``chaos_key`` tag) names at most one run.
* **Ledger** (a line per executed attempt, written by the node itself): no (run, node,
  attempt) twice; every line's attempt was claimed (``TaskStarted``); every ``TaskSucceeded``
  has its line. A node executed under more than one attempt is a *documented retry* only
  when each earlier attempt was claimed by an executor process the kill loop SIGKILLed (its
  pid is in the executor id ``exec-<host>-<pid>-<hex>``); any other re-execution is a
  violation.
* **Ticks**: per schedule, each nominal time has at most one outcome (a ``TickQueued``
  followed by its ``TickFired`` is one outcome), all on the interval grid, and no grid time
  between the first and the last is without an outcome (missed ticks are outcomes: the
  catch-up policy records them; ranges summarised as ``omitted_*`` count as recorded).
* **Store**: global positions are exactly 1..N; per stream, versions are exactly 1..n;
  event ids are unique.
* **Recovery**: throughput is counted in 1-second buckets (accepted ``POST /runs`` by the time
  of their 2xx; runs reaching a terminal state by the ``appended_at`` of the terminal event).
  The baseline of each is its mean rate over the warm-up (no kills). After a kill at time k,
  a metric has recovered at the first second j >= ceil(k) that counts something and such that
  the WINDOW seconds [j, j + WINDOW) average at least FRACTION of its baseline; recovery
  time = j - k. A kill's
  recovery time is the larger of the two metrics'. No recovery within STALL_SECONDS = a stall.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

WINDOW = 3
FRACTION = 0.5
STALL_SECONDS = 30.0
TERMINAL = frozenset({"SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"})
SERVICES = ("gateway", "runs", "executor", "scheduler", "streaming")

AttemptKey = tuple[str, str, int]


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(values: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values) if values else math.nan, "count": float(len(values))}


# --------------------------------------------------------------------------- kills and recovery


@dataclass(frozen=True)
class Kill:
    """One fault: a SIGKILLed service instance (or the database stopped), and its return."""

    service: str  # one of SERVICES, or "database"
    instance: str
    pid: int | None
    at: float  # epoch seconds of the SIGKILL (or of the database stop)
    back_at: float | None  # when the restarted process was ready again (None: never)
    restart_error: str = ""


def buckets(times: Iterable[float], start: float, end: float) -> list[int]:
    """How many of ``times`` fall in each second [start + i, start + i + 1) up to ``end``."""
    series = [0] * max(0, math.ceil(end - start))
    for t in times:
        i = math.floor(t - start)
        if 0 <= i < len(series):
            series[i] += 1
    return series


def mean_rate(series: Sequence[int], first: int, last: int) -> float:
    """Mean per-second count over the buckets [first, last)."""
    first, last = max(0, first), min(len(series), last)
    return sum(series[first:last]) / (last - first) if last > first else 0.0


def recovery_time(series: Sequence[int], kill_offset: float, baseline: float,
                  window: int = WINDOW, fraction: float = FRACTION) -> float | None:
    """Seconds from a kill (at ``kill_offset`` seconds into ``series``) until the first
    ``window``-second stretch starting at or after it, with work in its first second, averages
    ``fraction`` x ``baseline``.
    None if no such stretch exists in the series. A zero baseline recovers at once."""
    if baseline <= 0:
        return 0.0
    for j in range(math.ceil(kill_offset), len(series) - window + 1):
        if series[j] and sum(series[j:j + window]) / window >= fraction * baseline:
            return max(0.0, j - kill_offset)
    return None


# --------------------------------------------------------------------------- runs


@dataclass
class RunsReport:
    accepted: int = 0
    terminal: int = 0
    states: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)  # accepted, but not in the store or unknown to the API
    not_terminal: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)  # keys that named more than one run
    mismatched: list[str] = field(default_factory=list)  # the client was given another id than the store holds

    @property
    def violations(self) -> list[str]:
        return ([f"run lost: {x}" for x in self.lost] + [f"run not terminal: {x}" for x in self.not_terminal]
                + [f"key duplicated: {x}" for x in self.duplicated]
                + [f"run id mismatch: {x}" for x in self.mismatched])


def check_runs(accepted: dict[str, str], created: Sequence[tuple[str, str | None]],
               states: dict[str, str | None]) -> RunsReport:
    """``accepted``: client key -> run id of its 2xx; ``created``: (run id, chaos_key tag) of
    every ``RunCreated`` in the store; ``states``: run id -> state from the API (None: 404)."""
    report = RunsReport(accepted=len(accepted))
    by_key: dict[str, set[str]] = defaultdict(set)
    creations = Counter(run_id for run_id, _ in created)
    for run_id, key in created:
        if key is not None:
            by_key[key].add(run_id)
    report.duplicated = sorted(f"{k} -> {sorted(ids)}" for k, ids in by_key.items() if len(ids) > 1)
    report.duplicated += sorted(f"{run_id} created {n} times" for run_id, n in creations.items() if n > 1)
    for key, run_id in sorted(accepted.items()):
        if key in by_key and run_id not in by_key[key]:
            report.mismatched.append(f"{key}: client got {run_id}, store has {sorted(by_key[key])}")
        if run_id not in creations or states.get(run_id) is None:
            report.lost.append(f"{key} -> {run_id}")
    for run_id, state in states.items():
        if state is None:
            continue
        report.states[state] += 1
        if state in TERMINAL:
            report.terminal += 1
        else:
            report.not_terminal.append(f"{run_id} ({state})")
    report.not_terminal.sort()
    return report


# --------------------------------------------------------------------------- execution ledger


@dataclass(frozen=True)
class LedgerEntry:
    run_id: str
    node_id: str
    attempt: int
    pid: int
    at: float

    @property
    def key(self) -> AttemptKey:
        return (self.run_id, self.node_id, self.attempt)


def ledger_line(run_id: str, node_id: str, attempt: int, pid: int, at: float) -> str:
    """The line format the nodes write (see :func:`ledger_command`)."""
    return f"{run_id} {node_id} {attempt} {pid} {at:.6f}\n"


def ledger_command(path: str, seconds: float) -> str:
    """A shell node's command: append its line to the ledger (one O_APPEND write), then work."""
    return (f"printf '%s %s %s %s %s\\n' \"$TAURO_RUN_ID\" \"$TAURO_NODE_ID\" \"$TAURO_ATTEMPT\" $$ "
            f"\"$(date +%s.%N)\" >> '{path}' && sleep {seconds}")


def parse_ledger(text: str) -> tuple[list[LedgerEntry], list[str]]:
    """Entries, and the lines that are not entries (a torn or foreign line is a violation)."""
    entries, bad = [], []
    for line in text.splitlines():
        parts = line.split()
        try:
            run_id, node_id, attempt, pid, at = parts
            entries.append(LedgerEntry(run_id, node_id, int(attempt), int(pid), float(at)))
        except ValueError:
            if line.strip():
                bad.append(line)
    return entries, bad


def executor_pid(executor_id: str) -> int | None:
    """The OS pid in an executor id ``exec-<hostname>-<pid>-<hex6>`` (hostnames may hold '-')."""
    match = re.fullmatch(r"exec-.*-(\d+)-[0-9a-f]+", executor_id)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class AttemptFacts:
    """What the event store says about attempts: who claimed each (``TaskStarted``), which
    failed and why (``TaskFailed``), which succeeded."""

    claimed_by: dict[AttemptKey, str]
    failed: dict[AttemptKey, str]
    succeeded: frozenset[AttemptKey]


@dataclass
class LedgerReport:
    entries: int = 0
    nodes: int = 0  # distinct (run, node) executed
    retries_after_kill: list[str] = field(default_factory=list)  # documented
    twice: list[str] = field(default_factory=list)  # the same attempt executed more than once
    unexplained: list[str] = field(default_factory=list)  # re-executions without an executor kill
    unclaimed: list[str] = field(default_factory=list)
    unexecuted: list[str] = field(default_factory=list)  # TaskSucceeded without a ledger line
    bad_lines: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        return ([f"attempt executed twice: {x}" for x in self.twice]
                + [f"re-executed without an executor kill: {x}" for x in self.unexplained]
                + [f"executed without a claim: {x}" for x in self.unclaimed]
                + [f"succeeded without executing: {x}" for x in self.unexecuted]
                + [f"bad ledger line: {x!r}" for x in self.bad_lines])


def check_ledger(entries: Sequence[LedgerEntry], facts: AttemptFacts, killed_executor_pids: set[int],
                 bad_lines: Sequence[str] = ()) -> LedgerReport:
    report = LedgerReport(entries=len(entries), bad_lines=list(bad_lines))
    seen = Counter(e.key for e in entries)
    report.twice = sorted(f"{k} x{n}" for k, n in seen.items() if n > 1)
    attempts: dict[tuple[str, str], set[int]] = defaultdict(set)
    for entry in entries:
        attempts[(entry.run_id, entry.node_id)].add(entry.attempt)
        if entry.key not in facts.claimed_by:
            report.unclaimed.append(str(entry.key))
    report.nodes = len(attempts)
    for (run_id, node_id), numbers in sorted(attempts.items()):
        for attempt in sorted(numbers)[:-1]:
            key = (run_id, node_id, attempt)
            executor = facts.claimed_by.get(key, "")
            pid = executor_pid(executor)
            why = facts.failed.get(key, "no TaskFailed")
            text = f"{key} on {executor or '?'} ({why}), again as attempt {max(numbers)}"
            if pid is not None and pid in killed_executor_pids:
                report.retries_after_kill.append(text)
            else:
                report.unexplained.append(text)
    report.unexecuted = sorted(str(k) for k in facts.succeeded if k not in seen)
    return report


# --------------------------------------------------------------------------- schedule ticks


@dataclass
class TicksReport:
    schedule_id: str
    ticks: int = 0  # grid times with an outcome
    fired: int = 0
    skipped: int = 0
    missed: int = 0
    duplicates: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    off_grid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        where = self.schedule_id
        return ([f"{where}: tick twice: {x}" for x in self.duplicates] + [f"{where}: tick gap: {x}" for x in self.gaps]
                + [f"{where}: tick off the grid: {x}" for x in self.off_grid]
                + [f"{where}: tick failed: {x}" for x in self.failed])


_TICK_LABELS = {"TickFired": "fired", "TickQueued": "queued", "TickSkipped": "skipped", "TickFailed": "failed"}


def check_ticks(schedule_id: str, anchor: datetime, interval: timedelta, events: Sequence[dict[str, Any]],
                first_expected: datetime | None = None) -> TicksReport:
    """``events``: the schedule stream's tick events as ``{"type", "data"}`` (data as stored:
    ISO date-times). Checks at most one outcome per nominal time, the grid, and no gap."""
    report = TicksReport(schedule_id)
    outcomes: dict[datetime, list[str]] = defaultdict(list)
    covered: list[tuple[datetime, datetime]] = []
    for event in events:
        kind, data = event["type"], event["data"]
        if kind == "TicksMissed":
            for tick in data.get("ticks", []):
                outcomes[parse_time(tick["nominal"])].append("missed")
            if data.get("omitted_from") and data.get("omitted_to"):
                covered.append((parse_time(data["omitted_from"]), parse_time(data["omitted_to"])))
            continue
        label = _TICK_LABELS.get(kind)
        if label is not None:
            outcomes[parse_time(data["nominal"])].append(label)
            if label == "failed":
                report.failed.append(f"{data['nominal']}: {data.get('error')}")
    step = interval.total_seconds()
    for nominal, labels in sorted(outcomes.items()):
        counts = Counter(labels)
        settled = counts["fired"] + counts["skipped"] + counts["missed"]
        if settled > 1 or counts["queued"] > 1 or counts["failed"] > 1 or (
                counts["queued"] and settled - counts["fired"]):
            report.duplicates.append(f"{nominal.isoformat()}: {dict(counts)}")
        offset = (nominal - anchor).total_seconds() / step
        if abs(offset - round(offset)) > 1e-6:
            report.off_grid.append(nominal.isoformat())
        report.fired += 1 if counts["fired"] else 0
        report.skipped += 1 if counts["skipped"] else 0
        report.missed += 1 if counts["missed"] else 0
    report.ticks = len(outcomes)
    if outcomes:
        first = first_expected or min(outcomes)
        moment, last = first, max(outcomes)
        while moment <= last:
            if moment not in outcomes and not any(a <= moment <= b for a, b in covered):
                report.gaps.append(moment.isoformat())
            moment += interval
    return report


def fired_tick_runs(events: Iterable[dict[str, Any]]) -> dict[str, str]:
    """run id -> "tick:<schedule>@<nominal>" of the ``TickFired`` events without a ``TickFailed``."""
    events = list(events)
    failed = {e["data"]["run_id"] for e in events if e["type"] == "TickFailed"}
    return {e["data"]["run_id"]: f"tick:{e['stream_id']}@{e['data']['nominal']}" for e in events
            if e["type"] == "TickFired" and e["data"]["run_id"] not in failed}


def first_tick(anchor: datetime, interval: timedelta, resume_after: datetime) -> datetime:
    """The first INTERVAL tick ``anchor + k * interval`` (any integer k) strictly after ``resume_after``."""
    return anchor + (math.floor((resume_after - anchor) / interval) + 1) * interval


def parse_time(value: str | datetime) -> datetime:
    """An ISO-8601 date-time as stored (``Z`` or an offset), or a datetime as it is."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- event store


@dataclass
class StoreReport:
    events: int = 0
    streams: int = 0
    position_gaps: list[str] = field(default_factory=list)
    version_gaps: list[str] = field(default_factory=list)
    duplicate_versions: list[str] = field(default_factory=list)
    duplicate_event_ids: list[str] = field(default_factory=list)
    unpublished: int = 0

    @property
    def violations(self) -> list[str]:
        return ([f"position gap: {x}" for x in self.position_gaps] + [f"version gap: {x}" for x in self.version_gaps]
                + [f"(stream, version) twice: {x}" for x in self.duplicate_versions]
                + [f"event id twice: {x}" for x in self.duplicate_event_ids]
                + ([f"{self.unpublished} events never published"] if self.unpublished else []))


def _ranges(numbers: Sequence[int]) -> list[str]:
    """[1, 2, 3, 7] -> ["1..3", "7"] (``numbers`` ascending)."""
    groups: list[list[int]] = []
    for n in numbers:
        if groups and n == groups[-1][-1] + 1:
            groups[-1].append(n)
        else:
            groups.append([n])
    return [f"{g[0]}..{g[-1]}" if len(g) > 1 else str(g[0]) for g in groups]


def check_store(rows: Iterable[tuple[int, str, int, str]], unpublished: int = 0) -> StoreReport:
    """``rows``: (position, stream id, stream version, event id) of every stored event."""
    report = StoreReport(unpublished=unpublished)
    positions: list[int] = []
    versions: dict[str, list[int]] = defaultdict(list)
    event_ids: Counter[str] = Counter()
    for position, stream_id, version, event_id in rows:
        positions.append(position)
        versions[stream_id].append(version)
        event_ids[event_id] += 1
    report.events, report.streams = len(positions), len(versions)
    present = set(positions)
    report.position_gaps = _ranges([p for p in range(1, max(positions, default=0) + 1) if p not in present])
    if len(present) != len(positions):
        report.position_gaps.append(f"{len(positions) - len(present)} positions stored twice")
    for stream_id, found in sorted(versions.items()):
        counts = Counter(found)
        report.duplicate_versions += [f"{stream_id}@{v}" for v, n in sorted(counts.items()) if n > 1]
        missing = [v for v in range(1, max(found) + 1) if v not in counts]
        if missing:
            report.version_gaps.append(f"{stream_id}: missing {_ranges(missing)}")
    report.duplicate_event_ids = sorted(e for e, n in event_ids.items() if n > 1)
    return report


def diff_collections(before: dict[str, dict[Any, Any]], after: dict[str, dict[Any, Any]],
                     samples: int = 3) -> list[str]:
    """What a rebuild changed: per collection (``{name: {id: document}}``), the ids only before,
    only after, and a few changed documents with the fields that differ."""
    found: list[str] = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name, {}), after.get(name, {})
        gone, added = sorted(map(str, old.keys() - new.keys())), sorted(map(str, new.keys() - old.keys()))
        changed = [k for k in old.keys() & new.keys() if old[k] != new[k]]
        if not (gone or added or changed):
            continue
        found.append(f"{name}: {len(gone)} only before {gone[:samples]}, {len(added)} only after {added[:samples]}, "
                     f"{len(changed)} changed")
        for key in sorted(changed, key=str)[:samples]:
            fields = sorted(f for f in old[key].keys() | new[key].keys() if old[key].get(f) != new[key].get(f))
            found.append(f"  {name}/{key}: " + "; ".join(
                f"{f}: {old[key].get(f)!r:.80} -> {new[key].get(f)!r:.80}" for f in fields[:6]))
    return found


# --------------------------------------------------------------------------- streaming


@dataclass
class StreamReport:
    sent: int = 0
    received: int = 0
    lost: list[int] = field(default_factory=list)
    duplicates: int = 0

    @property
    def violations(self) -> list[str]:
        return [f"stream records lost: {len(self.lost)} (first {self.lost[:10]})"] if self.lost else []


def check_stream(sent: Iterable[int], received: Iterable[int]) -> StreamReport:
    """At-least-once: every sent sequence number comes out; duplicates are counted, allowed."""
    sent_set, got = set(sent), Counter(received)
    return StreamReport(sent=len(sent_set), received=sum(got.values()), lost=sorted(sent_set - set(got)),
                        duplicates=sum(n - 1 for n in got.values() if n > 1))


# --------------------------------------------------------------------------- the summary


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def summary_table(kills: Sequence[Kill], recoveries: Sequence[float | None], runs: RunsReport,
                  ticks: Sequence[TicksReport], extra: dict[str, str] | None = None) -> str:
    """The table ``make chaos`` prints (and the bounded test shows with ``-s``)."""
    per_service = Counter(k.service for k in kills)
    known = [r for r in recoveries if r is not None]
    stalls = sum(1 for r in recoveries if r is None or r > STALL_SECONDS)
    stats = summarize(known)
    rows = [("kills", str(len(kills)))]
    rows += [(f"  {name}", str(per_service.get(name, 0))) for name in (*SERVICES, "database")]
    rows += [("restart failures", str(sum(1 for k in kills if k.restart_error)))]
    rows += [("runs accepted", str(runs.accepted)), ("runs terminal", str(runs.terminal)),
             ("runs lost", str(len(runs.lost))), ("runs duplicated", str(len(runs.duplicated))),
             ("runs not terminal", str(len(runs.not_terminal))),
             ("run states", ", ".join(f"{s} {n}" for s, n in sorted(runs.states.items())) or "-"),
             ("ticks checked", str(sum(t.ticks for t in ticks))),
             ("recovery p50 / p99 / max (s)", f"{_fmt(stats['p50'])} / {_fmt(stats['p99'])} / {_fmt(stats['max'])}"),
             (f"stalls (no recovery in {STALL_SECONDS:.0f} s)", str(stalls) if stalls else "none")]
    rows += list((extra or {}).items())
    width = max(len(name) for name, _ in rows)
    values = max(len(value) for _, value in rows)
    line = "+" + "-" * (width + 2) + "+" + "-" * (values + 2) + "+"
    body = [f"| {name.ljust(width)} | {value.ljust(values)} |" for name, value in rows]
    return "\n".join([line, *body, line])
