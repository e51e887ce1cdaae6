"""Pure decisions on a schedule's state: which events bring it up to ``now``, and which ticks
a backfill fires. No I/O: the instant and the schedule's active runs are arguments.

``advance`` does, in order:

1. **Release**: waiting ticks (buffered by the overlap policy, caught up after downtime, or
   backfilled by an older version, which queued backfills as waiting ticks) take the free
   slots — ``max_concurrency`` minus the active runs — oldest nominal time first. Waiting
   ticks are released even while the schedule is disabled (disabling stops new ticks, not a
   backfill in progress).
2. **Due ticks** (enabled schedules only): every nominal time in ``(cursor, now]``.
   Those at most ``misfire_grace_seconds`` old are on time; older ones were missed (no
   scheduler ran) and the catch-up policy settles them: ``none`` fires none, ``latest``
   only the most recent (none when an on-time tick supersedes it), ``all`` those within
   ``catch_up_window_seconds``. Caught-up ticks are never dropped by the overlap policy:
   they start if a slot is free and wait otherwise.
3. **Overlap** for each on-time tick, given the active runs and the waiting ticks:
   start, wait (``buffer_one``/``allow_all``), skip, or cancel the oldest active run(s)
   and start (``cancel_running``).

Every tick reached gets exactly one outcome event, so the cursor moves past it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import islice

from tauro_contracts.base import Event
from tauro_contracts.schedules import (
    MAX_BACKFILL,
    MissedTick,
    TickFired,
    TickOrigin,
    TickQueued,
    TickSkipped,
    TicksMissed,
)

from tauro_scheduler.domain import (
    CatchUpPolicy,
    OverlapAction,
    OverlapPolicy,
    SkippedTick,
    SkipReason,
    between,
    decide_catch_up,
    decide_overlap,
    iter_after,
    last_n_before,
    plan_backfill,
    release_buffered,
    run_id_for_tick,
    split_due,
)
from tauro_scheduler.state import Schedule, WaitingTick

MAX_DUE = 1000  # ticks decided one by one per decision; an older backlog is summarised
MAX_WAITING = 5000  # waiting ticks per schedule
MAX_COUNTED = 100_000  # how far an omitted backlog is counted (-1 beyond)
_MICROSECOND = timedelta(microseconds=1)


def fired(state: Schedule, nominal: datetime, origin: TickOrigin = "schedule", cancel: Sequence[str] = (),
          backfill_id: str | None = None) -> TickFired:
    """The event that creates the tick's run, with everything needed to (re-)create it."""
    logical = state.logical_date(nominal)
    return TickFired(
        schedule_id=state.schedule_id, tick_id=state.tick(nominal), nominal=nominal, logical_date=logical,
        run_id=run_id_for_tick(state.schedule_id, nominal), origin=origin,
        project_id=state.project_id, pipeline_id=state.pipeline_id,
        params={**state.params, "logical_date": logical}, timeout_seconds=state.timeout_seconds,
        cancel_run_ids=list(cancel), backfill_id=backfill_id, max_concurrency=state.max_concurrency,
    )


def _queued(state: Schedule, nominal: datetime, origin: TickOrigin, reason: str, message: str) -> TickQueued:
    return TickQueued(schedule_id=state.schedule_id, tick_id=state.tick(nominal), nominal=nominal,
                      run_id=run_id_for_tick(state.schedule_id, nominal), origin=origin,
                      reason=reason, message=message)


def _skipped(state: Schedule, nominal: datetime, reason: str, message: str) -> TickSkipped:
    return TickSkipped(schedule_id=state.schedule_id, tick_id=state.tick(nominal), nominal=nominal,
                       reason=reason, message=message)


def _missed(state: Schedule, ticks: Iterable[SkippedTick]) -> list[MissedTick]:
    return [MissedTick(tick_id=state.tick(t.nominal), nominal=t.nominal, reason=str(t.reason), message=t.message)
            for t in ticks]


def release(state: Schedule, active: list[str]) -> list[Event]:
    """Fire waiting ticks into the free slots (``active`` grows with them)."""
    count = release_buffered(len(active), len(state.waiting), state.max_concurrency)
    events: list[Event] = []
    for waiting in state.waiting[:count]:
        events.append(fired(state, waiting.nominal, waiting.origin, backfill_id=waiting.backfill_id))
        active.append(waiting.run_id)
    return events


def _count(state: Schedule, after: datetime, upto: datetime) -> int:
    seen = 0
    for nominal in islice(iter_after(state.rule, after), MAX_COUNTED + 1):
        if nominal > upto:
            return seen
        seen += 1
    return -1


def _due(state: Schedule, now: datetime) -> tuple[list[datetime], TicksMissed | None]:
    """The due ticks to decide one by one, and the summary of an older backlog beyond them."""
    assert state.cursor is not None
    due = between(state.rule, state.cursor, now, max_count=MAX_DUE + 1)
    if len(due) <= MAX_DUE:
        return due, None
    recent = last_n_before(state.rule, now + _MICROSECOND, MAX_DUE)
    last_omitted = last_n_before(state.rule, recent[0], 1)[0]
    summary = TicksMissed(schedule_id=state.schedule_id, ticks=[], omitted=_count(state, state.cursor, last_omitted),
                          omitted_from=due[0], omitted_to=last_omitted)
    return recent, summary


