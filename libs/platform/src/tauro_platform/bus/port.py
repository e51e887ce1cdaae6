"""The message bus port.

Contract (``tests/contract/test_bus_contract.py`` runs it against every adapter):

- ``publish`` returns once the message is durably accepted; messages with the same
  key go to the same partition and keep their order.
- ``subscribe`` with a ``group_id`` joins a consumer group: each message goes to one
  member; the offset is committed only after the handler returns, so a crash
  redelivers (at least once). A handler that raises is retried with backoff, never
  skipped silently; a consumer restarting in the same group resumes after the last
  committed offset.
- ``subscribe`` without a group is a broadcast tap: it sees every message published
  after it started, on every partition, and commits nothing.

For stream processing (``tests/contract/test_bus_stream_contract.py``):

- ``publish_many`` publishes in the given order and returns once every message is
  durably accepted; same-key messages keep their order.
- ``subscribe_batches`` joins a group like ``subscribe``, but hands the handler runs of
  consecutive messages of one partition and commits the offset after the last one only
  once the handler returned; a failing batch is retried whole, with backoff.
- ``lag`` is, per topic and partition, the end offset minus the group's committed offset
  (minus the log start when the group has committed nothing there).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    timestamp_ms: int = 0


Handler = Callable[[Message], Awaitable[None]]
BatchHandler = Callable[[list[Message]], Awaitable[None]]
Lag = dict[str, dict[int, int]]
"""Consumer lag: ``{topic: {partition: messages not yet committed by the group}}``."""


@dataclass(frozen=True)
class Outgoing:
    """A message to publish with ``publish_many``."""

    topic: str
    value: bytes
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Subscription(Protocol):
    async def stop(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_topics(self, topics: Sequence[str], partitions: int) -> None: ...

    async def publish(
        self, topic: str, value: bytes, key: str | None = None, headers: dict[str, str] | None = None
    ) -> None: ...

    async def subscribe(
        self,
        topics: Sequence[str],
        handler: Handler,
        group_id: str | None,
        *,
        from_beginning: bool = True,
    ) -> Subscription:
        """Start consuming in the background; returns once the subscription is live."""
        ...

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Publish in order; returns once all are durably accepted."""
        ...

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        handler: BatchHandler,
        group_id: str,
        *,
        max_records: int = 500,
        from_beginning: bool = True,
    ) -> Subscription:
        """Consume in ``group_id``, up to ``max_records`` consecutive messages of one partition
        per handler call; commits after each batch the handler returned for."""
        ...

    async def lag(self, group_id: str, topics: Sequence[str]) -> Lag:
        """The group's lag per partition of each existing topic (missing topics are left out)."""
        ...

    async def ping(self) -> None: ...


RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)


def retry_delay(attempt: int) -> float:
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]


def partition_for(key: str | None, partitions: int, counter: int) -> int:
    """Kafka-like placement: a stable hash of the key, round robin without one."""
    if key is None:
        return counter % partitions
    import zlib

    return zlib.crc32(key.encode()) % partitions
