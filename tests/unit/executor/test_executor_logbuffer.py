"""The attempt's log buffer: lines become ``TaskLogged`` events on the run's log stream; at the
end of an attempt, the few lines not written yet are handed back to go with its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.runs import log_stream
from tauro_executor.logbuffer import MAX_BATCH, LogBuffer
from tauro_platform.eventstore.port import StreamWrite


class Store:
    def __init__(self) -> None:
        self.appended: list[EventEnvelope] = []

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        events = [e for w in writes for e in w.events]
        self.appended.extend(events)
        return events

    def messages(self) -> list[str]:
        return [line["message"] for e in self.appended for line in e.data["lines"]]


class Relay:
    def __init__(self) -> None:
        self.published: list[EventEnvelope] = []

    async def publish(self, events: list[EventEnvelope]) -> None:
        self.published.extend(events)


def buffer(store: Store, relay: Relay) -> LogBuffer:
    logs = LogBuffer(store, relay, "run_1", "a", 1, actor="executor:x")  # type: ignore[arg-type]
    logs.start()
    return logs


async def test_close_writes_every_pending_line() -> None:
    store, relay = Store(), Relay()
    logs = buffer(store, relay)
    await logs.add("INFO", "one")
    await logs.add("warning", "two")
    await logs.close()
    assert store.messages() == ["one", "two"]
    assert [e.stream_id for e in store.appended] == [log_stream("run_1")]
    assert relay.published == store.appended
    assert [line["level"] for line in store.appended[0].data["lines"]] == ["INFO", "WARNING"]


async def test_close_keeping_hands_back_a_few_lines_and_writes_nothing() -> None:
    store, relay = Store(), Relay()
    logs = buffer(store, relay)
    await logs.add("INFO", "started")
    await logs.add("ERROR", "failed")
    kept = await logs.close_keeping(max_chars=1000)
    assert [(line.level, line.message, line.node_id, line.attempt) for line in kept] == [
        ("INFO", "started", "a", 1), ("ERROR", "failed", "a", 1)]
    assert store.appended == [] and relay.published == []
    await logs.write(kept)  # what the executor does when the outcome was refused
    assert store.messages() == ["started", "failed"]


async def test_close_keeping_writes_lines_too_long_to_go_with_the_outcome() -> None:
    store, relay = Store(), Relay()
    logs = buffer(store, relay)
    await logs.add("INFO", "x" * 600)
    await logs.add("INFO", "y" * 600)
    assert await logs.close_keeping(max_chars=1000) == []
    assert store.messages() == ["x" * 600, "y" * 600]


async def test_close_keeping_hands_back_only_what_was_not_written() -> None:
    store, relay = Store(), Relay()
    logs = buffer(store, relay)
    for i in range(MAX_BATCH):  # a full batch wakes the flusher
        await logs.add("INFO", f"line {i}")
    for _ in range(500):
        if store.appended:
            break
        await asyncio.sleep(0.01)
    await logs.add("INFO", "the last")
    kept = await logs.close_keeping(max_chars=10_000)
    assert [line.message for line in kept] == ["the last"]
    assert store.messages() == [f"line {i}" for i in range(MAX_BATCH)]


@pytest.mark.parametrize("yields", [0, 1, 2, 5])
async def test_lines_are_written_when_close_keeping_is_cancelled(yields: int) -> None:
    """Cancelled while it waits for the buffer's task, nobody will take the lines: they are
    written anyway, whether that task already ended or not (``yields`` moves the moment)."""
    store, relay = Store(), Relay()
    logs = buffer(store, relay)
    await asyncio.sleep(0)  # the flusher waits for lines
    await logs.add("INFO", "first")
    await logs.add("INFO", "the last")
    closing = asyncio.create_task(logs.close_keeping(max_chars=10_000))
    for _ in range(yields):
        await asyncio.sleep(0)
    closing.cancel()
    kept = (await asyncio.gather(closing, return_exceptions=True))[0]
    if isinstance(kept, list):  # it finished before the cancel: the caller has the lines
        assert [line.message for line in kept] == ["first", "the last"]
        return
    for _ in range(500):
        if store.messages():
            break
        await asyncio.sleep(0.01)
    assert store.messages() == ["first", "the last"]
