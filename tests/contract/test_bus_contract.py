"""The message bus contract (``tauro_platform.bus.port``), run against every adapter.

``BusContract`` holds the tests; each adapter subclass provides ``open_bus``, a factory
that starts a bus instance on one fresh, shared backing store (the same SQLite file for
the embedded bus, the same Kafka cluster for the Kafka bus), so a test can stop a bus
and open another one to play a restart. Topic names and group ids are fresh per test.

Every wait is bounded (``wait_until`` polls); nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tauro_platform.bus.embedded import EmbeddedBus
from tauro_platform.bus.kafka import KafkaBus
from tauro_platform.bus.port import Bus, Message

OpenBus = Callable[[], Awaitable[Bus]]

PARTITIONS = 4
# Fixed key names: with 40 of them every partition of a 4-partition topic gets some
# (checked by the tests, so a partitioner change cannot silently weaken them).
KEYS = [f"key-{i}" for i in range(40)]
WAIT = 20.0


async def wait_until(condition: Callable[[], bool], what: str, seconds: float = WAIT) -> bool:
    """Poll ``condition`` for up to ``seconds``; fail the test if it never holds."""
    if not await poll(condition, seconds):
        pytest.fail(f"timed out after {seconds}s waiting for {what}")
    return True


async def poll(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


class Recorder:
    """A handler that records what it got; optionally fails for chosen values."""

    def __init__(self, fail: Callable[[Message, int], bool] | None = None) -> None:
        self.messages: list[Message] = []
        self.attempts: dict[bytes, int] = defaultdict(int)
        self._fail = fail

    async def __call__(self, message: Message) -> None:
        self.attempts[message.value] += 1
        if self._fail is not None and self._fail(message, self.attempts[message.value]):
            raise RuntimeError(f"handler refuses {message.value!r}")
        self.messages.append(message)

    @property
    def values(self) -> list[bytes]:
        return [m.value for m in self.messages]

    def got(self, values: list[bytes]) -> Callable[[], bool]:
        return lambda: set(values) <= set(self.values)


class Gated(Recorder):
    """A handler that holds messages whose value starts with ``held`` until ``gate`` opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.holding: list[Message] = []

    async def __call__(self, message: Message) -> None:
        if message.value.startswith(b"held"):
            self.holding.append(message)
            await self.gate.wait()
        await super().__call__(message)


def value(prefix: str, i: int) -> bytes:
    return f"{prefix}-{i:04d}".encode()


async def publish_many(bus: Bus, topic: str, prefix: str, count: int) -> list[bytes]:
    """``count`` messages over ``KEYS``, round robin, returned in publish order."""
    values = []
    for i in range(count):
        v = value(prefix, i)
        await bus.publish(topic, v, key=KEYS[i % len(KEYS)], headers={"seq": str(i), "prefix": prefix})
        values.append(v)
    return values


def by_key(messages: list[Message]) -> dict[str | None, list[int]]:
    order: dict[str | None, list[int]] = defaultdict(list)
    for m in messages:
        order[m.key].append(int(m.headers["seq"]))
    return order


