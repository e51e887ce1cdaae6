"""The nominal fire times of a schedule: pure functions of the rule and instants passed in.

All instants in and out are timezone-aware; results are in UTC, strictly increasing and
without duplicates. The timeline runs both ways without bound: backfills may reach back
before a schedule was created.

INTERVAL: the fire times are ``anchor + k * interval`` for every integer ``k`` — fixed
elapsed durations, independent of the zone and of DST.

CRON is matched against the local wall clock of the schedule's ``timezone``. DST rule:

* **Hour field ``*``** (any hour field allowing all 24 hours: ``*``, ``*/1``, ``0-23``): the
  schedule fires at every real instant whose local wall time matches. It keeps real
  elapsed spacing — ``*/15 * * * *`` ticks every 15 minutes straight through both
  changes: in autumn the repeated hour's wall times match again (01:00, 01:15, ... EDT
  then 01:00, 01:15, ... EST), in spring the skipped hour simply never shows on the clock.
* **Any other hour field**: each matching local wall time fires exactly once, at the first
  instant the local clock reaches it. A time skipped by spring-forward fires once at the
  first valid instant after the gap (``30 2 * * *`` in America/New_York on 2024-03-10 fires
  at 03:00 EDT); a time repeated by fall-back fires only at its first occurrence
  (``30 1 * * *`` on 2024-11-03 fires at 01:30 EDT, not again at 01:30 EST).

Consequence of the second rule: several skipped wall times, or a skipped time and the
gap's end time itself (``0 2,3 * * *`` on a spring-forward day), share one instant and
so one tick. This is the classic Vixie cron behaviour (wildcard jobs follow the clock,
fixed-time jobs run once), with "wildcard" decided by the hour field's values, not its
spelling. croniter is not used for this: it fires fixed-time jobs twice in the
repeated hour.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

from .expressions import CronExpression, IntervalExpression
from .model import ScheduleRule
from .wallclock import MINUTE, backward_margin, iter_walls, local_wall, resolve

__all__ = ["between", "iter_after", "last_n_before", "next_after"]

DEFAULT_MAX_COUNT = 1000
_EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def _aware(instant: datetime, name: str = "instant") -> datetime:
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return instant.astimezone(UTC)


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _iter_interval(interval: IntervalExpression, anchor: datetime, after: datetime) -> Iterator[datetime]:
    step = interval.delta
    k = _microseconds(after - anchor) // (interval.seconds * 1_000_000) + 1
    try:
        current = anchor + step * k
        while True:
            yield current
            current += step
    except OverflowError:
        return


def _iter_cron(cron: CronExpression, rule: ScheduleRule, after: datetime) -> Iterator[datetime]:
    zone = rule.zone
    wildcard = cron.hour_wildcard
    try:
        start = local_wall(after, zone)
        if wildcard:
            start -= backward_margin(zone, after) + MINUTE
    except OverflowError:
        return
    pending: list[datetime] = []  # second occurrences of repeated wall times, not yet due
    last = after
    try:
        for wall in iter_walls(cron, start):
            resolved = resolve(wall, zone)
            if resolved.skipped and wildcard:
                continue
            # First occurrences (and gap ends) never decrease as wall times increase, and a
            # second occurrence always comes after its own first: so anything pending that
            # is earlier than this first occurrence can no longer be beaten.
            while pending and pending[0] <= resolved.first:
                due = heapq.heappop(pending)
                if due > last:
                    yield due
                    last = due
            if resolved.first > last:
                yield resolved.first
                last = resolved.first
            if wildcard and resolved.second is not None:
                heapq.heappush(pending, resolved.second)
    except OverflowError:
        pass
    while pending:
        due = heapq.heappop(pending)
        if due > last:
            yield due
            last = due


def iter_after(rule: ScheduleRule, instant: datetime) -> Iterator[datetime]:
    """Every fire time strictly after ``instant``, in increasing order (UTC, lazy, unbounded)."""
    after = _aware(instant)
    parsed = rule.parsed
    if isinstance(parsed, IntervalExpression):
        assert rule.anchor is not None
        return _iter_interval(parsed, rule.anchor, after)
    return _iter_cron(parsed, rule, after)


def next_after(rule: ScheduleRule, instant: datetime) -> datetime:
    """The first fire time strictly after ``instant``."""
    for fire in iter_after(rule, instant):
        return fire
    raise ValueError(f"the schedule has no fire time after {instant.isoformat()}")


def between(
    rule: ScheduleRule, start: datetime, end: datetime, max_count: int = DEFAULT_MAX_COUNT
) -> list[datetime]:
    """Fire times in ``(start, end]`` — start exclusive, end inclusive — at most the first
    ``max_count`` of them. A result of exactly ``max_count`` items may be truncated."""
    lower, upper = _aware(start, "start"), _aware(end, "end")
    if max_count < 0:
        raise ValueError("max_count must not be negative")
    fires = []
    for fire in islice(iter_after(rule, lower), max_count):
        if fire > upper:
            break
        fires.append(fire)
    return fires


def last_n_before(rule: ScheduleRule, instant: datetime, n: int) -> list[datetime]:
    """The ``n`` most recent fire times strictly before ``instant``, oldest first.

    Fewer only when the calendar runs out (year 1).
    """
    end = _aware(instant) - _ONE_MICROSECOND
    if n <= 0:
        return []
    parsed = rule.parsed
    if isinstance(parsed, IntervalExpression):
        assert rule.anchor is not None
        step_us = parsed.seconds * 1_000_000
        last_k = _microseconds(end - rule.anchor) // step_us
        fires = []
        for k in range(last_k - n + 1, last_k + 1):
            try:
                fire = rule.anchor + parsed.delta * k
            except OverflowError:
                continue
            if fire >= _EARLIEST:
                fires.append(fire)
        return fires
    span = MINUTE * n
    while True:
        low = end - span if end - _EARLIEST > span else _EARLIEST
        fires = []
        for fire in iter_after(rule, low):
            if fire > end:
                break
            fires.append(fire)
        if len(fires) >= n or low == _EARLIEST:
            return fires[-n:]
        span *= 4
