"""Common list parameters (``limit``, ``offset``, ``sort``, ``fields``) and path id checks."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail


@dataclass(frozen=True)
class ListParams:
    limit: int
    offset: int
    sort: list[tuple[str, int]]
    fields: list[str] | None


def sort_pattern(sortable: tuple[str, ...]) -> str:
    """``sort``: one or more of ``sortable``, comma-separated, each with an optional ``-`` (or ``+``)."""
    one = rf" *[+-]?(?:{'|'.join(sortable)}) *"
    return rf"^{one}(?:,{one})*$"


def states_pattern(states: tuple[str, ...]) -> str:
    """A state filter: one or more of ``states`` (any case), comma-separated."""
    one = "(?:" + "|".join(f"{s}|{s.lower()}" for s in states) + ")"
    return rf"^ *{one} *(?:, *{one} *)*$"


def list_params(sortable: tuple[str, ...], default_sort: str = "-created_at") -> Callable[..., Awaitable[ListParams]]:
    """A dependency that validates the common list parameters for one resource."""

    async def dependency(
        limit: Annotated[int, Query(ge=1, le=100, description="Max results (max 100)")] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
        sort: str = default_sort,
        fields: Annotated[str | None, Query(max_length=500, description="Comma-separated fields")] = None,
    ) -> ListParams:
        order: list[tuple[str, int]] = []
        for part in (p.strip() for p in sort.split(",") if p.strip()):
            name, direction = (part[1:], -1) if part.startswith("-") else (part.lstrip("+"), 1)
            if name not in sortable:
                raise DomainError(
                    ErrorCode.VALIDATION_ERROR, "invalid sort",
                    [ErrorDetail(field="sort", message=f"cannot sort by '{name}'; use one of {list(sortable)}")],
                )
            order.append((name, direction))
        order.append(("_id", order[-1][1] if order else 1))
        chosen = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        return ListParams(limit, offset, order, chosen)

    # set here, not in the signature: the annotation needs ``sortable`` (annotations are strings)
    dependency.__annotations__["sort"] = Annotated[str, Query(
        max_length=200, pattern=sort_pattern(sortable),
        description=f"One or more of {', '.join(sortable)}, comma-separated; '-' prefix for descending")]
    return dependency


async def fields_param(
    fields: Annotated[str | None, Query(max_length=500, description="Comma-separated fields")] = None,
) -> list[str] | None:
    return [f.strip() for f in fields.split(",") if f.strip()] if fields else None


def state_filter(state: str, allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """``RUNNING,failed`` -> ``{"$in": ["RUNNING", "FAILED"]}``; an unknown state is a VALIDATION_ERROR."""
    states = [s.strip().upper() for s in state.split(",") if s.strip()]
    bad = [s for s in states if s not in allowed]
    if bad:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid filter",
                          [ErrorDetail(field="state", message=f"unknown state(s) {bad}; use {list(allowed)}")])
    return {"$in": states}


def check_id(value: str, prefix: str, field: str) -> str:
    if not re.fullmatch(rf"{prefix}[A-Za-z0-9_.\-]{{1,128}}", value):
        raise DomainError(
            ErrorCode.VALIDATION_ERROR, f"invalid {field}",
            [ErrorDetail(field=field,
                         message=f"must start with '{prefix}' followed by letters, digits, '_', '-' or '.'")],
        )
    return value
