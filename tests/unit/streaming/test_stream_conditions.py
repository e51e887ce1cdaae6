"""Filter conditions: every op, all/any groups, missing-field policy and config validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from tauro_streaming.domain.conditions import compile_condition, compile_group
from tauro_streaming.domain.errors import ProcessorError
from tauro_streaming.domain.specs import Condition, FilterSpec, ProcessorSpec

RECORD: dict[str, Any] = {
    "n": 5,
    "f": 2.5,
    "s": "hello world",
    "b": True,
    "z": None,
    "tags": ["a", "b", 1],
    "user": {"id": "u1"},
}


def holds(field: str, op: str, value: Any = None, *, give_value: bool = True) -> bool:
    spec = Condition(field=field, op=op, value=value) if give_value else Condition(field=field, op=op)  # type: ignore[arg-type]
    return compile_condition(spec)(RECORD)


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("n", "eq", 5, True),
        ("n", "eq", 5.0, True),
        ("n", "eq", 6, False),
        ("s", "eq", "hello world", True),
        ("b", "eq", True, True),
        ("b", "eq", 1, False),
        ("n", "eq", "5", False),
        ("z", "eq", None, True),
        ("user.id", "eq", "u1", True),
        ("n", "ne", 6, True),
        ("n", "ne", 5, False),
        ("b", "ne", 1, True),
        ("n", "gt", 4, True),
        ("n", "gt", 5, False),
        ("f", "gt", 2, True),
        ("s", "gt", "a", True),
        ("n", "gte", 5, True),
        ("n", "gte", 6, False),
        ("n", "lt", 6, True),
        ("n", "lt", 5, False),
        ("s", "lt", "a", False),
        ("n", "lte", 5, True),
        ("n", "lte", 4.99, False),
        ("n", "in", [1, 5], True),
        ("n", "in", [1, 2], False),
        ("b", "in", [1], False),
        ("s", "in", ["hello world"], True),
        ("n", "not_in", [1, 2], True),
        ("n", "not_in", [5], False),
        ("s", "contains", "lo wo", True),
        ("s", "contains", "xyz", False),
        ("tags", "contains", "a", True),
        ("tags", "contains", 1, True),
        ("tags", "contains", True, False),
        ("tags", "contains", "c", False),
        ("s", "regex", r"^hel+o\s", True),
        ("s", "regex", r"^world", False),
    ],
)
def test_each_op(field: str, op: str, value: Any, expected: bool) -> None:
    assert holds(field, op, value) is expected


def test_exists() -> None:
    assert holds("n", "exists", give_value=False) is True
    assert holds("z", "exists", give_value=False) is True  # present, even if null
    assert holds("nope", "exists", give_value=False) is False
    assert holds("user.id", "exists", give_value=False) is True
    assert holds("nope", "exists", False) is True
    assert holds("n", "exists", False) is False


@pytest.mark.parametrize(
    ("field", "op", "value", "message"),
    [
        ("s", "gt", 1, "cannot compare string with number"),
        ("n", "lt", "a", "cannot compare number with string"),
        ("b", "gte", 0, "cannot compare boolean"),
        ("z", "lte", 0, "cannot compare null"),
        ("n", "contains", 1, "needs a string or array field"),
        ("s", "contains", 1, "needs a string"),
        ("n", "regex", "5", "needs a string field"),
    ],
)
def test_type_errors_raise(field: str, op: str, value: Any, message: str) -> None:
    with pytest.raises(ProcessorError, match=message):
        holds(field, op, value)


def test_missing_field_is_an_error_by_default_and_false_with_no_match() -> None:
    condition = Condition(field="absent", op="ne", value=1)
    with pytest.raises(ProcessorError, match="field 'absent' is missing"):
        compile_condition(condition)(RECORD)
    assert compile_condition(condition, "no_match")(RECORD) is False


def _filter(data: dict[str, Any]) -> FilterSpec:
    return FilterSpec.model_validate({"type": "filter", **data})


def test_all_and_any_nest() -> None:
    spec = _filter(
        {
            "any": [
                {"field": "n", "op": "gt", "value": 100},
                {
                    "all": [
                        {"field": "s", "op": "contains", "value": "hello"},
                        {"field": "b", "op": "eq", "value": True},
                    ]
                },
            ]
        }
    )
    assert compile_group(spec)(RECORD) is True
    spec = _filter(
        {"all": [{"field": "n", "op": "gt", "value": 1}, {"any": [{"field": "n", "op": "eq", "value": 0}]}]}
    )
    assert compile_group(spec)(RECORD) is False


def test_all_short_circuits_before_a_missing_field() -> None:
    spec = _filter(
        {"all": [{"field": "n", "op": "eq", "value": 0}, {"field": "absent", "op": "eq", "value": 1}]}
    )
    assert compile_group(spec)(RECORD) is False


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"all": [{"field": "n", "op": "in", "value": 3}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "gt", "value": [1]}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "gt", "value": True}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "eq"}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "regex", "value": "("}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "exists", "value": 3}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "contains", "value": {"a": 1}}]}, "all[0]"),
        ({"all": [{"field": "n", "op": "like", "value": 1}]}, "all[0].op"),
        ({"all": [{"field": "", "op": "eq", "value": 1}]}, "all[0].field"),
        ({"all": [{"field": "n", "op": "eq", "value": 1, "extra": 1}]}, "all[0].extra"),
        ({"all": [{"any": [{"field": "n", "op": "in", "value": 1}]}]}, "all[0].any[0]"),
        ({"all": []}, "all"),
        ({}, ""),
        (
            {
                "all": [{"field": "n", "op": "eq", "value": 1}],
                "any": [{"field": "n", "op": "eq", "value": 1}],
            },
            "",
        ),
    ],
)
def test_invalid_filters_are_rejected_with_a_path(data: dict[str, Any], where: str) -> None:
    from tauro_streaming.domain.errors import validation_details

    with pytest.raises(ValidationError) as info:
        TypeAdapter(ProcessorSpec).validate_python({"type": "filter", **data})
    fields = [d.field for d in validation_details(info.value, ("processors", 0))]
    expected = f"processors[0].{where}" if where else "processors[0]"
    assert expected in fields, fields
