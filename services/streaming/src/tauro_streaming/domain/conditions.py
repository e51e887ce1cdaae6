"""Filter conditions compiled into predicates over a record.

Equality (``eq``, ``ne``, ``in``, ``not_in``, ``contains`` on arrays) is JSON equality: ``true``
is not ``1``, ``1`` is ``1.0``. Ordering (``gt``, ``gte``, ``lt``, ``lte``) compares numbers with
numbers and strings with strings; anything else is a type error. ``contains`` is a substring
test on strings and membership on arrays; ``regex`` searches a string field.

A condition on an absent field raises :class:`ProcessorError` (dead letter) when the filter's
``missing`` is ``error``, and is simply false when it is ``no_match``. ``exists`` never fails.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from tauro_streaming.domain.errors import ProcessorError
from tauro_streaming.domain.records import MISSING, Record, get_field, is_number, json_type, strict_key
from tauro_streaming.domain.specs import Condition, ConditionGroup, FilterSpec

Predicate = Callable[[Record], bool]
Test = Callable[[Any], bool]

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}


def _ordering(op: str, expected: Any) -> Test:
    compare = _ORDERING[op]
    expected_is_number = is_number(expected)

    def test(value: Any) -> bool:
        if is_number(value) if expected_is_number else isinstance(value, str):
            return compare(value, expected)
        raise ProcessorError(f"'{op}' cannot compare {json_type(value)} with {json_type(expected)}")

    return test


def _contains(expected: Any) -> Test:
    key = strict_key(expected)

    def test(value: Any) -> bool:
        if isinstance(value, str):
            if not isinstance(expected, str):
                raise ProcessorError(f"'contains' on a string needs a string, got {json_type(expected)}")
            return expected in value
        if isinstance(value, list):
            return any(strict_key(item) == key for item in value)
        raise ProcessorError(f"'contains' needs a string or array field, got {json_type(value)}")

    return test


def _regex(pattern: str) -> Test:
    compiled = re.compile(pattern)

    def test(value: Any) -> bool:
        if not isinstance(value, str):
            raise ProcessorError(f"'regex' needs a string field, got {json_type(value)}")
        return compiled.search(value) is not None

    return test


def _value_test(condition: Condition) -> Test:
    op, expected = condition.op, condition.value
    if op == "eq":
        key = strict_key(expected)
        return lambda value: strict_key(value) == key
    if op == "ne":
        key = strict_key(expected)
        return lambda value: strict_key(value) != key
    if op in ("in", "not_in"):
        keys = frozenset(strict_key(item) for item in expected)
        if op == "in":
            return lambda value: strict_key(value) in keys
        return lambda value: strict_key(value) not in keys
    if op in _ORDERING:
        return _ordering(op, expected)
    if op == "contains":
        return _contains(expected)
    if op == "regex":
        return _regex(expected)
    raise AssertionError(f"unhandled op {op}")  # pragma: no cover - Op is a closed Literal


def compile_condition(condition: Condition, missing: str = "error") -> Predicate:
    """A predicate for one condition; ``missing`` is ``error`` or ``no_match``."""
    path = condition.field
    if condition.op == "exists":
        wanted = condition.value is not False
        return lambda record: (get_field(record, path) is not MISSING) is wanted
    test = _value_test(condition)
    fail_on_missing = missing == "error"

    def predicate(record: Record) -> bool:
        value = get_field(record, path)
        if value is MISSING:
            if fail_on_missing:
                raise ProcessorError(f"field '{path}' is missing (needed by '{condition.op}')")
            return False
        return test(value)

    return predicate


def compile_group(group: ConditionGroup | FilterSpec, missing: str = "error") -> Predicate:
    """A predicate for ``all`` (every member true) or ``any`` (some member true), nested freely."""
    members = group.all if group.all is not None else group.any
    assert members is not None  # guaranteed by the spec's validation
    predicates = [
        compile_group(member, missing)
        if isinstance(member, ConditionGroup)
        else compile_condition(member, missing)
        for member in members
    ]
    if len(predicates) == 1:
        return predicates[0]
    if group.all is not None:

        def every(record: Record) -> bool:
            for predicate in predicates:
                if not predicate(record):
                    return False
            return True

        return every

    def some(record: Record) -> bool:
        for predicate in predicates:
            if predicate(record):
                return True
        return False

    return some
