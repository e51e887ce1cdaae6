"""Fields bound to the current task for every log line it writes: request id, run id, ...

``bind(request_id=..., run_id=...)`` in a ``with`` block; the JSON formatter adds the
bound fields (and the current trace and span ids) to each record. Context variables
follow asyncio tasks, so a task started inside the block keeps the fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_FIELDS: ContextVar[Mapping[str, Any]] = ContextVar("tauro_log_fields", default=MappingProxyType({}))


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (those not None) to the log lines written inside the block."""
    token = _FIELDS.set({**_FIELDS.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _FIELDS.reset(token)


def bound() -> Mapping[str, Any]:
    return _FIELDS.get()
