"""The indexes every read model needs on MongoDB: declared once, here, and ensured wherever a
read model is (re)created.

``READ_MODEL_INDEXES`` names each read model (without the ``rm_`` prefix) and the keys of
its indexes, for the queries the services and the gateway make (lists, filters, paging,
logs, the dispatcher's queue, the scheduler's due schedules). ``ensure_indexes`` creates
the missing ones and is idempotent: an index whose keys already exist, under any name
(migration 0001 named them ``m0001_...``), is left alone. It runs

- when a process opens the MongoDB read store (``build_adapters``, every service and the CLI),
- after ``MongoReadStore.drop`` (a rebuild drops the collections, and their indexes with them),
- in migration 0001.

The in-memory read store of the embedded mode has no indexes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

log = logging.getLogger("tauro.readstore")

Keys = tuple[tuple[str, int], ...]

READ_MODEL_INDEXES: dict[str, tuple[Keys, ...]] = {
    "projects": ((("deleted", ASCENDING), ("created_at", DESCENDING)), (("owner", ASCENDING),)),
    "pipelines": (
        (("project_id", ASCENDING), ("name", ASCENDING)),
        (("deleted", ASCENDING), ("created_at", DESCENDING)),
    ),
    "config_versions": ((("pipeline_id", ASCENDING), ("version", ASCENDING)),),
    "runs": (
        (("state", ASCENDING), ("queued_at", ASCENDING)),
        (("project_id", ASCENDING), ("created_at", DESCENDING)),
        (("pipeline_id", ASCENDING), ("state", ASCENDING)),
        (("position", DESCENDING),),
        (("schedule_id", ASCENDING), ("state", ASCENDING)),
    ),
    "run_logs": (
        (("run_id", ASCENDING), ("_id", ASCENDING)),
        (("seq", ASCENDING),),  # GET /logs: every run's lines in log order
        (("project_id", ASCENDING), ("seq", ASCENDING)),
    ),
    "schedules": (
        (("enabled", ASCENDING), ("next_run_at", ASCENDING)),
        (("waiting_count", ASCENDING),),
        (("project_id", ASCENDING), ("enabled", ASCENDING)),
    ),
    "schedule_ticks": (
        (("schedule_id", ASCENDING), ("nominal_time", DESCENDING)),
        (("status", ASCENDING), ("run_created", ASCENDING), ("fired_at", ASCENDING)),
        (("backfill_id", ASCENDING),),  # an Idempotency-Key's backfill, looked up by the gateway
    ),
    # the notifier: a run's deliveries (GET /runs/{id}/notifications), the due ones (its work
    # queue), and the ended runs whose notifications are not decided yet
    "notifications": (
        (("run_id", ASCENDING), ("requested_at", ASCENDING)),
        (("status", ASCENDING), ("due_at", ASCENDING)),
    ),
    "notifier_runs": ((("pending", ASCENDING), ("observed_at", ASCENDING)),),
}


def index_name(keys: Keys) -> str:
    return "rm_" + "_".join(f"{field}_{direction}" for field, direction in keys)


def _key_of(info: dict[str, Any]) -> Keys:
    return tuple((str(field), int(direction)) for field, direction in info.get("key", ()))


def _chosen(collections: Iterable[str] | None) -> list[str]:
    return list(READ_MODEL_INDEXES) if collections is None else [c for c in collections if c in READ_MODEL_INDEXES]


async def missing_indexes(
    db: AsyncDatabase[dict[str, Any]], prefix: str = "rm_", collections: Iterable[str] | None = None
) -> list[tuple[str, Keys]]:
    """The declared indexes that do not exist: ``(read model, keys)``."""
    missing = []
    for collection in _chosen(collections):
        existing = {_key_of(info) for info in (await db[prefix + collection].index_information()).values()}
        missing += [(collection, keys) for keys in READ_MODEL_INDEXES[collection] if keys not in existing]
    return missing


async def ensure_indexes(
    db: AsyncDatabase[dict[str, Any]], prefix: str = "rm_", collections: Iterable[str] | None = None
) -> list[str]:
    """Create the declared indexes that are missing (of ``collections``, default all); returns
    the names created. Concurrent callers are fine: creating an existing index is a no-op."""
    created = []
    for collection, keys in await missing_indexes(db, prefix, collections):
        await db[prefix + collection].create_index(list(keys), name=index_name(keys))
        created.append(f"{prefix}{collection}.{index_name(keys)}")
    if created:
        log.info("read-model indexes created", extra={"indexes": created})
    return created


async def drop_indexes(
    db: AsyncDatabase[dict[str, Any]], prefix: str = "rm_", collections: Sequence[str] | None = None
) -> None:
    """Drop the declared indexes (whatever their names); the reverse of ``ensure_indexes``."""
    for collection in _chosen(collections):
        declared = set(READ_MODEL_INDEXES[collection])
        for name, info in (await db[prefix + collection].index_information()).items():
            if _key_of(info) in declared:
                await db[prefix + collection].drop_index(name)
