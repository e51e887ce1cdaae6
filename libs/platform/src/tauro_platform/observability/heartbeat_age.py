"""``tauro_service_heartbeat_age_seconds{service, instance}``: how long ago each registered
service instance last wrote its heartbeat document.

The gateway samples the ``service_heartbeats`` collection every ``METRICS_SAMPLE_SECONDS``
and keeps, per (service, instance), the document's ``last_seen``; the gauge computes the
age when it is scraped, so it keeps growing between samples and while the read store is
unreachable. A service that is gone (killed, or stopped) therefore stays visible with a
growing age until its document is pruned; then its series is removed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from tauro_platform.observability.health import MAX_HEARTBEAT_DOCS
from tauro_platform.observability.heartbeat import HEARTBEATS
from tauro_platform.observability.identity import DEFAULTS
from tauro_platform.observability.metrics import SERVICE_HEARTBEAT_AGE
from tauro_platform.observability.sampling import sample_forever
from tauro_platform.readstore.port import ReadStore
from tauro_platform.timeutil import parse_iso

log = logging.getLogger("tauro.heartbeat_age")
Key = tuple[str, str]


def last_seen_by_instance(docs: list[dict[str, Any]]) -> dict[Key, float]:
    """``{(service, instance_id): last_seen as a Unix timestamp}`` of well-formed documents."""
    found: dict[Key, float] = {}
    for doc in docs:
        service, instance, last_seen = doc.get("service"), doc.get("instance_id"), doc.get("last_seen")
        if not (service and instance and last_seen):
            continue
        try:
            found[(str(service), str(instance))] = parse_iso(str(last_seen)).timestamp()
        except ValueError:
            continue
    return found


class HeartbeatAges:
    def __init__(self, read_store: ReadStore, interval: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._read = read_store
        self._interval = interval
        self._clock = clock
        self._known: set[Key] = set()
        self._task: asyncio.Task[None] | None = None

    def _age_since(self, last_seen: float) -> Callable[[], float]:
        return lambda: max(0.0, self._clock() - last_seen)

    async def sample(self) -> dict[Key, float]:
        """Read the heartbeat documents and point each instance's gauge at its ``last_seen``."""
        docs, _ = await self._read.find(HEARTBEATS, {}, sort=[("last_seen", -1)], limit=MAX_HEARTBEAT_DOCS)
        found = last_seen_by_instance(docs)
        for service, instance in self._known - found.keys():
            SERVICE_HEARTBEAT_AGE.remove(service, instance)  # its document was pruned
        for (service, instance), last_seen in found.items():
            SERVICE_HEARTBEAT_AGE.labels(service=service, instance=instance).set_function(self._age_since(last_seen))
        self._known = set(found)
        return found

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="heartbeat-ages")

    async def _run(self) -> None:
        # A failed sample leaves the ages growing from the last one.
        await sample_forever(self.sample, self._interval or DEFAULTS.sample_seconds, log, "heartbeat ages not sampled")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
