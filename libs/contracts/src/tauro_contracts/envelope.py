"""The envelopes that carry every command, event and reply over the bus and in the store.

An event envelope is what the event store records and what consumers receive on the
event topics: identity (event id, stream id and version, global position), the type
name and schema version of the payload, timing, the correlation/causation chain, the
actor, and the W3C trace context. The JSON form of ``EventEnvelope`` is the public
event contract.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str = "") -> str:
    """A random, prefixed, URL-safe identifier such as ``proj_3f9c0a1b2d4e``."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventEnvelope(_Envelope):
    event_id: str
    stream_id: str
    stream_version: int = Field(ge=1)
    global_position: int | None = Field(default=None, ge=1)
    type: str
    schema_version: int = 1
    occurred_at: datetime
    correlation_id: str | None = None
    causation_id: str | None = None
    actor: str | None = None
    trace_context: dict[str, str] = Field(default_factory=dict)
    data: dict[str, Any]


class CommandEnvelope(_Envelope):
    command_id: str
    type: str
    schema_version: int = 1
    issued_at: datetime
    correlation_id: str | None = None
    actor: str | None = None
    trace_context: dict[str, str] = Field(default_factory=dict)
    reply_to: str | None = None
    data: dict[str, Any]


class CommandReply(_Envelope):
    """The synchronous outcome of a command: accepted (with the streams it touched) or rejected."""

    command_id: str
    ok: bool
    streams: list[str] = Field(default_factory=list)
    result: dict[str, Any] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
