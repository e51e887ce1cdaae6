"""Nominal fire times, by example: DST in several zones, month ends, leap days, intervals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice

import pytest
from sched_support import cron, interval, local, utc
from tauro_scheduler.domain import between, iter_after, last_n_before, next_after


def _local_strings(fires: list[datetime], zone: str) -> list[str]:
    return [local(f, zone).strftime("%Y-%m-%d %H:%M %Z") for f in fires]


# ------------------------------------------------------------------------- spring forward


@pytest.mark.parametrize(
    ("zone", "expression", "start", "end", "expected"),
    [
        # New York 2024-03-10: 02:00 EST -> 03:00 EDT.
        (
            "America/New_York",
            "30 2 * * *",
            utc(2024, 3, 8),
            utc(2024, 3, 12),
            ["2024-03-08 02:30 EST", "2024-03-09 02:30 EST", "2024-03-10 03:00 EDT", "2024-03-11 02:30 EDT"],
        ),
        (
            "America/New_York",
            "0 2 * * *",
            utc(2024, 3, 9, 12),
            utc(2024, 3, 11, 12),
            ["2024-03-10 03:00 EDT", "2024-03-11 02:00 EDT"],
        ),
        # Every 15 minutes of the skipped hour collapse into the one instant after the gap.
        (
            "America/New_York",
            "*/15 2 * * *",
            utc(2024, 3, 9, 12),
            utc(2024, 3, 10, 12),
            ["2024-03-10 03:00 EDT"],
        ),
        # A skipped time and the gap's end time share one instant, so one tick.
        ("America/New_York", "0 2,3 * * *", utc(2024, 3, 10), utc(2024, 3, 10, 12), ["2024-03-10 03:00 EDT"]),
        # Berlin 2024-03-31: 02:00 CET -> 03:00 CEST.
        (
            "Europe/Berlin",
            "30 2 * * *",
            utc(2024, 3, 30),
            utc(2024, 4, 1, 12),
            ["2024-03-30 02:30 CET", "2024-03-31 03:00 CEST", "2024-04-01 02:30 CEST"],
        ),
        (
            "Europe/Berlin",
            "15 2 * * 0",
            utc(2024, 3, 20),
            utc(2024, 4, 10),
            ["2024-03-24 02:15 CET", "2024-03-31 03:00 CEST", "2024-04-07 02:15 CEST"],
        ),
        # Sydney 2024-10-06: 02:00 AEST -> 03:00 AEDT.
        (
            "Australia/Sydney",
            "30 2 * * *",
            utc(2024, 10, 4),
            utc(2024, 10, 7),
            ["2024-10-05 02:30 AEST", "2024-10-06 03:00 AEDT", "2024-10-07 02:30 AEDT"],
        ),
        # Lord Howe 2024-10-06: a half-hour shift, 02:00 -> 02:30.
        (
            "Australia/Lord_Howe",
            "15 2 * * *",
            utc(2024, 10, 4),
            utc(2024, 10, 7),
            ["2024-10-05 02:15 +1030", "2024-10-06 02:30 +11", "2024-10-07 02:15 +11"],
        ),
        # Santiago 2024-09-08: midnight does not exist (00:00 -> 01:00).
        (
            "America/Santiago",
            "0 0 * * *",
            utc(2024, 9, 7),
            utc(2024, 9, 9, 12),
            ["2024-09-07 00:00 -04", "2024-09-08 01:00 -03", "2024-09-09 00:00 -03"],
        ),
        # Apia skipped 2011-12-30 entirely: its 09:00 fires when the gap ends, at midnight of the 31st.
        (
            "Pacific/Apia",
            "0 9 * * *",
            utc(2011, 12, 28),
            utc(2011, 12, 31, 12),
            ["2011-12-28 09:00 -10", "2011-12-29 09:00 -10", "2011-12-31 00:00 +14", "2011-12-31 09:00 +14"],
        ),
    ],
)
def test_spring_forward_fixed_hours(
    zone: str, expression: str, start: datetime, end: datetime, expected: list[str]
) -> None:
    assert _local_strings(between(cron(expression, zone), start, end), zone) == expected


def test_spring_forward_every_15_minutes_keeps_elapsed_spacing() -> None:
    fires = between(cron("*/15 * * * *", "America/New_York"), utc(2024, 3, 10, 6), utc(2024, 3, 10, 8))
    assert _local_strings(fires, "America/New_York") == [
        "2024-03-10 01:15 EST",
        "2024-03-10 01:30 EST",
        "2024-03-10 01:45 EST",
        "2024-03-10 03:00 EDT",
        "2024-03-10 03:15 EDT",
        "2024-03-10 03:30 EDT",
        "2024-03-10 03:45 EDT",
        "2024-03-10 04:00 EDT",
    ]
    assert {b - a for a, b in itertools.pairwise(fires)} == {timedelta(minutes=15)}


def test_spring_forward_hourly_skips_the_missing_hour() -> None:
    fires = between(cron("5 * * * *", "America/New_York"), utc(2024, 3, 10, 5), utc(2024, 3, 10, 9))
    assert _local_strings(fires, "America/New_York") == [
        "2024-03-10 00:05 EST",
        "2024-03-10 01:05 EST",
        "2024-03-10 03:05 EDT",
        "2024-03-10 04:05 EDT",
    ]
    assert {b - a for a, b in itertools.pairwise(fires)} == {timedelta(hours=1)}


# ------------------------------------------------------------------------- fall back


@pytest.mark.parametrize(
    ("zone", "expression", "start", "end", "expected"),
    [
        # New York 2024-11-03: 02:00 EDT -> 01:00 EST, so 01:00-01:59 happens twice.
        (
            "America/New_York",
            "30 1 * * *",
            utc(2024, 11, 2),
            utc(2024, 11, 5),
            ["2024-11-02 01:30 EDT", "2024-11-03 01:30 EDT", "2024-11-04 01:30 EST"],
        ),
        (
            "America/New_York",
            "0,30 1 * * *",
            utc(2024, 11, 3),
            utc(2024, 11, 4),
            ["2024-11-03 01:00 EDT", "2024-11-03 01:30 EDT"],
        ),
        (
            "America/New_York",
            "*/20 1-2 * * *",
            utc(2024, 11, 3),
            utc(2024, 11, 3, 12),
            [
                "2024-11-03 01:00 EDT",
                "2024-11-03 01:20 EDT",
                "2024-11-03 01:40 EDT",
                "2024-11-03 02:00 EST",
                "2024-11-03 02:20 EST",
                "2024-11-03 02:40 EST",
            ],
        ),
        # Berlin 2024-10-27: 03:00 CEST -> 02:00 CET.
        (
            "Europe/Berlin",
            "30 2 * * *",
            utc(2024, 10, 26),
            utc(2024, 10, 28, 12),
            ["2024-10-26 02:30 CEST", "2024-10-27 02:30 CEST", "2024-10-28 02:30 CET"],
        ),
        # Sydney 2024-04-07: 03:00 AEDT -> 02:00 AEST.
        (
            "Australia/Sydney",
            "30 2 * * *",
            utc(2024, 4, 5),
            utc(2024, 4, 8),
            ["2024-04-06 02:30 AEDT", "2024-04-07 02:30 AEDT", "2024-04-08 02:30 AEST"],
        ),
        # Lord Howe 2024-04-07: 02:00 -> 01:30, so 01:30-01:59 happens twice.
        (
            "Australia/Lord_Howe",
            "45 1 * * *",
            utc(2024, 4, 5),
            utc(2024, 4, 8),
            ["2024-04-06 01:45 +11", "2024-04-07 01:45 +11", "2024-04-08 01:45 +1030"],
        ),
        # Santiago 2024-04-07: 00:00 -> 23:00 on the 6th, so 23:xx of the 6th happens twice.
        (
            "America/Santiago",
            "30 23 * * *",
            utc(2024, 4, 5, 12),
            utc(2024, 4, 8, 12),
            ["2024-04-05 23:30 -03", "2024-04-06 23:30 -03", "2024-04-07 23:30 -04"],
        ),
    ],
)
def test_fall_back_fixed_hours_fire_once(
    zone: str, expression: str, start: datetime, end: datetime, expected: list[str]
) -> None:
    assert _local_strings(between(cron(expression, zone), start, end), zone) == expected


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("America/New_York", utc(2024, 11, 3, 4), utc(2024, 11, 3, 8)),
        ("Europe/Berlin", utc(2024, 10, 26, 23), utc(2024, 10, 27, 3)),
        ("Australia/Sydney", utc(2024, 4, 6, 14), utc(2024, 4, 6, 18)),
    ],
)
def test_fall_back_every_15_minutes_ticks_through_the_repeated_hour(
    zone: str, start: datetime, end: datetime
) -> None:
    fires = between(cron("*/15 * * * *", zone), start, end)
    assert len(fires) == 16  # 4 real hours
    assert {b - a for a, b in itertools.pairwise(fires)} == {timedelta(minutes=15)}
    walls = [local(f, zone).strftime("%H:%M") for f in fires]
    assert len(set(walls)) == 12  # one wall hour shown twice


def test_fall_back_hourly_fires_each_real_hour() -> None:
    fires = between(cron("0 * * * *", "America/New_York"), utc(2024, 11, 3, 3, 30), utc(2024, 11, 3, 8))
    assert _local_strings(fires, "America/New_York") == [
        "2024-11-03 00:00 EDT",
        "2024-11-03 01:00 EDT",
        "2024-11-03 01:00 EST",
        "2024-11-03 02:00 EST",
        "2024-11-03 03:00 EST",
    ]


def test_next_after_inside_the_repeated_hour() -> None:
    ny = "America/New_York"
    second_pass = datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=local(utc(2024, 1, 1), ny).tzinfo)
    assert second_pass.utcoffset() == timedelta(hours=-5)
    # Fixed hours: 01:30 already fired in the first pass, so the next one is tomorrow's.
    assert _local_strings([next_after(cron("30 1 * * *", ny), second_pass)], ny) == ["2024-11-04 01:30 EST"]
    # Hour wildcard: 01:30 shows again in the second pass.
    assert _local_strings([next_after(cron("30 * * * *", ny), second_pass)], ny) == ["2024-11-03 01:30 EST"]
    first_pass = second_pass.replace(fold=0)
    assert _local_strings([next_after(cron("30 1 * * *", ny), first_pass)], ny) == ["2024-11-03 01:30 EDT"]
    # From the first pass an hour-wildcard cron still sees the second pass's 01:05.
    fires = list(islice(iter_after(cron("5 * * * *", ny), first_pass), 3))
    assert _local_strings(fires, ny) == [
        "2024-11-03 01:05 EST",
        "2024-11-03 02:05 EST",
        "2024-11-03 03:05 EST",
    ]


# ------------------------------------------------------------------------- calendar edges


def test_month_ends_skip_short_months() -> None:
    fires = between(cron("0 0 31 * *"), utc(2023, 12, 31), utc(2025, 1, 1))
    assert [(f.year, f.month) for f in fires] == [
        (2024, 1),
        (2024, 3),
        (2024, 5),
        (2024, 7),
        (2024, 8),
        (2024, 10),
        (2024, 12),
    ]


def test_thirtieth_skips_february_only() -> None:
    fires = between(cron("0 12 30 * *", "Europe/Berlin"), utc(2024, 1, 1), utc(2024, 12, 31))
    assert [f.month for f in fires] == [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert all(local(f, "Europe/Berlin").hour == 12 for f in fires)


def test_leap_days_only_in_leap_years() -> None:
    fires = between(cron("0 0 29 2 *"), utc(1896, 1, 1), utc(2030, 1, 1))
    years = [f.year for f in fires]
    assert 1900 not in years and 2000 in years and 2100 not in years
    assert years == [y for y in range(1896, 2030) if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)]
    assert next_after(cron("0 0 29 2 *"), utc(2024, 3, 1)) == utc(2028, 2, 29)
    assert next_after(cron("0 0 29 2 *"), utc(2096, 3, 1)) == utc(2104, 2, 29)


def test_leap_day_on_a_weekday_with_star_dow_filter() -> None:
    # "*/7"-style day-of-week (star-prefixed) filters: 29 February that is a Sunday.
    fires = between(cron("0 0 29 2 */7"), utc(2000, 1, 1), utc(2060, 1, 1))
    assert [f.year for f in fires] == [2004, 2032]


def test_weekdays_at_nine_in_sydney() -> None:
    fires = between(cron("0 9 * * 1-5", "Australia/Sydney"), utc(2024, 1, 5), utc(2024, 1, 12))
    assert [local(f, "Australia/Sydney").strftime("%a %H:%M") for f in fires] == [
        "Mon 09:00",
        "Tue 09:00",
        "Wed 09:00",
        "Thu 09:00",
        "Fri 09:00",
    ]


def test_weekly_sunday_and_monthly_first() -> None:
    assert next_after(cron("0 0 * * 0"), utc(2024, 1, 1)) == utc(2024, 1, 7)
    assert next_after(cron("0 0 * * 7"), utc(2024, 1, 1)) == utc(2024, 1, 7)
    assert next_after(cron("0 0 1 * *"), utc(2024, 1, 1)) == utc(2024, 2, 1)
    assert next_after(cron("@yearly"), utc(2024, 6, 1)) == utc(2025, 1, 1)


# ------------------------------------------------------------------------- boundaries and inputs


def test_between_bounds() -> None:
    rule = cron("0 * * * *")
    assert between(rule, utc(2024, 1, 1, 0), utc(2024, 1, 1, 3)) == [
        utc(2024, 1, 1, 1),
        utc(2024, 1, 1, 2),
        utc(2024, 1, 1, 3),
    ]
    assert between(rule, utc(2024, 1, 1, 0), utc(2024, 1, 1, 3), max_count=2) == [
        utc(2024, 1, 1, 1),
        utc(2024, 1, 1, 2),
    ]
    assert between(rule, utc(2024, 1, 1, 3), utc(2024, 1, 1, 1)) == []
    assert between(rule, utc(2024, 1, 1, 3), utc(2024, 1, 1, 3)) == []
    assert between(rule, utc(2024, 1, 1), utc(2024, 1, 2), max_count=0) == []


def test_next_after_is_strict_and_returns_utc() -> None:
    rule = cron("0 2 * * *", "Europe/Berlin")
    at_fire = datetime(2024, 1, 10, 2, 0, tzinfo=timezone(timedelta(hours=1)))
    nxt = next_after(rule, at_fire)
    assert nxt == utc(2024, 1, 11, 1) and nxt.tzinfo is UTC
    assert next_after(rule, at_fire - timedelta(microseconds=1)) == at_fire


def test_naive_instants_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_after(cron("* * * * *"), datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        between(cron("* * * * *"), utc(2024, 1, 1), datetime(2024, 1, 2))


def test_last_n_before() -> None:
    rule = cron("0 2 * * *")
    assert last_n_before(rule, utc(2024, 1, 10, 2), 3) == [
        utc(2024, 1, 7, 2),
        utc(2024, 1, 8, 2),
        utc(2024, 1, 9, 2),
    ]
    assert last_n_before(rule, utc(2024, 1, 10, 2, 0, 1), 1) == [utc(2024, 1, 10, 2)]
    assert last_n_before(rule, utc(2024, 1, 10), 0) == []
    assert last_n_before(cron("0 0 29 2 *"), utc(2024, 1, 1), 2) == [utc(2016, 2, 29), utc(2020, 2, 29)]


def test_far_future_and_past_do_not_crash() -> None:
    assert between(cron("0 0 1 1 *"), datetime(9998, 6, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)) == [
        utc(9999, 1, 1)
    ]
    assert list(iter_after(cron("0 0 1 1 *"), datetime(9999, 6, 1, tzinfo=UTC))) == []
    with pytest.raises(ValueError, match="no fire time"):
        next_after(cron("0 0 1 1 *"), datetime(9999, 6, 1, tzinfo=UTC))
    assert len(last_n_before(cron("0 0 1 1 *"), utc(5, 6, 1), 10)) == 3


# ------------------------------------------------------------------------- INTERVAL


def test_interval_is_anchored_and_ignores_dst() -> None:
    anchor = datetime(2024, 3, 9, 12, 0, 0, tzinfo=local(utc(2024, 1, 1), "America/New_York").tzinfo)
    rule = interval("1d", anchor, "America/New_York")
    fires = between(rule, anchor, anchor.astimezone(UTC) + timedelta(days=3))
    assert [b - a for a, b in itertools.pairwise(fires)] == [timedelta(days=1)] * 2
    assert _local_strings(fires, "America/New_York") == [
        "2024-03-10 13:00 EDT",
        "2024-03-11 13:00 EDT",
        "2024-03-12 13:00 EDT",
    ]


def test_interval_anchor_truncated_to_the_second() -> None:
    rule = interval("1h30m", utc(2024, 1, 1).replace(second=7, microsecond=999999))
    assert rule.anchor == utc(2024, 1, 1, 0, 0, 7)
    assert between(rule, utc(2024, 1, 1), utc(2024, 1, 1, 3, 0, 7)) == [
        utc(2024, 1, 1, 0, 0, 7),
        utc(2024, 1, 1, 1, 30, 7),
        utc(2024, 1, 1, 3, 0, 7),
    ]


def test_interval_runs_before_the_anchor_too() -> None:
    rule = interval("15s", utc(2024, 1, 1, 12))
    assert next_after(rule, utc(2024, 1, 1)) == utc(2024, 1, 1, 0, 0, 15)
    assert next_after(rule, utc(2024, 1, 1, 12)) == utc(2024, 1, 1, 12, 0, 15)
    assert last_n_before(rule, utc(2024, 1, 1, 12), 2) == [
        utc(2024, 1, 1, 11, 59, 30),
        utc(2024, 1, 1, 11, 59, 45),
    ]
    assert last_n_before(rule, utc(2024, 1, 1, 12, 0, 0, 1), 1) == [utc(2024, 1, 1, 12)]


def test_one_second_interval() -> None:
    rule = interval("1s", utc(2024, 1, 1))
    assert between(rule, utc(2024, 1, 1, 0, 0, 0, 500_000), utc(2024, 1, 1, 0, 0, 3)) == [
        utc(2024, 1, 1, 0, 0, 1),
        utc(2024, 1, 1, 0, 0, 2),
        utc(2024, 1, 1, 0, 0, 3),
    ]
