"""Processor specifications: the validated, declarative form of each processor in a definition.

A definition's ``processors`` is an ordered list discriminated by ``type``:

``filter``
    ``all:`` or ``any:`` — a list of conditions ``{field, op, value}`` and nested groups
    ``{all: [...]}`` / ``{any: [...]}``. Ops: eq, ne, gt, gte, lt, lte, in, not_in, exists,
    contains, regex. ``missing: error`` (default) dead-letters a record lacking a field a
    condition needs; ``missing: no_match`` makes such a condition false.
``map``
    Applied in this order, each on the previous result: ``rename`` {old: new} (simultaneous),
    ``set`` {field: constant}, ``compute`` {field: expression} (in order, each sees the fields
    computed before it), ``drop`` [fields], ``keep`` [fields] (keep only these). Top-level keys.
``python``
    ``callable: "pkg.mod:fn"`` called as ``fn(record, **params)``; returns a dict, a list of
    dicts, or None (drop).
``window``
    Keyed tumbling windows: ``key``, ``window_seconds``, ``time_field`` (else the Kafka
    timestamp), ``time_unit`` for numeric times, ``allowed_lateness_seconds``, and
    ``aggregations: {out_field: {op: count|sum|min|max|avg, field: x}}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from tauro_streaming.domain.expressions import ExpressionError, compile_expression
from tauro_streaming.domain.records import is_finite_number

FieldPath = Annotated[str, Field(min_length=1, max_length=256)]
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
CALLABLE_PATTERN = rf"^{_DOTTED}:{_DOTTED}$"
WINDOW_RESERVED = frozenset({"window_start", "window_end"})


def _check_expression(source: str) -> str:
    try:
        compile_expression(source)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None
    return source


ExpressionText = Annotated[str, AfterValidator(_check_expression)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "contains", "regex"]
ORDERING_OPS = frozenset({"gt", "gte", "lt", "lte"})


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool) or is_finite_number(value)


class Condition(_Strict):
    """One test on one field, e.g. ``{field: amount, op: gt, value: 100}``."""

    field: FieldPath
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _check_value(self) -> Condition:
        given = "value" in self.model_fields_set
        value = self.value
        if self.op == "exists":
            if value is not None and not isinstance(value, bool):
                raise ValueError("'exists' takes no value, or true/false")
        elif not given:
            raise ValueError(f"'{self.op}' needs a 'value'")
        elif self.op in ("in", "not_in"):
            if not isinstance(value, list):
                raise ValueError(f"'{self.op}' needs a list value")
        elif self.op in ORDERING_OPS:
            if not (is_finite_number(value) or isinstance(value, str)):
                raise ValueError(f"'{self.op}' needs a number or string value")
        elif self.op == "regex":
            if not isinstance(value, str):
                raise ValueError("'regex' needs a string pattern")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        elif self.op == "contains" and not _scalar(value):
            raise ValueError("'contains' needs a scalar value")
        return self


def _node_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "group" if ("all" in value or "any" in value) and "field" not in value else "condition"
    if isinstance(value, BaseModel):
        return "group" if isinstance(value, ConditionGroup) else "condition"
    return None


ConditionNode = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated["ConditionGroup", Tag("group")],
    Discriminator(_node_kind),
]


class _GroupFields(_Strict):
    all: list[ConditionNode] | None = Field(default=None, min_length=1)
    any: list[ConditionNode] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> _GroupFields:
        if (self.all is None) == (self.any is None):
            raise ValueError("give exactly one of 'all' or 'any' (a non-empty list of conditions)")
        return self


class ConditionGroup(_GroupFields):
    """``{all: [...]}`` or ``{any: [...]}``: conditions combined with AND / OR; nests."""


class FilterSpec(_GroupFields):
    """Keep records matching the conditions; drop the others."""

    type: Literal["filter"]
    missing: Literal["error", "no_match"] = "error"


class MapSpec(_Strict):
    """Reshape a record: rename, set constants, compute, drop, keep-only."""

    type: Literal["map"]
    rename: dict[FieldPath, FieldPath] = Field(default_factory=dict)
    set: dict[FieldPath, Any] = Field(default_factory=dict)
    compute: dict[FieldPath, ExpressionText] = Field(default_factory=dict)
    drop: list[FieldPath] = Field(default_factory=list)
    keep: list[FieldPath] | None = None

    @field_validator("rename")
    @classmethod
    def _distinct_targets(cls, value: dict[str, str]) -> dict[str, str]:
        targets = list(value.values())
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValueError(f"several fields renamed to {duplicates}")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> MapSpec:
        if not (self.rename or self.set or self.compute or self.drop or self.keep is not None):
            raise ValueError("a map needs at least one of rename, set, compute, drop, keep")
        return self


class PythonSpec(_Strict):
    """A user function by import path; resolved when the pipeline is built, not when validated."""

    type: Literal["python"]
    callable: Annotated[str, Field(pattern=CALLABLE_PATTERN, max_length=300)]
    params: dict[str, Any] = Field(default_factory=dict)


class AggregationSpec(_Strict):
    """``count`` (records, or non-null values of ``field``), ``sum|min|max|avg`` of a numeric field."""

    op: Literal["count", "sum", "min", "max", "avg"]
    field: FieldPath | None = None

    @model_validator(mode="after")
    def _needs_field(self) -> AggregationSpec:
        if self.op != "count" and self.field is None:
            raise ValueError(f"'{self.op}' needs a 'field'")
        return self


class WindowSpec(_Strict):
    """Keyed tumbling-window aggregation in event time with a lateness allowance."""

    type: Literal["window"]
    key: FieldPath
    window_seconds: Annotated[float, Field(gt=0, le=366 * 24 * 3600)]
    time_field: FieldPath | None = None
    time_unit: Literal["auto", "s", "ms"] = "auto"
    allowed_lateness_seconds: Annotated[float, Field(ge=0, le=366 * 24 * 3600)] = 0
    aggregations: dict[FieldPath, AggregationSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_free(self) -> WindowSpec:
        if round(self.window_seconds * 1000) < 1:
            raise ValueError("window_seconds must be at least 0.001")
        clash = sorted(set(self.aggregations) & (WINDOW_RESERVED | {self.key}))
        if clash:
            raise ValueError(f"aggregation names {clash} clash with the key or window_start/window_end")
        return self

    @property
    def window_ms(self) -> int:
        return round(self.window_seconds * 1000)

    @property
    def lateness_ms(self) -> int:
        return round(self.allowed_lateness_seconds * 1000)


ProcessorSpec = Annotated[FilterSpec | MapSpec | PythonSpec | WindowSpec, Field(discriminator="type")]

ConditionGroup.model_rebuild()
FilterSpec.model_rebuild()
