"""Error codes of the API contract and the domain rejection that carries them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorCode(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    TIMEOUT = "TIMEOUT"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMIT_EXCEEDED: 429,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str | None = None
    message: str
    type: str = "value_error"


class DomainError(Exception):
    """A decision's rejection of a command; mapped to an HTTP status at the edge."""

    def __init__(self, code: ErrorCode, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "message": self.message,
            "details": [d.model_dump() for d in self.details],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DomainError:
        details = [ErrorDetail(**d) for d in data.get("details", [])]
        return cls(ErrorCode(data["code"]), data["message"], details)


def not_found(kind: str, ident: str, field: str | None = None) -> DomainError:
    detail = [ErrorDetail(field=field, message=f"{kind} '{ident}' not found", type="not_found")] if field else []
    return DomainError(ErrorCode.NOT_FOUND, f"{kind} '{ident}' not found", detail)


def conflict(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.CONFLICT, message, [ErrorDetail(field=field, message=message, type="conflict")])
