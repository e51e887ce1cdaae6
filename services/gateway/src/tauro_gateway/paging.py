"""Keyset cursors for list endpoints: a cursor names the last item of a page by its sort key.

A cursor is URL-safe base64 of ``{"s": sort, "v": [last values], "id": last id}``. The
sort always ends with ``_id`` (``list_params`` adds it), so the key is unique and the
next page is "every item after this key in this order": runs inserted or changed while a
client walks the pages neither repeat nor push others out, unlike an offset or a log
position. The filter follows the read store's order (MongoDB's): null and missing sort
before every value, so they come first ascending and last descending.

A cursor only makes sense with the sort it was made for; another sort, or anything that
is not a cursor this module made, is a VALIDATION_ERROR on ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_platform.readstore.port import Doc, Filter

_SCALARS = (str, int, float, bool, type(None))


def _invalid(message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, "invalid cursor",
                       [ErrorDetail(field="cursor", message=message, type="invalid_cursor")])


def _value(doc: Doc, field: str) -> Any:
    value: Any = doc
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def encode_cursor(sort: Sequence[tuple[str, int]], last: Doc) -> str:
    """The cursor of the page that ends with ``last``, in ``sort`` (which ends with ``_id``)."""
    body = {"s": [[field, direction] for field, direction in sort], "v": [_value(last, f) for f, _ in sort]}
    raw = json.dumps(body, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sequence[tuple[str, int]]) -> list[Any]:
    """The last values a cursor carries, checked against ``sort``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid("not a cursor returned by this API") from None
    if not isinstance(body, dict) or not isinstance(body.get("s"), list) or not isinstance(body.get("v"), list):
        raise _invalid("not a cursor returned by this API")
    expected = [[field, direction] for field, direction in sort]
    if body["s"] != expected:
        raise _invalid("this cursor belongs to another sort; repeat the sort of the page that returned it")
    values = body["v"]
    if len(values) != len(expected) or not all(isinstance(v, _SCALARS) for v in values) or not isinstance(
        values[-1], str
    ):
        raise _invalid("not a cursor returned by this API")
    return values


def after(sort: Sequence[tuple[str, int]], values: Sequence[Any]) -> Filter:
    """The filter of everything after the key ``values`` in ``sort``: for each key, the items
    equal on the keys before it and beyond it on this one (one ``$or`` branch each)."""
    branches: list[Filter] = []
    for i, (field, direction) in enumerate(sort):
        prefix = {f: v for (f, _), v in zip(sort[:i], values[:i], strict=True)}
        value = values[i]
        beyond: list[Any]  # conditions on ``field``; None matches null and missing
        if value is None:
            beyond = [{"$ne": None}] if direction > 0 else []  # nulls come first ascending, last descending
        elif direction > 0:
            beyond = [{"$gt": value}]
        else:
            beyond = [{"$lt": value}, None]
        branches += [{**prefix, field: cond} for cond in beyond]
    return {"$or": branches} if branches else {"_id": {"$in": []}}
