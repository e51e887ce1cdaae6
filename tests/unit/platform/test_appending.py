"""The one write sequence (``runtime.appending.append_decided``): decide, append, decide again on
a lost race, publish what was stored; no writes is a no-op; contention is named."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from tauro_contracts.envelope import EventEnvelope
from tauro_platform.eventstore.port import ConcurrencyError, StreamWrite
from tauro_platform.runtime.appending import Contention, Decided, append_decided


def envelope(stream: str, version: int) -> EventEnvelope:
    return EventEnvelope(event_id=f"e-{stream}-{version}", stream_id=stream, stream_version=version,
                         type="Something", schema_version=1, occurred_at=datetime.now(UTC), data={})


class Store:
    """Loses the first ``conflicts`` appends, then stores."""

    def __init__(self, conflicts: int = 0, error: Exception | None = None) -> None:
        self.conflicts = conflicts
        self.error = error
        self.appends: list[Sequence[StreamWrite]] = []
        self.log: list[str] = []

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        self.appends.append(writes)
        if self.error is not None:
            raise self.error
        if self.conflicts:
            self.conflicts -= 1
            raise ConcurrencyError("lost a race")
        self.log.append("append")
        return [e.model_copy(update={"global_position": i + 1})
                for i, e in enumerate(e for w in writes for e in w.events)]


class Relay:
    def __init__(self, log: list[str]) -> None:
        self.published: list[list[EventEnvelope]] = []
        self.log = log

    async def publish(self, events: list[EventEnvelope]) -> None:
        self.log.append("publish")
        self.published.append(events)


def write(stream: str = "s1", version: int = 3) -> StreamWrite:
    return StreamWrite(stream, version, [envelope(stream, version + 1)])


def parts(conflicts: int = 0, error: Exception | None = None) -> tuple[Store, Any]:
    store = Store(conflicts, error)
    return store, Relay(store.log)


async def test_appends_and_publishes_what_was_stored() -> None:
    store, relay = parts()

    async def decide(attempt: int) -> Decided[str]:
        return Decided([write()], "made")

    done = await append_decided(store, relay, decide)
    assert (done.value, done.attempts, len(store.appends)) == ("made", 1, 1)
    assert [e.global_position for e in done.stored] == [1]
    assert relay.published == [done.stored]


async def test_no_writes_is_a_no_op() -> None:
    store, relay = parts()

    async def decide(attempt: int) -> Decided[str]:
        return Decided([StreamWrite("s1", 3, [])], "nothing to do")

    done = await append_decided(store, relay, decide)
    assert (done.stored, done.value) == ([], "nothing to do")
    assert store.appends == [] and relay.published == []


async def test_a_lost_race_decides_again_with_the_attempt_number_and_backoff() -> None:
    store, relay = parts(conflicts=2)
    seen: list[int] = []
    slept: list[int] = []

    async def decide(attempt: int) -> Decided[int]:
        seen.append(attempt)
        return Decided([write(version=attempt)], attempt)

    def backoff(attempt: int) -> float:
        slept.append(attempt)
        return 0.0

    done = await append_decided(store, relay, decide, backoff=backoff)
    assert seen == [0, 1, 2] and slept == [0, 1]
    assert (done.value, done.attempts) == (2, 3)
    assert [w[0].expected_version for w in store.appends] == [0, 1, 2]
    assert len(relay.published) == 1


async def test_contention_after_every_attempt_publishes_nothing() -> None:
    store, relay = parts(conflicts=100)

    async def decide(attempt: int) -> Decided[None]:
        return Decided([write()], None)

    with pytest.raises(Contention):
        await append_decided(store, relay, decide, attempts=4)
    assert len(store.appends) == 4 and relay.published == []


async def test_other_failures_propagate_unpublished() -> None:
    store, relay = parts(error=ConnectionError("store down"))

    async def decide(attempt: int) -> Decided[None]:
        return Decided([write()], None)

    with pytest.raises(ConnectionError):
        await append_decided(store, relay, decide)
    assert relay.published == []

    class Refused(Exception):
        pass

    async def refuse(attempt: int) -> Decided[None]:
        raise Refused

    store, relay = parts()
    with pytest.raises(Refused):
        await append_decided(store, relay, refuse)
    assert store.appends == []


async def test_on_stored_sees_the_events_before_they_are_published() -> None:
    store, relay = parts()

    async def decide(attempt: int) -> Decided[None]:
        return Decided([write("a"), write("b")], None)

    def observe(events: list[EventEnvelope]) -> None:
        store.log.append(f"observed {len(events)}")

    await append_decided(store, relay, decide, on_stored=observe)
    assert store.log == ["append", "observed 2", "publish"]
