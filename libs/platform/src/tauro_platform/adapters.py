"""Building the adapters a process uses from its settings: embedded or distributed.

The event store is the adapter behind ``GroupCommit`` (a process has at most one append
in flight, and the appends its tasks request meanwhile go in together: every append
writes the store's position counter, so appends of one process racing each other would
only conflict and retry), seen through ``ObservedEventStore``: each caller's append is
its own span in its own trace, and its latency includes the wait for its group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tauro_contracts import topics

from tauro_platform.bus.port import Bus
from tauro_platform.eventstore.port import EventStore
from tauro_platform.observability.store import ObservedEventStore
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.groupcommit import GroupCommit
from tauro_platform.settings import Settings


@dataclass
class Adapters:
    store: EventStore
    bus: Bus
    read_store: ReadStore

    async def close(self) -> None:
        await self.bus.stop()
        await self.read_store.close()
        await self.store.close()


def mongo_client(settings: Settings) -> Any:
    from pymongo import AsyncMongoClient

    return AsyncMongoClient(
        settings.mongodb_url,
        maxPoolSize=settings.mongodb_pool_size,
        serverSelectionTimeoutMS=settings.mongodb_timeout * 1000,
        tz_aware=True,
    )


async def build_adapters(settings: Settings) -> Adapters:
    """Start the bus and open the stores named by ``TAURO_MODE``."""
    if settings.tauro_mode == "distributed":
        from tauro_platform.bus.kafka import KafkaBus
        from tauro_platform.eventstore.mongo import MongoEventStore
        from tauro_platform.readstore.mongo import MongoReadStore

        store: EventStore
        read_store: ReadStore
        client = mongo_client(settings)
        store = MongoEventStore(client, settings.mongodb_database)
        await store.ensure_indexes()
        if settings.auto_migrate:
            from tauro_platform.migrations import runner

            await runner.up(client[settings.mongodb_database])
        mongo_read_store = MongoReadStore(mongo_client(settings), settings.mongodb_database)
        await mongo_read_store.ensure_indexes()  # idempotent; also after every drop (rebuild)
        read_store = mongo_read_store
        bus: Bus = KafkaBus(settings.kafka_bootstrap_servers, client_id=settings.otel_service_name or "tauro",
                            namespace=settings.tauro_namespace, session_timeout_ms=settings.kafka_session_timeout_ms)
    else:
        from tauro_platform.bus.embedded import EmbeddedBus
        from tauro_platform.eventstore.sqlite import SqliteEventStore
        from tauro_platform.readstore.memory import MemoryReadStore

        store = SqliteEventStore(settings.tauro_data_dir / "events.db")
        read_store = MemoryReadStore()
        bus = EmbeddedBus(settings.tauro_data_dir / "bus.db", settings.kafka_partitions)
    await bus.start()
    await bus.ensure_topics([*topics.COMMAND_TOPICS, *topics.EVENT_TOPICS, topics.REPLIES, topics.DEAD_LETTERS],
                            settings.kafka_partitions)
    observed = ObservedEventStore(GroupCommit(store), "mongodb" if settings.tauro_mode == "distributed" else "sqlite")
    return Adapters(store=observed, bus=bus, read_store=read_store)
