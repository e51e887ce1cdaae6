"""Per-replica counters of each execution, written to the read store as a heartbeat.

Each streaming replica keeps, per execution it works on, records in / out /
dead-lettered and its last error, and writes them every ``STREAM_STATS_INTERVAL_SECONDS``
as the document ``<execution_id>|<replica_id>`` of ``stream_replicas`` (with
``put_versioned``: only this replica writes it). ``active`` says whether the replica is
consuming for the execution; ``updated_at`` is its heartbeat. Status sums the documents.

Counters are best effort, not exact: a replica that dies loses what it counted since its
last write, and records redelivered after a crash are counted again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.timeutil import iso

from tauro_streaming.projections import STREAM_REPLICAS

log = logging.getLogger("tauro.streaming.stats")
MAX_ERROR_CHARS = 2000


@dataclass
class Counters:
    execution_id: str
    records_in: int = 0
    records_out: int = 0
    dead_lettered: int = 0
    last_error: str | None = None
    last_error_at: str | None = None
    active: bool = False
    started_at: str = field(default_factory=lambda: iso(datetime.now(UTC)))
    version: int = 0

    def error(self, message: str) -> None:
        self.last_error = message[:MAX_ERROR_CHARS]
        self.last_error_at = iso(datetime.now(UTC))

    def doc(self, replica_id: str) -> Doc:
        return {
            "_id": f"{self.execution_id}|{replica_id}", "execution_id": self.execution_id,
            "replica_id": replica_id, "records_in": self.records_in, "records_out": self.records_out,
            "dead_lettered": self.dead_lettered, "last_error": self.last_error,
            "last_error_at": self.last_error_at, "active": self.active, "started_at": self.started_at,
            "updated_at": iso(datetime.now(UTC)),
        }


class ReplicaStats:
    """The counters of one replica, keyed by execution id."""

    def __init__(self, read_store: ReadStore, replica_id: str) -> None:
        self._read = read_store
        self.replica_id = replica_id
        self._counters: dict[str, Counters] = {}
        self._lock = asyncio.Lock()  # one write at a time: each needs the version the last one left

    def get(self, execution_id: str) -> Counters:
        counters = self._counters.get(execution_id)
        if counters is None:
            counters = self._counters[execution_id] = Counters(execution_id)
        return counters

    def known(self) -> list[str]:
        return list(self._counters)

    def forget(self, execution_id: str) -> None:
        self._counters.pop(execution_id, None)

    async def write(self, execution_id: str) -> None:
        """Write one execution's counters (and heartbeat) now."""
        async with self._lock:
            await self._write(execution_id)

    async def _write(self, execution_id: str) -> None:
        counters = self._counters.get(execution_id)
        if counters is None:
            return
        doc = {**counters.doc(self.replica_id), "_v": counters.version + 1}
        expected = counters.version if counters.version else None
        if await self._read.put_versioned(STREAM_REPLICAS, doc, expected):
            counters.version += 1
        else:  # our own document moved: only a restarted copy of this replica id could do that
            stored = await self._read.get(STREAM_REPLICAS, doc["_id"])
            counters.version = int(stored["_v"]) if stored else 0
            log.warning("replica stats document changed underneath; re-synced", extra={"doc": doc["_id"]})

    async def write_all(self) -> None:
        for execution_id in list(self._counters):
            try:
                await self.write(execution_id)
            except Exception:
                log.exception("could not write stream stats", extra={"execution_id": execution_id})

