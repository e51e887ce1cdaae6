"""Assembling the notifier: facts consumer, planner, delivery worker, projector, outbox sweeper.

- ``FactsConsumer`` reads the public event topics in the group ``tauro-notifier`` (replicas
  share the partitions) into the notifier's own read models;
- ``Planner`` records the notifications each ended run asks for (``notifications:<run_id>``);
- ``DeliveryWorker`` claims, sends and records them, retrying with backoff;
- a ``Projector`` (``notifier-projector``) builds the ``notifications`` read model that the
  gateway's ``GET /runs/{id}/notifications`` reads, and an ``OutboxRelay`` publishes the
  notifier's events (``tauro.events.notifications.v1``) and sweeps any left unpublished.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

from tauro_platform.adapters import Adapters
from tauro_platform.observability.heartbeat import Heartbeat
from tauro_platform.runtime.projector import Projector
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.settings import Settings

from tauro_notifier.facts import GROUP, FactsConsumer
from tauro_notifier.planner import Planner
from tauro_notifier.projection import NotificationsProjection
from tauro_notifier.worker import DeliveryWorker

log = logging.getLogger("tauro.notifier")
PROJECTOR = "notifier-projector"


def read_model_projectors(adapters: Adapters) -> list[Projector]:
    """The notifier's projector of the ``notifications`` read model, as the rebuild command needs it."""
    return [Projector(PROJECTOR, adapters.store, adapters.read_store, [NotificationsProjection()])]


class NotifierService:
    def __init__(self, adapters: Adapters, settings: Settings, instance_id: str | None = None) -> None:
        self.instance_id = instance_id or f"notifier-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        actor = f"system:notifier:{self.instance_id}"
        self.relay = OutboxRelay(adapters.store, adapters.bus)
        self.projector = read_model_projectors(adapters)[0]
        self.worker = DeliveryWorker(adapters.store, self.relay, adapters.read_store, settings, self.instance_id)
        self.planner = Planner(adapters.store, self.relay, adapters.read_store, settings, actor, self._requested)
        # The embedded mode's read models live in memory: each start reads the topics from the
        # beginning again (a group of its own) to rebuild the facts; deliveries already requested
        # are not requested again (their stream exists) and old run ends are past NOTIFY_MAX_AGE.
        group = GROUP if settings.tauro_mode == "distributed" else f"{GROUP}-{uuid.uuid4().hex[:12]}"
        self.facts = FactsConsumer(adapters.bus, adapters.read_store, settings.kafka_partitions, self.planner.poke,
                                   group)
        self.heartbeat = Heartbeat(adapters.read_store, "notifier", self.instance_id)
        self._tasks: list[asyncio.Task[None]] = []

    def _requested(self) -> None:
        self.worker.poke()

    async def start(self) -> None:
        await self.projector.catch_up()
        self._tasks += [
            asyncio.create_task(self.projector.run(), name="notifier-projector"),
            asyncio.create_task(self.relay.run(), name="notifier-relay"),
            asyncio.create_task(self.planner.run(), name="notifier-planner"),
            asyncio.create_task(self.worker.run(), name="notifier-worker"),
        ]
        await self.facts.start()
        await self.heartbeat.start()
        log.info("notifier started", extra={"instance_id": self.instance_id})

    async def stop(self) -> None:
        await self.facts.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.worker.close()
        await self.heartbeat.stop()
