"""Appending sessions with a lease: orphaned transactions of dead processes are aborted at once.

Every append writes the event store's position counter inside a transaction. A process
killed (SIGKILL, OOM, power loss) between its counter update and its commit leaves that
transaction open on the server, and the server keeps its write on the counter until the
transaction's lifetime runs out (``transactionLifetimeLimitSeconds``: 60 s on MongoDB and
on SecantusDB; the latter cannot change it). Meanwhile every other append in every
process conflicts (WriteConflict, code 112) and the whole platform stalls: measured, 60 s
of 100 % failed appends after one SIGKILL.

``WriterSessions`` makes that a few seconds instead. A process appends only through
sessions it registered first in ``event_writers`` (``{_id: writer id, lsids: [...],
heartbeat_at}``) and refreshes the heartbeat every ``HEARTBEAT_SECONDS``. An append that
keeps conflicting calls ``reap_dead``: writers whose heartbeat is older than
``LEASE_SECONDS`` are dead (or frozen), so their sessions are killed (``killSessions``, a
standard MongoDB command: it aborts their open transactions) and their records removed.
Killing the sessions of a writer that was only slow is safe: its transaction is aborted
and its append retried, as after any transient conflict; its next append registers
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

log = logging.getLogger("tauro.eventstore.writers")

HEARTBEAT_SECONDS = 1.0
LEASE_SECONDS = 5.0
REAP_INTERVAL_SECONDS = 1.0  # one look for dead writers a second per process, at most


class WriterSessions:
    """A pool of registered sessions for one process's appends, and the reaping of dead writers'."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str, *,
                 lease_seconds: float = LEASE_SECONDS, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self._client = client
        self._writers = client[database]["event_writers"]
        self.writer_id = uuid.uuid4().hex
        self._lease = lease_seconds
        self._heartbeat_every = heartbeat_seconds
        self._idle: list[AsyncClientSession] = []
        self._lsids: list[Any] = []  # the ids of every session this writer holds
        self._registered = False
        self._heartbeat: asyncio.Task[None] | None = None
        self._last_reap = 0.0
        self.reaped = 0  # sessions of dead writers this process killed (for tests and logs)

    async def ensure_indexes(self) -> None:
        await self._writers.create_index("heartbeat_at")

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncClientSession]:
        """A registered session, for one transaction at a time; back to the pool afterwards."""
        session = self._idle.pop() if self._idle else await self._new_session()
        try:
            yield session
        except asyncio.CancelledError:
            self._lsids.remove(session.session_id)
            await asyncio.shield(session.end_session())  # interrupted mid-operation: not reused
            raise
        self._idle.append(session)

    async def _new_session(self) -> AsyncClientSession:
        session = self._client.start_session()
        self._lsids.append(session.session_id)
        try:
            await self._register()
        except BaseException:
            self._lsids.remove(session.session_id)
            await session.end_session()
            raise
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name="event-writer-heartbeat")
        return session

    async def _register(self) -> None:
        """Write this writer's record: its sessions and a fresh heartbeat (again, if a reaper
        took it for dead and removed it)."""
        now = time.time()
        await self._writers.update_one(
            {"_id": self.writer_id},
            {"$set": {"lsids": list(self._lsids), "heartbeat_at": now}, "$setOnInsert": {"started_at": now}},
            upsert=True,
        )
        self._registered = True

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_every)
            try:
                await self._register()
            except PyMongoError:
                log.warning("event writer heartbeat failed; will retry", exc_info=True)

    async def reap_dead(self) -> int:
        """Kill the sessions of writers whose lease ran out; returns how many were killed.
        Rate-limited to one look per ``REAP_INTERVAL_SECONDS``."""
        now = time.time()
        if now - self._last_reap < REAP_INTERVAL_SECONDS:
            return 0
        self._last_reap = now
        dead = [doc async for doc in self._writers.find(
            {"heartbeat_at": {"$lt": now - self._lease}, "_id": {"$ne": self.writer_id}})]
        killed = 0
        for doc in dead:
            lsids = list(doc.get("lsids") or [])
            if lsids:
                await self._client.admin.command({"killSessions": lsids})
            await self._writers.delete_one({"_id": doc["_id"], "heartbeat_at": doc["heartbeat_at"]})
            killed += len(lsids)
            log.warning("killed the sessions of a dead event writer",
                        extra={"writer_id": doc["_id"], "sessions": len(lsids),
                               "silent_seconds": round(now - float(doc["heartbeat_at"]), 1)})
        self.reaped += killed
        return killed

    async def close(self) -> None:
        """End the sessions and withdraw the registration (a clean shutdown leaves nothing to reap)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        for session in self._idle:
            await session.end_session()
        self._idle.clear()
        self._lsids.clear()
        if self._registered:
            with contextlib.suppress(PyMongoError):
                await self._writers.delete_one({"_id": self.writer_id})
            self._registered = False
