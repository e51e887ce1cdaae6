"""The event store as every service sees it: each append traced and counted.

``build_adapters`` wraps the configured adapter in ``ObservedEventStore``; only
``append`` is intercepted (a span ``eventstore.append`` under the current one, the
``tauro_events_appended_total{type}`` counter and the append latency); every other
call goes straight to the wrapped store.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.port import ConcurrencyError, EventStore, StreamWrite
from tauro_platform.observability.metrics import APPEND_SECONDS, EVENTS_APPENDED
from tauro_platform.observability.tracing import SpanKind, span

MAX_LISTED_STREAMS = 10


class ObservedEventStore:
    def __init__(self, inner: EventStore, system: str) -> None:
        self.inner = inner
        self.system = system

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        types = sorted({e.type for w in writes for e in w.events})
        attributes = {
            "db.system": self.system,
            "db.operation.name": "append",
            "tauro.event_count": sum(len(w.events) for w in writes),
            "tauro.event_types": types,
            "tauro.streams": [w.stream_id for w in writes][:MAX_LISTED_STREAMS],
        }
        with span("eventstore.append", kind=SpanKind.CLIENT, attributes=attributes) as current:
            started = time.perf_counter()
            try:
                stored = await (self.inner.append(writes, commands=commands) if commands else self.inner.append(writes))
            except ConcurrencyError:
                current.set_attribute("tauro.outcome", "conflict")  # expected under contention, not an error
                raise
            finally:
                APPEND_SECONDS.observe(time.perf_counter() - started)
            if stored:
                current.set_attribute("tauro.first_position", stored[0].global_position or 0)
        for event in stored:
            EVENTS_APPENDED.labels(type=event.type).inc()
        return stored

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
