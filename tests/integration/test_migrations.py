"""Migrations against the real MongoDB-wire server: ordered, recorded, reversible, idempotent."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from tauro_platform.migrations import runner
from tauro_platform.readstore.indexes import READ_MODEL_INDEXES, ensure_indexes, missing_indexes

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def db(mongo_url: str, unique_name: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    yield client[unique_name]
    await client.drop_database(unique_name)
    await client.close()


async def _index_names(db: AsyncDatabase[dict[str, Any]], collection: str) -> set[str]:
    return set(await db[collection].index_information())


async def test_up_down_status_round_trip(db: AsyncDatabase[dict[str, Any]]) -> None:
    numbers = [m.number for m in runner.available()]
    assert numbers == sorted(numbers) and numbers[:2] == ["0001", "0002"]
    assert all(when is None for _, when in await runner.status(db))
    applied = await runner.up(db)
    assert [m.number for m in applied] == numbers
    assert await missing_indexes(db) == []  # 0001: every declared read-model index
    assert "m0002_type_position" in await _index_names(db, "events")
    assert await runner.up(db) == []
    reverted = await runner.down(db)
    assert [m.number for m in reverted] == [numbers[-1]]
    assert "m0002_type_position" not in await _index_names(db, "events")
    await runner.down(db, to="0000")
    declared = sum(len(keys) for keys in READ_MODEL_INDEXES.values())
    assert len(await missing_indexes(db)) == declared and await _index_names(db, "rm_runs") == {"_id_"}
    assert all(when is None for _, when in await runner.status(db))
    assert [m.number for m in await runner.up(db, to="0001")] == ["0001"]


def test_command_line(mongo_url: str, unique_name: str, tmp_path: Path) -> None:
    env = {"MONGODB_URL": mongo_url, "MONGODB_DATABASE": unique_name, "PATH": "/usr/bin:/bin"}
    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "tauro_platform.migrations", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout
    assert "pending" in cli("status")
    assert "applied 0001" in cli("up")
    assert "reverted 0002" in cli("down")
    assert "0002" in cli("status") and "pending" in cli("status")
    cli("down", "--to", "0000")
    from pymongo import MongoClient
    with MongoClient(mongo_url) as client:
        client.drop_database(unique_name)


def test_create_writes_the_next_numbered_template(tmp_path: Path) -> None:
    path = runner.create("Add user roles", tmp_path)
    assert path.name == f"{int(runner.available()[-1].number) + 1:04d}_add_user_roles.py"
    assert "async def up" in path.read_text() and "async def down" in path.read_text()


async def test_read_model_indexes_made_under_old_names_are_kept(db: AsyncDatabase[dict[str, Any]]) -> None:
    """A database migrated before the declaration moved has ``m0001_...`` names: ensuring the
    declared indexes leaves those alone (no second copy, no name conflict)."""
    keys = READ_MODEL_INDEXES["runs"][0]
    await db["rm_runs"].create_index(list(keys), name="m0001_state_1_queued_at_1")
    created = await ensure_indexes(db)
    assert "rm_runs.rm_state_1_queued_at_1" not in created and await missing_indexes(db) == []
    assert await ensure_indexes(db) == []  # idempotent
    assert len(await _index_names(db, "rm_runs")) == 1 + len(READ_MODEL_INDEXES["runs"])
