"""Loading an aggregate's state by folding its stream's events.

``load`` folds a whole stream. ``AggregateCache`` keeps the folded states of a process's
recently used streams with the version they reflect and brings one up to date by
reading and folding only the events after that version, so a command on a long stream
(a 40-node run has ~200 events) costs the new events, not the whole stream again.

The store stays the judge: every load reads the stream's tail (an indexed read that
usually returns nothing), so an append by another replica or process is folded in
before anyone decides on the state, and the append's expected-version check still
guards the race between that read and the write. A caller deciding again after such a
lost race asks for a ``fresh`` load (the whole stream), so a cached state can never be
the reason a decision keeps failing (e.g. a store reset under a running process: the
cached version is then ahead of the stream, and the first append conflicts). States
must be immutable (the domain's frozen dataclasses, changed with ``replace``): the
cached object is handed to every caller.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.registry import REGISTRY

from tauro_platform.eventstore.port import EventStore

S = TypeVar("S")
DEFAULT_CACHED_STREAMS = 2_000  # the runs in flight, with room; a miss folds the whole stream


def decode_events(envelopes: Iterable[EventEnvelope]) -> list[Event]:
    events = []
    for envelope in envelopes:
        payload = REGISTRY.decode(envelope.type, envelope.schema_version, envelope.data)
        assert isinstance(payload, Event)
        events.append(payload)
    return events


async def load_events(store: EventStore, stream_id: str) -> list[Event]:
    return decode_events(await store.read_stream(stream_id))


async def load(store: EventStore, stream_id: str, fold: Callable[[Iterable[Event]], S]) -> S:
    return fold(await load_events(store, stream_id))


class AggregateCache:
    """Folded stream states by (stream id, evolve function), least recently used dropped first."""

    def __init__(self, store: EventStore, max_streams: int = DEFAULT_CACHED_STREAMS) -> None:
        self._store = store
        self._max = max_streams
        self._states: OrderedDict[tuple[str, Any], tuple[int, Any]] = OrderedDict()
        self.events_folded = 0  # how many events loads decoded and folded (for benchmarks and tests)

    async def load(self, stream_id: str, initial: S, evolve: Callable[[S, Event], S], *, fresh: bool = False) -> S:
        """The stream's state: the cached one plus the events appended after it (the whole
        stream folded onto ``initial`` when nothing is cached or ``fresh`` is asked for)."""
        key = (stream_id, evolve)
        cached = None if fresh else self._states.get(key)
        version, state = cached if cached is not None else (0, initial)
        tail = await self._store.read_stream(stream_id, after_version=version)
        for event in decode_events(tail):
            state = evolve(state, event)
        self.events_folded += len(tail)
        if tail:
            version = tail[-1].stream_version
        self._remember(key, version, state, overwrite=fresh)
        return state

    def forget(self, stream_id: str) -> None:
        """Drop the stream's cached states (a stream that is done: a finished run gets few
        commands, and the states kept for every finished run would only feed the garbage
        collector's full passes)."""
        for key in [k for k in self._states if k[0] == stream_id]:
            del self._states[key]

    def _remember(self, key: tuple[str, Any], version: int, state: Any, overwrite: bool) -> None:
        known = self._states.get(key)
        if not overwrite and known is not None and known[0] > version:  # a concurrent load saw more; keep it
            self._states.move_to_end(key)
            return
        self._states[key] = (version, state)
        self._states.move_to_end(key)
        while len(self._states) > self._max:
            self._states.popitem(last=False)
