"""Projections: read models built from the event log, each event applied once in effect.

A ``Projector`` tails the store from its checkpoint and hands each event to the
projections that handle its type. Documents carry the stream version they reflect
(``_v``), and writes are conditional on it, so re-applying an event (after a crash
before the checkpoint moved, or by a second replica) changes nothing. Dropping the
collections and the checkpoint and catching up again rebuilds the same state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.registry import REGISTRY

from tauro_platform.eventstore.port import EventStore
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.waiting import wait_event

log = logging.getLogger("tauro.projector")
READ_BATCH = 500  # events read from the store at once; a shorter batch ends a catch-up (no empty read after it)


class Projection(Protocol):
    types: frozenset[str]
    collections: tuple[str, ...]

    async def apply(self, event: EventEnvelope, payload: Event, store: ReadStore) -> None: ...


Evolve = Callable[[Doc | None, Any, EventEnvelope], Doc | None]


class StreamDocProjection:
    """One document per stream, computed by a pure ``evolve(doc, payload, envelope)``."""

    def __init__(self, collection: str, types: Iterable[str], evolve: Evolve) -> None:
        self.collection = collection
        self.collections: tuple[str, ...] = (collection,)
        self.types = frozenset(types)
        self._evolve = evolve

    async def apply(self, event: EventEnvelope, payload: Event, store: ReadStore) -> None:
        await self._apply_stream(event.stream_id, [(event, payload)], store)

    async def apply_batch(self, items: list[tuple[EventEnvelope, Event]], store: ReadStore) -> None:
        """Fold each stream's events of the batch into its document: one read of all the batch's
        documents, one write of all of them; a document another writer changed meanwhile is redone alone."""
        by_stream: dict[str, list[tuple[EventEnvelope, Event]]] = {}
        for event, payload in items:
            by_stream.setdefault(event.stream_id, []).append((event, payload))
        found, _ = await store.find(self.collection, {"_id": {"$in": list(by_stream)}})
        current = {doc["_id"]: doc for doc in found}
        writes: list[tuple[Doc, int | None]] = []
        for stream_id, events in by_stream.items():
            doc = current.get(stream_id)
            new = self._fold(doc, stream_id, events)
            if new is not None and new is not doc:
                writes.append((new, doc["_v"] if doc else None))
        results = await store.put_many_versioned(self.collection, writes)
        for (new, _), written in zip(writes, results, strict=True):
            if not written:
                await self._apply_stream(new["_id"], by_stream[new["_id"]], store)

    def _fold(self, doc: Doc | None, stream_id: str, events: list[tuple[EventEnvelope, Event]]) -> Doc | None:
        new = doc
        for event, payload in events:
            if new is not None and new["_v"] >= event.stream_version:
                continue
            evolved = self._evolve(new, payload, event)
            if evolved is not None:
                new = {**evolved, "_id": stream_id, "_v": event.stream_version}
        return new

    async def _apply_stream(self, stream_id: str, events: list[tuple[EventEnvelope, Event]], store: ReadStore) -> None:
        for _ in range(20):
            doc = await store.get(self.collection, stream_id)
            new = self._fold(doc, stream_id, events)
            if new is doc or new is None:
                return
            if await store.put_versioned(self.collection, new, doc["_v"] if doc else None):
                return
        raise RuntimeError(f"could not apply events to {self.collection}/{stream_id}")


class Projector:
    def __init__(self, name: str, store: EventStore, read_store: ReadStore, projections: Iterable[Projection]) -> None:
        self.name = name
        self._store = store
        self._read_store = read_store
        self._projections = list(projections)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.position = 0

    @property
    def collections(self) -> list[str]:
        return [c for p in self._projections for c in p.collections]

    async def catch_up(self, until: int | None = None) -> int:
        """Apply every event after the checkpoint; returns the new position. With ``until``,
        return at once if this projector already applied that position (a command waiting
        for its own events, when another caller's catch-up took them in meanwhile)."""
        async with self._lock:
            if until is not None and self.position >= until:
                return self.position
            position = await self._read_store.checkpoint(self.name)
            while True:
                batch = await self._store.read_all(position, READ_BATCH)
                if not batch:
                    break
                await self._apply(batch)
                position = batch[-1].global_position or position
                await self._read_store.save_checkpoint(self.name, position)
                self.position = position
                if len(batch) < READ_BATCH:
                    break  # the head when it was read: everything committed before this call is in
            self.position = position
            return position

    async def _apply(self, batch: list[EventEnvelope]) -> None:
        """Hand each projection its events of the batch, in log order (as a batch where it can)."""
        payloads: dict[str, Event] = {}
        for projection in self._projections:
            items = []
            for event in batch:
                if event.type in projection.types:
                    if event.event_id not in payloads:
                        payload = REGISTRY.decode(event.type, event.schema_version, event.data)
                        assert isinstance(payload, Event)
                        payloads[event.event_id] = payload
                    items.append((event, payloads[event.event_id]))
            if not items:
                continue
            apply_batch = getattr(projection, "apply_batch", None)
            if apply_batch is not None:
                await apply_batch(items, self._read_store)
            else:
                for event, payload in items:
                    await projection.apply(event, payload, self._read_store)

    async def rebuild(self) -> int:
        await self._read_store.drop(self.collections, [self.name])
        return await self.catch_up()

    def poke(self) -> None:
        """Have :meth:`run` catch up now instead of at its next interval."""
        self._wake.set()

    async def run(self, interval: float = 0.25) -> None:
        while True:
            self._wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projection failed; retrying", extra={"projector": self.name})
                await asyncio.sleep(1.0)
            await wait_event(self._wake, interval)
