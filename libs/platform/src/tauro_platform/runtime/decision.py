"""What a command handler returns, and the context it decides in.

Handlers are pure over the state they are given: the clock and id generation come in
through ``CommandContext``, and the result is a ``Decision`` (events per stream, at
the version each stream was read at) that the runtime turns into envelopes.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.port import ANY_VERSION, StreamWrite


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


def to_writes(writes: tuple[PendingWrite, ...], ctx: CommandContext) -> list[StreamWrite]:
    """Wrap decided events in envelopes carrying the command's identity, actor and trace."""
    result = []
    for pending in writes:
        base = 0 if pending.expected_version == ANY_VERSION else pending.expected_version
        events = [
            EventEnvelope(
                event_id=str(uuid.uuid4()),
                stream_id=pending.stream_id,
                stream_version=base + i,
                type=payload.type_name,
                schema_version=payload.schema_version,
                occurred_at=ctx.now,
                correlation_id=ctx.correlation_id,
                causation_id=ctx.command_id,
                actor=ctx.actor,
                trace_context=ctx.trace_context,
                data=payload.to_data(),
            )
            for i, payload in enumerate(pending.events, start=1)
        ]
        result.append(StreamWrite(pending.stream_id, pending.expected_version, events))
    return result


@dataclass(frozen=True)
class CommandContext:
    command_id: str
    correlation_id: str | None
    actor: str | None
    trace_context: dict[str, str]
    now: datetime
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    random: Callable[[], float] = field(default=random.random)
    attempt: int = 0  # 0, then 1, 2, ... when deciding again after a lost race (load fresh state then)
