"""An index on event type and position, for audit queries over the event log."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

description = "Index events by type for audit queries"
NAME = "m0002_type_position"


async def up(db: AsyncDatabase[dict[str, Any]]) -> None:
    await db["events"].create_index([("type", ASCENDING), ("_id", ASCENDING)], name=NAME)


async def down(db: AsyncDatabase[dict[str, Any]]) -> None:
    if NAME in await db["events"].index_information():
        await db["events"].drop_index(NAME)
