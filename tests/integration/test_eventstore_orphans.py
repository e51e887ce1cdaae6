"""A process SIGKILLed inside an event-store transaction must not stall everybody's appends.

The killed process's transaction stays open on the server and holds the position counter
until the server's transaction lifetime (60 s) runs out: every other append conflicts
meanwhile (measured before the fix: 60 s without a single append). The store kills the
sessions of writers whose lease ran out, so appends go on within seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient
from tauro_contracts.envelope import EventEnvelope
from tauro_platform.eventstore.mongo import MongoEventStore, retry_backoff
from tauro_platform.eventstore.port import StreamWrite
from tauro_platform.eventstore.writers import LEASE_SECONDS

pytestmark = pytest.mark.integration

# An appender whose commit never comes: it holds its transaction (and the counter) open.
HANGING_APPENDER = textwrap.dedent("""
    import asyncio, sys, uuid
    from datetime import UTC, datetime
    from pymongo import AsyncMongoClient
    from tauro_contracts.envelope import EventEnvelope
    from tauro_platform.eventstore import mongo
    from tauro_platform.eventstore.port import StreamWrite

    async def hang(session, started):
        print("holding the counter", flush=True)
        await asyncio.sleep(3600)

    async def main():
        mongo.MongoEventStore._commit = staticmethod(hang)
        store = mongo.MongoEventStore(AsyncMongoClient(sys.argv[1]), sys.argv[2])
        sid = "orphan-" + uuid.uuid4().hex
        event = EventEnvelope(event_id=str(uuid.uuid4()), stream_id=sid, stream_version=1, type="Held",
                              schema_version=1, occurred_at=datetime.now(UTC), data={})
        await store.append([StreamWrite(sid, 0, [event])])

    asyncio.run(main())
""")


def _write(stream_id: str) -> StreamWrite:
    event = EventEnvelope(event_id=str(uuid.uuid4()), stream_id=stream_id, stream_version=1, type="Probe",
                          schema_version=1, occurred_at=datetime.now(UTC), data={})
    return StreamWrite(stream_id, 0, [event])


def test_backoff_is_bounded_however_many_retries() -> None:
    assert retry_backoff(1, 0.0) <= 0.02
    assert retry_backoff(10_000, 0.5) <= 0.02  # 2**10000 as a float overflowed before
    assert 0.02 < retry_backoff(10_000, 5.0) <= 0.25


async def test_appends_go_on_soon_after_a_writer_dies_inside_its_transaction(
    mongo_url: str, unique_name: str,
) -> None:
    store = MongoEventStore(AsyncMongoClient(mongo_url), unique_name)
    try:
        await store.ensure_indexes()
        await store.append([_write("before")])
        holder = await asyncio.create_subprocess_exec(sys.executable, "-c", HANGING_APPENDER, mongo_url, unique_name,
                                                      stdout=asyncio.subprocess.PIPE, env={**os.environ})
        try:
            assert holder.stdout is not None
            assert (await holder.stdout.readline()).strip() == b"holding the counter"
        finally:
            holder.send_signal(signal.SIGKILL)
            await holder.wait()
        killed_at = time.monotonic()
        stored = await store.append([_write("after")])
        waited = time.monotonic() - killed_at
        print(f"\nappend after a writer died holding the counter: {waited:.2f}s (lease {LEASE_SECONDS}s)")
        assert stored[0].global_position == 2  # the orphan's events never became visible
        assert store.writers.reaped >= 1
        assert [e.stream_id for e in await store.read_all()] == ["before", "after"]
    finally:
        await store.close()
