"""Loading an aggregate's state by folding its stream's events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.registry import REGISTRY

from tauro_platform.eventstore.port import EventStore

S = TypeVar("S")


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
