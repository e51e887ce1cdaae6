"""Run statistics computed from the runs read model, so they always agree with ``GET /runs``."""

from __future__ import annotations

from typing import Any

from tauro_contracts.readmodels import TERMINAL_RUN_STATES, RunState, collections
from tauro_platform.readstore.port import ReadStore

FINISHED = [s.value for s in RunState if s in TERMINAL_RUN_STATES]


async def run_statistics(read_store: ReadStore, where: dict[str, Any]) -> dict[str, Any]:
    by_state = {k: v for k, v in (await read_store.count_by(collections.RUNS, where, "state")).items() if k is not None}
    total = sum(by_state.values())
    finished = sum(by_state.get(s, 0) for s in FINISHED)
    average = await read_store.average(collections.RUNS, {**where, "state": {"$in": FINISHED}}, "duration_seconds")
    return {
        "total_runs": total,
        "runs_by_state": by_state,
        "success_rate": round(by_state.get(RunState.SUCCESS, 0) / finished, 4) if finished else None,
        "average_duration_seconds": round(average, 3) if average is not None else None,
    }
