"""The read store port.

Read models are documents in named collections, rebuilt from the event log. Every
document written by a projection carries ``_v``, the version of the stream it was
built from; ``put_versioned`` only replaces a document whose ``_v`` is the one the
projection read, so an event re-applied after a crash or by a second replica changes
nothing (each event is applied exactly once in effect). ``insert_if_absent`` gives
the same guarantee to append-only models keyed by a deterministic id. ``increment`` is
an atomic, expiring counter (not a projection: rate limits keep their counters here so
every gateway replica shares them).

Filters use a small, MongoDB-compatible language: ``{field: value}``, and per field
``$in``, ``$nin``, ``$ne``, ``$gt``, ``$gte``, ``$lt``, ``$lte``, ``$exists``; dotted
names reach into sub-documents. One top-level ``$or: [filter, ...]`` (a non-empty list)
matches when any of its filters does, ANDed with the other fields (keyset paging needs
it: "after this sort key, or at it with a later id"). Both adapters implement exactly this, with MongoDB's
semantics: null matches a missing field, booleans are not numbers, values of different
types never compare, and sorting orders types as MongoDB does (null/missing first).
``find`` breaks ties (and orders unsorted queries) by ``_id``, so pages are stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

Filter = dict[str, Any]
Sort = Sequence[tuple[str, int]]
Doc = dict[str, Any]

OPERATORS = frozenset({"$in", "$nin", "$ne", "$gt", "$gte", "$lt", "$lte", "$exists"})


class ReadStore(Protocol):
    async def get(self, collection: str, doc_id: str) -> Doc | None: ...

    async def find(
        self, collection: str, where: Filter, sort: Sort = (), offset: int = 0, limit: int = 0
    ) -> tuple[list[Doc], int]:
        """A page of matching documents and the total number that match."""
        ...

    async def count_by(self, collection: str, where: Filter, field: str) -> dict[Any, int]:
        """How many matching documents hold each value of ``field`` (``None``: null or missing).
        ``field`` holds scalars: a document or an array there raises ``TypeError``."""
        ...

    async def average(self, collection: str, where: Filter, field: str) -> float | None: ...

    async def put_versioned(self, collection: str, doc: Doc, expected_version: int | None) -> bool:
        """Store ``doc`` (with ``_id`` and ``_v``) if the stored copy is at ``expected_version``
        (``None``: absent). Returns False when another writer got there first."""
        ...

    async def insert_if_absent(self, collection: str, doc: Doc) -> bool: ...

    async def put_many_versioned(self, collection: str, items: Sequence[tuple[Doc, int | None]]) -> list[bool]:
        """``put_versioned`` for many documents (distinct ids) in one round trip; one answer each."""
        ...

    async def insert_many_if_absent(self, collection: str, docs: Sequence[Doc]) -> int:
        """``insert_if_absent`` for many documents in one round trip; returns how many were new."""
        ...

    async def increment(self, collection: str, doc_id: str, field: str, by: int, expires_at: datetime) -> int:
        """Atomically add ``by`` to the integer ``field`` of ``doc_id`` and return the new value.

        A missing document, or one whose ``expires_at`` has passed, counts as 0 and is
        (re)created with this ``expires_at``; an expired document is eventually deleted.
        Concurrent callers, in one process or many, never lose an increment: this is the
        shared counter behind the gateway's rate limits."""
        ...

    async def delete_where(self, collection: str, where: Filter) -> int:
        """Delete the documents matching ``where``; returns how many were deleted. For
        housekeeping of non-projected documents (stale service heartbeats), not projections."""
        ...

    async def checkpoint(self, name: str) -> int: ...

    async def save_checkpoint(self, name: str, position: int) -> None:
        """Never moves a checkpoint backwards."""
        ...

    async def drop(self, collections: Sequence[str], checkpoints: Sequence[str]) -> None:
        """Drop collections and the named projection checkpoints (for a rebuild)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def check_filter(where: Filter) -> None:
    for field, cond in where.items():
        if field == "$or":
            if not isinstance(cond, list | tuple) or not cond or not all(isinstance(b, dict) for b in cond):
                raise ValueError("$or takes a non-empty list of filters")
            for branch in cond:
                check_filter(branch)
            continue
        if field.startswith("$"):
            raise ValueError(f"unsupported top-level operator {field}")
        if isinstance(cond, dict):
            unknown = set(cond) - OPERATORS
            if unknown:
                raise ValueError(f"unsupported operators {sorted(unknown)}")