def _catch_up(state: Schedule, missed: list[datetime], on_time: list[datetime],
              now: datetime) -> tuple[list[datetime], list[SkippedTick]]:
    policy = CatchUpPolicy(state.catch_up_policy)
    if policy is CatchUpPolicy.LATEST and on_time:
        message = f"missed; superseded by the on-time tick {on_time[0].isoformat()}; catch-up policy latest"
        return [], [SkippedTick(t, SkipReason.SUPERSEDED, message) for t in missed]
    window = timedelta(seconds=state.catch_up_window_seconds) if state.catch_up_window_seconds else None
    decision = decide_catch_up(policy, missed, now, window, limit=MAX_DUE)
    return list(decision.to_fire), sorted(decision.skipped, key=lambda s: s.nominal)


def advance(state: Schedule, now: datetime, active_runs: Sequence[str]) -> list[Event]:
    """The events that bring ``state`` up to ``now``; ``active_runs``: the schedule's runs
    that hold a slot (queued or running, or being created), oldest first."""
    if not state.live:
        return []
    active = list(active_runs)
    events = release(state, active)
    waiting = len(state.waiting) - len(events)
    if not state.enabled or state.cursor is None:
        return events
    due, summary = _due(state, now)
    if not due:
        return events
    on_time, missed = split_due(due, now, timedelta(seconds=state.misfire_grace_seconds))
    to_fire, skipped = _catch_up(state, missed, on_time, now)
    if skipped or summary is not None:
        base = summary or TicksMissed(schedule_id=state.schedule_id, ticks=[])
        events.append(base.model_copy(update={"ticks": _missed(state, skipped)}))
    limit = state.max_concurrency
    for nominal in to_fire:
        if len(active) + waiting < limit:
            events.append(fired(state, nominal, "catch_up"))
            active.append(run_id_for_tick(state.schedule_id, nominal))
        else:
            message = (f"waiting: {len(active)} run(s) active (max_concurrency={limit}); "
                       "a caught-up tick waits for a free slot")
            events.append(_queued(state, nominal, "catch_up", "catch_up", message))
            waiting += 1
    policy = OverlapPolicy(state.overlap_policy)
    for nominal in on_time:
        decision = decide_overlap(policy, active, waiting, limit)
        run_id = run_id_for_tick(state.schedule_id, nominal)
        if decision.action is OverlapAction.START:
            events.append(fired(state, nominal))
            active.append(run_id)
        elif decision.action is OverlapAction.CANCEL_AND_START:
            events.append(fired(state, nominal, cancel=decision.cancel_run_ids))
            active = [r for r in active if r not in decision.cancel_run_ids] + [run_id]
        elif decision.action is OverlapAction.BUFFER and waiting < MAX_WAITING:
            events.append(_queued(state, nominal, "schedule", str(decision.reason), decision.message or "waiting"))
            waiting += 1
        else:
            reason = str(decision.reason or SkipReason.BUFFER_FULL)
            message = decision.message or ""
            if decision.action is OverlapAction.BUFFER:
                reason, message = str(SkipReason.BUFFER_FULL), f"skipped: {MAX_WAITING} ticks already waiting"
            events.append(_skipped(state, nominal, reason, message))
    return events


def plan(state: Schedule, now: datetime, count: int | None, start: datetime | None,
         end: datetime | None) -> list[datetime]:
    """The nominal times a backfill covers (``ScheduleValidationError`` on a bad request)."""
    return plan_backfill(state.rule, now, count=count, start=start, end=end, limit=MAX_BACKFILL)


def backfill_pending(state: Schedule, nominals: Sequence[datetime], existing: set[str]) -> list[datetime]:
    """The planned times whose run neither exists (``existing`` run ids), nor is being created
    (fired a moment ago), nor waits (a backfill queued by an older version): the ones to fire."""
    taken = existing | {w.run_id for w in state.waiting} | {run_id for run_id, _ in state.recent_fired}
    return [n for n in nominals if run_id_for_tick(state.schedule_id, n) not in taken]


def backfill(state: Schedule, backfill_id: str, nominals: Sequence[datetime], existing: set[str]) -> list[TickFired]:
    """Fire every pending tick of a backfill at once, oldest first: their runs are created now
    (QUEUED, listed, cancellable), each carrying the schedule's ``max_concurrency``, and the
    runs service's dispatcher starts at most that many of the schedule's runs at a time (within
    ``MAX_CONCURRENT_RUNS`` and the pipeline's ``max_concurrent_runs`` too). The cursor does
    not move: a backfill never settles the schedule's own future ticks."""
    return [fired(state, n, "backfill", backfill_id=backfill_id) for n in backfill_pending(state, nominals, existing)]


__all__ = ["MAX_DUE", "MAX_WAITING", "WaitingTick", "advance", "backfill", "backfill_pending", "fired", "plan",
           "release"]
