"""What the SDK raises: an API error per status (carrying the spec's error code, message and
field details), ``Unreachable`` when no answer came at all, ``WaitTimeout`` for ``wait``.

    try:
        client.runs.get("run_missing")
    except NotFound as exc:
        print(exc.code, exc.message, exc.details)
"""

from __future__ import annotations

from typing import Any

import httpx
from tauro_contracts.errors import ErrorDetail


class TauroError(Exception):
    """Every error of the SDK."""


class Unreachable(TauroError):
    """No HTTP answer: connection refused, DNS failure, timeout, connection dropped."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class WaitTimeout(TauroError):
    """``wait`` gave up before the run reached a terminal state."""

    def __init__(self, run_id: str, state: str, seconds: float) -> None:
        super().__init__(f"run {run_id} still {state} after {seconds:g} s")
        self.run_id = run_id
        self.state = state


class APIError(TauroError):
    """An error answer of the API (``{error: {code, message, details}, meta}``)."""

    status: int
    code: str
    message: str
    details: list[ErrorDetail]
    request_id: str | None

    def __init__(self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None,
                 request_id: str | None = None, body: Any = None) -> None:
        text = f"{status} {code}: {message}"
        if details:
            text += " (" + "; ".join(f"{d.field}: {d.message}" if d.field else d.message for d in details) + ")"
        super().__init__(text)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.request_id = request_id
        self.body = body


class BadRequest(APIError):
    """400: the body could not be read."""


class Unauthorized(APIError):
    """401: no or bad credentials."""


class Forbidden(APIError):
    """403: the credentials do not allow this."""


class NotFound(APIError):
    """404."""


class Conflict(APIError):
    """409: a duplicate, an illegal state change, or a reused Idempotency-Key."""


class PayloadTooLarge(APIError):
    """413."""


class ValidationFailed(APIError):
    """422: ``details`` name each field and why."""


class RateLimited(APIError):
    """429: ``retry_after`` is the number of seconds the server asks to wait (None if it did not say)."""

    retry_after: float | None = None


class ServerError(APIError):
    """5xx."""


class ServiceUnavailable(ServerError):
    """503."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: PayloadTooLarge,
    422: ValidationFailed, 429: RateLimited, 503: ServiceUnavailable,
}


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an error answer (any status >= 400), whatever its body."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = response.text
    error = body.get("error") if isinstance(body, dict) else None
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or "ERROR")
        message = str(error.get("message") or response.reason_phrase)
        details = [_detail(d) for d in error.get("details") or [] if isinstance(d, dict)]
    else:
        code, message, details = f"HTTP_{response.status_code}", str(body or response.reason_phrase)[:500], []
    cls = _BY_STATUS.get(response.status_code) or (ServerError if response.status_code >= 500 else APIError)
    exc = cls(response.status_code, code, message, details,
              request_id=(meta or {}).get("request_id") or response.headers.get("x-request-id"), body=body)
    if isinstance(exc, RateLimited):
        exc.retry_after = _seconds(response.headers.get("retry-after"))
    return exc


def _detail(raw: dict[str, Any]) -> ErrorDetail:
    return ErrorDetail(field=raw.get("field"), message=str(raw.get("message", "")), type=str(raw.get("type", "")))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
