"""The read store's ``increment`` contract (atomic, expiring counters), for every adapter.

Rate limits keep their counters here so every gateway replica shares them: increments
from many concurrent callers (and, for MongoDB, many clients) must never be lost, and an
expired counter must start again from zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.readstore.mongo import MongoReadStore
from tauro_platform.readstore.port import ReadStore

C = "counters"


def later(seconds: float = 60) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


class IncrementContract:
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        raise NotImplementedError
        yield

    async def test_counts_from_zero_and_returns_the_new_value(self, store: ReadStore) -> None:
        expires = later()
        assert await store.increment(C, "a", "n", 1, expires) == 1
        assert await store.increment(C, "a", "n", 1, expires) == 2
        assert await store.increment(C, "a", "n", 5, expires) == 7
        assert await store.increment(C, "b", "n", 1, expires) == 1

    async def test_concurrent_increments_are_never_lost(self, store: ReadStore) -> None:
        expires = later()
        values = await asyncio.gather(*(store.increment(C, "hot", "n", 1, expires) for _ in range(50)))
        assert sorted(values) == list(range(1, 51))

    async def test_an_expired_counter_starts_again(self, store: ReadStore) -> None:
        assert await store.increment(C, "w", "n", 3, later(0.3)) == 3
        await asyncio.sleep(0.5)
        assert await store.increment(C, "w", "n", 1, later()) == 1
        assert await store.increment(C, "w", "n", 1, later()) == 2

    async def test_the_first_expiry_holds_until_it_passes(self, store: ReadStore) -> None:
        assert await store.increment(C, "x", "n", 1, later(0.3)) == 1
        assert await store.increment(C, "x", "n", 1, later(3600)) == 2  # does not extend the window
        await asyncio.sleep(0.5)
        assert await store.increment(C, "x", "n", 1, later()) == 1


class TestMemoryIncrement(IncrementContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        store = MemoryReadStore()
        yield store
        await store.close()


@pytest.mark.integration
class TestMongoIncrement(IncrementContract):
    @pytest.fixture
    async def store(self, mongo_url: str, mongo_database: str) -> AsyncIterator[ReadStore]:
        store = MongoReadStore(AsyncMongoClient(mongo_url, tz_aware=True), mongo_database)
        yield store
        await store.close()

    async def test_two_clients_share_one_counter(self, store: ReadStore, mongo_url: str, mongo_database: str) -> None:
        """Two gateway replicas = two clients on one database: their increments add up."""
        other = MongoReadStore(AsyncMongoClient(mongo_url, tz_aware=True), mongo_database)
        try:
            expires = later()
            values = await asyncio.gather(*(s.increment(C, "shared", "n", 1, expires)
                                            for _ in range(20) for s in (store, other)))
            assert sorted(values) == list(range(1, 41))
        finally:
            await other.close()
