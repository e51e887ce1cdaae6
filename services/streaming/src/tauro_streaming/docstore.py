"""Where window snapshots are kept: the read store (MongoDB) or, embedded, a SQLite file.

The embedded read store lives in memory and is rebuilt from the event log at start-up,
but window state is not derived from events, so the embedded mode keeps it in
``<TAURO_DATA_DIR>/stream_state.db`` instead; the distributed mode uses the read store.
Both give ``get`` and a versioned ``put`` with the read store's semantics.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Protocol

from tauro_platform.readstore.port import Doc

_SCHEMA = """CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (collection, id))"""


class DocStore(Protocol):
    async def get(self, collection: str, doc_id: str) -> Doc | None: ...

    async def put_versioned(self, collection: str, doc: Doc, expected_version: int | None) -> bool: ...


class SqliteDocStore:
    """Versioned JSON documents in one SQLite file (the embedded mode's window snapshots)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = asyncio.Lock()

    async def get(self, collection: str, doc_id: str) -> Doc | None:
        row = self._db.execute("SELECT body FROM docs WHERE collection = ? AND id = ?",
                               (collection, doc_id)).fetchone()
        return json.loads(row[0]) if row else None

    async def put_versioned(self, collection: str, doc: Doc, expected_version: int | None) -> bool:
        body, version = json.dumps(doc), int(doc["_v"])
        async with self._lock:
            if expected_version is None:
                cursor = self._db.execute("INSERT OR IGNORE INTO docs VALUES (?, ?, ?, ?)",
                                          (collection, doc["_id"], version, body))
            else:
                cursor = self._db.execute(
                    "UPDATE docs SET version = ?, body = ? WHERE collection = ? AND id = ? AND version = ?",
                    (version, body, collection, doc["_id"], expected_version),
                )
            return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()
