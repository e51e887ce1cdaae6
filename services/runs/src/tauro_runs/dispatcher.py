"""The dispatcher: gives queued runs a slot, first come first served, within the global
``MAX_CONCURRENT_RUNS``, each pipeline's ``max_concurrent_runs`` and, for a schedule's runs
(a backfill queues all of its runs at once), the schedule's ``max_concurrency``.

Counts come from the runs read model, caught up first; the dispatcher stream's
version is read before that catch-up and is the expected version of the append, so
two dispatchers (replicas) never both grant a slot from the same view. Runs ending
elsewhere only make the view more conservative until the next round.

A run's dispatch events carry the trace context of the command that queued it, so its
tasks join the trace that started at ``POST /runs`` (or ``/runs/{id}/start``).

Rounds run in the background (``run``): an append that queues or ends a run only asks
for one, so a command's answer never waits on dispatching, and the runs queued by a
burst of commands are dispatched together, in one round, not in a hundred conflicting ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels.states import RunState
from tauro_contracts.runs import DISPATCHER_STREAM, TERMINAL_EVENT_TYPES, RunQueued, RunsDispatched
from tauro_platform.eventstore.port import EventStore, StreamWrite
from tauro_platform.observability.tracing import span
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.appending import Contention, Decided, append_decided
from tauro_platform.runtime.decision import CommandContext, PendingWrite, to_writes
from tauro_platform.runtime.projector import Projector
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.runtime.streams import decode_events

from tauro_runs.domain.runs import decide_dispatch, fold_run

log = logging.getLogger("tauro.dispatcher")
SLOT_EVENTS = frozenset({RunQueued.type_name, *TERMINAL_EVENT_TYPES})


class Dispatcher:
    def __init__(
        self, store: EventStore, read_store: ReadStore, projector: Projector, relay: OutboxRelay,
        max_concurrent_runs: int, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._read = read_store
        self._projector = projector
        self._relay = relay
        self._max = max_concurrent_runs
        self._clock = clock
        self._wanted = asyncio.Event()

    async def after_append(self, events: list[EventEnvelope]) -> None:
        if any(e.type in SLOT_EVENTS for e in events):
            self._wanted.set()

    async def run(self) -> None:
        """A round whenever one was asked for since the last began (it sees every event
        appended before it started)."""
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.dispatch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch round failed; retrying")
                self._wanted.set()
                await asyncio.sleep(1.0)

    async def dispatch(self) -> list[str]:
        """Start every queued run that fits; returns the ids started."""

        async def decide(attempt: int) -> Decided[tuple[list[str], dict[str, dict[str, str]]]]:
            version = await self._store.stream_version(DISPATCHER_STREAM)
            await self._projector.catch_up()
            picks = await self._pick()
            if not picks:
                return Decided((), ([], {}))
            now = self._clock()
            ctx = CommandContext(command_id=f"dispatch-{version + 1}", correlation_id=None, actor="system:dispatcher",
                                 trace_context={}, now=now)
            writes: list[StreamWrite] = to_writes(
                (PendingWrite(DISPATCHER_STREAM, version, (RunsDispatched(run_ids=picks),)),), ctx)
            streams = await asyncio.gather(*(self._store.read_stream(run_id) for run_id in picks))
            traces: dict[str, dict[str, str]] = {}
            for run_id, stream in zip(picks, streams, strict=True):
                state = fold_run(decode_events(stream))
                events = decide_dispatch(state, now)
                if events:
                    traces[run_id] = _queued_trace(stream)
                    run_ctx = dataclasses.replace(ctx, trace_context=traces[run_id])
                    writes += to_writes((PendingWrite(run_id, state.version, tuple(events)),), run_ctx)
            return Decided(writes, (picks, traces))

        try:
            done = await append_decided(self._store, self._relay, decide, attempts=10, what="dispatch")
        except Contention:
            return []
        picks, traces = done.value
        if not done.stored:
            return []
        await self._projector.catch_up()
        for run_id, trace in traces.items():  # in each run's own trace, next to its start request
            with span("run dispatched", parent=trace, attributes={"tauro.run_id": run_id}):
                log.info("run dispatched", extra={"run_id": run_id})
        return picks

    async def _pick(self) -> list[str]:
        is_running = {"state": RunState.RUNNING}
        running = await self._read.count_by("runs", is_running, "pipeline_id")
        per_schedule: Counter[str] = Counter(
            {k: v for k, v in (await self._read.count_by("runs", is_running, "schedule_id")).items() if k})
        total = sum(running.values())
        if total >= self._max:
            return []
        queued, _ = await self._read.find("runs", {"state": RunState.QUEUED}, sort=[("queued_at", 1), ("_id", 1)],
                                          limit=500)
        per_pipeline: Counter[str] = Counter(running)
        picks: list[str] = []
        for run in _oldest_ticks_first(queued):
            if total >= self._max:
                break
            limit = run.get("max_concurrent_for_pipeline")
            if limit is not None and per_pipeline[run["pipeline_id"]] >= limit:
                continue
            schedule, schedule_limit = run.get("schedule_id"), run.get("max_concurrent_for_schedule")
            if schedule and schedule_limit is not None and per_schedule[schedule] >= schedule_limit:
                continue
            picks.append(run["_id"])
            per_pipeline[run["pipeline_id"]] += 1
            if schedule:
                per_schedule[schedule] += 1
            total += 1
        return picks


def _oldest_ticks_first(queued: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``queued`` (first come first served), except that each schedule's runs take their places
    in the order of their logical dates: a backfill's runs are created concurrently, but start
    oldest first."""
    slots: dict[str, list[int]] = {}
    for i, run in enumerate(queued):
        if run.get("schedule_id"):
            slots.setdefault(run["schedule_id"], []).append(i)
    ordered = list(queued)
    for positions in slots.values():
        runs = sorted((queued[i] for i in positions), key=lambda r: (str(r.get("logical_date") or ""), r["_id"]))
        for i, run in zip(positions, runs, strict=True):
            ordered[i] = run
    return ordered


def _queued_trace(stream: list[EventEnvelope]) -> dict[str, str]:
    """The trace context of the event that queued the run (its start request's trace)."""
    for event in reversed(stream):
        if event.type == RunQueued.type_name:
            return dict(event.trace_context)
    return {}
