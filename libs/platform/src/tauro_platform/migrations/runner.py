"""Finding, applying and reverting migrations against one MongoDB database."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tauro_platform.migrations import versions

RECORDS = "_migrations"
NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)$")


@dataclass(frozen=True)
class Migration:
    number: str
    name: str
    module: ModuleType

    @property
    def description(self) -> str:
        return str(getattr(self.module, "description", self.name))


def available() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(versions.__path__):
        match = NAME.match(info.name)
        if match:
            module = importlib.import_module(f"{versions.__name__}.{info.name}")
            found.append(Migration(match.group(1), match.group(2), module))
    numbers = [m.number for m in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {sorted(numbers)}")
    return sorted(found, key=lambda m: m.number)


async def applied(db: AsyncDatabase[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["_id"]: doc async for doc in db[RECORDS].find({})}


async def status(db: AsyncDatabase[dict[str, Any]]) -> list[tuple[Migration, str | None]]:
    done = await applied(db)
    return [(m, done[m.number]["applied_at"] if m.number in done else None) for m in available()]


async def up(db: AsyncDatabase[dict[str, Any]], to: str | None = None) -> list[Migration]:
    """Apply every pending migration (up to ``to``), in order; returns those applied."""
    done = await applied(db)
    ran: list[Migration] = []
    for migration in available():
        if to is not None and migration.number > to:
            break
        if migration.number in done:
            continue
        await migration.module.up(db)
        await db[RECORDS].update_one(
            {"_id": migration.number},
            {"$setOnInsert": {"name": migration.name, "applied_at": datetime.now(UTC).isoformat()}},
            upsert=True,
        )
        ran.append(migration)
    return ran


async def down(db: AsyncDatabase[dict[str, Any]], to: str | None = None) -> list[Migration]:
    """Revert the last applied migration, or every one above ``to``; returns those reverted."""
    done = await applied(db)
    reverted: list[Migration] = []
    for migration in reversed(available()):
        if migration.number not in done:
            continue
        if to is None and reverted:
            break
        if to is not None and migration.number <= to:
            break
        await migration.module.down(db)
        await db[RECORDS].delete_one({"_id": migration.number})
        reverted.append(migration)
    return reverted


TEMPLATE = '''"""{title}"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

description = "{title}"


async def up(db: AsyncDatabase[dict[str, Any]]) -> None:
    raise NotImplementedError


async def down(db: AsyncDatabase[dict[str, Any]]) -> None:
    raise NotImplementedError
'''


def create(name: str, folder: Path | None = None) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise ValueError("a migration needs a name")
    folder = folder or Path(versions.__path__[0])
    last = max((int(m.number) for m in available()), default=0)
    path = folder / f"{last + 1:04d}_{slug}.py"
    path.write_text(TEMPLATE.format(title=name.strip().capitalize()))
    return path
