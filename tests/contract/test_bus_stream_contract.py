"""The bus port's stream-processing contract: ``publish_many``, ``subscribe_batches``, ``lag``.

Run against both adapters, like ``test_bus_contract.py``: ``open_bus`` starts a bus on one
shared backing store (a SQLite file, or the Kafka cluster) so a test can stop one bus and
open another to play a restart. Topic and group names are fresh per test; every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tauro_platform.bus.embedded import EmbeddedBus
from tauro_platform.bus.kafka import KafkaBus
from tauro_platform.bus.port import Bus, Message, Outgoing

OpenBus = Callable[[], Awaitable[Bus]]
PARTITIONS = 4
KEYS = [f"key-{i}" for i in range(40)]  # enough keys that every partition gets some
WAIT = 30.0


async def wait_until(condition: Callable[[], bool], what: str, limit: float = WAIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {limit}s waiting for {what}")
        await asyncio.sleep(0.02)


def outgoing(topic: str, prefix: str, count: int) -> list[Outgoing]:
    return [
        Outgoing(topic, f"{prefix}-{i:05d}".encode(), key=KEYS[i % len(KEYS)], headers={"seq": str(i)})
        for i in range(count)
    ]


class Batches:
    """A batch handler that records the batches it returned for (and can fail some attempts)."""

    def __init__(self, fail_first_attempt_of: set[bytes] | None = None) -> None:
        self.batches: list[list[Message]] = []
        self.attempts: dict[bytes, int] = defaultdict(int)
        self._fail = fail_first_attempt_of or set()

    async def __call__(self, batch: list[Message]) -> None:
        for message in batch:
            self.attempts[message.value] += 1
        if any(m.value in self._fail and self.attempts[m.value] == 1 for m in batch):
            raise RuntimeError("refusing this batch once")
        self.batches.append(batch)

    @property
    def values(self) -> list[bytes]:
        return [m.value for batch in self.batches for m in batch]


class BusStreamContract:
    @pytest.fixture
    async def open_bus(self) -> AsyncIterator[OpenBus]:
        raise NotImplementedError
        yield  # pragma: no cover

    @pytest.fixture
    async def bus(self, open_bus: OpenBus) -> Bus:
        return await open_bus()

    @pytest.fixture
    def names(self, unique_name: str) -> Callable[[str], str]:
        return lambda suffix: f"{unique_name}-{suffix}"

    @pytest.fixture
    async def topic(self, bus: Bus, names: Callable[[str], str]) -> str:
        name = names("topic")
        await bus.ensure_topics([name], PARTITIONS)
        return name

    async def test_publish_many_keeps_key_order_and_loses_nothing(self, bus: Bus, topic: str, names) -> None:
        sent = outgoing(topic, "m", 400)
        await bus.publish_many(sent)
        await bus.publish_many([])
        got = Batches()
        await bus.subscribe_batches([topic], got, group_id=names("group"))
        await wait_until(lambda: len(got.values) >= len(sent), "every published message")
        assert sorted(got.values) == sorted(m.value for m in sent)
        order: dict[str | None, list[int]] = defaultdict(list)
        for batch in got.batches:
            for m in batch:
                order[m.key].append(int(m.headers["seq"]))
        assert all(seqs == sorted(seqs) for seqs in order.values())
        assert len(order) == len(KEYS)

    async def test_batches_are_consecutive_runs_of_one_partition(self, bus: Bus, topic: str, names) -> None:
        await bus.publish_many(outgoing(topic, "m", 300))
        got = Batches()
        await bus.subscribe_batches([topic], got, group_id=names("group"), max_records=25)
        await wait_until(lambda: len(got.values) >= 300, "every message")
        assert all(0 < len(batch) <= 25 for batch in got.batches)
        for batch in got.batches:
            assert len({(m.topic, m.partition) for m in batch}) == 1
            offsets = [m.offset for m in batch]
            assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))
        assert {m.partition for batch in got.batches for m in batch} == set(range(PARTITIONS))

    async def test_a_failing_batch_is_retried_whole_and_nothing_is_skipped(
        self, bus: Bus, topic: str, names
    ) -> None:
        sent = outgoing(topic, "m", 120)
        await bus.publish_many(sent)
        refused = {sent[5].value, sent[77].value}
        got = Batches(fail_first_attempt_of=refused)
        await bus.subscribe_batches([topic], got, group_id=names("group"), max_records=10)
        await wait_until(lambda: len(got.values) >= len(sent), "every message, refused batches included")
        assert sorted(got.values) == sorted(m.value for m in sent)
        assert all(got.attempts[v] == 2 for v in refused)

    async def test_restart_resumes_after_the_last_batch_handled(
        self, open_bus: OpenBus, bus: Bus, topic: str, names
    ) -> None:
        group = names("group")
        first_half, second_half = outgoing(topic, "a", 100), outgoing(topic, "b", 100)
        await bus.publish_many(first_half)
        first = Batches()
        subscription = await bus.subscribe_batches([topic], first, group_id=group, max_records=20)
        await wait_until(lambda: len(first.values) >= 100, "the first half")
        await subscription.stop()
        await bus.publish_many(second_half)
        again = await open_bus()
        second = Batches()
        await again.subscribe_batches([topic], second, group_id=group, max_records=20)
        await wait_until(lambda: len(second.values) >= 100, "the second half")
        await asyncio.sleep(0.5)
        assert sorted(second.values) == sorted(m.value for m in second_half)

    async def test_lag_counts_what_the_group_has_not_committed(self, bus: Bus, topic: str, names) -> None:
        group = names("group")
        await bus.publish_many(outgoing(topic, "m", 80))
        lag = await bus.lag(group, [topic, names("no-such-topic")])
        assert set(lag) == {topic}
        assert set(lag[topic]) == set(range(PARTITIONS))
        assert sum(lag[topic].values()) == 80
        assert all(n > 0 for n in lag[topic].values())
        got = Batches()
        await bus.subscribe_batches([topic], got, group_id=group)
        await wait_until(lambda: len(got.values) >= 80, "every message")

        async def settled() -> bool:
            return sum((await bus.lag(group, [topic]))[topic].values()) == 0

        deadline = time.monotonic() + WAIT
        while not await settled():
            assert time.monotonic() < deadline, "lag never reached 0 after everything was handled"
            await asyncio.sleep(0.1)
        await bus.publish_many(outgoing(topic, "late", 3))
        assert sum((await bus.lag(group, [topic]))[topic].values()) <= 3

    async def test_lag_of_an_unknown_group_is_the_whole_log(self, bus: Bus, topic: str, names) -> None:
        await bus.publish_many(outgoing(topic, "m", 40))
        lag = await bus.lag(names("never-consumed"), [topic])
        assert sum(lag[topic].values()) == 40
        assert await bus.lag(names("never-consumed"), []) == {}


class TestEmbeddedBusStreams(BusStreamContract):
    @pytest.fixture
    async def open_bus(self, tmp_path: Path) -> AsyncIterator[OpenBus]:
        opened: list[EmbeddedBus] = []

        async def open_one() -> Bus:
            bus = EmbeddedBus(tmp_path / "bus.db", default_partitions=PARTITIONS)
            await bus.start()
            opened.append(bus)
            return bus

        yield open_one
        for bus in opened:
            await bus.stop()


@pytest.mark.integration
class TestKafkaBusStreams(BusStreamContract):
    @pytest.fixture
    async def open_bus(self, kafka_bootstrap: str, unique_name: str) -> AsyncIterator[OpenBus]:
        opened: list[KafkaBus] = []

        async def open_one() -> Bus:
            bus = KafkaBus(kafka_bootstrap, client_id=unique_name)
            await bus.start()
            opened.append(bus)
            return bus

        yield open_one
        for bus in opened:
            await bus.stop()
