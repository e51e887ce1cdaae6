"""Assembling the scheduler service from adapters: command host, launcher, firing loop.

- The host consumes ``tauro.commands.scheduler`` (group ``tauro-scheduler``, so replicas
  share the commands), decides with ``SchedulerHandlers`` and projects the ``schedules``
  and ``schedule_ticks`` read models.
- After every append, fired ticks go to the ``Launcher`` (runs created through the runs
  service) and a changed schedule wakes the firing loop.
- The ``FiringLoop`` fires due ticks and repairs interrupted launches, and the
  ``RunRetrier`` retries failed scheduled runs of schedules with ``config.retry_on_failure``;
  both only run with ``SCHEDULER_ENABLED`` (the API works either way). ``SCHEDULER_TIMEZONE``
  is the time zone of schedules created without one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

from tauro_contracts import topics
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.schedules import RecordTickFailure, ScheduleCreated, ScheduleEnabled, ScheduleUpdated
from tauro_platform.adapters import Adapters
from tauro_platform.runtime.commands import local_envelope
from tauro_platform.runtime.host import ServiceHost
from tauro_platform.runtime.projector import Projector
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings

from tauro_scheduler.domain import parse_timezone
from tauro_scheduler.firing import Firing, FiringLoop
from tauro_scheduler.handlers import SchedulerHandlers
from tauro_scheduler.launcher import Launcher
from tauro_scheduler.loading import ScheduleStates
from tauro_scheduler.projections import projections
from tauro_scheduler.retries import RunRetrier

log = logging.getLogger("tauro.scheduler")
PROJECTOR = "scheduler-projector"  # the host's projector name (ServiceHost: "<name>-projector")
WAKE_TYPES = frozenset({ScheduleCreated.type_name, ScheduleUpdated.type_name, ScheduleEnabled.type_name})


def read_model_projectors(adapters: Adapters) -> list[Projector]:
    """The scheduler's projector, as the read-model rebuild command needs it."""
    return [Projector(PROJECTOR, adapters.store, adapters.read_store, projections())]


class SchedulerService:
    """The scheduler: its command host plus the launcher and the firing loop."""

    def __init__(self, adapters: Adapters, settings: Settings, instance_id: str | None = None) -> None:
        parse_timezone(settings.scheduler_timezone)
        self.instance_id = instance_id or f"sched-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.actor = f"system:scheduler:{self.instance_id}"
        self._adapters = adapters
        self.states = ScheduleStates(adapters.store, adapters.read_store)
        handlers = SchedulerHandlers(self.states, adapters.read_store, settings.scheduler_timezone)
        self.host = ServiceHost(
            name="scheduler",
            command_topic=topics.COMMANDS_SCHEDULER,
            store=adapters.store,
            bus=adapters.bus,
            read_store=adapters.read_store,
            handlers=handlers.table(),
            projections=projections(),
            partitions=settings.kafka_partitions,
        )
        self.sender = CommandSender(adapters.bus, self.instance_id, settings.command_timeout_seconds)
        self.launcher = Launcher(self.sender, self._record_failure)
        handlers.book = self.launcher
        self.firing = Firing(adapters.store, self.host.relay, self.states, handlers, self._after_append, self.actor)
        self.loop = FiringLoop(self.firing, self.states, adapters.read_store, self.launcher)
        self.retrier = RunRetrier(adapters.bus, adapters.store, self.states, self.sender)
        self.host.processor.after_append = self._after_append
        self._firing = settings.scheduler_enabled
        self._task: asyncio.Task[None] | None = None

    async def _after_append(self, events: list[EventEnvelope]) -> None:
        self.states.absorb(events)
        self.launcher.submit_events(events)
        if any(e.type in WAKE_TYPES for e in events):
            self.loop.wake()

    async def _record_failure(self, command: RecordTickFailure) -> None:
        reply = await self.host.processor.process(local_envelope(command, self.actor))
        log.warning("scheduled run refused", extra={"run_id": command.run_id, "error": command.error,
                                                    "recorded": reply.ok})

    async def start(self) -> None:
        await self.host.start()
        await self.sender.start()
        self.launcher.start()
        if self._firing:
            await self.retrier.start()
            self._task = asyncio.create_task(self.loop.run(), name="scheduler-firing")
        log.info("scheduler started", extra={"instance_id": self.instance_id, "firing": self._firing})

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.retrier.stop()
        await self.launcher.stop()
        await self.sender.stop()
        await self.host.stop()
