"""The event store contract (``tauro_platform.eventstore.port``), run against every adapter.

``EventStoreContract`` holds the tests; each adapter subclass provides ``open_store``,
a factory that opens a new adapter instance (its own connection or client) on one
fresh, shared storage, so the concurrency tests race separate connections.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from tauro_contracts.envelope import EventEnvelope
from tauro_platform.eventstore.mongo import MongoEventStore
from tauro_platform.eventstore.port import ANY_VERSION, AlreadyApplied, ConcurrencyError, EventStore, StreamWrite
from tauro_platform.eventstore.sqlite import SqliteEventStore
from tauro_platform.runtime.groupcommit import GroupCommit

OpenStore = Callable[[], Awaitable[EventStore]]

MOMENT = datetime(2025, 1, 26, 10, 0, 0, 123456, tzinfo=UTC)


def event(stream_id: str, version: int, **overrides: Any) -> EventEnvelope:
    fields: dict[str, Any] = {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "stream_id": stream_id,
        "stream_version": version,
        "type": "ThingHappened",
        "occurred_at": MOMENT + timedelta(microseconds=version),
        "data": {"n": version},
    }
    fields.update(overrides)
    return EventEnvelope(**fields)


def events(stream_id: str, first: int, count: int, **overrides: Any) -> list[EventEnvelope]:
    return [event(stream_id, v, **overrides) for v in range(first, first + count)]


def write(stream_id: str, expected: int, evts: list[EventEnvelope]) -> StreamWrite:
    return StreamWrite(stream_id=stream_id, expected_version=expected, events=evts)


def position(stored: EventEnvelope) -> int:
    assert stored.global_position is not None
    return stored.global_position


def stripped(evts: list[EventEnvelope]) -> list[EventEnvelope]:
    return [e.model_copy(update={"global_position": None}) for e in evts]


class EventStoreContract:
    @pytest.fixture
    async def open_store(self) -> AsyncIterator[OpenStore]:
        raise NotImplementedError
        yield  # pragma: no cover

    @pytest.fixture
    async def store(self, open_store: OpenStore) -> EventStore:
        return await open_store()

    # -- appending and reading -------------------------------------------------------

    async def test_empty_store(self, store: EventStore) -> None:
        assert await store.head_position() == 0
        assert await store.read_all() == []
        assert await store.read_stream("s-none") == []
        assert await store.stream_version("s-none") == 0
        assert await store.caused_by("cmd-none") == []
        assert await store.unpublished(0) == []
        await store.ping()

    async def test_append_new_stream_and_read_back_equal(self, store: EventStore) -> None:
        rich = event(
            "s-1",
            1,
            type="ProjectCreated",
            schema_version=3,
            occurred_at=datetime(2025, 1, 26, 12, 34, 56, 789012, tzinfo=timezone(timedelta(hours=2))),
            correlation_id="corr-1",
            causation_id="cmd-1",
            actor="alice",
            trace_context={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
            data={
                "name": "Ünïcode ✓",
                "nested": {"list": [1, 2.5, "three", None, True, {"deep": ["x"]}], "empty": {}},
                "big": 2**53 + 1,
                "flag": False,
                "nothing": None,
            },
        )
        plain = event("s-1", 2)
        stored = await store.append([write("s-1", 0, [rich, plain])])

        assert [e.global_position for e in stored] == [1, 2]
        assert stripped(stored) == [rich, plain]
        read = await store.read_stream("s-1")
        assert read == stored
        assert read[0].occurred_at == rich.occurred_at
        assert read[0].occurred_at.microsecond == 789012
        assert read[0].occurred_at.utcoffset() == timedelta(0)
        assert read[0].data == rich.data
        assert await store.read_all() == stored
        assert await store.stream_version("s-1") == 2

    async def test_append_to_existing_stream_at_its_version(self, store: EventStore) -> None:
        await store.append([write("s-1", 0, events("s-1", 1, 2))])
        more = events("s-1", 3, 2)
        stored = await store.append([write("s-1", 2, more)])
        assert stripped(stored) == more
        assert [e.stream_version for e in await store.read_stream("s-1")] == [1, 2, 3, 4]
        assert [e.stream_version for e in await store.read_stream("s-1", after_version=2)] == [3, 4]
        assert await store.read_stream("s-1", after_version=4) == []
        assert await store.stream_version("s-1") == 4

    async def test_append_empty_list_writes_nothing(self, store: EventStore) -> None:
        assert await store.append([]) == []
        assert await store.head_position() == 0

    async def test_wrong_expected_version_raises_and_writes_nothing(self, store: EventStore) -> None:
        first = await store.append([write("s-1", 0, events("s-1", 1, 2))])
        with pytest.raises(ConcurrencyError):
            await store.append([write("s-1", 0, events("s-1", 1, 1))])
        with pytest.raises(ConcurrencyError):
            await store.append([write("s-1", 1, events("s-1", 2, 1))])
        with pytest.raises(ConcurrencyError):
            await store.append([write("s-1", 5, events("s-1", 6, 1))])
        with pytest.raises(ConcurrencyError):
            await store.append([write("s-new", 3, events("s-new", 4, 1))])
        assert await store.read_all() == first
        assert await store.stream_version("s-new") == 0
        assert await store.head_position() == 2

    async def test_multi_stream_append_is_atomic(self, store: EventStore) -> None:
        base = await store.append([write("s-b", 0, events("s-b", 1, 1))])
        both = await store.append([write("s-a", 0, events("s-a", 1, 2)), write("s-c", 0, events("s-c", 1, 1))])
        assert [(e.stream_id, e.stream_version, e.global_position) for e in both] == [
            ("s-a", 1, 2),
            ("s-a", 2, 3),
            ("s-c", 1, 4),
        ]
        # s-b conflicts (it is at 1): nothing of the other streams may be written either.
        with pytest.raises(ConcurrencyError):
            await store.append(
                [
                    write("s-d", 0, events("s-d", 1, 2)),
                    write("s-a", 2, events("s-a", 3, 1)),
                    write("s-b", 0, events("s-b", 1, 1)),
                ]
            )
        assert await store.read_all() == base + both
        assert await store.stream_version("s-d") == 0
        assert await store.stream_version("s-a") == 2
        assert await store.head_position() == 4
        # The failed append used no positions: the next one continues without a gap.
        nxt = await store.append([write("s-d", 0, events("s-d", 1, 1))])
        assert nxt[0].global_position == 5

    async def test_duplicate_event_id_is_rejected_and_writes_nothing(self, store: EventStore) -> None:
        first = event("s-1", 1)
        await store.append([write("s-1", 0, [first])])
        again = first.model_copy(update={"stream_id": "s-2"})
        with pytest.raises(ConcurrencyError):
            await store.append([write("s-3", 0, events("s-3", 1, 1)), write("s-2", 0, [again])])
        assert await store.head_position() == 1
        assert await store.stream_version("s-3") == 0

    async def test_any_version_appends_after_whatever_is_there(self, store: EventStore) -> None:
        stored = await store.append([write("s-1", ANY_VERSION, events("s-1", 7, 2))])
        assert [e.stream_version for e in stored] == [1, 2]
        stored = await store.append([write("s-1", ANY_VERSION, events("s-1", 1, 3))])
        assert [e.stream_version for e in stored] == [3, 4, 5]
        assert [e.global_position for e in stored] == [3, 4, 5]
        read = await store.read_stream("s-1")
        assert [e.stream_version for e in read] == [1, 2, 3, 4, 5]
        assert read[2:] == stored
        assert await store.stream_version("s-1") == 5

    async def test_global_positions_consecutive_across_streams(self, store: EventStore) -> None:
        appended: list[EventEnvelope] = []
        appended += await store.append([write("s-a", 0, events("s-a", 1, 3))])
        appended += await store.append([write("s-b", 0, events("s-b", 1, 1))])
        appended += await store.append([write("s-a", 3, events("s-a", 4, 2)), write("s-c", 0, events("s-c", 1, 2))])
        positions = [e.global_position for e in appended]
        assert positions == list(range(1, 9))
        assert await store.read_all() == appended
        assert await store.head_position() == 8
        assert [e.global_position for e in await store.read_stream("s-a")] == [1, 2, 3, 5, 6]

    async def test_read_all_pages_in_order(self, store: EventStore) -> None:
        appended: list[EventEnvelope] = []
        for i in range(7):
            stream = f"s-{i % 3}"
            version = await store.stream_version(stream)
            appended += await store.append([write(stream, version, events(stream, version + 1, 2))])
        pages: list[list[EventEnvelope]] = []
        after = 0
        while page := await store.read_all(after, limit=3):
            pages.append(page)
            after = page[-1].global_position or 0
        assert [len(p) for p in pages] == [3, 3, 3, 3, 2]
        assert [e for p in pages for e in p] == appended
        assert await store.read_all(5, limit=2) == appended[5:7]
        assert await store.read_all(14) == []
        assert await store.read_all(100) == []

    async def test_caused_by(self, store: EventStore) -> None:
        a = await store.append([write("s-a", 0, events("s-a", 1, 2, causation_id="cmd-1"))])
        await store.append([write("s-b", 0, events("s-b", 1, 1, causation_id="cmd-2"))])
        c = await store.append(
            [write("s-c", 0, events("s-c", 1, 1, causation_id="cmd-1")), write("s-d", 0, events("s-d", 1, 1))]
        )
        assert await store.caused_by("cmd-1") == a + c[:1]
        assert [e.stream_id for e in await store.caused_by("cmd-2")] == ["s-b"]
        assert await store.caused_by("cmd-3") == []

    async def test_an_append_naming_an_applied_command_is_refused_and_writes_nothing(self, store: EventStore) -> None:
        first = await store.append([write("s-a", 0, events("s-a", 1, 1, causation_id="cmd-1"))], commands=["cmd-1"])
        with pytest.raises(AlreadyApplied) as refused:  # a re-delivery of cmd-1, decided again
            await store.append([write("s-a", ANY_VERSION, events("s-a", 2, 1, causation_id="cmd-1")),
                                write("s-b", 0, events("s-b", 1, 1))], commands=["cmd-1"])
        assert refused.value.command_id == "cmd-1"
        with pytest.raises(AlreadyApplied):  # with another command: still all or nothing
            await store.append([write("s-b", 0, events("s-b", 1, 1))], commands=["cmd-2", "cmd-1"])
        assert await store.read_all() == first and await store.stream_version("s-b") == 0
        # a lost race records nothing: the command can append once it decided again
        with pytest.raises(ConcurrencyError):
            await store.append([write("s-a", 0, events("s-a", 1, 1))], commands=["cmd-3"])
        again = await store.append([write("s-a", 1, events("s-a", 2, 1, causation_id="cmd-3"))], commands=["cmd-3"])
        assert await store.read_all() == first + again
        assert await store.caused_by("cmd-1") == first  # how the refused copy is answered
        with pytest.raises(ValueError):
            await store.append([write("s-c", 0, events("s-c", 1, 1))], commands=["cmd-4", "cmd-4"])

    async def test_unpublished_and_mark_published(self, store: EventStore) -> None:
        stored = await store.append([write("s-a", 0, events("s-a", 1, 3)), write("s-b", 0, events("s-b", 1, 2))])
        assert await store.unpublished(0) == stored
        assert await store.unpublished(3600) == []  # too recent: the publisher may still be on it
        assert await store.unpublished(0, limit=2) == stored[:2]
        await store.mark_published([position(stored[0]), position(stored[3])])
        assert await store.unpublished(0) == [stored[1], stored[2], stored[4]]
        await store.mark_published([])
        await store.mark_published([position(stored[0]), 10_000])  # idempotent, ignores unknown positions
        assert await store.unpublished(0) == [stored[1], stored[2], stored[4]]
        await store.mark_published([position(e) for e in stored])
        assert await store.unpublished(0) == []
        more = await store.append([write("s-a", 3, events("s-a", 4, 1))])
        assert await store.unpublished(0) == more
        # Publishing state never changes what readers see.
        assert await store.read_all() == stored + more

    async def test_head_position_and_stream_version(self, store: EventStore) -> None:
        await store.append([write("s-a", 0, events("s-a", 1, 2))])
        assert await store.head_position() == 2
        await store.append([write("s-b", 0, events("s-b", 1, 3))])
        assert await store.head_position() == 5
        assert await store.stream_version("s-a") == 2
        assert await store.stream_version("s-b") == 3
        assert await store.stream_version("s-c") == 0

    async def test_data_survives_reopening(self, open_store: OpenStore) -> None:
        first = await open_store()
        stored = await first.append([write("s-1", 0, events("s-1", 1, 2))])
        await first.close()
        second = await open_store()
        assert await second.read_all() == stored
        assert await second.stream_version("s-1") == 2

    # -- invalid writes ---------------------------------------------------------------

    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param(lambda: [write("s-1", 0, [event("s-other", 1)])], id="event-stream-mismatch"),
            pytest.param(lambda: [write("s-1", 0, [event("s-1", 2)])], id="version-not-next"),
            pytest.param(lambda: [write("s-1", 0, [event("s-1", 1), event("s-1", 3)])], id="version-gap"),
            pytest.param(lambda: [write("s-1", 0, [event("s-1", 2), event("s-1", 1)])], id="version-order"),
            pytest.param(lambda: [write("s-1", 0, [event("s-1", 1), event("s-1", 1)])], id="version-repeat"),
            pytest.param(lambda: [write("s-1", 2, [event("s-1", 1)])], id="version-before-expected"),
            pytest.param(lambda: [write("s-1", 0, [])], id="no-events"),
            pytest.param(
                lambda: [write("s-1", 0, [event("s-1", 1)]), write("s-1", 1, [event("s-1", 2)])],
                id="stream-twice",
            ),
            pytest.param(
                lambda: [write("s-2", 0, [event("s-2", 1)]), write("s-1", 0, [event("s-x", 1)])],
                id="second-write-bad",
            ),
        ],
    )
    async def test_invalid_writes_raise_value_error_and_write_nothing(
        self, store: EventStore, bad: Callable[[], list[StreamWrite]]
    ) -> None:
        with pytest.raises(ValueError):
            await store.append(bad())
        assert await store.head_position() == 0
        assert await store.read_all() == []

    # -- concurrency ------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("existing", "separate"),
        [
            pytest.param(0, True, id="new-stream-separate-connections"),
            pytest.param(2, False, id="existing-shared"),
        ],
    )
    async def test_concurrent_appends_at_same_version_exactly_one_wins(
        self, open_store: OpenStore, existing: int, separate: bool
    ) -> None:
        contenders = 30
        setup = await open_store()
        if existing:
            await setup.append([write("s-race", 0, events("s-race", 1, existing))])
        stores = [await open_store() for _ in range(contenders)] if separate else [setup] * contenders
        # Warm every contender up (connections open, indexes made) so the race is tight.
        await asyncio.gather(
            *(s.append([write(f"s-warm-{i}", 0, [event(f"s-warm-{i}", 1)])]) for i, s in enumerate(stores))
        )
        head = await setup.head_position()
        candidates = [event("s-race", existing + 1, data={"writer": i}) for i in range(contenders)]
        start = asyncio.Event()

        async def contend(i: int) -> list[EventEnvelope]:
            await start.wait()
            return await stores[i].append([write("s-race", existing, [candidates[i]])])

        tasks = [asyncio.create_task(contend(i)) for i in range(contenders)]
        await asyncio.sleep(0)
        start.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)

        unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, ConcurrencyError)]
        assert not unexpected, unexpected
        winners = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
        assert len(winners) == 1, f"{len(winners)} winners"
        stream = await setup.read_stream("s-race")
        assert len(stream) == existing + 1
        assert stream[-1].data == {"writer": winners[0]}
        assert stream[-1].stream_version == existing + 1
        assert stream[-1].global_position == head + 1
        assert await setup.stream_version("s-race") == existing + 1
        assert await setup.head_position() == head + 1
        # A loser can catch up: read, then append at the new version.
        loser = next(i for i in range(contenders) if i not in winners)
        nxt = await stores[loser].append([write("s-race", existing + 1, [event("s-race", existing + 2)])])
        assert nxt[0].global_position == head + 2

    async def test_concurrent_appends_to_different_streams_and_tailing_reader(self, open_store: OpenStore) -> None:
        writers, rounds = 12, 4
        stores = [await open_store() for _ in range(writers)]
        reader = await open_store()
        done = asyncio.Event()
        seen: list[int] = []
        appended: list[EventEnvelope] = []
        await asyncio.gather(
            *(s.append([write(f"s-warm-{i}", 0, [event(f"s-warm-{i}", 1)])]) for i, s in enumerate(stores))
        )
        start = await reader.head_position()

        async def write_stream(i: int) -> None:
            stream = f"s-{i}"
            version = 0
            for r in range(rounds):
                count = 1 + (i + r) % 3
                appended.extend(await stores[i].append([write(stream, version, events(stream, version + 1, count))]))
                version += count
                await asyncio.sleep(0)

        async def tail() -> None:
            # A reader that trusts read_all to never show a later position before an
            # earlier one: it only ever asks for what comes after the last it saw.
            after = start
            while True:
                finished = done.is_set()
                batch = await reader.read_all(after, limit=7)
                seen.extend(e.global_position or 0 for e in batch)
                if batch:
                    after = batch[-1].global_position or 0
                elif finished:
                    return
                else:
                    await asyncio.sleep(0)

        tailer = asyncio.create_task(tail())
        await asyncio.gather(*(write_stream(i) for i in range(writers)))
        done.set()
        await asyncio.wait_for(tailer, 30)

        total = sum(1 + (i + r) % 3 for i in range(writers) for r in range(rounds))
        expected = list(range(start + 1, start + total + 1))
        positions = sorted(e.global_position or 0 for e in appended)
        assert positions == expected, "positions must be distinct and gap-free"
        assert seen == expected, "the tailing reader skipped or reordered positions"
        assert await reader.head_position() == start + total
        for i in range(writers):
            stream = await reader.read_stream(f"s-{i}")
            assert [e.stream_version for e in stream] == list(range(1, len(stream) + 1))
            assert [e.global_position for e in stream] == sorted(e.global_position or 0 for e in stream)

    async def test_cancelled_append_is_all_or_nothing_and_store_stays_usable(self, store: EventStore) -> None:
        # A caller cancelled mid-append (a timeout, a shutdown) must not leave a half-done
        # append behind for the next call to see or to run inside of.
        size = 100
        for attempt in range(30):
            stream = f"s-{attempt}"
            task = asyncio.create_task(store.append([write(stream, 0, events(stream, 1, size))]))
            for _ in range(attempt % 6):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            version = await store.stream_version(stream)
            assert version in (0, size)
            stored = await store.append([write(stream, version, events(stream, version + 1, 1))])
            assert stored[0].stream_version == version + 1
        all_events = await store.read_all(limit=100_000)
        assert [e.global_position for e in all_events] == list(range(1, len(all_events) + 1))


def unwrapped(store: EventStore) -> EventStore:
    return store


class TestSqliteEventStore(EventStoreContract):
    wrap = staticmethod(unwrapped)  # what the store under test wraps each adapter in

    @pytest.fixture
    async def open_store(self, tmp_path: Path) -> AsyncIterator[OpenStore]:
        opened: list[EventStore] = []

        async def open_one() -> EventStore:
            store = self.wrap(SqliteEventStore(tmp_path / "events.db"))
            opened.append(store)
            return store

        yield open_one
        for store in opened:
            await store.close()


@pytest.mark.integration
class TestMongoEventStore(EventStoreContract):
    wrap = staticmethod(unwrapped)

    @pytest.fixture
    async def open_store(self, mongo_url: str, mongo_database: str) -> AsyncIterator[OpenStore]:
        opened: list[EventStore] = []

        async def open_one() -> EventStore:
            store = self.wrap(MongoEventStore(AsyncMongoClient(mongo_url), mongo_database))
            opened.append(store)
            return store

        yield open_one
        for store in opened:
            await store.close()

    async def test_a_stream_from_before_stream_heads_keeps_its_version(
        self, open_store: OpenStore, mongo_url: str, mongo_database: str
    ) -> None:
        store = await open_store()
        await store.append([write("old", 0, events("old", 1, 3))])
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
        try:
            await client[mongo_database]["stream_heads"].delete_many({})  # as written by an older version
        finally:
            await client.close()
        assert await store.stream_version("old") == 3
        with pytest.raises(ConcurrencyError):
            await store.append([write("old", 0, events("old", 1, 1))])
        stored = await store.append([write("old", 3, events("old", 4, 1))])
        assert stored[0].stream_version == 4
        assert await store.stream_version("old") == 4


class CountingStore:
    """An adapter seen through a counter of its ``append`` calls (store transactions)."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.appends = 0

    async def append(self, writes: Any, *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        self.appends += 1
        return await self.inner.append(writes, commands=commands)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class GroupCommitContract:
    """What grouping adds: concurrent appends share transactions, each keeps its own outcome."""

    async def test_concurrent_appends_share_transactions_and_keep_their_own_outcomes(
        self, open_store: OpenStore
    ) -> None:
        setup = await open_store()
        await setup.append([write("taken", 0, events("taken", 1, 1))])
        counted = CountingStore(setup.inner)  # type: ignore[attr-defined]
        grouped = GroupCommit(counted)  # type: ignore[arg-type]
        appends = [grouped.append([write(f"g-{i}", 0, events(f"g-{i}", 1, 2))]) for i in range(40)]
        appends.append(grouped.append([write("taken", 0, events("taken", 1, 1))]))  # stale: must conflict
        appends.append(grouped.append([write("g-3", 0, events("g-3", 1, 1))]))  # races g-3's first append
        outcomes = await asyncio.gather(*appends, return_exceptions=True)
        stale, rival = outcomes[40], outcomes[41]
        assert isinstance(stale, ConcurrencyError)
        assert isinstance(rival, ConcurrencyError) != isinstance(outcomes[3], ConcurrencyError), "one g-3 wins"
        for i, stored in enumerate(outcomes[:40]):
            if i == 3 and isinstance(stored, ConcurrencyError):
                continue
            assert isinstance(stored, list)
            assert [(e.stream_id, e.stream_version) for e in stored] == [(f"g-{i}", 1), (f"g-{i}", 2)]
        everything = await setup.read_all(limit=1000)
        assert [e.global_position for e in everything] == list(range(1, len(everything) + 1))
        assert len(everything) == 1 + 39 * 2 + (1 if isinstance(rival, list) else 2)
        assert counted.appends < len(appends), "appends waiting while the store was busy went in together"


    async def test_copies_of_one_command_in_one_group_apply_once(self, open_store: OpenStore) -> None:
        grouped = await open_store()
        copies = [grouped.append([write(f"c-{i}", 0, events(f"c-{i}", 1, 1, causation_id="cmd-x"))],
                                 commands=["cmd-x"]) for i in range(3)]
        others = [grouped.append([write(f"o-{i}", 0, events(f"o-{i}", 1, 1))], commands=[f"cmd-{i}"])
                  for i in range(5)]
        outcomes = await asyncio.gather(*copies, *others, return_exceptions=True)
        assert sum(isinstance(o, list) for o in outcomes[:3]) == 1
        assert sum(isinstance(o, AlreadyApplied) for o in outcomes[:3]) == 2
        assert all(isinstance(o, list) for o in outcomes[3:])
        assert len(await grouped.read_all()) == 1 + 5


class TestGroupCommitOverSqlite(GroupCommitContract, TestSqliteEventStore):
    """``GroupCommit`` is an event store too: the same contract over each adapter."""

    wrap = staticmethod(GroupCommit)


@pytest.mark.integration
class TestGroupCommitOverMongo(GroupCommitContract, TestMongoEventStore):
    wrap = staticmethod(GroupCommit)
