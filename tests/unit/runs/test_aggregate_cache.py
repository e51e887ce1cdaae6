"""``AggregateCache`` (runtime.streams): a run loaded again folds only the events appended
since, including another writer's; a fresh load folds the whole stream (what deciding again
after a lost race asks for); the state always equals a full fold; a run that ended leaves it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_platform.eventstore.port import StreamWrite
from tauro_platform.eventstore.sqlite import SqliteEventStore
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.runtime.decision import CommandContext, PendingWrite, to_writes
from tauro_platform.runtime.streams import AggregateCache, load
from tauro_platform.settings import Settings
from tauro_runs.domain.runs import RunState, decide_cancel, decide_dispatch, decide_start, evolve_run, fold_run
from tauro_runs.run_handlers import RunHandlers

from tests.unit.runs.support import RUN_ID, T0, chain, created, spec

CTX = CommandContext(command_id="c", correlation_id=None, actor="test", trace_context={}, now=T0)


async def append(store: SqliteEventStore, version: int, events: Sequence[Event]) -> list[EventEnvelope]:
    return await store.append(to_writes((PendingWrite(RUN_ID, version, tuple(events)),), CTX))


class Swappable:
    """A store whose backing store can be replaced (an operator resetting the event store)."""

    def __init__(self, inner: SqliteEventStore) -> None:
        self.inner = inner

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EventEnvelope]:
        return await self.inner.read_stream(stream_id, after_version)

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        return await self.inner.append(writes, commands=commands)


async def test_a_cached_run_folds_only_the_events_appended_since() -> None:
    store = SqliteEventStore(":memory:")
    cache = AggregateCache(store)  # type: ignore[arg-type]
    run = spec(["a", "b", "c"], chain("a", "b", "c"))
    await append(store, 0, [created(run)])
    state = await cache.load(RUN_ID, RunState(), evolve_run)
    assert (state.version, state.status, cache.events_folded) == (1, "PENDING", 1)

    await append(store, 1, decide_start(state, 60, None))  # another writer (a replica) moves the stream on
    again = await cache.load(RUN_ID, RunState(), evolve_run)
    assert (again.version, again.status, cache.events_folded) == (2, "QUEUED", 2)

    await append(store, 2, decide_dispatch(again, datetime.now(UTC)))
    latest = await cache.load(RUN_ID, RunState(), evolve_run)
    assert latest == await load(store, RUN_ID, fold_run)  # the same state as a full fold
    assert latest.status == "RUNNING" and latest.tasks["a"].status == "SCHEDULED"
    assert cache.events_folded == 2 + 2  # RunStarted and a's TaskScheduled, not the stream again

    unchanged = await cache.load(RUN_ID, RunState(), evolve_run)
    assert unchanged is latest and cache.events_folded == 4

    fresh = await cache.load(RUN_ID, RunState(), evolve_run, fresh=True)
    assert fresh == latest and cache.events_folded == 4 + 4


async def test_after_a_store_reset_a_fresh_load_folds_the_stream_again() -> None:
    """A cached state ahead of the store (reset) makes the append conflict; deciding again loads fresh."""
    first = SqliteEventStore(":memory:")
    store = Swappable(first)
    cache = AggregateCache(store)  # type: ignore[arg-type]
    run = spec(["a"])
    await append(first, 0, [created(run)])
    state = await cache.load(RUN_ID, RunState(), evolve_run)
    await append(first, 1, decide_start(state, 60, None))
    assert (await cache.load(RUN_ID, RunState(), evolve_run)).version == 2

    second = SqliteEventStore(":memory:")
    await append(second, 0, [created(run)])
    store.inner = second
    stale = await cache.load(RUN_ID, RunState(), evolve_run)
    assert stale.version == 2  # the store's expected-version check refuses an append decided on it
    reloaded = await cache.load(RUN_ID, RunState(), evolve_run, fresh=True)
    assert reloaded == await load(second, RUN_ID, fold_run) and reloaded.version == 1
    assert (await cache.load(RUN_ID, RunState(), evolve_run)).version == 1


async def test_least_recently_used_streams_are_dropped() -> None:
    store = SqliteEventStore(":memory:")
    cache = AggregateCache(store, max_streams=2)  # type: ignore[arg-type]
    for stream in ("x", "y", "z", "x"):
        await cache.load(stream, RunState(), evolve_run)
    assert [key[0] for key in cache._states] == ["z", "x"]


async def test_a_run_that_ended_leaves_the_cache_and_is_folded_whole_when_loaded_again() -> None:
    store = SqliteEventStore(":memory:")
    cache = AggregateCache(store)  # type: ignore[arg-type]
    handlers = RunHandlers(store, MemoryReadStore(), Settings(), aggregates=cache)  # type: ignore[arg-type]
    await append(store, 0, [created(spec(["a"]))])
    state = await cache.load(RUN_ID, RunState(), evolve_run)
    started = await append(store, 1, decide_start(state, 60, None))
    await handlers.after_append(started)  # nothing ended: still cached
    assert [key[0] for key in cache._states] == [RUN_ID]

    ended = await append(store, 2, decide_cancel(await cache.load(RUN_ID, RunState(), evolve_run), "stop"))
    await handlers.after_append(ended)
    assert not cache._states
    folded = cache.events_folded
    again = await cache.load(RUN_ID, RunState(), evolve_run)
    assert again == await load(store, RUN_ID, fold_run) and again.terminal
    assert cache.events_folded == folded + again.version  # the whole stream, from the store
