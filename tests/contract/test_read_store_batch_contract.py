"""Contract of the read store's batch writes (``put_many_versioned``, ``insert_many_if_absent``),
run against every adapter: the same answers as the one-at-a-time operations."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.readstore.mongo import MongoReadStore
from tauro_platform.readstore.port import ReadStore

C = "batch"


class BatchContract:
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        raise NotImplementedError
        yield  # pragma: no cover

    async def test_put_many_versioned_answers_per_document(self, store: ReadStore) -> None:
        assert await store.put_versioned(C, {"_id": "a", "_v": 1, "x": 1}, None)
        assert await store.put_versioned(C, {"_id": "b", "_v": 3, "x": 1}, None)
        results = await store.put_many_versioned(C, [
            ({"_id": "a", "_v": 2, "x": 2}, 1),     # right expected version: written
            ({"_id": "b", "_v": 4, "x": 2}, 2),     # stale expectation: refused
            ({"_id": "c", "_v": 1, "x": 2}, None),  # new: written
            ({"_id": "a2", "_v": 1, "x": 2}, 5),    # expects a document that does not exist: refused
        ])
        assert results == [True, False, True, False]
        docs, total = await store.find(C, {}, [("_id", 1)])
        assert total == 3
        assert {d["_id"]: (d["_v"], d["x"]) for d in docs} == {"a": (2, 2), "b": (3, 1), "c": (1, 2)}
        assert await store.put_many_versioned(C, []) == []

    async def test_put_many_versioned_refuses_an_existing_id_expected_absent(self, store: ReadStore) -> None:
        assert await store.put_versioned(C, {"_id": "a", "_v": 1, "x": 1}, None)
        assert await store.put_many_versioned(C, [({"_id": "a", "_v": 7, "x": 9}, None)]) == [False]
        assert (await store.get(C, "a")) == {"_id": "a", "_v": 1, "x": 1}

    async def test_put_many_versioned_refuses_a_write_another_writer_made_at_the_same_version(
        self, store: ReadStore,
    ) -> None:
        """Two replicas project the same events: the one that lost must be told so, even though the
        stored document carries the version it meant to write (it would go on from its own copy)."""
        assert await store.put_versioned(C, {"_id": "a", "_v": 1, "x": 1}, None)
        assert await store.put_versioned(C, {"_id": "b", "_v": 1, "x": 1}, None)
        assert await store.put_versioned(C, {"_id": "a", "_v": 2, "x": "theirs"}, 1)
        results = await store.put_many_versioned(C, [({"_id": "a", "_v": 2, "x": "mine"}, 1),
                                                     ({"_id": "b", "_v": 2, "x": "mine"}, 1)])
        assert results == [False, True]
        assert (await store.get(C, "a")) == {"_id": "a", "_v": 2, "x": "theirs"}

    async def test_insert_many_if_absent_counts_new_documents(self, store: ReadStore) -> None:
        assert await store.insert_if_absent(C, {"_id": "1", "v": "old"})
        inserted = await store.insert_many_if_absent(C, [{"_id": str(i), "v": "new"} for i in range(5)])
        assert inserted == 4
        assert (await store.get(C, "1"))["v"] == "old"  # type: ignore[index]
        assert await store.insert_many_if_absent(C, [{"_id": str(i), "v": "again"} for i in range(5)]) == 0
        assert await store.insert_many_if_absent(C, []) == 0
        assert (await store.find(C, {}))[1] == 5


class TestMemoryBatch(BatchContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        yield MemoryReadStore()


@pytest.mark.integration
class TestMongoBatch(BatchContract):
    @pytest.fixture
    async def store(self, mongo_url: str, unique_name: str) -> AsyncIterator[ReadStore]:
        client: AsyncMongoClient = AsyncMongoClient(mongo_url)  # type: ignore[type-arg]
        yield MongoReadStore(client, unique_name)
        await client.drop_database(unique_name)
        await client.close()
