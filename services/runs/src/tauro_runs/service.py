"""Assembling the runs service from adapters: host, handlers, projections, dispatcher,
reaper, and pipeline discovery."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from tauro_contracts import topics
from tauro_contracts.envelope import EventEnvelope
from tauro_platform.adapters import Adapters
from tauro_platform.runtime.commands import local_envelope
from tauro_platform.runtime.host import ServiceHost
from tauro_platform.runtime.projector import Projector
from tauro_platform.settings import Settings

from tauro_runs.api_keys import ApiKeyHandlers, key_projections, register_bootstrap_key
from tauro_runs.discovery import log_skipped, rejection_reason, scan
from tauro_runs.dispatcher import Dispatcher
from tauro_runs.handlers import RunsHandlers
from tauro_runs.metrics import RunMetrics
from tauro_runs.projections import projections
from tauro_runs.reaper import Reaper
from tauro_runs.run_handlers import RunHandlers
from tauro_runs.run_projections import run_projections

log = logging.getLogger("tauro.runs")


PROJECTOR = "runs-projector"


def read_model_projectors(adapters: Adapters) -> list[Projector]:
    """The runs service's projector, as the rebuild command needs it."""
    return [Projector(PROJECTOR, adapters.store, adapters.read_store, [*projections(), *run_projections()])]


class RunsService:
    """The runs service: its command host plus the dispatcher and the reaper."""

    def __init__(self, adapters: Adapters, settings: Settings) -> None:
        self._settings = settings
        self.run_handlers = RunHandlers(adapters.store, adapters.read_store, settings)
        handlers = {
            **RunsHandlers(adapters.store, adapters.read_store).table(),
            **self.run_handlers.table(),
            **ApiKeyHandlers(adapters.store).table(),
        }
        self.host = ServiceHost(
            name="runs",
            command_topic=topics.COMMANDS_RUNS,
            store=adapters.store,
            bus=adapters.bus,
            read_store=adapters.read_store,
            handlers=handlers,
            projections=[*projections(), *run_projections(), *key_projections()],
            partitions=settings.kafka_partitions,
            instance_id=settings.tauro_instance_id,
            heartbeat_seconds=settings.service_heartbeat_seconds,
        )
        self.dispatcher = Dispatcher(
            adapters.store, adapters.read_store, self.host.projector, self.host.relay, settings.max_concurrent_runs
        )
        self.metrics = RunMetrics(adapters.read_store)
        self.host.processor.after_append = self._after_append
        self.reaper = Reaper(self.host.processor, self.dispatcher, adapters.read_store, adapters.store,
                             heartbeat_timeout=settings.executor_lease_seconds)
        self._tasks: list[asyncio.Task[None]] = []

    async def _after_append(self, events: list[EventEnvelope]) -> None:
        await self.run_handlers.after_append(events)
        await self.metrics.after_append(events)
        await self.dispatcher.after_append(events)

    async def start(self) -> None:
        await self.host.start()
        await register_bootstrap_key(self.host, self._settings)
        self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="runs-dispatcher"))
        self._tasks.append(asyncio.create_task(self.reaper.run(), name="runs-reaper"))
        self._tasks.append(asyncio.create_task(self.metrics.run(), name="runs-metrics"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.host.stop()


async def load_pipeline_files(host: ServiceHost, folder: Path | None) -> int:
    """Record the pipelines defined in ``folder``; returns how many files were accepted."""
    if folder is None:
        return 0
    accepted = 0
    found, skipped = scan(folder)
    for item in skipped:
        log_skipped(item.path, item.reason)
    for path, command in found:
        reply = await host.processor.process(local_envelope(command, "system:discovery"))
        if reply.ok:
            accepted += 1
        else:
            log_skipped(path, rejection_reason(reply.error))
    return accepted
