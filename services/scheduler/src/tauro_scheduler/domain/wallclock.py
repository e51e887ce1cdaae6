"""Local wall-clock helpers for CRON: which naive local times match, and when they happen.

``iter_walls`` enumerates the naive local wall times (minute precision) a cron matches,
in increasing order, skipping whole months and days that cannot match. ``resolve`` maps
one wall time to real UTC instants in a zone using PEP 495 ``fold``: a unique time, a
time repeated by a backward shift (two instants), or a time skipped by a forward shift
(then the instant the gap ends, found by bisection to the second).

Assumption (checked against the installed tz database by a unit test): a zone's UTC
offset changes at most once in any ``TRANSITION_SPACING`` window. The shortest spacing
of real offset changes in tzdata is about four days (Africa/Freetown, 1939).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from .expressions import CronExpression

MINUTE = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)
TRANSITION_SPACING = timedelta(hours=48)


def ceil_minute(wall: datetime) -> datetime:
    """The first whole minute at or after ``wall``."""
    if wall.second or wall.microsecond:
        return wall.replace(second=0, microsecond=0) + MINUTE
    return wall


def _next_month_start(day: date, months: tuple[int, ...]) -> date | None:
    for year in (day.year, day.year + 1):
        for month in months:
            if (year, month) > (day.year, day.month):
                return date(year, month, 1) if year <= date.max.year else None
    return None


def iter_walls(cron: CronExpression, start: datetime) -> Iterator[datetime]:
    """The naive wall times ``>= start`` (ignoring ``start``'s tzinfo) that ``cron`` matches."""
    start = ceil_minute(start.replace(tzinfo=None))
    day: date | None = start.date()
    first = True
    while day is not None:
        if day.month not in cron.months:
            day, first = _next_month_start(day, cron.month_list), False
            continue
        if cron.day_matches(day):
            for hour in cron.hour_list:
                if first and hour < start.hour:
                    continue
                for minute in cron.minute_list:
                    if first and hour == start.hour and minute < start.minute:
                        continue
                    yield datetime(day.year, day.month, day.day, hour, minute)
        first = False
        day = day + ONE_DAY if day < date.max else None


@dataclass(frozen=True)
class Resolved:
    """The real instants of one local wall time.

    ``first``: its first occurrence, or for a skipped time the instant the gap ends.
    ``second``: its second occurrence when a backward shift repeats it, else ``None``.
    ``skipped``: the wall time does not exist (a forward shift jumps over it).
    """

    first: datetime
    second: datetime | None
    skipped: bool


def utc_offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _gap_end(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The transition instant in ``(before, after]``: the first second with ``after``'s offset."""
    target = utc_offset(zone, after)
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if utc_offset(zone, datetime.fromtimestamp(middle, UTC)) == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def resolve(wall: datetime, zone: ZoneInfo) -> Resolved:
    """Map a naive local wall time to its real UTC instant(s) in ``zone``."""
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if early == late:
        return Resolved(early, None, False)
    if early < late:
        return Resolved(early, late, False)
    # In a gap PEP 495 maps fold=0 with the old offset (the later instant) and fold=1 with
    # the new one (the earlier instant); the transition lies between them.
    return Resolved(_gap_end(zone, late, early), None, True)


def backward_margin(zone: ZoneInfo, instant: datetime) -> timedelta:
    """How far the wall clock can fall below its reading at ``instant`` later on.

    Non-zero only when a backward shift (fall-back) is near: then wall times up to that
    much earlier than ``instant``'s can still occur after ``instant``.
    """
    now = utc_offset(zone, instant)
    steps = 8
    later = min(utc_offset(zone, instant + TRANSITION_SPACING * k / steps) for k in range(1, steps + 1))
    return max(timedelta(0), now - later)


def local_wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall time ``instant`` shows in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)
