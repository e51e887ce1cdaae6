"""Benchmark: read-model rebuild rate (events per second) over a large event log.

Writes a synthetic but realistic log (projects, a pipeline, runs with three tasks each,
log batches) straight into a fresh store, then drops and rebuilds the runs service's
read models, twice, and checks both rebuilds give the same content hash.

    uv run python bench/rebuild_rate.py --events 100000                 # embedded (SQLite + memory)
    uv run python bench/rebuild_rate.py --events 100000 --mongo URL     # MongoDB-wire server
Loopback only; the Mongo database it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tauro_contracts.base import Event
from tauro_contracts.pipeline import PipelineSpec
from tauro_contracts.projects import PipelineDefined, ProjectCreated
from tauro_contracts.runs import (
    LogLine,
    RunCreated,
    RunQueued,
    RunStarted,
    RunSucceeded,
    TaskLogged,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    log_stream,
)
from tauro_platform.adapters import Adapters
from tauro_platform.rebuild import rebuild
from tauro_platform.runtime.decision import CommandContext, PendingWrite, to_writes
from tauro_runs.service import read_model_projectors

SPEC = PipelineSpec.model_validate({
    "nodes": [{"id": "a", "type": "shell"}, {"id": "b", "type": "shell"}, {"id": "c", "type": "shell"}],
    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}],
})


def run_events(run_id: str, now: datetime) -> list[PendingWrite]:
    events: list[Event] = [
        RunCreated(run_id=run_id, project_id="proj_bench", pipeline_id="pipe_bench", pipeline_version=1,
                   pipeline_name="bench", spec=SPEC, params={"date": "2025-01-01"}, tags={}, trigger="api"),
        RunQueued(run_id=run_id, pipeline_id="pipe_bench", timeout_seconds=3600),
        RunStarted(run_id=run_id, deadline=now + timedelta(hours=1)),
    ]
    for node in ("a", "b", "c"):
        events += [
            TaskScheduled(run_id=run_id, node_id=node, attempt=1, node={"id": node, "type": "shell"}, upstream=[],
                          params={}),
            TaskStarted(run_id=run_id, node_id=node, attempt=1, executor_id="bench"),
            TaskSucceeded(run_id=run_id, node_id=node, attempt=1, metrics={"rows_out": 10}),
        ]
    events.append(RunSucceeded(run_id=run_id))
    logs = TaskLogged(run_id=run_id, lines=[LogLine(ts=now, level="INFO", message=f"line {i}") for i in range(5)])
    return [PendingWrite(run_id, 0, tuple(events)), PendingWrite(log_stream(run_id), 0, (logs,))]


async def fill(adapters: Adapters, target: int) -> int:
    now = datetime.now(UTC)
    ctx = CommandContext(command_id="bench", correlation_id=None, actor="bench", trace_context={}, now=now)
    setup = [PendingWrite("proj_bench", 0, (ProjectCreated(project_id="proj_bench", name="bench"),)),
             PendingWrite("pipe_bench", 0, (PipelineDefined(pipeline_id="pipe_bench", project_id="proj_bench",
                                                            name="bench", version=1, spec=SPEC, source="bench",
                                                            checksum="x"),))]
    written = len(await adapters.store.append(to_writes(tuple(setup), ctx)))
    while written < target:
        writes = [w for _ in range(25) for w in run_events(f"run_{uuid.uuid4().hex[:12]}", now)]
        written += len(await adapters.store.append(to_writes(tuple(writes), ctx)))
    return written


async def main(events: int, mongo: str | None) -> None:
    if mongo:
        from pymongo import AsyncMongoClient
        from tauro_platform.bus.embedded import EmbeddedBus
        from tauro_platform.eventstore.mongo import MongoEventStore
        from tauro_platform.readstore.mongo import MongoReadStore

        database = f"bench_{uuid.uuid4().hex[:8]}"
        client: AsyncMongoClient = AsyncMongoClient(mongo)  # type: ignore[type-arg]
        adapters = Adapters(MongoEventStore(client, database), EmbeddedBus(":memory:"),
                            MongoReadStore(AsyncMongoClient(mongo), database))
    else:
        from tauro_platform.bus.embedded import EmbeddedBus
        from tauro_platform.eventstore.sqlite import SqliteEventStore
        from tauro_platform.readstore.memory import MemoryReadStore

        folder = Path(tempfile.mkdtemp(prefix="tauro-bench-"))
        adapters = Adapters(SqliteEventStore(folder / "events.db"), EmbeddedBus(":memory:"), MemoryReadStore())
    started = time.perf_counter()
    total = await fill(adapters, events)
    print(f"wrote {total} events in {time.perf_counter() - started:.1f} s")
    hashes = []
    for attempt in (1, 2):
        report = await rebuild(adapters.store, adapters.read_store, read_model_projectors(adapters))
        hashes.append(report.hash_after)
        print(f"rebuild {attempt}: {report.events} events in {report.seconds:.1f} s = {report.rate:,.0f} events/s")
    print("hashes identical" if hashes[0] == hashes[1] else "HASHES DIFFER")
    if mongo:
        await client.drop_database(database)
    await adapters.read_store.close()
    await adapters.store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--mongo", default=None, help="MongoDB URL (loopback); default: embedded adapters")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.mongo))
