"""Embedded event store adapter: one SQLite file (WAL), for ``make run``.

SQLite serialises writers, so global positions (the rowid) become visible in order.
Writes run in a worker thread, one at a time, so the event loop never waits on the disk's
sync. Reads run on the event loop on a connection of their own: in WAL mode a reader never
waits for the writer and sees every committed append, and a read of hot pages (what the
platform reads: the tail of the log, one stream) takes less than the hop to a thread. An
in-memory database has one connection, so its reads queue with the writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.codec import dumps, from_record, to_record
from tauro_platform.eventstore.port import ANY_VERSION, AlreadyApplied, ConcurrencyError, StreamWrite, check_writes
from tauro_platform.sqlite_tx import immediate_transaction

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    stream_version INTEGER NOT NULL,
    causation_id TEXT,
    record TEXT NOT NULL,
    appended_at REAL NOT NULL,
    published INTEGER NOT NULL DEFAULT 0,
    UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_causation ON events (causation_id);
CREATE INDEX IF NOT EXISTS events_unpublished ON events (published, position);
CREATE TABLE IF NOT EXISTS applied_commands (command_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""


class SqliteEventStore:
    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = asyncio.Lock()
        self._reader: sqlite3.Connection | None = None
        if str(path) != ":memory:":
            self._reader = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)``: at once on the reader connection, or queued with the writes."""
        if self._reader is not None:
            return fn(self._reader, *args)
        return await self._run(fn, self._db, *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # The worker thread keeps using the connection after a cancel: hold the
                # lock until it is done, or the next call would run inside its transaction.
                while not work.done():
                    try:
                        await asyncio.wait([work])
                    except asyncio.CancelledError:
                        continue
                if not work.cancelled():
                    work.exception()  # the caller is gone; its outcome is dropped, not reported
                raise

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        check_writes(writes, commands)
        return await self._run(self._append, list(writes), list(commands))

    def _append(self, writes: list[StreamWrite], commands: list[str]) -> list[EventEnvelope]:
        stored: list[EventEnvelope] = []
        with immediate_transaction(self._db) as cur:
            for command_id in commands:
                try:
                    cur.execute("INSERT INTO applied_commands (command_id) VALUES (?)", (command_id,))
                except sqlite3.IntegrityError:
                    raise AlreadyApplied(command_id) from None
            now = time.time()
            for write in writes:
                current = self._version(self._db, write.stream_id)
                if write.expected_version not in (ANY_VERSION, current):
                    raise ConcurrencyError(
                        f"{write.stream_id}: expected version {write.expected_version}, found {current}"
                    )
                for offset, event in enumerate(write.events, start=1):
                    if write.expected_version == ANY_VERSION:
                        event = event.model_copy(update={"stream_version": current + offset})
                    record = to_record(event)
                    try:
                        cur.execute(
                            "INSERT INTO events (event_id, stream_id, stream_version, causation_id, record,"
                            " appended_at) VALUES (?, ?, ?, ?, ?, ?)",
                            (event.event_id, event.stream_id, event.stream_version, event.causation_id,
                             dumps(record), now),
                        )
                    except sqlite3.IntegrityError as exc:
                        raise ConcurrencyError(str(exc)) from exc
                    stored.append(event.model_copy(update={"global_position": cur.lastrowid}))
        return stored

    @staticmethod
    def _version(db: sqlite3.Connection, stream_id: str) -> int:
        row = db.execute("SELECT MAX(stream_version) FROM events WHERE stream_id = ?", (stream_id,)).fetchone()
        return int(row[0] or 0)

    @staticmethod
    def _select(db: sqlite3.Connection, where: str, args: tuple[Any, ...], limit: int | None = None
                ) -> list[EventEnvelope]:
        sql = f"SELECT position, record FROM events WHERE {where} ORDER BY position"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = db.execute(sql, args).fetchall()
        return [from_record(json.loads(record), position) for position, record in rows]

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EventEnvelope]:
        return await self._read(self._select, "stream_id = ? AND stream_version > ?", (stream_id, after_version))

    async def stream_version(self, stream_id: str) -> int:
        return await self._read(self._version, stream_id)

    async def read_all(self, after_position: int = 0, limit: int = 500) -> list[EventEnvelope]:
        return await self._read(self._select, "position > ?", (after_position,), limit)

    async def head_position(self) -> int:
        row = await self._read(lambda db: db.execute("SELECT MAX(position) FROM events").fetchone())
        return int(row[0] or 0)

    async def caused_by(self, causation_id: str) -> list[EventEnvelope]:
        return await self._read(self._select, "causation_id = ?", (causation_id,))

    async def unpublished(self, older_than_seconds: float, limit: int = 500) -> list[EventEnvelope]:
        cutoff = time.time() - older_than_seconds
        return await self._read(self._select, "published = 0 AND appended_at <= ?", (cutoff,), limit)

    async def mark_published(self, positions: Sequence[int]) -> None:
        rows = [(p,) for p in positions]

        def mark() -> None:  # one transaction (one sync to disk), not one per row
            with immediate_transaction(self._db) as cur:
                cur.executemany("UPDATE events SET published = 1 WHERE position = ?", rows)

        if rows:
            await self._run(mark)

    async def ping(self) -> None:
        await self._run(lambda: self._db.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        async with self._lock:
            self._db.close()
            if self._reader is not None:
                self._reader.close()
