"""The outbox relay: every appended event reaches the bus at least once.

After an append the runtime publishes the new events at once and marks them
published. If the process dies in between, the sweeper (running in every service)
finds events still unpublished after a grace period and publishes them. Consumers
recognise duplicates by event id / stream version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.registry import REGISTRY

from tauro_platform.bus.port import Bus
from tauro_platform.eventstore.port import EventStore
from tauro_platform.runtime.wire import encode, event_headers

log = logging.getLogger("tauro.relay")


class OutboxRelay:
    def __init__(self, store: EventStore, bus: Bus, grace_seconds: float = 2.0) -> None:
        self._store = store
        self._bus = bus
        self._grace = grace_seconds

    async def publish(self, events: Sequence[EventEnvelope]) -> None:
        for event in events:
            await self._bus.publish(
                REGISTRY.topic(event.type), encode(event), key=event.stream_id, headers=event_headers(event)
            )
        await self._store.mark_published([e.event_id for e in events])

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
