"""One stream execution on one replica: a member of the execution's consumer group.

The worker joins the definition's consumer group through the bus port
(``subscribe_batches``), so the replicas running the execution share its input
partitions. For each batch (consecutive messages of one partition) it runs the partition's
:class:`StreamPipeline`, publishes the outputs and dead letters (reasons in headers) with
``publish_many``, saves the partition's window state if the pipeline has windows, and
only then returns, so the bus commits the offset only after the output is written:
at least once, and a crash loses nothing.

``drain`` (a stop) lets the batch in hand finish, holds back new ones (left uncommitted),
flushes every window it owns, then leaves the group. ``abort`` leaves without flushing
(shutdown, or the execution ended under it): open windows stay in their snapshots.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from tauro_platform.bus.port import Bus, Message, Outgoing, Subscription
from tauro_platform.observability.metrics import count_stream_records
from tauro_platform.readstore.port import Doc
from tauro_platform.settings import Settings
from tauro_platform.waiting import wait_event

from tauro_streaming.domain import DeadLetter, Output, StreamPipeline, StreamStateError, parse_definition
from tauro_streaming.domain.results import Result
from tauro_streaming.handlers import build_pipeline
from tauro_streaming.snapshots import SnapshotStore
from tauro_streaming.stats import Counters

log = logging.getLogger("tauro.streaming.worker")
TopicPartition = tuple[str, int]


class StaleWindowState(RuntimeError):
    """Another consumer saved this partition's window state since we read it."""


@dataclass
class _Tally:
    """What one batch did; added to the replica's counters once its outputs are written."""

    records_in: int = 0
    records_out: int = 0
    dead_lettered: int = 0
    last_dead_letter: str | None = None

    def add_to(self, counters: Counters, pipeline: str) -> None:
        count_stream_records(pipeline, self.records_in, self.records_out, self.dead_lettered)
        counters.records_in += self.records_in
        counters.records_out += self.records_out
        counters.dead_lettered += self.dead_lettered
        if self.last_dead_letter is not None:
            counters.error(f"dead letter: {self.last_dead_letter}")


@dataclass
class _Partition:
    pipeline: StreamPipeline
    version: int | None = None  # the snapshot version the in-memory state corresponds to
    covered: int = -1  # offsets below this are already in the state (and their outputs written)


