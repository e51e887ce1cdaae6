"""Read-model rebuild: drop the read models and replay the event log, with content hashes.

Rebuilding while the system runs is safe: writes are conditional on each document's
stream version, so the live projector and the rebuild converge on the same documents.
Comparing the hashes before and after is meaningful when no events arrive meanwhile.
Dropping a read model drops its indexes; the MongoDB read store creates the declared ones
again as part of ``drop`` (``readstore/indexes.py``), before the replay refills it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tauro_platform.eventstore.port import EventStore
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.projector import Projector

PAGE = 1000


async def read_model_hash(read_store: ReadStore, collections: Sequence[str]) -> str:
    """SHA-256 over every document of ``collections``, in id order, as canonical JSON."""
    digest = hashlib.sha256()
    for collection in sorted(collections):
        digest.update(f"#{collection}\n".encode())
        after: str | None = None
        while True:  # keyset paging: each page starts after the last id, no server-side skip
            where = {"_id": {"$gt": after}} if after is not None else {}
            docs, _ = await read_store.find(collection, where, [("_id", 1)], 0, PAGE)
            for doc in docs:
                digest.update(json.dumps(doc, sort_keys=True, default=str, separators=(",", ":")).encode())
                digest.update(b"\n")
            if len(docs) < PAGE:
                break
            after = docs[-1]["_id"]
    return digest.hexdigest()


@dataclass(frozen=True)
class RebuildReport:
    events: int
    seconds: float
    hash_before: str
    hash_after: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def identical(self) -> bool:
        return self.hash_before == self.hash_after


async def rebuild(store: EventStore, read_store: ReadStore, projectors: Sequence[Projector]) -> RebuildReport:
    collections = [c for p in projectors for c in p.collections]
    before = await read_model_hash(read_store, collections)
    head = await store.head_position()
    started = time.perf_counter()
    for projector in projectors:
        await projector.rebuild()
    seconds = time.perf_counter() - started
    after = await read_model_hash(read_store, collections)
    return RebuildReport(head, seconds, before, after)
