"""Indexes for the read models' common queries (lists, filters, paging, logs)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

description = "Indexes for the read models' common queries"

INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    "rm_projects": [[("deleted", ASCENDING), ("created_at", DESCENDING)], [("owner", ASCENDING)]],
    "rm_pipelines": [
        [("project_id", ASCENDING), ("name", ASCENDING)],
        [("deleted", ASCENDING), ("created_at", DESCENDING)],
    ],
    "rm_config_versions": [[("pipeline_id", ASCENDING), ("version", ASCENDING)]],
    "rm_runs": [
        [("state", ASCENDING), ("queued_at", ASCENDING)],
        [("project_id", ASCENDING), ("created_at", DESCENDING)],
        [("pipeline_id", ASCENDING), ("state", ASCENDING)],
        [("position", DESCENDING)],
        [("schedule_id", ASCENDING), ("state", ASCENDING)],
    ],
    "rm_run_logs": [[("run_id", ASCENDING), ("_id", ASCENDING)]],
}


def _name(keys: list[tuple[str, int]]) -> str:
    return "m0001_" + "_".join(f"{field}_{direction}" for field, direction in keys)


async def up(db: AsyncDatabase[dict[str, Any]]) -> None:
    for collection, indexes in INDEXES.items():
        for keys in indexes:
            await db[collection].create_index(keys, name=_name(keys))


async def down(db: AsyncDatabase[dict[str, Any]]) -> None:
    for collection, indexes in INDEXES.items():
        existing = await db[collection].index_information()
        for keys in indexes:
            if _name(keys) in existing:
                await db[collection].drop_index(_name(keys))