class ExecutionWorker:
    def __init__(self, execution: Doc, bus: Bus, snapshots: SnapshotStore, counters: Counters,
                 settings: Settings) -> None:
        self.execution_id: str = execution["execution_id"]
        self.definition = parse_definition(execution["definition"])
        self._source = execution["source"]
        self._callables = tuple(settings.stream_callable_modules)
        self._bus = bus
        self._snapshots = snapshots
        self._counters = counters
        self._batch_size = settings.stream_batch_size
        self._topic_partitions = settings.kafka_partitions
        self._parts: dict[TopicPartition, _Partition] = {}
        self._subscription: Subscription | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False
        self._released = asyncio.Event()
        self.stateful = False
        self.closed = False

    def _pipeline(self) -> StreamPipeline:
        return build_pipeline(self.definition, self._source, self._callables)

    async def start(self) -> None:
        """Join the consumer group; ``StreamDefinitionError`` if the pipeline cannot be built here."""
        self.stateful = self._pipeline().stateful
        d = self.definition
        await self._bus.ensure_topics([*d.input_topics, d.output_topic, d.dead_letter_topic],
                                      self._topic_partitions)
        self._subscription = await self._bus.subscribe_batches(
            list(d.input_topics), self._on_batch, group_id=d.consumer_group, max_records=self._batch_size
        )
        log.info("stream worker joined its consumer group",
                 extra={"execution_id": self.execution_id, "group": d.consumer_group})

    # -- consuming ---------------------------------------------------------------------------

    async def _on_batch(self, batch: list[Message]) -> None:
        if self._draining:
            await self._released.wait()
            # Leave the batch uncommitted (the next consumer of the group gets it) without
            # the bus logging a handler failure: end this consumer's loop like a cancel.
            raise asyncio.CancelledError
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._process(batch)
        except Exception as exc:
            self._counters.error(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _process(self, batch: list[Message]) -> None:
        tp = (batch[0].topic, batch[0].partition)
        part = await self._partition(tp)
        tally = _Tally()
        try:
            outgoing: list[Outgoing] = []
            for message in batch:
                if message.offset < part.covered:
                    continue  # already in the restored window state, its outputs already written
                tally.records_in += 1
                results = part.pipeline.process_value(message.value, message.timestamp_ms)
                outgoing.extend(self._outgoing(results, message, tally))
            if outgoing:
                await self._bus.publish_many(outgoing)
            if self.stateful and tally.records_in:
                await self._save(tp, part, batch[-1].offset + 1)
        except BaseException:
            self._parts.pop(tp, None)  # the state holds part of this batch: reload before the retry
            raise
        tally.add_to(self._counters, self.definition.name)

    async def _partition(self, tp: TopicPartition) -> _Partition:
        cached = self._parts.get(tp)
        if not self.stateful:
            if cached is None:
                cached = self._parts[tp] = _Partition(self._pipeline())
            return cached
        snapshot = await self._snapshots.load(*tp)
        version = snapshot.version if snapshot is not None else None
        if cached is not None and cached.version == version:
            return cached
        part = _Partition(self._pipeline(), version)
        if snapshot is not None:
            try:
                part.pipeline.restore(snapshot.state)
                part.covered = snapshot.offset
            except StreamStateError as exc:
                self._counters.error(f"window state of {tp[0]}[{tp[1]}] discarded: {exc}")
                part.pipeline = self._pipeline()
        self._parts[tp] = part
        return part

    async def _save(self, tp: TopicPartition, part: _Partition, covered: int) -> None:
        if not await self._snapshots.save(tp[0], tp[1], covered, part.pipeline.state(), part.version):
            raise StaleWindowState(f"window state of {tp[0]}[{tp[1]}] was saved by another consumer")
        part.version = (part.version or 0) + 1
        part.covered = covered

    def _outgoing(self, results: list[Result], source: Message | None, tally: _Tally) -> list[Outgoing]:
        out: list[Outgoing] = []
        for result in results:
            if isinstance(result, Output):
                out.append(Outgoing(result.topic, result.payload, result.key))
                tally.records_out += 1
            else:
                out.append(self._dead_letter(result, source))
                tally.dead_lettered += 1
                tally.last_dead_letter = result.reason
        return out

    def _dead_letter(self, dead: DeadLetter, source: Message | None) -> Outgoing:
        headers = {name: value.decode("utf-8", "replace") for name, value in dead.headers()}
        headers["tauro-execution-id"] = self.execution_id
        if source is not None:
            headers["tauro-dlq-source"] = f"{source.topic}:{source.partition}:{source.offset}"
        return Outgoing(dead.topic, dead.payload, source.key if source is not None else None, headers)

    # -- stopping ----------------------------------------------------------------------------

    async def drain(self, seconds: float) -> bool:
        """Finish the batch in hand, flush the windows, leave the group. False if out of time."""
        self._draining = True
        if not await wait_event(self._idle, seconds):
            return False
        if self.stateful:
            await self._flush_windows()
        await self.abort()
        return True

    async def _flush_windows(self) -> None:
        for tp, part in list(self._parts.items()):
            snapshot = await self._snapshots.load(*tp)
            if (snapshot.version if snapshot is not None else None) != part.version:
                continue  # another consumer took the partition and its state since
            tally = _Tally()
            outgoing = self._outgoing(part.pipeline.flush(), None, tally)
            if outgoing:
                await self._bus.publish_many(outgoing)
                await self._save(tp, part, part.covered)
                tally.add_to(self._counters, self.definition.name)

    async def abort(self) -> None:
        """Leave the consumer group now; windows stay in their last snapshot."""
        if self.closed:
            return
        self.closed = True
        self._draining = True
        self._released.set()
        if self._subscription is not None:
            await self._subscription.stop()
        log.info("stream worker left its consumer group", extra={"execution_id": self.execution_id})
