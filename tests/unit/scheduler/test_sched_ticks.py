"""Tick identity: deterministic, zone-independent, distinct; logical_date rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sched_support import utc
from tauro_contracts.pipeline import NAME_PATTERN
from tauro_scheduler.domain import logical_date, run_id_for_tick, tick_id
from tauro_scheduler.domain.ticks import canonical_instant

NOMINAL = utc(2025, 11, 18, 2)


def test_ids_are_stable_across_calls_and_processes() -> None:
    # Pinned values: a change here would re-fire every tick after a deploy.
    assert tick_id("sched_456", NOMINAL) == tick_id("sched_456", NOMINAL)
    assert run_id_for_tick("sched_456", NOMINAL) == run_id_for_tick("sched_456", NOMINAL)
    assert tick_id("sched_456", NOMINAL) == "tick_" + _pinned("tick")
    assert run_id_for_tick("sched_456", NOMINAL) == "run_" + _pinned("run")


def _pinned(purpose: str) -> str:
    import hashlib

    material = f"tauro/{purpose}/v1\x1fsched_456\x1f2025-11-18T02:00:00.000000Z"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def test_same_instant_in_any_zone_gives_the_same_ids() -> None:
    berlin = NOMINAL.astimezone(ZoneInfo("Europe/Berlin"))
    offset = NOMINAL.astimezone(timezone(timedelta(hours=-7, minutes=-30)))
    for same in (berlin, offset):
        assert tick_id("s", same) == tick_id("s", NOMINAL)
        assert run_id_for_tick("s", same) == run_id_for_tick("s", NOMINAL)


def test_ids_have_the_expected_shape() -> None:
    run_id = run_id_for_tick("sched_1", NOMINAL)
    assert re.fullmatch(r"run_[0-9a-f]{24}", run_id)
    assert re.fullmatch(NAME_PATTERN, run_id)
    assert re.fullmatch(r"tick_[0-9a-f]{24}", tick_id("sched_1", NOMINAL))


def test_tick_and_run_ids_differ_and_do_not_collide_across_fields() -> None:
    assert tick_id("s", NOMINAL)[5:] != run_id_for_tick("s", NOMINAL)[4:]
    # The separator keeps ("a", t) and ("a\x1f...", ...) style ambiguities apart.
    assert run_id_for_tick("a", NOMINAL) != run_id_for_tick("a ", NOMINAL)


def test_naive_or_empty_inputs_are_rejected() -> None:
    with pytest.raises(ValueError):
        tick_id("s", datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        run_id_for_tick("", NOMINAL)
    with pytest.raises(ValueError):
        logical_date(datetime(2025, 1, 1))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["sched_a", "sched_b", "sched_c"]),
            st.datetimes(
                min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
            ),
        ),
        min_size=2,
        max_size=50,
        unique=True,
    )
)
def test_distinct_ticks_get_distinct_ids(ticks: list[tuple[str, datetime]]) -> None:
    assert len({tick_id(s, t) for s, t in ticks}) == len(ticks)
    assert len({run_id_for_tick(s, t) for s, t in ticks}) == len(ticks)


def test_microseconds_matter() -> None:
    assert run_id_for_tick("s", NOMINAL) != run_id_for_tick("s", NOMINAL + timedelta(microseconds=1))
    assert canonical_instant(NOMINAL) == "2025-11-18T02:00:00.000000Z"


@pytest.mark.parametrize(
    ("nominal", "zone", "expected"),
    [
        (NOMINAL, None, "2025-11-18T02:00:00Z"),
        (NOMINAL.astimezone(ZoneInfo("Asia/Tokyo")), None, "2025-11-18T02:00:00Z"),
        (utc(2025, 11, 17, 23, 30), "Europe/Berlin", "2025-11-18T00:30:00+01:00"),
        (utc(2025, 11, 17, 23, 30), ZoneInfo("Europe/Berlin"), "2025-11-18T00:30:00+01:00"),
        (utc(2025, 1, 1, 12), "Europe/London", "2025-01-01T12:00:00Z"),
        (utc(2025, 1, 1, 0, 0, 0, 250000), None, "2025-01-01T00:00:00.250000Z"),
    ],
)
def test_logical_date(nominal: datetime, zone: str | ZoneInfo | None, expected: str) -> None:
    text = logical_date(nominal, zone)
    assert text == expected
    assert datetime.fromisoformat(text) == nominal
