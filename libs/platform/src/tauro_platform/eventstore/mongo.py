"""MongoDB event store adapter (PyMongo's async API).

Layout: ``events`` holds one document per event with ``_id`` = global position and a
unique index on (stream_id, stream_version); ``event_counters`` holds the global
position counter. An append is one multi-document transaction that checks each
stream's version, bumps the counter and inserts the events. Every append writes
the counter document, so concurrent appends conflict and commit one after another,
in position order: a reader tailing ``_id > n`` cannot see position n+2 before n+1.
Needs a server with transactions (a replica set, even of one node).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure
from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.codec import from_record, to_record
from tauro_platform.eventstore.port import ANY_VERSION, ConcurrencyError, StreamWrite, check_writes

_COUNTER_ID = "global"


class MongoEventStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        db = client[database]
        self._events = db["events"]
        self._counters = db["event_counters"]
        self._indexed = False

    async def ensure_indexes(self) -> None:
        if self._indexed:
            return
        await self._events.create_index([("stream_id", ASCENDING), ("stream_version", ASCENDING)], unique=True)
        await self._events.create_index("event_id", unique=True)
        await self._events.create_index("causation_id")
        await self._events.create_index([("published", ASCENDING), ("_id", ASCENDING)])
        self._indexed = True

    async def append(self, writes: Sequence[StreamWrite]) -> list[EventEnvelope]:
        check_writes(writes)
        if not writes:
            return []
        await self.ensure_indexes()
        async with self._client.start_session() as session:
            try:
                return await session.with_transaction(lambda s: self._append(s, list(writes)))
            except DuplicateKeyError as exc:
                raise ConcurrencyError(str(exc)) from exc
            except BulkWriteError as exc:
                # insert_many reports a unique-index violation as a bulk error (code 65).
                if any(e.get("code") == 11000 for e in exc.details.get("writeErrors", ())):
                    raise ConcurrencyError(str(exc)) from exc
                raise
            except OperationFailure as exc:
                if exc.code == 11000:
                    raise ConcurrencyError(str(exc)) from exc
                raise

    async def _append(self, session: AsyncClientSession, writes: list[StreamWrite]) -> list[EventEnvelope]:
        events: list[EventEnvelope] = []
        for write in writes:
            current = await self._version(write.stream_id, session)
            if write.expected_version not in (ANY_VERSION, current):
                raise ConcurrencyError(f"{write.stream_id}: expected version {write.expected_version}, found {current}")
            for offset, event in enumerate(write.events, start=1):
                if write.expected_version == ANY_VERSION:
                    event = event.model_copy(update={"stream_version": current + offset})
                events.append(event)
        counter = await self._counters.find_one_and_update(
            {"_id": _COUNTER_ID},
            {"$inc": {"position": len(events)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None, "upsert returns the document"
        first = int(counter["position"]) - len(events) + 1
        now = time.time()
        docs = [
            {"_id": first + i, **to_record(event), "appended_at": now, "published": False}
            for i, event in enumerate(events)
        ]
        await self._events.insert_many(docs, ordered=True, session=session)
        return [e.model_copy(update={"global_position": first + i}) for i, e in enumerate(events)]

    async def _version(self, stream_id: str, session: AsyncClientSession | None = None) -> int:
        doc = await self._events.find_one(
            {"stream_id": stream_id}, sort=[("stream_version", -1)], projection={"stream_version": 1},
            session=session,
        )
        return int(doc["stream_version"]) if doc else 0

    async def _find(self, query: dict[str, Any], limit: int = 0, sort_key: str = "_id") -> list[EventEnvelope]:
        cursor = self._events.find(query, sort=[(sort_key, ASCENDING)], limit=limit)
        return [from_record(doc, int(doc["_id"])) async for doc in cursor]

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EventEnvelope]:
        return await self._find({"stream_id": stream_id, "stream_version": {"$gt": after_version}})

    async def stream_version(self, stream_id: str) -> int:
        return await self._version(stream_id)

    async def read_all(self, after_position: int = 0, limit: int = 500) -> list[EventEnvelope]:
        # Positions are consecutive (the counter moves only in committed appends), so a bounded
        # range names exactly the next ``limit`` events and the server never sorts the whole tail.
        upper = {"$lte": after_position + limit} if limit else {}
        return await self._find({"_id": {"$gt": after_position, **upper}}, limit=limit)

    async def head_position(self) -> int:
        doc = await self._events.find_one({}, sort=[("_id", -1)], projection={"_id": 1})
        return int(doc["_id"]) if doc else 0

    async def caused_by(self, causation_id: str) -> list[EventEnvelope]:
        return await self._find({"causation_id": causation_id})

    async def unpublished(self, older_than_seconds: float, limit: int = 500) -> list[EventEnvelope]:
        cutoff = time.time() - older_than_seconds
        return await self._find({"published": False, "appended_at": {"$lte": cutoff}}, limit=limit)

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        if event_ids:
            await self._events.update_many({"event_id": {"$in": list(event_ids)}}, {"$set": {"published": True}})

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()
