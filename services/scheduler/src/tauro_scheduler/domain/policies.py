"""Pure decisions for due ticks: overlap with active runs, and catch-up after downtime.

Overlap (``decide_overlap``), for a tick that is due now, given the schedule's active
runs (oldest first), the number of ticks already waiting in its buffer, and
``max_concurrency`` (how many runs of the schedule may be active at once). Buffered
ticks are ahead in line, so a free slot goes to them first; call ``release_buffered``
whenever a run ends (and before deciding) to start them.

=================  ==========================================================================
policy             when the schedule is at ``max_concurrency`` (or older ticks are waiting)
=================  ==========================================================================
``skip``           the tick is skipped (reason ``overlap``)
``buffer_one``     the tick waits, if nothing else waits; otherwise skipped (``buffer_full``)
``allow_all``      the tick waits, without a bound: nothing is dropped
``cancel_running`` the oldest active run(s) are cancelled to make room; the tick starts
=================  ==========================================================================

Below capacity, with nothing waiting, every policy starts the tick.

Catch-up (``decide_catch_up``), for ticks whose time passed while the scheduler was not
running (``split_due`` tells those from ticks that are merely a moment late):

* ``none``: none fire; each is recorded as missed (``missed``).
* ``latest``: only the most recent fires; the others are ``superseded``.
* ``all``: those no older than ``window`` fire (the most recent ``limit`` of them),
  older ones are ``outside_window``, the excess ``catch_up_limit``.

Nothing is dropped silently: every tick that does not fire comes back with a reason
code and a sentence, for the tick's skipped/missed event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from .model import CatchUpPolicy, OverlapPolicy

__all__ = [
    "CatchUpDecision",
    "OverlapAction",
    "OverlapDecision",
    "SkipReason",
    "SkippedTick",
    "decide_catch_up",
    "decide_overlap",
    "release_buffered",
    "split_due",
]

DEFAULT_CATCH_UP_LIMIT = 1000


class SkipReason(StrEnum):
    """Why a tick did not fire; stable codes for events and the ticks API."""

    OVERLAP = "overlap"
    BUFFER_FULL = "buffer_full"
    MISSED = "missed"
    SUPERSEDED = "superseded"
    OUTSIDE_WINDOW = "outside_window"
    CATCH_UP_LIMIT = "catch_up_limit"


class OverlapAction(StrEnum):
    START = "start"
    BUFFER = "buffer"
    SKIP = "skip"
    CANCEL_AND_START = "cancel_and_start"


@dataclass(frozen=True)
class OverlapDecision:
    """What to do with a due tick. ``reason``/``message`` are set for every action but START."""

    action: OverlapAction
    cancel_run_ids: tuple[str, ...] = ()
    reason: SkipReason | None = None
    message: str | None = None


@dataclass(frozen=True)
class SkippedTick:
    nominal: datetime
    reason: SkipReason
    message: str


class CatchUpDecision(NamedTuple):
    """``(to_fire, skipped)``: nominal times to fire (oldest first) and the rest, with reasons."""

    to_fire: tuple[datetime, ...]
    skipped: tuple[SkippedTick, ...]


def _check_capacity(max_concurrency: int) -> None:
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")


def release_buffered(active_count: int, buffered: int, max_concurrency: int = 1) -> int:
    """How many buffered ticks to start now, oldest first."""
    _check_capacity(max_concurrency)
    return max(0, min(buffered, max_concurrency - active_count))


def decide_overlap(
    policy: OverlapPolicy,
    active_run_ids: Sequence[str],
    buffered: int = 0,
    max_concurrency: int = 1,
) -> OverlapDecision:
    """Decide a due tick given the schedule's active runs (oldest first) and waiting ticks."""
    _check_capacity(max_concurrency)
    if buffered < 0:
        raise ValueError("buffered must not be negative")
    policy = OverlapPolicy(policy)
    active = len(active_run_ids)
    if active + buffered < max_concurrency:
        return OverlapDecision(OverlapAction.START)
    busy = f"{active} run(s) active (max_concurrency={max_concurrency})"
    if buffered:
        busy += f", {buffered} tick(s) waiting"
    if policy is OverlapPolicy.SKIP:
        return OverlapDecision(
            OverlapAction.SKIP, reason=SkipReason.OVERLAP, message=f"skipped: {busy}; overlap policy skip"
        )
    if policy is OverlapPolicy.BUFFER_ONE:
        if buffered == 0:
            return OverlapDecision(
                OverlapAction.BUFFER,
                reason=SkipReason.OVERLAP,
                message=f"waiting: {busy}; overlap policy buffer_one",
            )
        return OverlapDecision(
            OverlapAction.SKIP,
            reason=SkipReason.BUFFER_FULL,
            message=f"skipped: {busy}; overlap policy buffer_one keeps at most one waiting tick",
        )
    if policy is OverlapPolicy.ALLOW_ALL or buffered:
        # cancel_running with ticks already waiting cannot jump the queue: it waits too.
        message = f"waiting: {busy}; overlap policy {policy}"
        return OverlapDecision(OverlapAction.BUFFER, reason=SkipReason.OVERLAP, message=message)
    excess = active - max_concurrency + 1
    cancel = tuple(active_run_ids[:excess])
    return OverlapDecision(
        OverlapAction.CANCEL_AND_START,
        cancel_run_ids=cancel,
        reason=SkipReason.OVERLAP,
        message=f"cancelling {', '.join(cancel)}: superseded by a newer tick; overlap policy cancel_running",
    )


