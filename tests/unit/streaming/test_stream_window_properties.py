"""Property tests: windowed results equal a reference computed directly from the records.

* in order, or with disorder bounded by the allowed lateness: every record is counted exactly
  once, in the window its event time falls in, and nothing is dead-lettered;
* with unbounded disorder: accepted + late == all records, and the accepted ones are exactly
  those a direct model of the watermark accepts;
* a snapshot/restore at any point yields the same outputs, in the same order.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tauro_streaming.domain import DeadLetter, Output, StreamPipeline, parse_definition
from tauro_streaming.domain.errors import ProcessorError
from tauro_streaming.domain.expressions import ExpressionError, compile_expression
from tauro_streaming.domain.windows import iso_ms

BASE_MS = 1_737_885_600_000
KEYS = st.sampled_from(["a", "b", "c", "d", 7, 8])
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw: st.DrawFn, bounded: bool = True) -> dict[str, Any]:
    window_ms = draw(st.integers(1, 5_000))
    lateness_ms = draw(st.integers(0, 4_000))
    use_time_field = draw(st.booleans())
    n = draw(st.integers(0, 60))
    ideal = BASE_MS + draw(st.integers(-10_000, 10_000))
    records = []
    for _ in range(n):
        ideal += draw(st.integers(0, 3 * window_ms))
        max_jitter = lateness_ms if bounded else 4 * lateness_ms + 3 * window_ms
        event_ms = ideal - draw(st.integers(0, max_jitter))
        records.append((draw(KEYS), event_ms, draw(st.integers(-1_000, 1_000))))
    return {
        "window_ms": window_ms,
        "lateness_ms": lateness_ms,
        "use_time_field": use_time_field,
        "records": records,
        "cut": draw(st.integers(0, n)),
    }


def make_pipeline(scenario: dict[str, Any]) -> StreamPipeline:
    window: dict[str, Any] = {
        "type": "window",
        "key": "k",
        "window_seconds": scenario["window_ms"] / 1000,
        "allowed_lateness_seconds": scenario["lateness_ms"] / 1000,
        "aggregations": {"n": {"op": "count"}, "total": {"op": "sum", "field": "v"}},
    }
    if scenario["use_time_field"]:
        window |= {"time_field": "t", "time_unit": "ms"}
    return StreamPipeline(
        parse_definition(
            {
                "name": "w",
                "input_topics": ["in"],
                "output_topic": "out",
                "processors": [window],
            }
        )
    )


def feed(
    pipeline: StreamPipeline, scenario: dict[str, Any], records: list[tuple[Any, int, int]]
) -> list[Any]:
    results: list[Any] = []
    for key, event_ms, value in records:
        record: dict[str, Any] = {"k": key, "v": value}
        kafka_ms = event_ms
        if scenario["use_time_field"]:
            record["t"] = event_ms
            kafka_ms = 0  # must be ignored
        results += pipeline.process(record, kafka_ms)
    return results


def run(scenario: dict[str, Any]) -> list[Any]:
    pipeline = make_pipeline(scenario)
    return feed(pipeline, scenario, scenario["records"]) + pipeline.flush()


def windows_of(results: list[Any]) -> dict[tuple[str, str], tuple[int, int]]:
    outputs = [r.value for r in results if isinstance(r, Output)]
    table = {(json.dumps(v["k"]), v["window_start"]): (v["n"], v["total"]) for v in outputs}
    assert len(table) == len(outputs), "a (key, window) was emitted twice"
    return table


def reference(records: list[tuple[Any, int, int]], window_ms: int) -> dict[tuple[str, str], tuple[int, int]]:
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for key, event_ms, value in records:
        start = (event_ms // window_ms) * window_ms
        cell = sums[(json.dumps(key), iso_ms(start))]
        cell[0] += 1
        cell[1] += value
    return {k: (n, total) for k, (n, total) in sums.items()}


@SETTINGS
@given(scenarios(bounded=True))
def test_bounded_disorder_counts_every_record_once(scenario: dict[str, Any]) -> None:
    results = run(scenario)
    assert [r for r in results if isinstance(r, DeadLetter)] == []
    assert windows_of(results) == reference(scenario["records"], scenario["window_ms"])
    assert sum(r.value["n"] for r in results) == len(scenario["records"])


@SETTINGS
@given(scenarios(bounded=False))
def test_unbounded_disorder_splits_into_counted_and_late(scenario: dict[str, Any]) -> None:
    results = run(scenario)
    width, lateness = scenario["window_ms"], scenario["lateness_ms"]
    accepted, late, watermark = [], [], None
    for key, event_ms, value in scenario["records"]:
        end = (event_ms // width) * width + width
        if watermark is not None and end <= watermark:
            late.append((key, event_ms, value))
            continue
        accepted.append((key, event_ms, value))
        watermark = event_ms - lateness if watermark is None else max(watermark, event_ms - lateness)
    dead = [r for r in results if isinstance(r, DeadLetter)]
    assert all(d.kind == "late" for d in dead)
    assert [(d.record["k"], d.record["v"]) for d in dead] == [(k, v) for k, _, v in late]
    assert windows_of(results) == reference(accepted, width)
    assert sum(r.value["n"] for r in results if isinstance(r, Output)) + len(dead) == len(scenario["records"])


@SETTINGS
@given(st.one_of(scenarios(bounded=True), scenarios(bounded=False)))
def test_snapshot_and_restore_mid_stream_changes_nothing(scenario: dict[str, Any]) -> None:
    expected = run(scenario)
    records, cut = scenario["records"], scenario["cut"]
    first = make_pipeline(scenario)
    results = feed(first, scenario, records[:cut])
    snapshot = json.loads(json.dumps(first.state()))
    second = make_pipeline(scenario)
    second.restore(snapshot)
    results += feed(second, scenario, records[cut:]) + second.flush()
    assert results == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_decode_never_raises(value: bytes) -> None:
    pipeline = StreamPipeline(parse_definition({"name": "d", "input_topics": ["i"], "output_topic": "o"}))
    decoded = pipeline.decode(value)
    assert isinstance(decoded, dict | DeadLetter)
    assert all(isinstance(r, Output | DeadLetter) for r in pipeline.process_value(value, 0))


JSON_SCALARS = st.none() | st.booleans() | st.integers(-10, 10) | st.floats(-10, 10) | st.text(max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abxy_()+-*/.'\" 0129lowerupstfi", max_size=30),
    st.dictionaries(st.sampled_from(["a", "b", "x", "y"]), JSON_SCALARS),
)
def test_expressions_fail_only_in_their_own_terms(source: str, record: dict[str, Any]) -> None:
    try:
        expression = compile_expression(source)
    except ExpressionError:
        return
    try:
        expression.evaluate(record)
    except ProcessorError:
        pass


def test_counter_sanity() -> None:
    # the reference itself: two records in one window, one in the next
    ref = reference([("a", 0, 1), ("a", 999, 2), ("a", 1000, 3)], 1000)
    assert ref == {('"a"', iso_ms(0)): (2, 3), ('"a"', iso_ms(1000)): (1, 3)}
    assert Counter(ref.values())[(1, 3)] == 1
