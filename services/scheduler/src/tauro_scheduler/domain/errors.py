"""The scheduler domain's one rejection: invalid schedule input, with field-level details.

``ScheduleValidationError`` is a ``DomainError`` with code ``VALIDATION_ERROR``, so the
edge maps it to HTTP 422 and the spec's ``{error: {code, message, details}}`` envelope
without translation. Each detail names the offending request field (``expression``,
``timezone``, ``kind``, ``anchor``, ``count``, ``start``, ``end``) and says what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail


class ScheduleValidationError(DomainError):
    """Schedule input that cannot be accepted; ``details`` lists every problem found."""

    def __init__(self, details: Sequence[ErrorDetail], message: str | None = None) -> None:
        details = list(details)
        if message is None:
            message = "; ".join(f"{d.field}: {d.message}" if d.field else d.message for d in details)
        super().__init__(ErrorCode.VALIDATION_ERROR, message or "invalid schedule", details)


def detail(field: str, message: str, type_: str = "value_error") -> ErrorDetail:
    """One field-level problem, in the contract's ``ErrorDetail`` shape."""
    return ErrorDetail(field=field, message=message, type=type_)
