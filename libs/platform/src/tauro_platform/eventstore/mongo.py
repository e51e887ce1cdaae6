"""MongoDB event store adapter (PyMongo's async API).

Layout: ``events`` holds one document per event with ``_id`` = global position and a
unique index on (stream_id, stream_version); ``event_counters`` holds the global
position counter; ``stream_heads`` holds each stream's last version (``_id`` = stream
id). An append is one multi-document transaction that reads the heads of its streams
by id, checks their versions, bumps the counter, inserts the events and moves the
heads. Every append writes the counter document, so concurrent appends conflict and
commit one after another, in position order: a reader tailing ``_id > n`` cannot see
position n+2 before n+1. Needs a server with transactions (a replica set, even of one
node).

Appends run in sessions registered with ``WriterSessions`` (``writers.py``): when
appends keep conflicting, the sessions of processes that died with a transaction open
(holding the counter) are killed, so one SIGKILL stalls appends for seconds, not for the
server's 60-second transaction lifetime.

Commands an append names are recorded in ``stream_heads`` too, as ``_id`` = ``"applied-command:"``
+ the command id (no stream id starts so): the lookup of the heads finds them in the same
query, so recognising a re-delivered command costs no round trip of its own.

The heads make a version check one lookup by id however long the stream (a 1-second
schedule's stream grows by 86,400 events a day), on any server: they do not depend on
the server walking the compound index backwards with a limit. A stream written before
heads existed has none; its version is then read from ``events`` once, and its first
append here creates its head.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError
from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.codec import from_record, to_record
from tauro_platform.eventstore.port import ANY_VERSION, AlreadyApplied, ConcurrencyError, StreamWrite, check_writes
from tauro_platform.eventstore.writers import WriterSessions

_COUNTER_ID = "global"
APPLIED_COMMAND = "applied-command:"  # prefix of a command's marker in stream_heads
READ_PAGE = 500  # positions asked for in one read_all query
TRANSACTION_TIME_LIMIT = 60.0  # seconds of transient failures before an append gives up
RETRY_BACKOFF = 0.001  # first retry within 2 ms, doubling up to RETRY_BACKOFF_MAX
RETRY_BACKOFF_MAX = 0.02
BLOCKED_AFTER = 1.0  # seconds of conflicts after which the counter is taken as held by another writer
BLOCKED_BACKOFF_MAX = 0.25  # retries slow down then: a storm of retries is what made the server crawl


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError")


def retry_backoff(attempt: int, blocked_for: float) -> float:
    """The longest wait before retry ``attempt`` (1, 2, ...) of a conflicting transaction:
    doubling from 2 ms to 20 ms while conflicts are ordinary contention, up to 250 ms once
    the append has been blocked for ``BLOCKED_AFTER`` seconds."""
    cap = RETRY_BACKOFF_MAX if blocked_for < BLOCKED_AFTER else BLOCKED_BACKOFF_MAX
    return min(RETRY_BACKOFF * 2 ** min(attempt, 16), cap)


class MongoEventStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        db = client[database]
        self._events = db["events"]
        self._counters = db["event_counters"]
        self._heads = db["stream_heads"]
        self._indexed = False
        self.writers = WriterSessions(client, database)

    async def ensure_indexes(self) -> None:
        if self._indexed:
            return
        await self._events.create_index([("stream_id", ASCENDING), ("stream_version", ASCENDING)], unique=True)
        await self._events.create_index("event_id", unique=True)
        await self._events.create_index("causation_id")
        await self._events.create_index([("published", ASCENDING), ("_id", ASCENDING)])
        await self.writers.ensure_indexes()
        self._indexed = True

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        check_writes(writes, commands)
        if not writes:
            return []
        await self.ensure_indexes()
        async with self.writers.session() as session:
            try:
                return await self._transaction(session, list(writes), [APPLIED_COMMAND + c for c in commands])
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

    async def _transaction(self, session: AsyncClientSession, writes: list[StreamWrite],
                           markers: list[str]) -> list[EventEnvelope]:
        """``_append`` in a transaction, retried while the server calls the failure transient.

        What ``with_transaction`` does, with a shorter backoff: appends from every process
        write the counter document, so they conflict by design, and the driver's backoff
        (up to 500 ms a retry) starved a process that lost a few races in a row behind
        one that kept appending (seen: p99 of 6 s with three appending processes).

        Conflicts that last longer than ``BLOCKED_AFTER`` mean another writer holds the
        counter: retries slow down, and dead writers' transactions are aborted."""
        started = time.monotonic()
        attempt = 0
        while True:
            await session.start_transaction()
            try:
                stored = await self._append(session, writes, markers)
            except BaseException as exc:
                if session.in_transaction:
                    await asyncio.shield(session.abort_transaction())
                blocked_for = time.monotonic() - started
                if _transient(exc) and blocked_for < TRANSACTION_TIME_LIMIT:
                    attempt += 1
                    if blocked_for >= BLOCKED_AFTER:
                        await self.writers.reap_dead()
                    await asyncio.sleep(random.uniform(0, retry_backoff(attempt, blocked_for)))
                    continue
                raise
            if await self._commit(session, started):
                return stored
            attempt += 1

    @staticmethod
    async def _commit(session: AsyncClientSession, started: float) -> bool:
        """Commit; False when the whole transaction must be retried."""
        while True:
            try:
                await session.commit_transaction()
                return True
            except PyMongoError as exc:
                within = time.monotonic() - started < TRANSACTION_TIME_LIMIT
                if within and exc.has_error_label("UnknownTransactionCommitResult"):
                    continue  # the commit may have happened: retrying the commit (not the append) is safe
                if within and exc.has_error_label("TransientTransactionError"):
                    return False
                raise

    async def _append(self, session: AsyncClientSession, writes: list[StreamWrite],
                      markers: list[str]) -> list[EventEnvelope]:
        events: list[EventEnvelope] = []
        heads = await self._head_versions([w.stream_id for w in writes], session, markers)
        for marker in markers:
            if marker in heads:
                raise AlreadyApplied(marker.removeprefix(APPLIED_COMMAND))
        # Upserted with the heads (one update command): the lookup above, in this transaction,
        # saw none of them, and a racing copy conflicts on the counter document below.
        moved = [UpdateOne({"_id": m}, {"$set": {"command": True}}, upsert=True) for m in markers]
        for write in writes:
            current = heads[write.stream_id]
            if write.expected_version not in (ANY_VERSION, current):
                raise ConcurrencyError(f"{write.stream_id}: expected version {write.expected_version}, found {current}")
            for offset, event in enumerate(write.events, start=1):
                if write.expected_version == ANY_VERSION:
                    event = event.model_copy(update={"stream_version": current + offset})
                events.append(event)
            new = current + len(write.events)
            moved.append(UpdateOne({"_id": write.stream_id}, {"$set": {"version": new}}, upsert=True))
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
        await self._heads.bulk_write(moved, ordered=False, session=session)
        return [e.model_copy(update={"global_position": first + i}) for i, e in enumerate(events)]

    async def _head_versions(self, stream_ids: list[str], session: AsyncClientSession | None = None,
                             markers: Sequence[str] = ()) -> dict[str, int]:
        """Each stream's last version: its head, or (a stream from before heads) its events; and
        those of ``markers`` (applied commands) that exist, with version 0."""
        found = {doc["_id"]: int(doc.get("version", 0)) async for doc in
                 self._heads.find({"_id": {"$in": [*stream_ids, *markers]}}, session=session)}
        for stream_id in stream_ids:
            if stream_id not in found:
                found[stream_id] = await self._version(stream_id, session)
        return found

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
        return (await self._head_versions([stream_id]))[stream_id]

    async def read_all(self, after_position: int = 0, limit: int = 500) -> list[EventEnvelope]:
        # Positions are consecutive (the counter moves only in committed appends), so the next
        # ``limit`` events are exactly the next ``limit`` positions. Asking for them by id is a
        # lookup in the ``_id`` index on any server; a range on ``_id`` made SecantusDB scan the
        # whole collection (measured: ~0.9 s a call at 40,000 events, growing with the log).
        if not limit:
            limit = max(0, await self.head_position() - after_position)
        events: list[EventEnvelope] = []
        for start in range(after_position + 1, after_position + limit + 1, READ_PAGE):
            ids = list(range(start, min(start + READ_PAGE, after_position + limit + 1)))
            page = await self._find({"_id": {"$in": ids}})
            events += page
            if len(page) < len(ids):
                break  # the head: nothing is committed after a missing position
        return events

    async def head_position(self) -> int:
        """The counter: it moves only in committed appends, so it is the last position."""
        doc = await self._counters.find_one({"_id": _COUNTER_ID})
        return int(doc["position"]) if doc else 0

    async def caused_by(self, causation_id: str) -> list[EventEnvelope]:
        return await self._find({"causation_id": causation_id})

    async def unpublished(self, older_than_seconds: float, limit: int = 500) -> list[EventEnvelope]:
        cutoff = time.time() - older_than_seconds
        return await self._find({"published": False, "appended_at": {"$lte": cutoff}}, limit=limit)

    async def mark_published(self, positions: Sequence[int]) -> None:
        # By ``_id``: SecantusDB took ~6x longer to update the same documents found by ``event_id``.
        if positions:
            await self._events.update_many({"_id": {"$in": list(positions)}}, {"$set": {"published": True}})

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def close(self) -> None:
        await self.writers.close()
        await self._client.close()
