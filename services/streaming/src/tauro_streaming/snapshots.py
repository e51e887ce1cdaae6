"""Window state per consumer group and input partition, with the offset it covers.

A stateful pipeline runs one :class:`StreamPipeline` per input partition. After a batch's
outputs are published (and before its offset is committed) the partition's window state
is saved with ``offset`` = the offset after the batch, conditionally on the version read
(``put_versioned``). Whoever consumes the partition next (this replica after a restart,
or another one after a rebalance) restores it and skips messages below ``offset``: they
are already in the state and their outputs were already published. So window state is
exactly-once across crashes and rebalances; outputs stay at-least-once.

Snapshots are keyed by the consumer group (not the execution): they belong with the
group's committed offsets, so the next execution of the same pipeline resumes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tauro_platform.timeutil import iso

from tauro_streaming.docstore import DocStore
from tauro_streaming.projections import STREAM_WINDOW_STATE


@dataclass(frozen=True)
class Snapshot:
    version: int
    offset: int
    state: dict[str, Any]


class SnapshotStore:
    def __init__(self, docs: DocStore, consumer_group: str, execution_id: str) -> None:
        self._read = docs
        self._group = consumer_group
        self._execution_id = execution_id

    def _id(self, topic: str, partition: int) -> str:
        return f"{self._group}|{topic}|{partition}"

    async def load(self, topic: str, partition: int) -> Snapshot | None:
        doc = await self._read.get(STREAM_WINDOW_STATE, self._id(topic, partition))
        if doc is None:
            return None
        return Snapshot(int(doc["_v"]), int(doc["offset"]), doc["state"])

    async def save(
        self, topic: str, partition: int, offset: int, state: dict[str, Any], expected_version: int | None
    ) -> bool:
        """Store the state covering offsets below ``offset``; False if someone else saved first."""
        doc = {
            "_id": self._id(topic, partition), "_v": (expected_version or 0) + 1, "consumer_group": self._group,
            "topic": topic, "partition": partition, "offset": offset, "state": state,
            "execution_id": self._execution_id, "updated_at": iso(datetime.now(UTC)),
        }
        return await self._read.put_versioned(STREAM_WINDOW_STATE, doc, expected_version)
