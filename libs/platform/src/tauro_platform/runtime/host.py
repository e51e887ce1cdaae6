"""Hosting a service: its command consumer, projector loop and outbox sweeper as tasks,
plus its heartbeat document (for ``/health``: ``stuck`` while a command has been failing
for ``STUCK_AFTER_SECONDS``), its dead-letter office and its consumer-lag gauge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tauro_platform.bus.port import Bus, Subscription
from tauro_platform.eventstore.port import EventStore
from tauro_platform.observability.heartbeat import Heartbeat
from tauro_platform.observability.lag import LagMonitor
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.commands import CommandHandler, CommandProcessor
from tauro_platform.runtime.deadletters import DeadLetterOffice
from tauro_platform.runtime.projector import Projection, Projector
from tauro_platform.runtime.relay import OutboxRelay

log = logging.getLogger("tauro.host")
COMMAND_BATCH = 200  # commands handed to the processor at once (see CommandProcessor.on_batch)
STUCK_AFTER_SECONDS = 10.0


@dataclass
class ServiceHost:
    name: str
    command_topic: str
    store: EventStore
    bus: Bus
    read_store: ReadStore
    handlers: Mapping[str, CommandHandler]
    projections: Iterable[Projection]
    partitions: int = 4
    instance_id: str | None = None
    heartbeat_seconds: float | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _subscriptions: list[Subscription] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.projector = Projector(f"{self.name}-projector", self.store, self.read_store, self.projections)
        self.relay = OutboxRelay(self.store, self.bus)
        self.dead_letters = DeadLetterOffice(self.bus, self.read_store, self.name)
        self.processor = CommandProcessor(self.store, self.bus, self.handlers, self.projector, self.relay,
                                          dead_letters=self.dead_letters, service=self.name)
        self.heartbeat = Heartbeat(self.read_store, self.name, self.instance_id, self.heartbeat_seconds)
        self.heartbeat.state_of = self._state
        self.lag = LagMonitor(self.bus, self.group_id, [self.command_topic])

    def _state(self) -> str:
        return "stuck" if self.processor.stuck_for() >= STUCK_AFTER_SECONDS else "running"

    @property
    def group_id(self) -> str:
        return f"tauro-{self.name}"

    async def start(self) -> None:
        await self.bus.ensure_topics([self.command_topic], self.partitions)
        await self.projector.catch_up()
        self._tasks.append(asyncio.create_task(self.projector.run(), name=f"{self.name}-projector"))
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-relay"))
        self._subscriptions.append(
            await self.bus.subscribe_batches([self.command_topic], self.processor.on_batch, group_id=self.group_id,
                                             max_records=COMMAND_BATCH)
        )
        await self.heartbeat.start()
        self._tasks.append(asyncio.create_task(self.lag.run(), name=f"{self.name}-lag"))
        log.info("service started", extra={"service": self.name})

    async def stop(self) -> None:
        for sub in self._subscriptions:
            await sub.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._subscriptions.clear()
        await self.heartbeat.stop()
