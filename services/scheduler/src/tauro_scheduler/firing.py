"""The firing loop: the scheduler's clock-driven duty, and the repair of interrupted launches.

Each round finds the schedules whose ``next_run_at`` has come (and those with waiting
ticks, whose slots may have freed) and fires them in batches of up to ``batch``: one
decision (``SchedulerHandlers.decide_ticks``, the same as the ``FireTicks`` command's)
and one atomic append of all their streams, each at its expected version. Batches are
kept small on purpose: the MongoDB event store checks every stream's version inside the
transaction before it bumps the global position counter, so a long transaction loses
every write conflict to the short appends of the other services. Then it
sleeps until the earliest ``next_run_at`` (at most ``idle`` seconds; a changed schedule
wakes it early).

The hot path is lean on purpose: it decides on this process's cached states without
re-reading the streams (a stale state fails the append's version check, and the batch
is decided again on freshly read states), publishes the new events in one go, and does
not wait for the read models to catch up (the projector does that on its own).

Two replicas run the same loop over the same schedules: whichever appends first settles
the ticks; the other's append fails on the stream versions, it decides again on the new
states and finds nothing left. No leader election is needed for exactly-once.

``repair`` (at start-up and every ``repair_every`` seconds) re-launches fired ticks whose
run the runs service has not recorded ``repair_after`` seconds later: a scheduler that
died between recording a tick and creating its run, or a reply that never came.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.schedules import TickFired, TickQueued, TickSkipped
from tauro_platform.eventstore.port import EventStore
from tauro_platform.observability.metrics import observe_schedule_lateness
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.appending import Contention, Decided, append_decided
from tauro_platform.runtime.decision import CommandContext, to_writes
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.timeutil import iso, parse_iso
from tauro_platform.waiting import wait_event

from tauro_scheduler.handlers import SchedulerHandlers
from tauro_scheduler.launcher import Launcher, tick_from_doc
from tauro_scheduler.loading import ScheduleStates, existing_runs
from tauro_scheduler.projections import SCHEDULES, TICKS
from tauro_scheduler.state import Schedule

log = logging.getLogger("tauro.scheduler.firing")
AfterAppend = Callable[[list[EventEnvelope]], Awaitable[None]]
ATTEMPTS = 8
LIVE_TICKS = frozenset({TickFired.type_name, TickSkipped.type_name, TickQueued.type_name})


class Firing:
    """Fire the due ticks of a batch of schedules (see the module docstring)."""

    def __init__(self, store: EventStore, relay: OutboxRelay, states: ScheduleStates, handlers: SchedulerHandlers,
                 after_append: AfterAppend, actor: str) -> None:
        self._store = store
        self._relay = relay  # publishes at once; its sweeper covers a crash before
        self._states = states
        self._handlers = handlers
        self._after_append = after_append
        self._actor = actor

    async def fire(self, schedule_ids: Sequence[str], now: datetime, seen: Mapping[str, int] | None = None) -> int:
        """Settle every tick of these schedules due at ``now``; returns how many fired.
        ``seen``: stream versions known to exist (from the read model); a cached state older
        than that is read again, so a change made elsewhere is never decided on without."""
        ids = list(dict.fromkeys(schedule_ids))
        seen = seen or {}

        async def decide(attempt: int) -> Decided[None]:
            states = await asyncio.gather(*(self._state(sid, seen.get(sid, 0), fresh=attempt > 0) for sid in ids))
            writes = await self._handlers.decide_ticks(states, now)
            ctx = CommandContext(command_id=f"fire-{uuid.uuid4().hex}", correlation_id=None, actor=self._actor,
                                 trace_context={}, now=now)
            return Decided(to_writes(tuple(writes), ctx) if writes else [], None)

        try:
            done = await append_decided(self._store, self._relay, decide, attempts=ATTEMPTS, on_stored=self._observe,
                                        what="tick firing")
        except Contention:
            log.warning("too much contention firing ticks; the next round retries", extra={"schedules": len(ids)})
            return 0
        if not done.stored:
            return 0
        await self._after_append(done.stored)  # caches the new states, launches the fired ticks
        return sum(1 for e in done.stored if e.type == TickFired.type_name)

    def _observe(self, events: list[EventEnvelope]) -> None:
        """``tauro_schedule_lateness_seconds{kind}``: commit time minus nominal time of each live tick."""
        committed = time.time()
        for event in events:
            if event.type in LIVE_TICKS and event.data.get("origin", "schedule") == "schedule":
                state = self._states.peek(event.stream_id)
                kind = state.kind.lower() if state is not None else "cron"
                observe_schedule_lateness(committed - parse_iso(event.data["nominal"]).timestamp(), kind)

    async def _state(self, schedule_id: str, seen: int, fresh: bool) -> Schedule:
        cached = self._states.peek(schedule_id)
        if fresh or cached is None or cached.version < seen:
            return await self._states.load(schedule_id)
        return cached


class FiringLoop:
    def __init__(
        self, firing: Firing, states: ScheduleStates, read_store: ReadStore, launcher: Launcher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), batch: int = 25, idle: float = 0.5,
        repair_every: float = 5.0, repair_after: float = 30.0,
    ) -> None:
        self._firing = firing
        self._states = states
        self._read = read_store
        self._launcher = launcher
        self._clock = clock
        self._batch = batch
        self._idle = idle
        self._repair_every = repair_every
        self._repair_after = timedelta(seconds=repair_after)
        self._wake = asyncio.Event()
        self._last_repair = 0.0
        self._fired_ids: list[str] = []
        self._progress = False

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        await self._guarded(self.repair, immediate=True)
        while True:
            self._wake.clear()  # a wake-up during the round makes the next sleep return at once
            await self._guarded(self.step)
            if time.monotonic() - self._last_repair >= self._repair_every:
                await self._guarded(self.repair)
            await self._sleep()

    async def _guarded(self, action: Callable[..., Awaitable[object]], **kwargs: object) -> None:
        try:
            await action(**kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler round failed; retrying")
            await asyncio.sleep(1.0)

    def _stale(self, doc: dict[str, object], now: datetime) -> bool:
        """True when this process already moved the schedule past what ``doc`` says is due
        (the read model catches up a moment after the loop's own appends)."""
        state = self._states.peek(str(doc["_id"]))
        if state is None or state.version < int(doc["_v"]):  # type: ignore[call-overload]
            return False
        upcoming = state.next_run_at()
        return not state.waiting and (upcoming is None or upcoming > now)

    async def step(self) -> int:
        """One round: fire what is due; returns how many ticks fired."""
        started = time.monotonic()
        now = self._clock()
        due, _ = await self._read.find(
            SCHEDULES, {"deleted": False, "enabled": True, "next_run_at": {"$lte": iso(now)}},
            sort=[("next_run_at", 1)], limit=5000,
        )
        waiting, _ = await self._read.find(SCHEDULES, {"deleted": False, "waiting_count": {"$gt": 0}}, limit=5000)
        ids = list(dict.fromkeys(d["_id"] for d in (*due, *waiting) if not self._stale(d, now)))
        seen = {d["_id"]: int(d["_v"]) for d in (*due, *waiting)}
        fired = 0
        began = time.monotonic()
        for start in range(0, len(ids), self._batch):
            fired += await self._firing.fire(ids[start:start + self._batch], now, seen)
        self._fired_ids, self._progress = ids, fired > 0
        if ids:
            log.debug("firing round", extra={"schedules": len(ids), "fired": fired,
                                             "late": (self._clock() - now).total_seconds(),
                                             "seconds": round(time.monotonic() - began, 3),
                                             "query_seconds": round(began - started, 3)})
        return fired

    async def repair(self, immediate: bool = False) -> int:
        """Re-launch fired ticks whose run was never recorded; returns how many."""
        self._last_repair = time.monotonic()
        cutoff = self._clock() - (timedelta(0) if immediate else self._repair_after)
        docs, _ = await self._read.find(
            TICKS, {"status": "fired", "run_created": False, "fired_at": {"$lte": iso(cutoff)}},
            sort=[("fired_at", 1)], limit=500,
        )
        if not docs:
            return 0
        present = await existing_runs(self._read, [d["run_id"] for d in docs])
        relaunched = 0
        for doc in docs:
            if doc["run_id"] not in present and self._launcher.submit(tick_from_doc(doc)):
                relaunched += 1
        if relaunched:
            log.info("re-launching fired ticks without a run", extra={"count": relaunched})
        return relaunched

    async def _sleep(self) -> None:
        """Until the earliest next tick: of schedules this round moved on (known here, the read
        model may lag) and of the others (read model), at most ``idle`` seconds."""
        now = self._clock()
        upcoming = [s.next_run_at() for s in map(self._states.peek, self._fired_ids) if s is not None]
        docs, _ = await self._read.find(
            SCHEDULES, {"deleted": False, "enabled": True, "next_run_at": {"$gt": iso(now)}},
            sort=[("next_run_at", 1)], limit=1,
        )
        upcoming += [parse_iso(d["next_run_at"]) for d in docs]
        known = [moment for moment in upcoming if moment is not None]
        delay = min([self._idle, *((moment - now).total_seconds() for moment in known)])
        if delay <= 0:  # due already: a new second began during the round (or a schedule is stuck: logged)
            await asyncio.sleep(0 if self._progress else 0.05)
            return
        await wait_event(self._wake, delay)
