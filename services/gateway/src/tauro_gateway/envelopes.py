"""The API's response envelopes: ``{data, meta}``, lists with paging, and ``{error, meta}``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from tauro_contracts.errors import HTTP_STATUS, DomainError, ErrorCode

from tauro_gateway import VERSION

HIDDEN_FIELDS = ("_id", "_v", "deleted")


def _meta(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        **extra,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "request_id": getattr(request.state, "request_id", None),
        "version": VERSION,
    }


def public(doc: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    """A read-model document as the API shows it: internal fields removed, ``fields`` applied."""
    shown = {k: v for k, v in doc.items() if k not in HIDDEN_FIELDS}
    if fields:
        shown = {k: v for k, v in shown.items() if k in fields or k == "id"}
    return shown


def ok(request: Request, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"data": data, "meta": _meta(request)}, status_code=status, headers=headers)


def page(request: Request, items: list[Any], total: int, limit: int, offset: int, **extra: Any) -> JSONResponse:
    meta = _meta(request, total=total, limit=limit, offset=offset, has_more=offset + len(items) < total, **extra)
    return JSONResponse({"data": items, "meta": meta})


def error(request: Request, exc: DomainError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": exc.to_dict(), "meta": _meta(request)}
    return JSONResponse(body, status_code=HTTP_STATUS[exc.code], headers=headers)


def error_of(request: Request, code: ErrorCode, message: str) -> JSONResponse:
    return error(request, DomainError(code, message))
