"""Exception handlers: every failure leaves as an ``{error, meta}`` envelope, never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail

from tauro_gateway.envelopes import error

log = logging.getLogger("tauro.gateway")

_STATUS_CODES = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    429: ErrorCode.RATE_LIMIT_EXCEEDED,
}


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def validation_details(exc: RequestValidationError) -> list[ErrorDetail]:
    details = []
    for err in exc.errors():
        message, field = err.get("msg", "invalid value"), _field(tuple(err.get("loc", ())))
        if err.get("type") == "json_invalid":
            message, field = "request body is not valid JSON", "body"
        details.append(ErrorDetail(field=field, message=message, type=err.get("type", "")))
    return details


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> Response:
        return error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = validation_details(exc)
        if any(err.get("type") == "json_invalid" for err in exc.errors()):  # unreadable, not invalid: 400
            unreadable = [d for d in details if d.type == "json_invalid"]
            return error(request, DomainError(ErrorCode.BAD_REQUEST, "request body is not valid JSON", unreadable))
        return error(request, DomainError(ErrorCode.VALIDATION_ERROR, "invalid request", details))

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.INTERNAL_ERROR if exc.status_code >= 500 else None)
        if code is None:
            code = ErrorCode.VALIDATION_ERROR
        message = exc.detail if isinstance(exc.detail, str) else code.value.lower()
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        response = error(request, DomainError(code, message))
        response.status_code = exc.status_code
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error(request, DomainError(ErrorCode.INTERNAL_ERROR, "internal error"))
