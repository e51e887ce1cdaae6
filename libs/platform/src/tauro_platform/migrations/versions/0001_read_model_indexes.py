"""Indexes for the read models' common queries (lists, filters, paging, logs).

The indexes are declared once, in ``tauro_platform.readstore.indexes``; the read store also
ensures them at start-up and after a rebuild, so a dropped read model gets them back."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tauro_platform.readstore.indexes import drop_indexes, ensure_indexes

description = "Indexes for the read models' common queries"


async def up(db: AsyncDatabase[dict[str, Any]]) -> None:
    await ensure_indexes(db)


async def down(db: AsyncDatabase[dict[str, Any]]) -> None:
    await drop_indexes(db)
