"""The outbox relay: every appended event reaches the bus at least once.

After an append the runtime publishes the new events at once and marks them
published. If the process dies in between, the sweeper (running in every service)
finds events still unpublished after a grace period and publishes them. Consumers
recognise duplicates by event id / stream version.

Each publish is a producer span under the current one, or (for the sweeper, which has
none) under the trace of the first event it publishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.registry import REGISTRY

from tauro_platform.bus.port import Bus, Outgoing
from tauro_platform.eventstore.port import EventStore
from tauro_platform.observability.metrics import EVENTS_PUBLISHED
from tauro_platform.observability.tracing import SpanKind, current_ids, span
from tauro_platform.runtime.wire import encode, event_headers

log = logging.getLogger("tauro.relay")


class OutboxRelay:
    def __init__(self, store: EventStore, bus: Bus, grace_seconds: float = 2.0) -> None:
        self._store = store
        self._bus = bus
        self._grace = grace_seconds

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        if not events:
            return
        topic_names = sorted({REGISTRY.topic(e.type) for e in events})
        parent = None if current_ids() is not None else events[0].trace_context
        attributes = {"messaging.system": "kafka", "messaging.operation.type": "publish",
                      "messaging.destination.name": topic_names[0] if len(topic_names) == 1 else None,
                      "messaging.batch.message_count": len(events), "tauro.topics": topic_names}
        with span("relay publish", kind=SpanKind.PRODUCER, parent=parent, attributes=attributes):
            await self._bus.publish_many([
                Outgoing(REGISTRY.topic(e.type), encode(e), e.stream_id, event_headers(e)) for e in events
            ])
            for event in events:
                EVENTS_PUBLISHED.labels(topic=REGISTRY.topic(event.type)).inc()
            await self._store.mark_published([e.global_position for e in events if e.global_position is not None])

    async def sweep_once(self) -> int:
        events = await self._store.unpublished(self._grace)
        if events:
            await self.publish(events)
            log.info("relay published events left unpublished", extra={"count": len(events)})
        return len(events)

    async def run(self, interval: float = 1.0) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sweep failed; retrying")
            await asyncio.sleep(interval)
