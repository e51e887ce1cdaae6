"""What a command handler returns, and the context it decides in.

Handlers are pure over the state they are given: the clock and id generation come in
through ``CommandContext``, and the result is a ``Decision`` (events per stream, at
the version each stream was read at) that the runtime turns into envelopes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tauro_contracts.base import Event


@dataclass(frozen=True)
class PendingWrite:
    stream_id: str
    expected_version: int
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Decision:
    writes: tuple[PendingWrite, ...] = ()
    result: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, stream_id: str, expected_version: int, *events: Event, **result: Any) -> Decision:
        return cls((PendingWrite(stream_id, expected_version, events),), result)


@dataclass(frozen=True)
class CommandContext:
    command_id: str
    correlation_id: str | None
    actor: str | None
    trace_context: dict[str, str]
    now: datetime
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