def split_due(
    due: Iterable[datetime], now: datetime, grace: timedelta
) -> tuple[list[datetime], list[datetime]]:
    """Split due nominal times into (on_time, missed): missed ones are older than ``grace``."""
    on_time: list[datetime] = []
    missed: list[datetime] = []
    for nominal in sorted(set(due)):
        (on_time if now - nominal <= grace else missed).append(nominal)
    return on_time, missed


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"


def decide_catch_up(
    policy: CatchUpPolicy,
    missed_ticks: Iterable[datetime],
    now: datetime,
    window: timedelta | None = None,
    limit: int = DEFAULT_CATCH_UP_LIMIT,
) -> CatchUpDecision:
    """Which missed ticks fire now. ``window`` (``all`` only; ``None`` = unbounded) is the
    maximum age of a tick that still fires; ``limit`` bounds how many fire."""
    policy = CatchUpPolicy(policy)
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if window is not None and window < timedelta(0):
        raise ValueError("window must not be negative")
    ticks = sorted(set(missed_ticks))
    if ticks and ticks[-1] > now:
        raise ValueError("a missed tick cannot be later than now")
    skipped: list[SkippedTick] = []
    if policy is CatchUpPolicy.NONE:
        skipped = [
            SkippedTick(
                t,
                SkipReason.MISSED,
                f"missed while the scheduler was down; catch-up policy none ({_age(now - t)} late)",
            )
            for t in ticks
        ]
        return CatchUpDecision((), tuple(skipped))
    if policy is CatchUpPolicy.LATEST:
        if not ticks:
            return CatchUpDecision((), ())
        latest = ticks[-1]
        skipped = [
            SkippedTick(
                t,
                SkipReason.SUPERSEDED,
                f"missed; superseded by the later missed tick {latest.isoformat()}; catch-up policy latest",
            )
            for t in ticks[:-1]
        ]
        return CatchUpDecision((latest,), tuple(skipped))
    fresh = [t for t in ticks if window is None or now - t <= window]
    for t in ticks:
        if window is not None and now - t > window:
            skipped.append(
                SkippedTick(
                    t,
                    SkipReason.OUTSIDE_WINDOW,
                    f"missed; {_age(now - t)} old, outside "
                    f"the catch-up window of {_age(window)}; catch-up policy all",
                )
            )
    to_fire = fresh[-limit:]
    for t in fresh[: len(fresh) - len(to_fire)]:
        skipped.append(
            SkippedTick(
                t,
                SkipReason.CATCH_UP_LIMIT,
                f"missed; only the {limit} most recent missed ticks are caught up; catch-up policy all",
            )
        )
    skipped.sort(key=lambda s: s.nominal)
    return CatchUpDecision(tuple(to_fire), tuple(skipped))
