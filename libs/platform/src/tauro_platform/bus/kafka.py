"""Kafka bus adapter on aiokafka.

The producer is idempotent with ``acks=all``, so ``publish`` returning means the
broker has the message. Each subscription is its own consumer: with a group id it
joins that group with auto-commit off and commits a partition's offset only after
the handler returned for its messages; without one it is a broadcast tap that
starts at the end of every partition.

Failover: a member that dies without leaving its group (SIGKILL) keeps its partitions
until its session times out (``KAFKA_SESSION_TIMEOUT_MS``); heartbeats go every sixth of
that, so a member must miss several before it is presumed dead. The default, 6 s, is the
smallest a stock broker accepts (``group.min.session.timeout.ms``); Tauro's own brokers
(``scripts/infra/kafka.sh``, compose.yaml) allow 1 s and its deployments use 3 s, so a
survivor takes a dead member's partitions within about 4 s.

A ``namespace`` prefixes every topic and group name inside the adapter, so several
deployments (or test runs) can share one Kafka cluster without seeing each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiokafka.errors as kafka_errors
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, TopicAlreadyExistsError

from tauro_platform.bus.delivery import deliver
from tauro_platform.bus.port import BatchHandler, Handler, Lag, Message, Outgoing

log = logging.getLogger("tauro.bus.kafka")


class _KafkaSubscription:
    def __init__(self, consumer: AIOKafkaConsumer, handler: Handler, group_id: str | None, namespace: str) -> None:
        self.consumer = consumer
        self.namespace = namespace
        self.handler = handler
        self.group_id = group_id
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        try:
            while not self.stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=200)
                for tp, records in batches.items():
                    for record in records:
                        if tp not in self.consumer.assignment():
                            break  # revoked by a rebalance: its new owner resumes from the commit
                        message = Message(
                            topic=record.topic[len(self.namespace):],
                            partition=record.partition,
                            offset=record.offset,
                            key=record.key.decode() if record.key is not None else None,
                            value=record.value or b"",
                            headers={k: v.decode() for k, v in record.headers or ()},
                            timestamp_ms=record.timestamp,
                        )
                        if not await deliver(self.handler, message, self.stopping):
                            return
                        if self.group_id is not None and not await self._commit(tp, record.offset + 1):
                            break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kafka consumer loop crashed", extra={"group_id": self.group_id})
            raise

    async def _commit(self, tp: TopicPartition, offset: int) -> bool:
        """Commit after a handled message; False if a rebalance took the partition meanwhile."""
        try:
            await self.consumer.commit({tp: offset})
            return True
        except (CommitFailedError, IllegalStateError):
            # The group moved on while the handler ran: the partition's (new) owner
            # resumes from the last commit and redelivers (at least once). Crashing here
            # would leave a member that holds partitions and consumes nothing.
            log.warning(
                "commit lost to a rebalance; the message will be redelivered",
                extra={"group_id": self.group_id, "partition": tp.partition, "offset": offset - 1},
            )
            return False

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()


class _KafkaBatchSubscription(_KafkaSubscription):
    """A group member whose handler takes runs of consecutive messages of one partition;
    the offset after a run is committed once the handler returned for it."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: BatchHandler,
        group_id: str,
        namespace: str,
        max_records: int,
    ) -> None:
        super().__init__(consumer, _no_handler, group_id, namespace)
        self.batch_handler = handler
        self.max_records = max_records

    def _message(self, record: ConsumerRecord) -> Message:
        return Message(
            topic=record.topic[len(self.namespace):],
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode("utf-8", "replace") if record.key is not None else None,
            value=record.value or b"",
            headers={k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
            timestamp_ms=record.timestamp,
        )

    async def run(self) -> None:
        try:
            while not self.stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
                # Partitions are handled concurrently: a batch being retried holds up its own
                # partition only, not the others fetched with it.
                handled = await asyncio.gather(*(self._handle(tp, records) for tp, records in batches.items()))
                if not all(handled):
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kafka batch consumer loop crashed", extra={"group_id": self.group_id})
            raise

    async def _handle(self, tp: TopicPartition, records: list[ConsumerRecord]) -> bool:
        """Deliver one partition's run and commit after it; False if the consumer stopped first."""
        if not records or tp not in self.consumer.assignment():
            return True  # revoked by a rebalance: its new owner resumes from the commit
        batch = [self._message(record) for record in records]
        if not await deliver(_whole(self.batch_handler, batch), batch[0], self.stopping):
            return False
        await self._commit_batch(tp, records[-1].offset + 1)
        return True

    async def _commit_batch(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self.consumer.commit({tp: offset})
        except (kafka_errors.CommitFailedError, kafka_errors.IllegalStateError):
            # A rebalance took the partition while the handler ran: its owner redelivers.
            log.warning("batch commit lost to a rebalance; it will be redelivered",
                        extra={"group_id": self.group_id, "partition": tp.partition, "offset": offset - 1})


async def _no_handler(message: Message) -> None:
    raise AssertionError("batch subscriptions deliver through their batch handler")


def _whole(handler: BatchHandler, batch: list[Message]) -> Handler:
    """``batch`` as one delivery: ``deliver`` retries it whole until the handler returns."""

    async def call(_first: Message) -> None:
        await handler(batch)

    return call


class KafkaBus:
    def __init__(self, bootstrap_servers: str, client_id: str = "tauro", namespace: str = "",
                 session_timeout_ms: int = 6000) -> None:
        self._bootstrap = bootstrap_servers
        self._session_timeout_ms = session_timeout_ms
        self._ns = namespace
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._subscriptions: list[_KafkaSubscription] = []
        self._offsets: tuple[AIOKafkaConsumer, AIOKafkaAdminClient] | None = None
        self._offsets_lock = asyncio.Lock()

    async def start(self) -> None:
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=1,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        for sub in self._subscriptions:
            await sub.stop()
        self._subscriptions.clear()
        if self._offsets is not None:
            consumer, admin = self._offsets
            self._offsets = None
            await consumer.stop()
            await admin.close()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Sequence[str], partitions: int) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-admin")
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            names = [self._ns + t for t in topics]
            missing = [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in names if t not in existing]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
        finally:
            await admin.close()

    async def publish(
        self, topic: str, value: bytes, key: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        if self._producer is None:
            raise RuntimeError("kafka bus not started")
        await self._producer.send_and_wait(
            self._ns + topic,
            value=value,
            key=key.encode() if key is not None else None,
            headers=[(k, v.encode()) for k, v in (headers or {}).items()],
        )

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Enqueue every message in order, then wait until the broker has them all."""
        if self._producer is None:
            raise RuntimeError("kafka bus not started")
        futures = []
        for message in messages:
            futures.append(await self._producer.send(
                self._ns + message.topic,
                value=message.value,
                key=message.key.encode() if message.key is not None else None,
                headers=[(k, v.encode()) for k, v in message.headers.items()],
            ))
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise failed

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        handler: BatchHandler,
        group_id: str,
        *,
        max_records: int = 500,
        from_beginning: bool = True,
    ) -> _KafkaSubscription:
        consumer = self._group_consumer(group_id, from_beginning)
        await consumer.start()
        consumer.subscribe([self._ns + t for t in topics])
        sub = _KafkaBatchSubscription(consumer, handler, group_id, self._ns, max_records)
        sub.task = asyncio.create_task(sub.run(), name=f"kafka-batch-consumer-{group_id}")
        self._subscriptions.append(sub)
        return sub

    def _group_consumer(self, group_id: str, from_beginning: bool) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=self._ns + group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level="read_committed",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(100, self._session_timeout_ms // 6),
            max_poll_interval_ms=600_000,
        )

    async def lag(self, group_id: str, topics: Sequence[str]) -> Lag:
        if self._producer is None:
            raise RuntimeError("kafka bus not started")
        consumer, admin = await self._offset_clients()
        cluster = await self._producer.client.fetch_all_metadata()
        partitions = [
            TopicPartition(self._ns + t, p)
            for t in topics
            for p in sorted(cluster.partitions_for_topic(self._ns + t) or ())
        ]
        if not partitions:
            return {}
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(self._ns + group_id, partitions=partitions)
        lag: Lag = {}
        for tp in partitions:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
            lag.setdefault(tp.topic[len(self._ns):], {})[tp.partition] = max(0, ends[tp] - position)
        return lag

    async def _offset_clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        """A group-less consumer (end offsets) and an admin client (group offsets), made once."""
        async with self._offsets_lock:
            if self._offsets is None:
                client_id = f"{self._client_id}-lag"
                consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, client_id=client_id)
                await consumer.start()
                admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=client_id)
                await admin.start()
                self._offsets = (consumer, admin)
            return self._offsets

    async def subscribe(
        self, topics: Sequence[str], handler: Handler, group_id: str | None, *, from_beginning: bool = True
    ) -> _KafkaSubscription:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            group_id=self._ns + group_id if group_id is not None else None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level="read_committed",
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(100, self._session_timeout_ms // 6),
            max_poll_interval_ms=600_000,
        )
        await consumer.start()
        names = [self._ns + t for t in topics]
        if group_id is None:
            partitions = [TopicPartition(t, p) for t in names for p in sorted(await self._partitions(consumer, t))]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for tp in partitions:
                await consumer.position(tp)
        else:
            consumer.subscribe(names)
        sub = _KafkaSubscription(consumer, handler, group_id, self._ns)
        sub.task = asyncio.create_task(sub.run(), name=f"kafka-consumer-{group_id}")
        self._subscriptions.append(sub)
        return sub

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
        for _ in range(50):
            partitions = consumer.partitions_for_topic(topic)
            if partitions:
                return set(partitions)
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} has no partitions")

    async def ping(self) -> None:
        if self._producer is None:
            raise RuntimeError("kafka bus not started")
        await self._producer.client.fetch_all_metadata()
