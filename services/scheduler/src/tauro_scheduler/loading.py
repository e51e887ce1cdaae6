"""Loading schedule states, and the runs that hold a schedule's slots.

``ScheduleStates.load`` starts from the newest state it knows — its own cache, else the
``schedules`` read-model document (a snapshot, see ``state``) — and folds only the
stream's events after that version, so a decision always sees the stream's latest
state without re-reading a long tick history.

``active_runs`` are the runs that hold a slot of each schedule: its QUEUED and RUNNING
runs in the runs read model, plus the runs of recently fired ticks that the runs
service has not recorded yet (so a tick fired a moment ago is not forgotten by the next
decision, here or on another replica).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels.states import RunState
from tauro_platform.eventstore.port import EventStore
from tauro_platform.readstore.port import ReadStore

from tauro_scheduler.state import Schedule, fold, from_doc

log = logging.getLogger("tauro.scheduler")

SCHEDULES = "schedules"
RUNS = "runs"
ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)
# A fired tick's run counts as active until it shows up in the runs read model (or its tick
# failed), for at most this long: an overloaded runs service must not make a schedule exceed
# max_concurrency, and a run that never came is re-sent by repair long before this.
IN_FLIGHT = timedelta(minutes=10)


class ScheduleStates:
    def __init__(self, store: EventStore, read_store: ReadStore) -> None:
        self._store = store
        self._read = read_store
        self._cache: dict[str, Schedule] = {}

    async def _snapshot(self, schedule_id: str) -> Schedule:
        doc = await self._read.get(SCHEDULES, schedule_id)
        if doc is None:
            return Schedule()
        try:
            return from_doc(doc)
        except (KeyError, TypeError, ValueError):
            log.warning("unreadable schedule snapshot; folding the whole stream", extra={"schedule_id": schedule_id})
            return Schedule()

    def peek(self, schedule_id: str) -> Schedule | None:
        """The cached state, if any (no I/O)."""
        return self._cache.get(schedule_id)

    async def cached(self, schedule_id: str) -> Schedule:
        """The newest state this process knows, without reading the stream when it has one.
        Only for decisions whose append checks the version (a stale state then fails)."""
        return self._cache.get(schedule_id) or await self.load(schedule_id)

    def absorb(self, events: Sequence[EventEnvelope]) -> None:
        """Fold events this process just appended into the cached states (in stream order)."""
        for env in events:
            cached = self._cache.get(env.stream_id)
            if cached is None:
                continue
            if env.stream_version == cached.version + 1:
                self._cache[env.stream_id] = fold([env], cached)
            elif env.stream_version > cached.version:
                del self._cache[env.stream_id]  # a gap: the next load reads the stream

    async def load(self, schedule_id: str) -> Schedule:
        state = self._cache.get(schedule_id) or await self._snapshot(schedule_id)
        state = fold(await self._store.read_stream(schedule_id, after_version=state.version), state)
        cached = self._cache.get(schedule_id)
        if state.exists and (cached is None or cached.version <= state.version):
            self._cache[schedule_id] = state
        return state


class LaunchBook(Protocol):
    def in_flight(self, run_id: str) -> bool | None:
        """True: being created by this process; False: created or refused; None: unknown here."""
        ...


async def active_runs(read: ReadStore, states: Sequence[Schedule], now: datetime,
                      book: LaunchBook | None = None) -> dict[str, list[str]]:
    """Per schedule id, the run ids holding its slots, oldest first. ``book`` (this process's
    launcher) answers for runs it launched, so only other replicas' fresh ticks need a lookup."""
    result: dict[str, list[str]] = {s.schedule_id: [] for s in states}
    if not states:
        return result
    docs, _ = await read.find(RUNS, {"schedule_id": {"$in": list(result)}, "state": {"$in": list(ACTIVE_STATES)}},
                              sort=[("created_at", 1)])
    for doc in docs:
        result[doc["schedule_id"]].append(doc["_id"])
    seen = {d["_id"] for d in docs}
    unknown: dict[str, str] = {}
    for state in states:
        for run_id, at in state.recent_fired:
            if now - at >= IN_FLIGHT or run_id in seen:
                continue
            local = book.in_flight(run_id) if book is not None else None
            if local:
                result[state.schedule_id].append(run_id)
            elif local is None:
                unknown[run_id] = state.schedule_id
    if unknown:
        known, _ = await read.find(RUNS, {"_id": {"$in": list(unknown)}})
        for run_id in unknown.keys() - {d["_id"] for d in known}:
            result[unknown[run_id]].append(run_id)
    return result


async def existing_runs(read: ReadStore, run_ids: Sequence[str]) -> set[str]:
    if not run_ids:
        return set()
    docs, _ = await read.find(RUNS, {"_id": {"$in": list(run_ids)}})
    return {d["_id"] for d in docs}
