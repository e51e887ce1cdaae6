"""MongoDB read store adapter: one collection per read model, plus ``_checkpoints``.

Each read model's indexes (``readstore/indexes.py``) are ensured by ``ensure_indexes``
(``build_adapters`` calls it when a process starts) and again after ``drop``, so a
rebuilt read model is as fast to query as before."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, ReplaceOne, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from tauro_platform.readstore import indexes
from tauro_platform.readstore.port import Doc, Filter, Sort, check_filter

_CHECKPOINTS = "_checkpoints"
log = logging.getLogger("tauro.readstore")


class MongoReadStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str, prefix: str = "rm_") -> None:
        self._client = client
        self._db = client[database]
        self._prefix = prefix
        self._ttl_indexed: set[str] = set()

    def _coll(self, name: str) -> AsyncCollection[dict[str, Any]]:
        return self._db[self._prefix + name]

    async def ensure_indexes(self, collections: Sequence[str] | None = None) -> list[str]:
        """Create the declared read-model indexes that are missing (idempotent); the names created."""
        return await indexes.ensure_indexes(self._db, self._prefix, collections)

    async def get(self, collection: str, doc_id: str) -> Doc | None:
        return await self._coll(collection).find_one({"_id": doc_id})

    async def find(
        self, collection: str, where: Filter, sort: Sort = (), offset: int = 0, limit: int = 0
    ) -> tuple[list[Doc], int]:
        check_filter(where)
        coll = self._coll(collection)
        keys = list(sort)
        if "_id" not in (field for field, _ in keys):
            keys.append(("_id", 1))  # ties in a stable order, so pages neither repeat nor skip
        cursor = coll.find(where, sort=keys, skip=offset, limit=limit)
        docs = [doc async for doc in cursor]
        return docs, await coll.count_documents(where)

    async def count_by(self, collection: str, where: Filter, field: str) -> dict[Any, int]:
        check_filter(where)
        pipeline = [{"$match": where}, {"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]
        return {row["_id"]: row["n"] async for row in await self._coll(collection).aggregate(pipeline)}

    async def average(self, collection: str, where: Filter, field: str) -> float | None:
        check_filter(where)
        numeric = {field: {"$type": "number"}}
        # $and keeps a condition that ``where`` itself has on ``field``.
        match: dict[str, Any] = {"$and": [where, numeric]} if where else numeric
        pipeline: list[dict[str, Any]] = [{"$match": match}, {"$group": {"_id": None, "avg": {"$avg": f"${field}"}}}]
        rows = [row async for row in await self._coll(collection).aggregate(pipeline)]
        return float(rows[0]["avg"]) if rows and rows[0]["avg"] is not None else None

    async def put_versioned(self, collection: str, doc: Doc, expected_version: int | None) -> bool:
        coll = self._coll(collection)
        if expected_version is None:
            try:
                await coll.insert_one(doc)
                return True
            except DuplicateKeyError:
                return False
        result = await coll.replace_one({"_id": doc["_id"], "_v": expected_version}, doc)
        return result.matched_count == 1

    async def insert_if_absent(self, collection: str, doc: Doc) -> bool:
        try:
            await self._coll(collection).insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def put_many_versioned(self, collection: str, items: Sequence[tuple[Doc, int | None]]) -> list[bool]:
        if not items:
            return []
        inserts = [doc for doc, expected in items if expected is None]
        replaces = [
            ReplaceOne({"_id": doc["_id"], "_v": expected}, doc) for doc, expected in items if expected is not None
        ]
        written = 0
        if inserts:
            written += await self._insert_many(collection, inserts)
        if replaces:
            written += (await self._coll(collection).bulk_write(replaces, ordered=False)).matched_count
        if written == len(items):  # every filter matched (ids are distinct in a batch): all written
            return [True] * len(items)
        # Which writes won: the stored document is the one written. Not just its version: another
        # writer (a replica projecting the same events) may have stored that version from another
        # base, and a writer told it won would go on from its own copy (a lost update).
        stored = {d["_id"]: d async for d in self._coll(collection).find(
            {"_id": {"$in": [doc["_id"] for doc, _ in items]}})}
        return [stored.get(doc["_id"]) == doc for doc, _ in items]

    async def insert_many_if_absent(self, collection: str, docs: Sequence[Doc]) -> int:
        return await self._insert_many(collection, docs) if docs else 0

    async def _insert_many(self, collection: str, docs: Sequence[Doc]) -> int:
        """Insert, skipping ids that exist; the number inserted."""
        try:
            result = await self._coll(collection).insert_many(list(docs), ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            return int(exc.details.get("nInserted", len(docs) - len(errors)))

    async def increment(self, collection: str, doc_id: str, field: str, by: int, expires_at: datetime) -> int:
        coll = self._coll(collection)
        await self._ensure_ttl(collection)
        for _ in range(10):
            now = datetime.now(UTC)
            live = await coll.find_one_and_update(
                {"_id": doc_id, "expires_at": {"$gt": now}}, {"$inc": {field: by}}, return_document=ReturnDocument.AFTER
            )
            if live is not None:
                return int(live[field])
            try:
                await coll.insert_one({"_id": doc_id, field: by, "expires_at": expires_at})
                return by
            except DuplicateKeyError:  # an expired counter still there (TTL deletion lags), or a racer's
                pass
            reset = await coll.find_one_and_update(
                {"_id": doc_id, "expires_at": {"$lte": now}}, {"$set": {field: by, "expires_at": expires_at}}
            )
            if reset is not None:
                return by
        raise RuntimeError(f"could not increment {collection}/{doc_id}")

    async def _ensure_ttl(self, collection: str) -> None:
        """A TTL index deletes expired counters (correctness does not depend on it)."""
        if collection in self._ttl_indexed:
            return
        self._ttl_indexed.add(collection)
        try:
            await self._coll(collection).create_index([("expires_at", 1)], expireAfterSeconds=0)
        except OperationFailure as exc:
            log.warning("no TTL index for expiring counters", extra={"collection": collection, "error": str(exc)})

    async def delete_where(self, collection: str, where: Filter) -> int:
        check_filter(where)
        result = await self._coll(collection).delete_many(where)
        return int(result.deleted_count)

    async def checkpoint(self, name: str) -> int:
        doc = await self._db[_CHECKPOINTS].find_one({"_id": name})
        return int(doc["position"]) if doc else 0

    async def save_checkpoint(self, name: str, position: int) -> None:
        await self._db[_CHECKPOINTS].update_one({"_id": name}, {"$max": {"position": position}}, upsert=True)

    async def drop(self, collections: Sequence[str], checkpoints: Sequence[str]) -> None:
        """Drop the collections (their indexes go with them) and create their declared indexes
        again at once, before a rebuild refills them."""
        for name in collections:
            await self._coll(name).drop()
            self._ttl_indexed.discard(name)
        if checkpoints:
            await self._db[_CHECKPOINTS].delete_many({"_id": {"$in": list(checkpoints)}})
        if collections:
            await self.ensure_indexes(collections)

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()
