"""The dispatcher's pick: a schedule's queued runs start at most ``max_concurrent_for_schedule``
at a time (a backfill queues all of its runs at once), oldest logical date first, alongside
the global and per-pipeline limits."""

from __future__ import annotations

from typing import Any, cast

from tauro_platform.readstore.memory import MemoryReadStore
from tauro_runs.dispatcher import Dispatcher, _oldest_ticks_first


def _run(run_id: str, state: str, queued_at: str = "", **extra: Any) -> dict[str, Any]:
    return {"_id": run_id, "id": run_id, "_v": 1, "state": state, "pipeline_id": "pipe_a", "queued_at": queued_at,
            **extra}


async def _picks(runs: list[dict[str, Any]], max_runs: int = 10) -> list[str]:
    store = MemoryReadStore()
    await store.insert_many_if_absent("runs", runs)
    dispatcher = Dispatcher(cast(Any, None), store, cast(Any, None), cast(Any, None), max_runs)
    return await dispatcher._pick()


async def test_a_schedules_runs_start_within_its_limit_oldest_first() -> None:
    backfill = [_run(f"run_{i}", "QUEUED", f"2025-01-01T00:00:0{i}Z", schedule_id="sched_a",
                     logical_date=f"2024-12-0{9 - i}", max_concurrent_for_schedule=2) for i in range(5)]
    other = _run("run_other", "QUEUED", "2025-01-01T00:00:03Z")
    picks = await _picks([*backfill, other])
    assert picks == ["run_4", "run_3", "run_other"]  # the two oldest logical dates, then the unrelated run


async def test_running_runs_of_the_schedule_take_its_slots() -> None:
    runs = [_run("run_busy", "RUNNING", schedule_id="sched_a"),
            *[_run(f"run_{i}", "QUEUED", f"2025-01-01T00:00:0{i}Z", schedule_id="sched_a",
                   logical_date=f"2024-12-0{i + 1}", max_concurrent_for_schedule=2) for i in range(3)]]
    assert await _picks(runs) == ["run_0"]
    assert await _picks(runs, max_runs=1) == []  # the global limit still applies


def test_order_is_first_come_except_within_a_schedule() -> None:
    queued = [{"_id": "a", "schedule_id": "s", "logical_date": "3"}, {"_id": "x"},
              {"_id": "b", "schedule_id": "s", "logical_date": "1"},
              {"_id": "c", "schedule_id": "s", "logical_date": "2"}]
    assert [r["_id"] for r in _oldest_ticks_first(queued)] == ["b", "x", "c", "a"]
