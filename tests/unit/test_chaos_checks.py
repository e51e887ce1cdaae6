"""The chaos suite's pure helpers: statistics, the recovery rule, ledger, runs, ticks, store."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.chaos.checks import (
    AttemptFacts,
    Kill,
    LedgerEntry,
    buckets,
    check_ledger,
    check_runs,
    check_store,
    check_stream,
    check_ticks,
    diff_collections,
    executor_pid,
    fired_tick_runs,
    first_tick,
    ledger_line,
    mean_rate,
    parse_ledger,
    percentile,
    recovery_time,
    summarize,
    summary_table,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=2)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99 and percentile(values, 100) == 100
    assert percentile([3.0], 99) == 3.0 and math.isnan(percentile([], 50))
    assert summarize([1.0, 9.0, 5.0]) == {"p50": 5.0, "p99": 9.0, "max": 9.0, "count": 3.0}


def test_buckets_count_per_second_and_ignore_outside() -> None:
    assert buckets([10.0, 10.9, 11.2, 13.99, 9.5, 14.0], start=10.0, end=14.0) == [2, 1, 0, 1]
    assert mean_rate([2, 1, 0, 1], 0, 4) == 1.0 and mean_rate([2, 1], 1, 9) == 1.0 and mean_rate([], 0, 5) == 0.0


def test_recovery_time_is_from_the_kill_to_the_first_healthy_window() -> None:
    series = [2] * 10 + [0] * 5 + [2] * 10
    assert recovery_time(series, kill_offset=10.0, baseline=2.0, window=3) == 5.0
    assert recovery_time(series, kill_offset=9.5, baseline=2.0, window=3) == 5.5
    # a kill that changed nothing recovers at the next whole second
    assert recovery_time([2] * 20, kill_offset=4.25, baseline=2.0, window=3) == 0.75
    # half the baseline is enough; less never is
    assert recovery_time([2] * 5 + [1] * 10, 5.0, 2.0, window=3, fraction=0.5) == 0.0
    assert recovery_time([2] * 5 + [0, 1] * 10, 5.0, 2.0, window=3, fraction=0.5) is None
    assert recovery_time([0] * 5, 1.0, 0.0) == 0.0  # no baseline: nothing to recover


def test_ledger_lines_round_trip_and_torn_lines_are_reported() -> None:
    text = ledger_line("run_a", "n1", 1, 42, 1.5) + "run_a n2 1 43\n" + ledger_line("run_b", "n1", 2, 44, 2.0)
    entries, bad = parse_ledger(text)
    assert entries == [LedgerEntry("run_a", "n1", 1, 42, 1.5), LedgerEntry("run_b", "n1", 2, 44, 2.0)]
    assert bad == ["run_a n2 1 43"]


def test_executor_pid_is_read_from_the_executor_id() -> None:
    assert executor_pid("exec-my-host-1234-a1b2c3") == 1234
    assert executor_pid("exec-host-7-000000") == 7
    assert executor_pid("system:reaper") is None


def _facts(claims: dict[tuple[str, str, int], str], failed: dict[tuple[str, str, int], str] | None = None,
           succeeded: set[tuple[str, str, int]] | None = None) -> AttemptFacts:
    return AttemptFacts(claims, failed or {}, frozenset(succeeded or set()))


def test_ledger_once_per_attempt_and_retries_only_after_an_executor_kill() -> None:
    killed, alive = "exec-h-100-aaaaaa", "exec-h-200-bbbbbb"
    entries = [LedgerEntry("r1", "a", 1, 1, 0), LedgerEntry("r1", "b", 1, 2, 0),
               LedgerEntry("r2", "a", 1, 3, 0), LedgerEntry("r2", "a", 2, 4, 0)]
    facts = _facts({("r1", "a", 1): alive, ("r1", "b", 1): alive, ("r2", "a", 1): killed, ("r2", "a", 2): alive},
                   {("r2", "a", 1): "executor stopped heartbeating"},
                   {("r1", "a", 1), ("r1", "b", 1), ("r2", "a", 2)})
    report = check_ledger(entries, facts, killed_executor_pids={100})
    assert report.violations == [] and report.nodes == 3 and report.entries == 4
    assert len(report.retries_after_kill) == 1 and "stopped heartbeating" in report.retries_after_kill[0]

    # the same retry without that executor having been killed is a violation
    assert len(check_ledger(entries, facts, killed_executor_pids=set()).unexplained) == 1


def test_ledger_violations_twice_unclaimed_unexecuted() -> None:
    entries = [LedgerEntry("r1", "a", 1, 1, 0), LedgerEntry("r1", "a", 1, 2, 0), LedgerEntry("r9", "x", 1, 3, 0)]
    facts = _facts({("r1", "a", 1): "exec-h-1-aaaaaa", ("r1", "b", 1): "exec-h-1-aaaaaa"},
                   succeeded={("r1", "a", 1), ("r1", "b", 1)})
    report = check_ledger(entries, facts, set(), bad_lines=["junk"])
    assert report.twice == ["('r1', 'a', 1) x2"]
    assert report.unclaimed == ["('r9', 'x', 1)"]
    assert report.unexecuted == ["('r1', 'b', 1)"]
    assert len(report.violations) == 4


def test_runs_lost_duplicated_mismatched_and_not_terminal() -> None:
    accepted = {"k1": "run_1", "k2": "run_2", "k3": "run_3", "k4": "run_4"}
    created = [("run_1", "k1"), ("run_2", "k2"), ("run_2b", "k2"), ("run_4", "k4"), ("run_9", None)]
    states = {"run_1": "SUCCESS", "run_2": "SUCCESS", "run_3": None, "run_4": "RUNNING", "run_9": "FAILED"}
    report = check_runs(accepted, created, states)
    assert report.lost == ["k3 -> run_3"]
    assert report.duplicated == ["k2 -> ['run_2', 'run_2b']"]
    assert report.mismatched == []
    assert report.not_terminal == ["run_4 (RUNNING)"]
    assert report.terminal == 3 and report.states["SUCCESS"] == 2
    assert check_runs({"k1": "run_x"}, [("run_1", "k1")], {"run_x": "SUCCESS"}).mismatched


def _tick(kind: str, n: int, **extra: object) -> dict[str, Any]:
    return {"type": kind, "data": {"nominal": (T0 + n * STEP).isoformat(), **extra}}


def test_ticks_exactly_once_on_a_grid_without_gaps() -> None:
    events = [_tick("TickFired", 0), _tick("TickQueued", 1), _tick("TickFired", 1), _tick("TickSkipped", 2),
              {"type": "TicksMissed", "data": {"ticks": [{"nominal": (T0 + 3 * STEP).isoformat()}]}},
              _tick("TickFired", 4)]
    report = check_ticks("s1", T0, STEP, events, first_expected=T0)
    assert report.violations == [] and report.ticks == 5
    assert (report.fired, report.skipped, report.missed) == (3, 1, 1)


def test_ticks_duplicates_gaps_off_grid_and_failures_are_violations() -> None:
    events = [_tick("TickFired", 0), _tick("TickFired", 0), _tick("TickFired", 3),
              {"type": "TickSkipped", "data": {"nominal": (T0 + timedelta(seconds=7)).isoformat()}},
              _tick("TickFired", 5), _tick("TickFailed", 5, error={"code": "NOT_FOUND"})]
    report = check_ticks("s1", T0, STEP, events)
    assert len(report.duplicates) == 1 and report.off_grid == [(T0 + timedelta(seconds=7)).isoformat()]
    assert report.gaps == [(T0 + n * STEP).isoformat() for n in (1, 2, 4)]
    assert len(report.failed) == 1
    # a missing first tick is a gap when the first expected one is known
    assert check_ticks("s1", T0, STEP, [_tick("TickFired", 1)], first_expected=T0).gaps == [T0.isoformat()]
    # ranges summarised by a TicksMissed are not gaps
    summary = {"type": "TicksMissed", "data": {"ticks": [], "omitted_from": (T0 + STEP).isoformat(),
                                               "omitted_to": (T0 + 2 * STEP).isoformat()}}
    assert check_ticks("s1", T0, STEP, [_tick("TickFired", 0), summary, _tick("TickFired", 3)]).gaps == []


def test_first_tick_is_strictly_after_resume() -> None:
    assert first_tick(T0, STEP, T0) == T0 + STEP
    assert first_tick(T0, STEP, T0 + timedelta(seconds=0.5)) == T0 + STEP
    assert first_tick(T0, STEP, T0 - timedelta(seconds=3)) == T0 - STEP


def test_store_positions_and_versions_without_gap_or_duplicate() -> None:
    good = [(1, "s1", 1, "e1"), (2, "s2", 1, "e2"), (3, "s1", 2, "e3")]
    report = check_store(good)
    assert report.violations == [] and (report.events, report.streams) == (3, 2)
    bad = check_store([(1, "s1", 1, "e1"), (2, "s1", 1, "e2"), (4, "s1", 3, "e2"), (7, "s2", 2, "e4")], unpublished=2)
    assert bad.position_gaps == ["3", "5..6"]
    assert bad.duplicate_versions == ["s1@1"]
    assert bad.version_gaps == ["s1: missing ['2']", "s2: missing ['1']"]
    assert bad.duplicate_event_ids == ["e2"]
    assert "2 events never published" in bad.violations


def test_stream_loss_and_duplicates() -> None:
    report = check_stream(range(5), [0, 1, 1, 3, 4, 4, 4])
    assert report.lost == [2] and report.duplicates == 3 and report.received == 7 and len(report.violations) == 1


def test_summary_table_counts_kills_and_stalls() -> None:
    kills = [Kill("runs", "runs-1", 1, 0.0, 2.0), Kill("database", "mongo", 2, 5.0, 9.0),
             Kill("gateway", "gateway", 3, 9.0, None, restart_error="exited")]
    report = check_runs({"k": "r"}, [("r", "k")], {"r": "SUCCESS"})
    table = summary_table(kills, [1.0, 3.0, None], report, [])
    assert "| kills" in table and "|   database" in table
    assert "restart failures" in table and "stalls (no recovery in 30 s)" in table
    line = next(row for row in table.splitlines() if row.startswith("| stalls"))
    assert line.split("|")[2].strip() == "1"
    line = next(row for row in table.splitlines() if row.startswith("| recovery"))
    assert "2.0 / 3.0 / 3.0" not in line and "1.0 / 3.0 / 3.0" in line


def test_diff_collections_names_what_a_rebuild_changed() -> None:
    same = {"a": {"x": 1}}
    before: dict[str, dict[Any, Any]] = {"rm_runs": {"r1": {"_id": "r1", "state": "SUCCESS"}, "r2": {}}, "rm_x": same}
    after: dict[str, dict[Any, Any]] = {"rm_runs": {"r1": {"_id": "r1", "state": "FAILED"}, "r3": {}}, "rm_x": same}
    found = diff_collections(before, after)
    assert found[0] == "rm_runs: 1 only before ['r2'], 1 only after ['r3'], 1 changed"
    assert found[1] == "  rm_runs/r1: state: 'SUCCESS' -> 'FAILED'"
    assert len(found) == 2 and diff_collections(before, before) == []


def test_fired_tick_runs_leave_out_refused_ones() -> None:
    events = [{"type": "TickFired", "stream_id": "s", "data": {"run_id": "r1", "nominal": "t1"}},
              {"type": "TickFired", "stream_id": "s", "data": {"run_id": "r2", "nominal": "t2"}},
              {"type": "TickFailed", "stream_id": "s", "data": {"run_id": "r2", "nominal": "t2"}},
              {"type": "TickSkipped", "stream_id": "s", "data": {"nominal": "t3"}}]
    assert fired_tick_runs(events) == {"r1": "tick:s@t1"}
