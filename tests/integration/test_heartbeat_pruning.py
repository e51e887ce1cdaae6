"""Heartbeat documents of service instances gone for a day are deleted by the live writers,
on the real MongoDB-wire server (no TTL monitor relied on) and on the embedded store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from tauro_platform.observability import heartbeat
from tauro_platform.observability.heartbeat import HEARTBEATS, Heartbeat, prune_stale
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.readstore.mongo import MongoReadStore
from tauro_platform.readstore.port import ReadStore
from tauro_platform.timeutil import iso


@pytest.fixture(params=["mongodb", "memory"])
async def store(request: pytest.FixtureRequest, unique_name: str) -> AsyncIterator[ReadStore]:
    if request.param == "memory":
        yield MemoryReadStore()
        return
    mongo_url: str = request.getfixturevalue("mongo_url")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    yield MongoReadStore(client, unique_name)
    await client.drop_database(unique_name)
    await client.close()


async def _seen(store: ReadStore, doc_id: str, ago: timedelta) -> None:
    service, instance = doc_id.split(":")
    doc = {"_id": doc_id, "service": service, "instance_id": instance, "state": "running",
           "last_seen": iso(datetime.now(UTC) - ago), "_v": 1}
    assert await store.put_versioned(HEARTBEATS, doc, None)


async def _ids(store: ReadStore) -> set[str]:
    docs, _ = await store.find(HEARTBEATS, {})
    return {d["_id"] for d in docs}


@pytest.mark.integration
async def test_a_starting_heartbeat_prunes_instances_gone_for_a_day(store: ReadStore) -> None:
    await _seen(store, "runs:gone-2d", timedelta(days=2))
    await _seen(store, "executor:gone-25h", timedelta(hours=25))
    await _seen(store, "runs:quiet-23h", timedelta(hours=23))
    await _seen(store, "scheduler:live", timedelta(seconds=3))
    beat = Heartbeat(store, "gateway", instance_id="me", interval=60)
    await beat.start()
    try:
        assert await _ids(store) == {"runs:quiet-23h", "scheduler:live", "gateway:me"}
    finally:
        await beat.stop()
    doc = await store.get(HEARTBEATS, "gateway:me")
    assert doc is not None and doc["state"] == "stopped"


@pytest.mark.integration
async def test_a_running_heartbeat_prunes_again_when_due(store: ReadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heartbeat, "PRUNE_EVERY_SECONDS", 0.0)
    beat = Heartbeat(store, "runs", instance_id="me", interval=0.05)
    beat.retention = 3600
    await beat.start()
    try:
        await _seen(store, "runs:gone", timedelta(hours=2))  # goes stale after the start's pruning
        await _seen(store, "runs:recent", timedelta(minutes=5))
        for _ in range(200):
            if "runs:gone" not in await _ids(store):
                break
            await asyncio.sleep(0.05)
        assert await _ids(store) == {"runs:recent", "runs:me"}
    finally:
        await beat.stop()


@pytest.mark.integration
async def test_a_pruned_instance_that_comes_back_writes_its_document_again(store: ReadStore) -> None:
    beat = Heartbeat(store, "executor", instance_id="back", interval=60)
    await beat.beat()
    assert await prune_stale(store, older_than=0, now=datetime.now(UTC) + timedelta(days=1)) == 1
    assert await _ids(store) == set()
    await beat.beat()  # its remembered version is gone: it reads again and inserts
    doc = await store.get(HEARTBEATS, "executor:back")
    assert doc is not None and doc["state"] == "running"
