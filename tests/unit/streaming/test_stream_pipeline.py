"""The pipeline: decoding, outputs with keys, a dead letter for every failure kind, flush, state."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import pytest
from tauro_streaming.domain import (
    DeadLetter,
    Output,
    StreamDefinition,
    StreamPipeline,
    StreamStateError,
    parse_definition,
)

T0 = 1_737_885_600_000


def pipeline(*processors: dict[str, Any], key_field: str | None = None) -> StreamPipeline:
    return StreamPipeline(
        parse_definition(
            {
                "name": "p",
                "input_topics": ["in"],
                "output_topic": "out",
                "processors": list(processors),
                "key_field": key_field,
            }
        )
    )


FILTER = {"type": "filter", "all": [{"field": "amount", "op": "gt", "value": 10}]}
MAP = {"type": "map", "compute": {"cents": "amount * 100"}, "drop": ["debug"]}


@pytest.fixture(autouse=True)
def udfs(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("tauro_pipeline_udfs")

    def fail_on_x(record: dict[str, Any]) -> dict[str, Any]:
        if record.get("x"):
            raise RuntimeError("x is not welcome")
        return record

    def split(record: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"amount": a} for a in record["amounts"]]

    def bad_output(record: dict[str, Any]) -> dict[str, Any]:
        return {"when": object()}

    def nan_output(record: dict[str, Any]) -> dict[str, Any]:
        return {"v": float("nan")}

    for fn in (fail_on_x, split, bad_output, nan_output):
        setattr(module, fn.__name__, fn)
    monkeypatch.setitem(sys.modules, "tauro_pipeline_udfs", module)


def only(results: list[Any], kind: type) -> list[Any]:
    return [r for r in results if isinstance(r, kind)]


def test_filter_map_output_with_key_and_payload() -> None:
    p = pipeline(FILTER, MAP, key_field="user")
    [out] = p.process({"user": "u1", "amount": 12, "debug": 1}, T0)
    assert isinstance(out, Output)
    assert out.topic == "out" and out.key == "u1" and out.key_bytes == b"u1" and out.timestamp_ms == T0
    assert out.value == {"user": "u1", "amount": 12, "cents": 1200}
    assert json.loads(out.payload) == out.value
    assert p.process({"user": "u1", "amount": 5}, T0) == []  # filtered out


def test_non_string_keys_are_json() -> None:
    [out] = pipeline(key_field="user.id").process({"user": {"id": 7}}, 0)
    assert isinstance(out, Output) and out.key == "7"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON list, not a JSON object"),
        (b"42", "JSON int"),
        (b"null", "JSON null"),
        (b'"text"', "JSON str"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"v": NaN}', "NaN is not valid JSON"),
        (b"", "not valid JSON"),
        (None, "tombstone"),
    ],
)
def test_malformed_values_dead_letter_with_the_raw_bytes(value: bytes | None, error: str) -> None:
    p = pipeline(FILTER)
    decoded = p.decode(value, 5)
    assert isinstance(decoded, DeadLetter)
    assert decoded.kind == "malformed" and error in decoded.reason and decoded.processor_type == "decode"
    assert decoded.record == value and decoded.topic == "out.dlq" and decoded.timestamp_ms == 5
    if value is not None:
        assert decoded.payload == value
    assert p.process_value(value, 5) == [decoded]


def test_decode_accepts_objects() -> None:
    assert pipeline().decode(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


@pytest.mark.parametrize("record", [[1], "x", 3, None])
def test_non_object_records_dead_letter(record: Any) -> None:
    [dead] = pipeline(FILTER).process(record, 0)
    assert isinstance(dead, DeadLetter) and dead.kind == "malformed" and dead.processor_type == "input"


@pytest.mark.parametrize(
    ("processors", "record", "index", "ptype", "error"),
    [
        ([FILTER], {"nope": 1}, 0, "filter", "field 'amount' is missing"),
        ([FILTER], {"amount": "12"}, 0, "filter", "cannot compare string with number"),
        ([MAP], {"amount": "x"}, 0, "map", "compute 'cents': cannot apply '*' to string and number"),
        ([{"type": "map", "rename": {"a": "b"}}], {"x": 1}, 0, "map", "rename: field 'a' is missing"),
        (
            [MAP, {"type": "python", "callable": "tauro_pipeline_udfs:fail_on_x"}],
            {"amount": 1, "x": 1},
            1,
            "python",
            "RuntimeError: x is not welcome",
        ),
        (
            [{"type": "window", "key": "k", "window_seconds": 1, "aggregations": {"n": {"op": "count"}}}],
            {"a": 1},
            0,
            "window",
            "key field 'k' is missing",
        ),
    ],
)
def test_each_failure_kind_dead_letters_with_where_and_why(
    processors: list[dict[str, Any]], record: dict[str, Any], index: int, ptype: str, error: str
) -> None:
    [dead] = pipeline(*processors).process(record, T0)
    assert isinstance(dead, DeadLetter)
    assert dead.kind == "error" and dead.record is record and dead.processor_index == index
    assert dead.processor_type == ptype and error in dead.error
    assert dead.reason == f"processors[{index}] ({ptype}): {dead.error}"
    headers = dict(dead.headers())
    assert (
        headers["tauro-dlq-kind"] == b"error"
        and headers["tauro-dlq-processor"] == f"{index}:{ptype}".encode()
    )
    assert headers["tauro-dlq-pipeline"] == b"p" and error.encode() in headers["tauro-dlq-reason"]
    assert json.loads(dead.payload) == record


def test_the_stream_keeps_going_after_dead_letters() -> None:
    p = pipeline(FILTER, MAP)
    inputs: list[Any] = [{"amount": 20}, {"nope": 1}, "garbage", {"amount": "x"}, {"amount": 30}]
    kinds = [type(r).__name__ for item in inputs for r in p.process(item, 0)]
    assert kinds == ["Output", "DeadLetter", "DeadLetter", "DeadLetter", "Output"]


def test_fan_out_records_fail_independently() -> None:
    p = pipeline({"type": "python", "callable": "tauro_pipeline_udfs:split"}, MAP)
    record = {"amounts": [1, "bad", 3]}
    results = p.process(record, 0)
    assert [type(r).__name__ for r in results] == ["DeadLetter", "Output", "Output"]
    dead = results[0]
    assert isinstance(dead, DeadLetter) and dead.record is record and dead.failed_value == {"amount": "bad"}
    assert [r.value["cents"] for r in only(results, Output)] == [100, 300]


@pytest.mark.parametrize("fn", ["bad_output", "nan_output"])
def test_unserialisable_output_dead_letters(fn: str) -> None:
    [dead] = pipeline({"type": "python", "callable": f"tauro_pipeline_udfs:{fn}"}).process({"a": 1}, 0)
    assert isinstance(dead, DeadLetter) and dead.processor_type == "output" and dead.processor_index == 1
    assert "not JSON-serialisable" in dead.reason


def test_missing_output_key_dead_letters() -> None:
    [dead] = pipeline(key_field="user").process({"a": 1}, 0)
    assert isinstance(dead, DeadLetter) and "key field 'user' is missing" in dead.reason


WINDOW = {"type": "window", "key": "user", "window_seconds": 10, "aggregations": {"n": {"op": "count"}}}


def test_late_records_dead_letter_with_kind_late() -> None:
    p = pipeline(WINDOW)
    p.process({"user": "a"}, T0)
    [out] = p.process({"user": "a"}, T0 + 10_000)
    assert isinstance(out, Output) and out.value["n"] == 1
    [dead] = p.process({"user": "b"}, T0 + 1)
    assert (
        isinstance(dead, DeadLetter)
        and dead.kind == "late"
        and dead.reason.startswith("processors[0] (window): late")
    )
    assert dict(dead.headers())["tauro-dlq-kind"] == b"late"


def test_processors_after_a_window_see_aggregates_also_on_flush() -> None:
    after = {"type": "filter", "all": [{"field": "n", "op": "gte", "value": 2}]}
    shape = {"type": "map", "compute": {"label": "upper(user)"}}
    p = pipeline(WINDOW, after, shape, key_field="user")
    for user in ("a", "a", "b"):
        assert p.process({"user": user}, T0) == []
    [out] = p.flush()
    assert isinstance(out, Output) and out.key == "a" and out.value["label"] == "A" and out.value["n"] == 2
    assert out.timestamp_ms == T0 + 9_999


def test_failures_after_a_window_on_flush_are_dead_letters() -> None:
    p = pipeline(WINDOW, {"type": "map", "compute": {"x": "missing + 1"}})
    p.process({"user": "a"}, T0)
    [dead] = p.flush()
    assert isinstance(dead, DeadLetter) and dead.processor_index == 1 and dead.record["user"] == "a"


def test_chained_windows_flush_in_order() -> None:
    per_minute = {
        "type": "window",
        "key": "user",
        "window_seconds": 60,
        "aggregations": {"windows": {"op": "count"}, "events": {"op": "sum", "field": "n"}},
    }
    p = pipeline(WINDOW, per_minute)
    for offset in (0, 1_000, 15_000, 59_000):
        p.process({"user": "a"}, T0 + offset)
    [out] = [r for r in p.flush() if isinstance(r, Output)]
    assert (out.value["windows"], out.value["events"]) == (3, 4)


def test_state_and_restore() -> None:
    p = pipeline(FILTER, WINDOW)
    assert p.stateful and not pipeline(FILTER).stateful
    p.process({"user": "a", "amount": 11}, T0)
    state = json.loads(json.dumps(p.state()))
    assert state["windows"]["1"]["windows"][0]["accs"] == [1]
    resumed = pipeline(FILTER, WINDOW)
    resumed.restore(state)
    assert resumed.flush() == p.flush()
    with pytest.raises(StreamStateError):
        pipeline(WINDOW).restore(state)  # the window sits at another index
    with pytest.raises(StreamStateError):
        resumed.restore({"version": 9})
    assert pipeline(FILTER).state()["windows"] == {}


def test_definition_is_kept() -> None:
    p = pipeline(FILTER)
    assert isinstance(p.definition, StreamDefinition) and p.definition.dead_letter_topic == "out.dlq"
