"""Benchmark: records per second through a filter + map stream on real Kafka.

Writes ``--records`` JSON events to a fresh input topic first (a backlog), then starts a
streaming service in this process and one execution of a filter + map pipeline over that
topic, and times it from its first output until every expected output is on the output
topic. Prints input records per second (and output records per second); the figure
excludes joining the group.

The data path is the real one: Kafka consumer group, ``publish_many`` with ``acks=all``
and idempotence, a commit per batch. The control plane (commands, events, read models)
uses the embedded stores in a temporary folder, so a busy MongoDB does not skew the
figure; ``--mongo URL`` uses the MongoDB-wire server instead, as ``make up`` does.

    uv run python bench/stream_throughput.py --records 100000
    uv run python bench/stream_throughput.py --records 100000 --batch 2000

Loopback only (refuses other hosts); bounded (``--limit`` seconds); stops by itself.
Its topics (and database, with ``--mongo``) are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from tauro_contracts import topics
from tauro_contracts.streams import StartStream, StopStream
from tauro_platform.adapters import Adapters, build_adapters
from tauro_platform.bus.kafka import KafkaBus
from tauro_platform.eventstore.sqlite import SqliteEventStore
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.runtime.commands import local_envelope
from tauro_platform.settings import Settings
from tauro_streaming.service import StreamingService

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PARTITIONS = 4


def definition(name: str) -> dict[str, object]:
    return {
        "name": name,
        "input_topics": ["bench.in"],
        "processors": [
            {"type": "filter", "all": [{"field": "event_type", "op": "in", "value": ["click", "purchase"]}]},
            {"type": "map", "rename": {"event_type": "type"},
             "compute": {"cents": "amount * 100", "user": "lower(user_id)"}, "drop": ["debug"]},
        ],
        "output_topic": "bench.out",
        "key_field": "user_id",
    }


def record(i: int) -> bytes:
    kinds = ("click", "purchase", "click", "view")  # 3 of 4 pass the filter
    return json.dumps({"event_id": i, "user_id": f"User{i % 1000}", "event_type": kinds[i % 4],
                       "amount": i % 50, "ts": 1_767_225_600 + i, "debug": {"i": i}}).encode()


async def backlog(bootstrap: str, topic: str, count: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", max_batch_size=256 * 1024)
    await producer.start()
    try:
        pending = []
        for i in range(count):
            pending.append(await producer.send(topic, record(i), key=f"User{i % 1000}".encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def output_size(consumer: AIOKafkaConsumer, topic: str) -> int:
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    if not parts:
        await consumer._client.force_metadata_update()
        return 0
    return sum((await consumer.end_offsets(parts)).values())


async def open_adapters(settings: Settings, folder: Path, use_mongo: bool) -> Adapters:
    if use_mongo:
        return await build_adapters(settings)
    bus = KafkaBus(settings.kafka_bootstrap_servers, client_id="bench", namespace=settings.tauro_namespace)
    await bus.start()
    await bus.ensure_topics([*topics.COMMAND_TOPICS, *topics.EVENT_TOPICS, topics.REPLIES], PARTITIONS)
    return Adapters(store=SqliteEventStore(folder / "events.db"), bus=bus, read_store=MemoryReadStore())


async def measure(args: argparse.Namespace) -> None:
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    folder = Path(tempfile.mkdtemp(prefix="tauro-bench-"))
    settings = Settings(
        _env_file=None, tauro_mode="distributed" if args.mongo else "embedded", tauro_data_dir=folder,
        kafka_bootstrap_servers=args.kafka, mongodb_url=args.mongo or Settings.model_fields["mongodb_url"].default,
        mongodb_database=namespace.rstrip("."), tauro_namespace=namespace, kafka_partitions=PARTITIONS,
        stream_batch_size=args.batch, log_level="WARNING",
    )
    print(f"backlog: writing {args.records} records to {namespace}bench.in ...", flush=True)
    await backlog(args.kafka, namespace + "bench.in", args.records)
    expected_out = sum(1 for i in range(args.records) if i % 4 != 3)
    replicas: list[tuple[Adapters, StreamingService]] = []
    watcher = AIOKafkaConsumer(bootstrap_servers=args.kafka, group_id=None)
    await watcher.start()
    try:
        for n in range(args.replicas):
            adapters = await open_adapters(settings, folder, bool(args.mongo))
            service = StreamingService(adapters, settings, replica_id=f"bench-{n}")
            await service.start()
            replicas.append((adapters, service))
        processor = replicas[0][1].host.processor
        reply = await processor.process(local_envelope(
            StartStream(execution_id="exec_bench", definition=definition("bench")), "bench"))
        assert reply.ok, reply.error
        out_topic = namespace + "bench.out"
        deadline = time.monotonic() + args.limit
        while await output_size(watcher, out_topic) == 0:
            assert time.monotonic() < deadline, "no output within the time limit"
            await asyncio.sleep(0.01)
        began, first = time.monotonic(), await output_size(watcher, out_topic)
        done = first
        while done < expected_out:
            assert time.monotonic() < deadline, f"only {done} of {expected_out} outputs within the time limit"
            await asyncio.sleep(0.02)
            done = await output_size(watcher, out_topic)
        took = time.monotonic() - began
        measured_out = done - first
        measured_in = measured_out * 4 / 3
        await processor.process(local_envelope(StopStream(execution_id="exec_bench", timeout=10), "bench"))
        print(f"filter+map stream, {args.replicas} replica(s), batch {args.batch}, {PARTITIONS} partitions, "
              f"{os.cpu_count()} CPUs: {measured_in / took:,.0f} records/s in, {measured_out / took:,.0f} "
              f"records/s out ({measured_out:,} outputs in {took:.2f} s)")
    finally:
        await watcher.stop()
        for adapters, service in replicas:
            await service.stop()
            await adapters.close()
        await cleanup(args, namespace)
        shutil.rmtree(folder, ignore_errors=True)


async def cleanup(args: argparse.Namespace, namespace: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=args.kafka)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(namespace)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
    if args.mongo:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(args.mongo)
        try:
            await client.drop_database(namespace.rstrip("."))
        finally:
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--batch", type=int, default=500, help="STREAM_BATCH_SIZE")
    parser.add_argument("--limit", type=float, default=300.0, help="give up after this many seconds")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--mongo", default=None, help="MongoDB URL for the control plane (default: embedded)")
    args = parser.parse_args()
    if not 1 <= args.records <= 5_000_000 or not 1 <= args.replicas <= 8:
        parser.error("--records must be 1..5,000,000 and --replicas 1..8")
    hosts = {h.rsplit(":", 1)[0].strip("[]") for h in args.kafka.split(",")}
    if args.mongo:
        hosts.add(urlparse(args.mongo).hostname or "")
    if not hosts <= LOOPBACK:
        parser.error(f"loopback only; got hosts {sorted(str(h) for h in hosts)}")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
