"""Fixtures shared by the port contract suites."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient


@pytest.fixture
async def mongo_database(mongo_url: str, unique_name: str) -> AsyncIterator[str]:
    """A fresh database name on the MongoDB-wire server, dropped after the test."""
    yield unique_name
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client.drop_database(unique_name)
    finally:
        await client.close()
