"""Errors of the streaming domain.

Two families, never mixed:

* :class:`StreamDefinitionError` — a definition (file, path or API body) is unusable. It is a
  :class:`~tauro_contracts.errors.DomainError` so the edge maps it straight to the spec's
  ``VALIDATION_ERROR`` / ``NOT_FOUND`` envelope; its details carry field paths.
* :class:`ProcessorError` (and :class:`LateRecordError`) — one record failed one processor.
  The pipeline turns it into a dead letter and keeps going; it never escapes ``process``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail

# Discriminator tags pydantic inserts into error locations after a list index; they are
# noise for a user reading ``processors[1].compute.total``.
_UNION_TAGS = frozenset({"filter", "map", "python", "window", "condition", "group"})


class StreamDefinitionError(DomainError):
    """A stream definition, its file or its ``config`` path is invalid."""

    def __init__(
        self,
        message: str,
        details: list[ErrorDetail] | None = None,
        code: ErrorCode = ErrorCode.VALIDATION_ERROR,
    ) -> None:
        super().__init__(code, message, details)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + ": " + "; ".join(f"{d.field}: {d.message}" for d in self.details)


def config_error(field: str, message: str, *, type_: str = "value_error") -> StreamDefinitionError:
    """A single-field VALIDATION_ERROR, e.g. ``config_error("config", "must be relative")``."""
    detail = ErrorDetail(field=field, message=message, type=type_)
    return StreamDefinitionError(f"{field}: {message}", [detail])


def not_found_error(field: str, message: str) -> StreamDefinitionError:
    """A NOT_FOUND naming the request field that pointed at nothing (``config`` or ``pipeline``)."""
    return StreamDefinitionError(
        message, [ErrorDetail(field=field, message=message, type="not_found")], code=ErrorCode.NOT_FOUND
    )


def field_path(loc: Sequence[int | str]) -> str:
    """``("processors", 1, "map", "compute", "x")`` -> ``"processors[1].compute.x"``."""
    text = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(previous, int) and part in _UNION_TAGS:
            previous = part
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        previous = part
    return text


def validation_details(exc: ValidationError, prefix: Sequence[int | str] = ()) -> list[ErrorDetail]:
    """Pydantic errors as API error details, with readable field paths under ``prefix``."""
    details = []
    for err in exc.errors(include_url=False):
        message = str(err.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        field = field_path([*prefix, *err.get("loc", ())]) or "body"
        details.append(ErrorDetail(field=field, message=message, type=str(err.get("type", "value_error"))))
    return details


class ProcessorError(Exception):
    """One record cannot go through one processor (missing field, wrong type, callable raised, ...)."""


class LateRecordError(ProcessorError):
    """A record's event time falls into a window that has already been emitted."""


class StreamStateError(ValueError):
    """A window-state snapshot does not fit the pipeline it is restored into."""
