"""Record helpers shared by processors: field lookup, JSON type names, strict equality keys."""

from __future__ import annotations

import json
import math
from typing import Any, Final

Record = dict[str, Any]


class _Missing:
    """Sentinel for an absent field (distinct from a present ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


def get_field(record: Record, path: str) -> Any:
    """The value at ``path``: an exact top-level key first, else a dotted path into nested objects.

    Returns :data:`MISSING` when absent. ``{"a.b": 1}`` and ``{"a": {"b": 1}}`` both answer ``a.b``.
    """
    if path in record:
        return record[path]
    if "." not in path:
        return MISSING
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return MISSING
        current = current[part]
    return current


def is_number(value: Any) -> bool:
    """A JSON number: int or finite-or-not float, but never a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def strict_key(value: Any) -> tuple[int, Any]:
    """A hashable key under which JSON values are equal iff they are the same JSON value.

    Unlike Python equality, ``true`` never equals ``1``; ``1`` equals ``1.0`` (both JSON numbers).
    """
    if value is None:
        return (0, None)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, json.dumps(value, sort_keys=True, default=repr))
