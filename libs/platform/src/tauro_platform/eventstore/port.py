"""The event store port.

Contract (checked by ``tests/contract/test_event_store_contract.py`` for every adapter):

- ``append`` writes one or more streams atomically. Each ``StreamWrite`` names the
  version its stream must be at (0: must not exist; ``ANY_VERSION``: don't care).
  The pair (stream id, version) is unique; a lost race raises ``ConcurrencyError``
  and writes nothing.
- Appended events get consecutive global positions, and readers of ``read_all``
  never see a later position before an earlier one becomes visible.
- Every event starts unpublished; the outbox relay publishes it to the bus and then
  marks it published, so a crash between append and publish loses nothing.
- ``append(writes, commands=[...])`` also records those command ids as applied, in the
  same transaction; an append naming a command already recorded raises ``AlreadyApplied``
  and writes nothing. This is how a re-delivered command is recognised without a lookup
  before every command (its events are then found with ``caused_by``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tauro_contracts.envelope import EventEnvelope

ANY_VERSION = -1


class ConcurrencyError(Exception):
    """A stream was not at the expected version: someone else appended first."""


class AlreadyApplied(Exception):
    """An append named a command whose events are already in the store (a re-delivery)."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"command {command_id} was already applied")
        self.command_id = command_id


@dataclass(frozen=True)
class StreamWrite:
    stream_id: str
    expected_version: int
    events: Sequence[EventEnvelope]


class EventStore(Protocol):
    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        """Append atomically; returns the events with their global positions. ``commands``
        are recorded as applied with them (``AlreadyApplied`` if one already was)."""
        ...

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EventEnvelope]: ...

    async def stream_version(self, stream_id: str) -> int:
        """The stream's last version, 0 if it has no events."""
        ...

    async def read_all(self, after_position: int = 0, limit: int = 500) -> list[EventEnvelope]:
        """Events with a global position above ``after_position``, in order."""
        ...

    async def head_position(self) -> int: ...

    async def caused_by(self, causation_id: str) -> list[EventEnvelope]:
        """The events a command (by id) produced: how re-delivered commands are recognised."""
        ...

    async def unpublished(self, older_than_seconds: float, limit: int = 500) -> list[EventEnvelope]: ...

    async def mark_published(self, positions: Sequence[int]) -> None:
        """Mark the events at these global positions published; unknown positions are ignored."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot be reached."""
        ...

    async def close(self) -> None: ...


def check_writes(writes: Sequence[StreamWrite], commands: Sequence[str] = ()) -> None:
    """Shape rules every adapter enforces before touching storage."""
    if len(set(commands)) != len(commands):
        raise ValueError("a command named twice in one append")
    seen: set[str] = set()
    for write in writes:
        if write.stream_id in seen:
            raise ValueError(f"stream {write.stream_id!r} written twice in one append")
        seen.add(write.stream_id)
        if not write.events:
            raise ValueError("a stream write needs at least one event")
        for event in write.events:
            if event.stream_id != write.stream_id:
                raise ValueError("event stream id does not match its write")
        versions = [e.stream_version for e in write.events]
        if write.expected_version != ANY_VERSION:
            wanted = list(range(write.expected_version + 1, write.expected_version + 1 + len(versions)))
            if versions != wanted:
                raise ValueError(f"event versions {versions} do not follow expected version {write.expected_version}")
