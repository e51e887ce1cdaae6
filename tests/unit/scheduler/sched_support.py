"""Shared helpers for the scheduler domain tests: rules, zones, transitions, a brute-force oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from tauro_scheduler.domain import ScheduleKind, ScheduleRule
from tauro_scheduler.domain.expressions import CronExpression

MINUTE = timedelta(minutes=1)

# Zones with DST (northern, southern, half-hour shift, midnight shifts) plus fixed ones.
DST_ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Europe/London",
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


def cron(expression: str, timezone: str = "UTC") -> ScheduleRule:
    return ScheduleRule(ScheduleKind.CRON, expression, timezone)


def interval(expression: str, anchor: datetime, timezone: str = "UTC") -> ScheduleRule:
    return ScheduleRule(ScheduleKind.INTERVAL, expression, timezone, anchor)


def local(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))


def wall(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None, fold=0)


def offset(instant: datetime, zone: str) -> timedelta:
    value = instant.astimezone(ZoneInfo(zone)).utcoffset()
    assert value is not None
    return value


def transitions(zone: str, year: int) -> list[datetime]:
    """The UTC instants in ``year`` at which ``zone``'s offset changes (hour scan + bisection)."""
    found = []
    t = utc(year, 1, 1)
    end = utc(year + 1, 1, 1)
    step = timedelta(hours=1)
    while t < end:
        if offset(t, zone) != offset(t + step, zone):
            low, high = int(t.timestamp()), int((t + step).timestamp())
            target = offset(t + step, zone)
            while high - low > 1:
                middle = (low + high) // 2
                if offset(datetime.fromtimestamp(middle, UTC), zone) == target:
                    high = middle
                else:
                    low = middle
            found.append(datetime.fromtimestamp(high, UTC))
        t += step
    return found


def oracle(expression: CronExpression, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Fire times in ``(start, end]`` by brute force over every UTC minute (minute-aligned zones).

    Straight from the documented rule: with an all-hours hour field, fire at each minute
    whose wall time matches; otherwise fire at the first minute at which the wall clock
    reaches (or jumps past) a matching wall time it has never shown before. ``start`` must
    be minute-aligned and not within a day after a backward shift.
    """
    fires = []
    high_water = wall(start, zone)
    u = start + MINUTE
    while u <= end:
        shown = wall(u, zone)
        if expression.hour_wildcard:
            if expression.matches(shown):
                fires.append(u)
        elif shown > high_water:
            w = high_water + MINUTE
            while w <= shown:
                if expression.matches(w):
                    fires.append(u)
                    break
                w += MINUTE
            high_water = shown
        u += MINUTE
    return fires


# ---------------------------------------------------------------------- hypothesis strategies


@cache
def _item(low: int, high: int) -> st.SearchStrategy[str]:
    span = min(high - low + 1, 7) if (low, high) == (0, 7) else high - low + 1
    # Ranges "a-b" with a < b: croniter (the reference in some tests) misreads "a-a" as "*".
    pair = st.tuples(st.integers(low, high - 1), st.integers(1, high - low)).map(
        lambda t: [t[0], min(high, t[0] + t[1])]
    )
    return st.one_of(
        st.just("*"),
        st.integers(1, span).map(lambda n: f"*/{n}"),
        st.integers(low, high).map(str),
        pair.map(lambda p: f"{p[0]}-{p[1]}"),
        st.tuples(pair, st.integers(1, span)).map(lambda t: f"{t[0][0]}-{t[0][1]}/{t[1]}"),
    )


@cache
def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(_item(low, high), min_size=1, max_size=3).map(",".join)


@cache
def hour_field() -> st.SearchStrategy[str]:
    """Hour fields biased to the hours DST changes touch (0-4) and to the all-hours case."""
    small = st.one_of(st.integers(0, 4).map(str), st.sampled_from(["1-3", "0-2", "2,3", "1,2", "0-4/2"]))
    return st.one_of(st.just("*"), st.just("*/1"), small, cron_field(0, 23))


@cache
def minute_field() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["0", "30", "*/15", "*/20", "0,30", "5", "45", "59"]), cron_field(0, 59))
