"""The streaming service: Kafka-native stream pipelines (start, status, stop).

It consumes ``tauro.commands.streaming`` in the group ``tauro-streaming`` (a
:class:`ServiceHost`): ``StartStream`` / ``StopStream`` from the gateway, and the
``CompleteStreamStop`` / ``FailStream`` its own replicas issue. Lifecycle changes are
events on ``tauro.events.streams.v1``; ``stream_executions`` is their read model.

Next to the host runs a :class:`StreamSupervisor` that turns RUNNING executions into
consumer-group members on this replica, so every replica of the service shares every
execution's partitions, and a restarted service resumes what was running.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

from tauro_contracts import topics
from tauro_contracts.envelope import EventEnvelope
from tauro_platform.adapters import Adapters
from tauro_platform.runtime.host import ServiceHost
from tauro_platform.settings import Settings

from tauro_streaming.docstore import DocStore, SqliteDocStore
from tauro_streaming.handlers import StreamHandlers
from tauro_streaming.projections import stream_projections
from tauro_streaming.supervisor import StreamSupervisor


class StreamingService:
    def __init__(self, adapters: Adapters, settings: Settings, replica_id: str | None = None) -> None:
        self.replica_id = replica_id or f"stream-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.host = ServiceHost(
            name="streaming",
            command_topic=topics.COMMANDS_STREAMING,
            store=adapters.store,
            bus=adapters.bus,
            read_store=adapters.read_store,
            handlers=StreamHandlers(adapters.store, settings).table(),
            projections=stream_projections(),
            partitions=settings.kafka_partitions,
        )
        self._sqlite: SqliteDocStore | None = None
        docs: DocStore = adapters.read_store
        if settings.tauro_mode == "embedded":
            self._sqlite = SqliteDocStore(settings.tauro_data_dir / "stream_state.db")
            docs = self._sqlite
        self.supervisor = StreamSupervisor(adapters.bus, adapters.read_store, docs, self.host.processor, settings,
                                           self.replica_id)
        self.host.processor.after_append = self._after_append
        self._task: asyncio.Task[None] | None = None

    async def _after_append(self, events: list[EventEnvelope]) -> None:
        self.supervisor.poke()

    async def start(self) -> None:
        await self.host.start()
        self._task = asyncio.create_task(self.supervisor.run(), name="streaming-supervisor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.supervisor.shutdown()
        await self.host.stop()
        if self._sqlite is not None:
            self._sqlite.close()
