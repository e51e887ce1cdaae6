"""``StreamDocProjection(remember=...)``: a batch is folded onto the documents the projection
last wrote without reading them again, and a document another writer moved on meanwhile
fails the versioned write and is read and redone (the same document as without memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tauro_contracts.envelope import EventEnvelope
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.readstore.port import Doc
from tauro_platform.runtime.projector import StreamDocProjection


class CountingReads(MemoryReadStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def find(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return await super().find(*args, **kwargs)

    async def get(self, collection: str, doc_id: str) -> Doc | None:
        self.reads += 1
        return await super().get(collection, doc_id)


def counted(doc: Doc | None, payload: Any, env: EventEnvelope) -> Doc | None:
    seen = [*(doc or {}).get("seen", []), env.stream_version]  # a new list: the given doc is not changed
    return {"n": len(seen), "seen": seen}


def item(stream: str, version: int) -> tuple[EventEnvelope, Any]:
    env = EventEnvelope(event_id=f"{stream}-{version}", stream_id=stream, stream_version=version, type="T",
                        occurred_at=datetime.now(UTC), data={})
    return env, None


async def project(projection: StreamDocProjection, store: MemoryReadStore, *items: tuple[str, int]) -> None:
    await projection.apply_batch([item(s, v) for s, v in items], store)


async def test_remembered_documents_are_not_read_again_and_others_changes_are_redone() -> None:
    store = CountingReads()
    projection = StreamDocProjection("things", {"T"}, counted, remember=10)
    await project(projection, store, ("a", 1), ("b", 1))
    reads = store.reads
    await project(projection, store, ("a", 2), ("b", 2), ("a", 3))
    assert store.reads == reads  # folded onto what it wrote
    assert (await store.get("things", "a")) == {"_id": "a", "_v": 3, "n": 3, "seen": [1, 2, 3]}

    # another writer (a replica) applied b's next event: the remembered b is stale
    await store.put_versioned("things", {"_id": "b", "_v": 3, "n": 3, "seen": [1, 2, 3]}, 2)
    await project(projection, store, ("b", 3), ("b", 4))
    assert (await store.get("things", "b")) == {"_id": "b", "_v": 4, "n": 4, "seen": [1, 2, 3, 4]}


async def test_without_memory_every_batch_reads_its_documents() -> None:
    store = CountingReads()
    projection = StreamDocProjection("things", {"T"}, counted)
    await project(projection, store, ("a", 1))
    reads = store.reads
    await project(projection, store, ("a", 2))
    assert store.reads > reads
    assert (await store.get("things", "a")) == {"_id": "a", "_v": 2, "n": 2, "seen": [1, 2]}


async def test_least_recently_written_documents_are_forgotten_first() -> None:
    store = CountingReads()
    projection = StreamDocProjection("things", {"T"}, counted, remember=2)
    await project(projection, store, ("a", 1), ("b", 1), ("c", 1))
    reads = store.reads
    await project(projection, store, ("b", 2), ("c", 2))
    assert store.reads == reads
    await project(projection, store, ("a", 2))
    assert store.reads == reads + 1
    projection.forget()
    await project(projection, store, ("b", 3))
    assert store.reads == reads + 2
