"""Tumbling windows: aggregations, event time sources, watermark emission, lateness, flush, state."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from tauro_streaming.domain.errors import LateRecordError, ProcessorError, StreamStateError
from tauro_streaming.domain.specs import WindowSpec
from tauro_streaming.domain.windows import WindowProcessor, iso_ms, parse_event_time

T0 = 1_737_885_600_000  # 2025-01-26T10:00:00Z


def window(**overrides: Any) -> WindowProcessor:
    spec: dict[str, Any] = {
        "type": "window",
        "key": "user",
        "window_seconds": 10,
        "aggregations": {
            "n": {"op": "count"},
            "total": {"op": "sum", "field": "v"},
            "lo": {"op": "min", "field": "v"},
            "hi": {"op": "max", "field": "v"},
            "mean": {"op": "avg", "field": "v"},
        },
    }
    spec.update(overrides)
    return WindowProcessor(0, WindowSpec.model_validate(spec))


def values(emitted: list[tuple[dict[str, Any], int]]) -> list[dict[str, Any]]:
    return [record for record, _ in emitted]


def test_aggregates_and_emits_when_the_watermark_passes_the_end() -> None:
    w = window()
    assert w.apply({"user": "a", "v": 3}, T0 + 1_000) == []
    assert w.apply({"user": "a", "v": 1}, T0 + 2_000) == []
    assert w.apply({"user": "b", "v": 10}, T0 + 9_999) == []
    emitted = w.apply({"user": "a", "v": 5}, T0 + 10_000)  # watermark reaches 10:00:10 = the end
    assert values(emitted) == [
        {
            "user": "a",
            "window_start": "2025-01-26T10:00:00.000Z",
            "window_end": "2025-01-26T10:00:10.000Z",
            "n": 2,
            "total": 4,
            "lo": 1,
            "hi": 3,
            "mean": 2.0,
        },
        {
            "user": "b",
            "window_start": "2025-01-26T10:00:00.000Z",
            "window_end": "2025-01-26T10:00:10.000Z",
            "n": 1,
            "total": 10,
            "lo": 10,
            "hi": 10,
            "mean": 10.0,
        },
    ]
    assert [ts for _, ts in emitted] == [T0 + 9_999, T0 + 9_999]
    assert w.open_windows == 1


def test_lateness_delays_emission_and_accepts_disorder() -> None:
    w = window(allowed_lateness_seconds=5)
    w.apply({"user": "a", "v": 1}, T0 + 1_000)
    assert w.apply({"user": "a", "v": 1}, T0 + 14_000) == []  # watermark 10:00:09
    assert w.apply({"user": "a", "v": 1}, T0 + 9_500) == []  # out of order, accepted
    emitted = w.apply({"user": "a", "v": 1}, T0 + 15_000)  # watermark 10:00:10
    assert [(r["window_start"], r["n"]) for r in values(emitted)] == [("2025-01-26T10:00:00.000Z", 2)]


def test_late_records_raise_late_and_change_nothing() -> None:
    w = window()
    w.apply({"user": "a", "v": 1}, T0 + 1_000)
    w.apply({"user": "a", "v": 1}, T0 + 25_000)
    before = w.state()
    with pytest.raises(LateRecordError, match="late"):
        w.apply({"user": "z", "v": 1}, T0 + 5_000)
    assert w.state() == before


def test_flush_emits_everything_and_closes_those_windows() -> None:
    w2 = window(aggregations={"n": {"op": "count"}}, allowed_lateness_seconds=30)
    for user, at in [("a", 0), ("b", 12_000), ("a", 13_000)]:
        assert w2.apply({"user": user}, T0 + at) == []
    assert [(r["user"], r["window_start"], r["n"]) for r in values(w2.flush())] == [
        ("a", iso_ms(T0), 1),
        ("b", iso_ms(T0 + 10_000), 1),
        ("a", iso_ms(T0 + 10_000), 1),
    ]
    assert w2.flush() == []
    with pytest.raises(LateRecordError):
        w2.apply({"user": "c"}, T0 + 19_999)  # its window was flushed: never emitted twice
    assert w2.apply({"user": "c"}, T0 + 20_000) == []


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("2025-01-26T10:00:00Z", "auto", T0),
        ("2025-01-26T10:00:00.250+00:00", "auto", T0 + 250),
        ("2025-01-26T11:00:00+01:00", "auto", T0),
        ("2025-01-26T10:00:00", "auto", T0),  # naive means UTC
        (T0 / 1000, "auto", T0),
        (T0 // 1000, "auto", T0),
        (T0 / 1000 + 0.123, "auto", T0 + 123),
        (T0, "auto", T0),
        (T0 + 0.7, "ms", T0),
        (5, "ms", 5),
        (5, "s", 5_000),
        (-1.5, "s", -1_500),
    ],
)
def test_parse_event_time(value: Any, unit: str, expected: int) -> None:
    assert parse_event_time(value, unit) == expected


@pytest.mark.parametrize("value", ["yesterday", "", True, None, [1], {"t": 1}, float("inf"), 10**20])
def test_unusable_event_times(value: Any) -> None:
    with pytest.raises(ProcessorError):
        parse_event_time(value)


def test_time_field_overrides_the_kafka_timestamp_and_negative_times_align() -> None:
    w = window(time_field="at", aggregations={"n": {"op": "count"}}, allowed_lateness_seconds=100)
    assert w.apply({"user": "a", "at": -1}, T0) == []  # epoch seconds, before 1970
    emitted = w.apply({"user": "a", "at": "2025-01-26T10:00:05Z"}, 0) + w.flush()
    assert [(r["window_start"], r["n"]) for r in values(emitted)] == [
        ("1969-12-31T23:59:50.000Z", 1),
        ("2025-01-26T10:00:00.000Z", 1),
    ]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"v": 1}, "key field 'user' is missing"),
        ({"user": None, "v": 1}, "missing or null"),
        ({"user": {"id": 1}, "v": 1}, "must be a string, number or boolean"),
        ({"user": "a"}, "aggregation 'total' \\(sum\\): field 'v' is missing"),
        ({"user": "a", "v": "3"}, "needs a number in 'v', got string"),
        ({"user": "a", "v": True}, "got boolean"),
    ],
)
def test_bad_records_raise_and_leave_no_trace(record: dict[str, Any], message: str) -> None:
    w = window()
    with pytest.raises(ProcessorError, match=message):
        w.apply(record, T0)
    assert w.open_windows == 0 and w.watermark_ms is None


def test_missing_time_field_raises() -> None:
    w = window(time_field="at")
    with pytest.raises(ProcessorError, match="time field 'at' is missing"):
        w.apply({"user": "a", "v": 1}, T0)


def test_count_of_a_field_counts_non_null_values() -> None:
    w = window(aggregations={"with_v": {"op": "count", "field": "v"}, "all": {"op": "count"}})
    for record in ({"user": "a", "v": 1}, {"user": "a", "v": None}, {"user": "a"}):
        w.apply(record, T0)
    [result] = values(w.flush())
    assert (result["with_v"], result["all"]) == (1, 3)


def test_keys_are_json_typed() -> None:
    w = window(aggregations={"n": {"op": "count"}})
    for key in (1, 1.0, True, "1"):
        w.apply({"user": key}, T0)
    assert [(r["user"], r["n"]) for r in values(w.flush())] == [(1, 2), (True, 1), ("1", 1)]


def test_nested_key_path() -> None:
    w = window(key="user.id", aggregations={"n": {"op": "count"}})
    w.apply({"user": {"id": "u1"}}, T0)
    assert values(w.flush())[0]["user.id"] == "u1"


def test_state_round_trips_through_json() -> None:
    w = window(allowed_lateness_seconds=20)
    for user, v, at in [("a", 1, 0), ("b", 2.5, 3_000), ("a", 4, 12_000)]:
        w.apply({"user": user, "v": v}, T0 + at)
    snapshot = json.loads(json.dumps(w.state()))
    resumed = window(allowed_lateness_seconds=20)
    resumed.restore(snapshot)
    assert resumed.state() == w.state()
    assert resumed.flush() == w.flush()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s.update(version=2),
        lambda s: s["spec"].update(window_ms=5),
        lambda s: s.update(watermark_ms="x"),
        lambda s: s["windows"].append({"start_ms": 3, "key": "a", "accs": [1, 1, 1, 1, [1, 1]]}),
        lambda s: s["windows"].append({"start_ms": T0, "key": ["a"], "accs": [1, 1, 1, 1, [1, 1]]}),
        lambda s: s["windows"].append({"start_ms": T0, "key": "a", "accs": [1]}),
        lambda s: s["windows"].append({"start_ms": T0, "key": "a", "accs": [1, 1, 1, 1, 1]}),
        lambda s: s["windows"].append({"start_ms": T0}),
    ],
)
def test_restore_rejects_foreign_or_malformed_state(mutate: Any) -> None:
    w = window()
    w.apply({"user": "a", "v": 1}, T0)
    state = w.state()
    mutate(state)
    with pytest.raises(StreamStateError):
        window().restore(state)


@pytest.mark.parametrize(
    "overrides",
    [
        {"window_seconds": 0},
        {"window_seconds": 0.0001},
        {"allowed_lateness_seconds": -1},
        {"aggregations": {}},
        {"aggregations": {"s": {"op": "sum"}}},
        {"aggregations": {"s": {"op": "median", "field": "v"}}},
        {"aggregations": {"window_start": {"op": "count"}}},
        {"aggregations": {"user": {"op": "count"}}},
        {"time_unit": "minutes"},
    ],
)
def test_invalid_window_specs(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        window(**overrides)
