"""Backfill planning: count and range forms, their validation, and agreement with the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sched_support import cron, interval, utc
from tauro_scheduler.domain import (
    ScheduleValidationError,
    between,
    plan_backfill,
    run_id_for_tick,
)

NOW = utc(2025, 11, 18, 10, 17)
DAILY = cron("0 2 * * *")


def test_count_is_the_n_most_recent_before_now() -> None:
    plan = plan_backfill(DAILY, NOW, count=3)
    assert plan == [utc(2025, 11, 16, 2), utc(2025, 11, 17, 2), utc(2025, 11, 18, 2)]


def test_spec_example_thirty_days() -> None:
    plan = plan_backfill(DAILY, NOW, count=30)
    assert len(plan) == 30 and plan[0] == utc(2025, 10, 20, 2) and plan[-1] == utc(2025, 11, 18, 2)
    assert len({run_id_for_tick("sched_xyz", t) for t in plan}) == 30
    # Planning again gives the same times, hence the same run ids: nothing is duplicated.
    assert plan_backfill(DAILY, NOW, count=30) == plan


def test_count_excludes_a_tick_exactly_at_now() -> None:
    assert plan_backfill(DAILY, utc(2025, 11, 18, 2), count=1) == [utc(2025, 11, 17, 2)]


def test_range_is_inclusive_at_both_ends() -> None:
    plan = plan_backfill(DAILY, NOW, start=utc(2025, 11, 1, 2), end=utc(2025, 11, 3, 2))
    assert plan == [utc(2025, 11, 1, 2), utc(2025, 11, 2, 2), utc(2025, 11, 3, 2)]
    assert plan_backfill(DAILY, NOW, start=utc(2025, 11, 1, 3), end=utc(2025, 11, 2, 1)) == []
    assert plan_backfill(DAILY, NOW, start=utc(2025, 11, 1, 2), end=utc(2025, 11, 1, 2)) == [
        utc(2025, 11, 1, 2)
    ]


def test_range_in_a_local_zone_with_dst() -> None:
    rule = cron("30 2 * * *", "America/New_York")
    plan = plan_backfill(rule, utc(2024, 3, 20), start=utc(2024, 3, 9), end=utc(2024, 3, 12))
    assert [t.isoformat() for t in plan] == [
        "2024-03-09T07:30:00+00:00",
        "2024-03-10T07:00:00+00:00",
        "2024-03-11T06:30:00+00:00",
    ]


def test_interval_backfill_reaches_before_the_anchor() -> None:
    rule = interval("1h", NOW - timedelta(minutes=30))
    plan = plan_backfill(rule, NOW, count=3)
    assert plan == [NOW - timedelta(minutes=150), NOW - timedelta(minutes=90), NOW - timedelta(minutes=30)]


def test_range_limit() -> None:
    minutely = cron("* * * * *")
    plan = plan_backfill(minutely, NOW, start=NOW - timedelta(minutes=999), end=NOW, limit=1000)
    assert len(plan) == 1000
    with pytest.raises(ScheduleValidationError) as caught:
        plan_backfill(minutely, NOW, start=NOW - timedelta(minutes=1000), end=NOW, limit=1000)
    assert caught.value.details[0].field == "end"
    assert "more than 1000" in caught.value.details[0].message


@pytest.mark.parametrize(
    ("kwargs", "fields", "fragment"),
    [
        ({}, ["count"], "either count or start and end"),
        ({"count": 3, "start": utc(2025, 1, 1), "end": utc(2025, 1, 2)}, ["start"], "not both"),
        ({"count": 3, "end": utc(2025, 1, 2)}, ["end"], "not both"),
        ({"count": 0}, ["count"], "from 1 to 1000"),
        ({"count": -5}, ["count"], "from 1 to 1000"),
        ({"count": 1001}, ["count"], "from 1 to 1000"),
        ({"count": True}, ["count"], "whole number"),
        ({"count": 2.5}, ["count"], "whole number"),
        ({"start": utc(2025, 1, 1)}, ["end"], "end is required"),
        ({"end": utc(2025, 1, 1)}, ["start"], "start is required"),
        ({"start": utc(2025, 1, 2), "end": utc(2025, 1, 1)}, ["end"], "before start"),
        ({"start": utc(2025, 1, 2), "end": NOW + timedelta(seconds=1)}, ["end"], "in the future"),
        ({"start": datetime(2025, 1, 1), "end": utc(2025, 1, 2)}, ["start"], "time zone offset"),
        ({"start": datetime(2025, 1, 1), "end": datetime(2025, 1, 2)}, ["start", "end"], "time zone offset"),
    ],
)
def test_backfill_validation(kwargs: dict[str, object], fields: list[str], fragment: str) -> None:
    with pytest.raises(ScheduleValidationError) as caught:
        plan_backfill(DAILY, NOW, **kwargs)  # type: ignore[arg-type]
    assert [d.field for d in caught.value.details] == fields
    assert fragment in caught.value.details[0].message
    assert caught.value.to_dict()["code"] == "VALIDATION_ERROR"


def test_count_limit_is_configurable() -> None:
    assert len(plan_backfill(DAILY, NOW, count=5, limit=5)) == 5
    with pytest.raises(ScheduleValidationError):
        plan_backfill(DAILY, NOW, count=6, limit=5)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        plan_backfill(DAILY, datetime(2025, 1, 1), count=1)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["*/15 * * * *", "0 2 * * *", "0 */6 * * 1-5", "30 1 * * 0"]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]),
    st.integers(1, 200),
    st.integers(0, 3 * 365 * 24 * 60),
)
def test_count_and_range_agree(expression: str, zone: str, count: int, minutes: int) -> None:
    rule = cron(expression, zone)
    now = utc(2023, 1, 1) + timedelta(minutes=minutes, seconds=17)
    by_count = plan_backfill(rule, now, count=count)
    assert len(by_count) == count and by_count[-1] < now
    by_range = plan_backfill(rule, now, start=by_count[0], end=now)
    assert by_range == by_count
    assert between(rule, by_count[0] - timedelta(microseconds=1), now) == by_count
