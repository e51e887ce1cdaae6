"""What each route declares in the OpenAPI document besides its success model: the errors it
can answer (each in the real ``{error, meta}`` envelope, never FastAPI's ``{detail}``) and a
readable ``operationId`` (the route function's name: ``create_run``, ``list_runs``, ...).

Every router is built with :func:`router`, which adds the errors any route can give
(401, 403, 422, 429); a route adds its own with :func:`errors` (404 for a path id, 409 for
a conflict, 400 and 413 for a body, 504 when it waits for a service's answer, ...).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from tauro_contracts.readmodels import ErrorEnvelope

Responses = dict[int | str, dict[str, Any]]

_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("BAD_REQUEST", "The request body is not readable (not JSON)", "request body is not valid JSON"),
    401: ("UNAUTHORIZED", "Missing or bad credentials (with authentication on)", "missing credentials"),
    403: ("FORBIDDEN", "The caller lacks the permission", "missing permission projects:write"),
    404: ("NOT_FOUND", "No such resource (or one the caller cannot see)", "run 'run_xyz789' not found"),
    409: ("CONFLICT", "A duplicate, an illegal state change, or a reused Idempotency-Key",
          "run 'run_xyz789' is SUCCESS; only PENDING runs can be started"),
    413: ("PAYLOAD_TOO_LARGE", "The request body is over MAX_BODY_BYTES", "request body over 1048576 bytes"),
    422: ("VALIDATION_ERROR", "Invalid parameters or body; details name each field", "invalid request"),
    429: ("RATE_LIMIT_EXCEEDED", "Too many requests (or failed authentications); see Retry-After",
          "over 100 requests in 60 s; retry in 12 s"),
    503: ("SERVICE_UNAVAILABLE", "A service or dependency is unavailable", "service unavailable"),
    504: ("TIMEOUT", "The owning service did not answer within COMMAND_TIMEOUT_SECONDS; the command may still "
                     "take effect", "no reply from the runs service within 10 s"),
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "The accepted schemes", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}},
}
COMMON = (401, 403, 422, 429)
BODY = (400, 413)
COMMAND = (504,)


def errors(*statuses: int) -> Responses:
    """The OpenAPI responses of these error statuses, each with the error envelope and an example."""
    out: Responses = {}
    for status in statuses:
        code, description, message = _ERRORS[status]
        example = {"error": {"code": code, "message": message, "details": []},
                   "meta": {"timestamp": "2025-11-18T10:00:00Z", "request_id": "req_abc123", "version": "0.1.0"}}
        entry: dict[str, Any] = {"model": ErrorEnvelope, "description": description,
                                 "content": {"application/json": {"example": example}}}
        if status in _HEADERS:
            entry["headers"] = _HEADERS[status]
        out[status] = entry
    return out


def operation_id(route: APIRoute) -> str:
    return route.name


def make_router(prefix: str = "", tags: list[str] | None = None, public: bool = False) -> APIRouter:
    """An APIRouter whose routes declare the common errors and are named by their function."""
    common = () if public else COMMON
    return APIRouter(prefix=prefix, tags=list(tags or []), responses=errors(*common),
                     generate_unique_id_function=operation_id)


def examples(*bodies: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """``openapi_extra`` with request body examples (taken from the spec)."""
    return {"requestBody": {"content": {"application/json": {
        "examples": {name: {"value": value} for name, value in bodies}}}}}
