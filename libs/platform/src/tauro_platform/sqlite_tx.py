"""One write transaction on an autocommit SQLite connection (``isolation_level=None``), as the
embedded event store and bus open theirs: ``BEGIN IMMEDIATE`` (the write lock at once, so a
reader's snapshot never has to be upgraded), ``COMMIT`` on success, ``ROLLBACK`` on anything."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate_transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    cur = db.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        yield cur
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
