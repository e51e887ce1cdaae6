"""The runs service's Prometheus metrics: runs and task attempts finished by state, their
durations, and the number of active runs.

``tauro_runs_total{state}`` and ``tauro_run_duration_seconds`` move when a terminal run
event is appended, ``tauro_tasks_total{state}`` and ``tauro_task_duration_seconds`` when an
attempt's end (``TaskSucceeded``, ``TaskFailed``) is (by this process: sum over replicas);
``tauro_active_runs`` is sampled
from the runs read model (the same on every replica: take the max).
"""

from __future__ import annotations

import logging

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels.states import RunState, TaskState
from tauro_contracts.runs import RunCancelled, RunFailed, RunSucceeded, RunTimedOut, TaskFailed, TaskSucceeded
from tauro_platform.observability.metrics import ACTIVE_RUNS, RUN_DURATION, RUNS_TOTAL, TASK_DURATION, TASKS_TOTAL
from tauro_platform.observability.sampling import sample_forever
from tauro_platform.readstore.port import ReadStore
from tauro_platform.timeutil import parse_iso

from tauro_runs.run_projections import RUNS

log = logging.getLogger("tauro.runs.metrics")
FINAL_STATE = {RunSucceeded.type_name: RunState.SUCCESS, RunFailed.type_name: RunState.FAILED,
               RunCancelled.type_name: RunState.CANCELLED, RunTimedOut.type_name: RunState.TIMED_OUT}
ATTEMPT_STATE = {"succeeded": TaskState.SUCCESS, "failed": TaskState.FAILED, "timed_out": RunState.TIMED_OUT,
                 "cancelled": TaskState.CANCELLED}


class RunMetrics:
    def __init__(self, read_store: ReadStore, interval: float = 2.0) -> None:
        self._read = read_store
        self._interval = interval

    async def after_append(self, events: list[EventEnvelope]) -> None:
        """Count the runs these appended events finished, and observe their durations."""
        for event in events:
            if event.type in (TaskSucceeded.type_name, TaskFailed.type_name):
                self._count_attempt(event)
                continue
            state = FINAL_STATE.get(event.type)
            if state is None:
                continue
            RUNS_TOTAL.labels(state=state).inc()
            try:
                run = await self._read.get(RUNS, event.stream_id)
            except Exception as exc:  # a metric is never worth failing the command for
                log.warning("run duration not observed", extra={"run_id": event.stream_id,
                                                                "error": type(exc).__name__})
                continue
            if run is not None and run.get("started_at"):
                seconds = (event.occurred_at - parse_iso(run["started_at"])).total_seconds()
                RUN_DURATION.observe(max(0.0, seconds))

    @staticmethod
    def _count_attempt(event: EventEnvelope) -> None:
        status = event.data.get("status", "succeeded")
        TASKS_TOTAL.labels(state=ATTEMPT_STATE.get(status, str(status).upper())).inc()
        seconds = float(event.data.get("duration_seconds") or 0.0)
        if seconds > 0:  # an attempt lost with its executor has no measured duration
            TASK_DURATION.observe(seconds)

    async def sample(self) -> int:
        _, total = await self._read.find(RUNS, {"state": RunState.RUNNING}, limit=1)
        ACTIVE_RUNS.set(total)
        return total

    async def run(self) -> None:
        await sample_forever(self.sample, self._interval, log, "active runs sample failed")