class BusContract:
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

    async def warm_up(self, bus: Bus, topic: str, members: list[Recorder]) -> None:
        """Publish rounds of warm-up messages until every member got one: the group is settled."""

        def settled() -> bool:
            return all(any(v.startswith(b"warm-") for v in m.values) for m in members)

        deadline = time.monotonic() + WAIT
        for round_ in itertools.count():
            if time.monotonic() > deadline:
                pytest.fail("group never settled: some member got no partition")
            for key in KEYS:
                await bus.publish(topic, f"warm-{round_}-{key}".encode(), key=key, headers={"seq": "-1"})
            if await poll(settled, 1.0):
                return

    # -- basics -------------------------------------------------------------------------

    async def test_ping(self, bus: Bus) -> None:
        await bus.ping()

    async def test_group_gets_every_message_once_in_key_order(self, bus: Bus, topic: str, names) -> None:
        before = await publish_many(bus, topic, "before", 40)  # a new group starts from the beginning
        got = Recorder()
        await bus.subscribe([topic], got, group_id=names("group"))
        after = await publish_many(bus, topic, "after", 80)
        await wait_until(got.got(before + after), "all messages")

        assert sorted(got.values) == sorted(before + after), "every message exactly once"
        order = by_key([m for m in got.messages if m.headers["prefix"] == "before"])
        order_after = by_key([m for m in got.messages if m.headers["prefix"] == "after"])
        for seqs in [*order.values(), *order_after.values()]:
            assert seqs == sorted(seqs), "per-key order"
        before_keys = {m.key for m in got.messages if m.headers["prefix"] == "before"}
        for key in before_keys:  # "before" messages of a key come before its "after" messages
            prefixes = [m.headers["prefix"] for m in got.messages if m.key == key]
            assert prefixes == sorted(prefixes, key=lambda p: p != "before")

        partition_of_key: dict[str | None, set[int]] = defaultdict(set)
        offsets: dict[int, list[int]] = defaultdict(list)
        for m in got.messages:
            assert m.topic == topic
            assert m.key in KEYS
            assert m.headers["prefix"] in ("before", "after")
            assert m.timestamp_ms > 0
            partition_of_key[m.key].add(m.partition)
            offsets[m.partition].append(m.offset)
        assert all(len(p) == 1 for p in partition_of_key.values()), "a key always maps to one partition"
        assert set(offsets) == set(range(PARTITIONS)), "the keys spread over every partition"
        for partition, seen in offsets.items():
            assert seen == list(range(len(seen))), f"partition {partition}: offsets in order from 0"

    async def test_message_without_key_and_headers(self, bus: Bus, topic: str, names) -> None:
        got = Recorder()
        await bus.subscribe([topic], got, group_id=names("group"))
        await bus.publish(topic, b"\x00\xffbinary")
        await wait_until(got.got([b"\x00\xffbinary"]), "the message")
        [message] = got.messages
        assert message.key is None
        assert message.headers == {}
        assert 0 <= message.partition < PARTITIONS

    async def test_one_subscription_on_several_topics(self, bus: Bus, topic: str, names) -> None:
        other = names("other")
        await bus.ensure_topics([other], PARTITIONS)
        got = Recorder()
        await bus.subscribe([topic, other], got, group_id=names("group"))
        a = await publish_many(bus, topic, "a", 10)
        b = await publish_many(bus, other, "b", 10)
        await wait_until(got.got(a + b), "messages of both topics")
        assert sorted(got.values) == sorted(a + b)
        assert {m.topic for m in got.messages if m.value in b} == {other}

    async def test_separate_groups_each_get_everything(self, bus: Bus, topic: str, names) -> None:
        first, second = Recorder(), Recorder()
        await bus.subscribe([topic], first, group_id=names("g1"))
        await bus.subscribe([topic], second, group_id=names("g2"))
        sent = await publish_many(bus, topic, "m", 40)
        await wait_until(lambda: first.got(sent)() and second.got(sent)(), "both groups")
        assert sorted(first.values) == sorted(sent)
        assert sorted(second.values) == sorted(sent)

    # -- consumer groups ------------------------------------------------------------------

    async def test_two_members_split_partitions_and_get_everything_once(self, bus: Bus, topic: str, names) -> None:
        group = names("group")
        a, b = Recorder(), Recorder()
        await bus.subscribe([topic], a, group_id=group)
        await bus.subscribe([topic], b, group_id=group)
        await self.warm_up(bus, topic, [a, b])

        sent = await publish_many(bus, topic, "m", 120)
        await wait_until(lambda: set(sent) <= set(a.values) | set(b.values), "all messages across the group")

        mine_a = [m for m in a.messages if m.value in sent]
        mine_b = [m for m in b.messages if m.value in sent]
        assert sorted(m.value for m in mine_a + mine_b) == sorted(sent), "each message to exactly one member"
        assert mine_a and mine_b, "both members got a share"
        parts_a, parts_b = {m.partition for m in mine_a}, {m.partition for m in mine_b}
        assert not parts_a & parts_b, "a partition belongs to one member"
        assert parts_a | parts_b == set(range(PARTITIONS))
        for seqs in [*by_key(mine_a).values(), *by_key(mine_b).values()]:
            assert seqs == sorted(seqs)

    async def test_member_leaving_hands_its_partitions_over(self, bus: Bus, topic: str, names) -> None:
        group = names("group")
        a, b = Recorder(), Recorder()
        sub_a = await bus.subscribe([topic], a, group_id=group)
        await bus.subscribe([topic], b, group_id=group)
        await self.warm_up(bus, topic, [a, b])
        await sub_a.stop()
        sent = await publish_many(bus, topic, "m", 40)
        await wait_until(b.got(sent), "the remaining member to take every partition")
        assert not set(sent) & set(a.values)

    async def partition_keys(self, bus: Bus, topic: str, names: Callable[[str], str]) -> dict[int, list[str]]:
        """Which of ``KEYS`` land on which partition (learned through a throw-away group)."""
        probe = Recorder()
        sub = await bus.subscribe([topic], probe, group_id=names("probe"))
        for key in KEYS:
            await bus.publish(topic, f"probe-{key}".encode(), key=key, headers={"seq": "-1"})
        await wait_until(lambda: len(probe.messages) == len(KEYS), "the probe")
        await sub.stop()
        keys: dict[int, list[str]] = defaultdict(list)
        for m in probe.messages:
            keys[m.partition].append(m.key or "")
        assert set(keys) == set(range(PARTITIONS))
        return keys

    async def test_rebalance_while_a_handler_is_busy(self, open_bus: OpenBus, bus: Bus, topic: str, names) -> None:
        """A member joins while another is inside its handler: nothing is lost, both members
        keep consuming, and no late commit moves an offset backwards."""
        keys = await self.partition_keys(bus, topic, names)
        group = names("group")
        first = []
        for i in range(20):  # all on partition 1, so the message A holds is on partition 1
            first.append(b"held-%d" % i)
            await bus.publish(topic, first[-1], key=keys[1][i % len(keys[1])], headers={"seq": str(i)})
        a, b = Gated(), Recorder()
        await bus.subscribe([topic], a, group_id=group)
        await wait_until(lambda: bool(a.holding), "A to hold a message")
        assert a.holding[0].partition == 1
        await bus.subscribe([topic], b, group_id=group)
        await self.warm_up(bus, topic, [b])  # B got a partition: the rebalance is done
        a.gate.set()
        await wait_until(lambda: set(first) <= set(a.values) | set(b.values), "every held message (at least once)")

        other_keys = [k for p in range(PARTITIONS) if p != 1 for k in keys[p]]
        second = []
        for i in range(40):
            second.append(b"second-%d" % i)
            await bus.publish(topic, second[-1], key=other_keys[i % len(other_keys)], headers={"seq": str(i)})
        await wait_until(lambda: set(second) <= set(a.values) | set(b.values), "the second batch")
        got_a = [v for v in a.values if v in second]
        got_b = [v for v in b.values if v in second]
        assert sorted(got_a + got_b) == sorted(second), "a settled group delivers each message once"
        assert got_a and got_b, "both members still consume after the rebalance"

        await bus.stop()
        bus = await open_bus()
        c = Recorder()
        await bus.subscribe([topic], c, group_id=group)
        third = await publish_many(bus, topic, "third", 40)
        await wait_until(c.got(third), "a new member to get the third batch")
        assert sorted(c.values) == sorted(third), "every handled message stayed committed"

    async def test_stopping_member_finishes_its_message_before_handing_over(self, bus: Bus, topic: str, names) -> None:
        group = names("group")
        a, b = Gated(), Recorder()
        sub_a = await bus.subscribe([topic], a, group_id=group)
        await bus.subscribe([topic], b, group_id=group)
        await self.warm_up(bus, topic, [a, b])
        # A warm-up message may predate the rebalance; this round shows the settled assignment.
        settled = await publish_many(bus, topic, "settled", len(KEYS))
        await wait_until(lambda: set(settled) <= set(a.values) | set(b.values), "the settled round")
        key_of_a = next(m.key for m in a.messages if m.value in settled)
        await bus.publish(topic, b"held", key=key_of_a, headers={"seq": "0"})
        await wait_until(lambda: bool(a.holding), "A to hold the message")

        stopping = asyncio.create_task(sub_a.stop())
        for _ in range(50):  # give a wrong hand-over every chance to happen
            await asyncio.sleep(0)
        a.gate.set()
        await asyncio.wait_for(stopping, WAIT)
        assert a.values.count(b"held") == 1

        await bus.publish(topic, b"after", key=key_of_a, headers={"seq": "1"})
        await wait_until(b.got([b"after"]), "B to take over A's partition")
        assert b"held" not in b.values, "a message finished and committed by A is not redelivered"

    @pytest.mark.parametrize("restart", [False, True], ids=["new-member", "bus-restart"])
    async def test_uncommitted_message_is_redelivered_committed_one_is_not(
        self, open_bus: OpenBus, bus: Bus, topic: str, names, restart: bool
    ) -> None:
        group = names("group")
        # One key, so "ok" and "stuck" share a partition: "ok" is committed, "stuck" is not.
        await bus.publish(topic, b"ok", key="k")
        await bus.publish(topic, b"stuck", key="k")
        crashing = Recorder(fail=lambda m, _n: m.value == b"stuck")
        sub = await bus.subscribe([topic], crashing, group_id=group)
        await wait_until(lambda: crashing.attempts[b"stuck"] >= 2, "the handler to fail twice")
        assert crashing.values == [b"ok"]
        await sub.stop()  # stops in its retry back-off: "stuck" was never committed

        if restart:
            await bus.stop()
            bus = await open_bus()
        await bus.publish(topic, b"later", key="k")
        fresh = Recorder()
        await bus.subscribe([topic], fresh, group_id=group)
        await wait_until(fresh.got([b"stuck", b"later"]), "redelivery of the uncommitted message")
        assert fresh.values == [b"stuck", b"later"], "resumes at the first uncommitted message, in order"

    async def test_restarted_group_resumes_after_last_commit(
        self, open_bus: OpenBus, bus: Bus, topic: str, names
    ) -> None:
        group = names("group")
        first = Recorder()
        sub = await bus.subscribe([topic], first, group_id=group)
        old = await publish_many(bus, topic, "old", 40)
        await wait_until(first.got(old), "the first consumer")
        await sub.stop()
        await bus.stop()

        bus = await open_bus()
        new = await publish_many(bus, topic, "new", 40)
        second = Recorder()
        await bus.subscribe([topic], second, group_id=group)
        await wait_until(second.got(new), "the new messages")
        # Old messages sit before the new ones in every partition: had any been
        # redelivered, it would have arrived by now.
        assert sorted(second.values) == sorted(new)

    async def test_failing_handler_is_retried_and_nothing_is_skipped(self, bus: Bus, topic: str, names) -> None:
        sent = [f"m-{i}".encode() for i in range(6)]
        poisoned = sent[2]
        got = Recorder(fail=lambda m, attempt: m.value == poisoned and attempt <= 2)
        await bus.subscribe([topic], got, group_id=names("group"))
        for v in sent:
            await bus.publish(topic, v, key="one-key")
        await wait_until(got.got(sent), "every message, the failing one included")
        assert got.values == sent, "the failing message is retried in place; later ones wait for it"
        assert got.attempts[poisoned] == 3
        assert all(got.attempts[v] == 1 for v in sent if v != poisoned)

    # -- broadcast ------------------------------------------------------------------------

    async def test_broadcast_sees_only_new_messages_on_every_partition(self, bus: Bus, topic: str) -> None:
        old = await publish_many(bus, topic, "old", 40)
        tap_1, tap_2 = Recorder(), Recorder()
        await bus.subscribe([topic], tap_1, group_id=None)
        await bus.subscribe([topic], tap_2, group_id=None)
        new = await publish_many(bus, topic, "new", 40)
        await wait_until(lambda: tap_1.got(new)() and tap_2.got(new)(), "both taps to see the new messages")
        for tap in (tap_1, tap_2):
            assert not set(old) & set(tap.values), "a tap starts at the end"
            assert sorted(tap.values) == sorted(new), "every new message, once"
            assert {m.partition for m in tap.messages} == set(range(PARTITIONS))
            for seqs in by_key(tap.messages).values():
                assert seqs == sorted(seqs)

    async def test_broadcast_next_to_a_group(self, bus: Bus, topic: str, names) -> None:
        member, tap = Recorder(), Recorder()
        await bus.subscribe([topic], member, group_id=names("group"))
        await bus.subscribe([topic], tap, group_id=None)
        sent = await publish_many(bus, topic, "m", 20)
        await wait_until(lambda: member.got(sent)() and tap.got(sent)(), "the member and the tap")
        assert sorted(member.values) == sorted(tap.values) == sorted(sent)

    # -- topics ---------------------------------------------------------------------------

    async def test_ensure_topics_is_idempotent(self, bus: Bus, names) -> None:
        t1, t2 = names("t1"), names("t2")
        await bus.ensure_topics([t1], 3)
        await bus.ensure_topics([t1], 3)
        await bus.ensure_topics([t1, t2], 3)
        await bus.ensure_topics([t1, t2], 6)  # existing topics keep their partitions
        await bus.ensure_topics([], 3)
        got = Recorder()
        await bus.subscribe([t1, t2], got, group_id=names("group"))
        a = await publish_many(bus, t1, "a", 40)
        b = await publish_many(bus, t2, "b", 40)
        await wait_until(got.got(a + b), "messages on both topics")
        assert sorted(got.values) == sorted(a + b)
        for t in (t1, t2):
            assert {m.partition for m in got.messages if m.topic == t} == {0, 1, 2}


class TestEmbeddedBus(BusContract):
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
class TestKafkaBus(BusContract):
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
