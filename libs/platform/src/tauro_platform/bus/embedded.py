"""Embedded bus adapter: Kafka-like topics in one SQLite file, for ``make run``.

Topics have partitions and an append-only log per partition; consumer groups share
partitions among their in-process members (reassigned when members join or leave);
committed offsets are stored, so a restart resumes where the group left off. Data
survives restarts like the embedded event store does.

One process owns the file (the embedded platform): it keeps each topic's partition count and
each partition's end offset in memory, so a member woken by a publish queries only the
partitions that have something new for it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from tauro_platform.bus.delivery import deliver
from tauro_platform.bus.port import BatchHandler, Handler, Lag, Message, Outgoing, partition_for
from tauro_platform.sqlite_tx import immediate_transaction
from tauro_platform.waiting import wait_event

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key TEXT, value BLOB NOT NULL, headers TEXT NOT NULL, ts INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, offset)
);
CREATE TABLE IF NOT EXISTS group_offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
"""

TopicPartition = tuple[str, int]


class _Member:
    def __init__(
        self, bus: EmbeddedBus, topics: Sequence[str], handler: Handler, group_id: str | None, from_beginning: bool
    ) -> None:
        self.bus = bus
        self.topics = list(topics)
        self.handler = handler
        self.group_id = group_id
        self.from_beginning = from_beginning
        self.assigned: list[TopicPartition] = []
        self.positions: dict[TopicPartition, int] = {}
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = partitions
        self.positions = {tp: pos for tp, pos in self.positions.items() if tp in partitions}

    def _start_position(self, tp: TopicPartition) -> int:
        if self.group_id is not None:
            committed = self.bus._committed(self.group_id, tp)
            if committed is not None:
                return committed
        return 0 if self.from_beginning else self.bus._end_offset(tp)

    async def run(self) -> None:
        while not self.stopping.is_set():
            progressed = False
            for tp in list(self.assigned):
                position = self.positions.get(tp)
                if position is None:
                    position = self.positions[tp] = self._start_position(tp)
                for message in self.bus._fetch(tp, position, 100):
                    if tp not in self.assigned or self.stopping.is_set():
                        break
                    if not await deliver(self.handler, message, self.stopping):
                        return
                    if tp not in self.assigned:
                        break  # reassigned while the handler ran: the new owner resumes from the commit
                    self.positions[tp] = message.offset + 1
                    if self.group_id is not None:
                        self.bus._commit(self.group_id, tp, message.offset + 1)
                    progressed = True
            if not progressed:
                await self.bus._wait_for_messages(0.5)

    async def stop(self) -> None:
        # Finish (and commit) the message in hand before leaving the group, like a Kafka
        # consumer does: leaving first would hand the partition to another member that
        # redelivers it, and this member's late commit could move the offset backwards.
        self.stopping.set()
        self.bus._wake()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        self.bus._leave(self)
        self.bus._wake()


class _BatchMember(_Member):
    """A group member whose handler takes runs of consecutive messages of one partition."""

    def __init__(
        self, bus: EmbeddedBus, topics: Sequence[str], handler: BatchHandler, group_id: str, max_records: int,
        from_beginning: bool,
    ) -> None:
        super().__init__(bus, topics, _no_handler, group_id, from_beginning)
        self.batch_handler = handler
        self.max_records = max_records

    async def run(self) -> None:
        assert self.group_id is not None
        while not self.stopping.is_set():
            progressed = False
            for tp in list(self.assigned):
                position = self.positions.get(tp)
                if position is None:
                    position = self.positions[tp] = self._start_position(tp)
                batch = self.bus._fetch(tp, position, self.max_records)
                if not batch or tp not in self.assigned or self.stopping.is_set():
                    continue
                if not await deliver(_whole(self.batch_handler, batch), batch[0], self.stopping):
                    return
                if tp not in self.assigned:
                    continue  # reassigned while the handler ran: the new owner resumes from the commit
                self.positions[tp] = batch[-1].offset + 1
                self.bus._commit(self.group_id, tp, batch[-1].offset + 1)
                progressed = True
            if not progressed:
                await self.bus._wait_for_messages(0.5)


async def _no_handler(message: Message) -> None:
    raise AssertionError("batch members deliver through their batch handler")


def _whole(handler: BatchHandler, batch: list[Message]) -> Handler:
    """``batch`` as one delivery: ``deliver`` retries it whole until the handler returns."""

    async def call(_first: Message) -> None:
        await handler(batch)

    return call


class EmbeddedBus:
    def __init__(self, path: str | Path, default_partitions: int = 4) -> None:
        self._path = str(path)
        self._default_partitions = default_partitions
        self._db: sqlite3.Connection | None = None
        self._groups: dict[str, list[_Member]] = defaultdict(list)
        self._broadcast: list[_Member] = []
        self._published = asyncio.Event()
        self._counter = 0
        self._partition_counts: dict[str, int] = {}
        self._ends: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        if self._db is not None:
            return
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    async def stop(self) -> None:
        members = [m for ms in self._groups.values() for m in ms] + self._broadcast
        for member in members:
            await member.stop()
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("embedded bus not started")
        return self._db

    def _partitions(self, topic: str) -> int:
        count = self._partition_counts.get(topic)
        if count is None:
            self.db.execute("INSERT OR IGNORE INTO topics VALUES (?, ?)", (topic, self._default_partitions))
            row = self.db.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
            count = self._partition_counts[topic] = int(row[0])
        return count

    async def ensure_topics(self, topics: Sequence[str], partitions: int) -> None:
        for topic in topics:
            self.db.execute("INSERT OR IGNORE INTO topics VALUES (?, ?)", (topic, partitions))
        self._rebalance_all()

    async def publish(
        self, topic: str, value: bytes, key: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self._counter += 1
        partition = partition_for(key, self._partitions(topic), self._counter)
        tp = (topic, partition)
        offset = self._end_offset(tp)
        self.db.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
            (topic, partition, offset, key, value, json.dumps(headers or {}), int(time.time() * 1000)),
        )
        self._ends[tp] = offset + 1
        self._wake()

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """All of ``messages`` in one transaction, in order."""
        if not messages:
            return
        next_offset: dict[TopicPartition, int] = {}
        with immediate_transaction(self.db) as cur:
            now = int(time.time() * 1000)
            for message in messages:
                self._counter += 1
                partition = partition_for(message.key, self._partitions(message.topic), self._counter)
                tp = (message.topic, partition)
                if tp not in next_offset:
                    next_offset[tp] = self._end_offset(tp)
                cur.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*tp, next_offset[tp], message.key, message.value, json.dumps(message.headers), now),
                )
                next_offset[tp] += 1
        self._ends.update(next_offset)
        self._wake()

    def _wake(self) -> None:
        """Wake every member waiting for messages (new data, or one of them is stopping)."""
        self._published.set()
        self._published = asyncio.Event()

    async def subscribe(
        self, topics: Sequence[str], handler: Handler, group_id: str | None, *, from_beginning: bool = True
    ) -> _Member:
        member = _Member(self, topics, handler, group_id, from_beginning)
        if group_id is None:
            member.assign(self._all_partitions(topics))
            for tp in member.assigned:
                member.positions[tp] = self._end_offset(tp)
            self._broadcast.append(member)
        else:
            self._groups[group_id].append(member)
            self._rebalance(group_id)
        member.task = asyncio.create_task(member.run(), name=f"embedded-consumer-{group_id}")
        return member

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        handler: BatchHandler,
        group_id: str,
        *,
        max_records: int = 500,
        from_beginning: bool = True,
    ) -> _Member:
        member = _BatchMember(self, topics, handler, group_id, max_records, from_beginning)
        self._groups[group_id].append(member)
        self._rebalance(group_id)
        member.task = asyncio.create_task(member.run(), name=f"embedded-batch-consumer-{group_id}")
        return member

    async def lag(self, group_id: str, topics: Sequence[str]) -> Lag:
        lag: Lag = {}
        for topic in topics:
            if self.db.execute("SELECT 1 FROM topics WHERE name = ?", (topic,)).fetchone() is None:
                continue
            lag[topic] = {}
            for tp in self._all_partitions([topic]):
                committed = self._committed(group_id, tp)
                lag[topic][tp[1]] = self._end_offset(tp) - (committed or 0)
        return lag

    async def ping(self) -> None:
        self.db.execute("SELECT 1").fetchone()

    def _all_partitions(self, topics: Sequence[str]) -> list[TopicPartition]:
        return [(t, p) for t in topics for p in range(self._partitions(t))]

    def _rebalance(self, group_id: str) -> None:
        members = self._groups.get(group_id, [])
        if not members:
            return
        topics = sorted({t for m in members for t in m.topics})
        shares: dict[int, list[TopicPartition]] = defaultdict(list)
        for i, tp in enumerate(self._all_partitions(topics)):
            eligible = [j for j, m in enumerate(members) if tp[0] in m.topics]
            shares[eligible[i % len(eligible)]].append(tp)
        for j, member in enumerate(members):
            member.assign(shares[j])

    def _rebalance_all(self) -> None:
        for group_id in list(self._groups):
            self._rebalance(group_id)

    def _leave(self, member: _Member) -> None:
        if member.group_id is None:
            if member in self._broadcast:
                self._broadcast.remove(member)
        elif member in self._groups[member.group_id]:
            self._groups[member.group_id].remove(member)
            self._rebalance(member.group_id)

    def _committed(self, group_id: str, tp: TopicPartition) -> int | None:
        row = self.db.execute(
            "SELECT offset FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?", (group_id, *tp)
        ).fetchone()
        return int(row[0]) if row else None

    def _commit(self, group_id: str, tp: TopicPartition, offset: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO group_offsets VALUES (?, ?, ?, ?)", (group_id, *tp, offset))

    def _end_offset(self, tp: TopicPartition) -> int:
        end = self._ends.get(tp)
        if end is None:
            row = self.db.execute(
                "SELECT COALESCE(MAX(offset) + 1, 0) FROM messages WHERE topic = ? AND partition = ?", tp
            ).fetchone()
            end = self._ends[tp] = int(row[0])
        return end

    def _fetch(self, tp: TopicPartition, position: int, limit: int) -> list[Message]:
        if position >= self._end_offset(tp):
            return []
        rows = self.db.execute(
            "SELECT offset, key, value, headers, ts FROM messages WHERE topic = ? AND partition = ? AND offset >= ?"
            " ORDER BY offset LIMIT ?",
            (*tp, position, limit),
        ).fetchall()
        return [Message(tp[0], tp[1], o, k, bytes(v), json.loads(h), ts) for o, k, v, h, ts in rows]

    async def _wait_for_messages(self, seconds: float) -> None:
        await wait_event(self._published, seconds)
