"""``python -m tauro_platform.migrations up | down [--to N] | status | create NAME``.

Migrations apply to a MongoDB database: the one ``MONGODB_URL`` names, when it is set or
``TAURO_MODE=distributed``. In the embedded mode with no ``MONGODB_URL`` there is nothing to
migrate, and the command says so at once (exit 2) instead of waiting for a server that is not
there; an unreachable server is reported in one message after a short probe (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pydantic import ValidationError
from pymongo.errors import PyMongoError

from tauro_platform.adapters import mongo_client
from tauro_platform.logs import redact
from tauro_platform.migrations import runner
from tauro_platform.settings import Settings
from tauro_platform.waiting import within

PROBE_SECONDS = 5.0
"""How long to look for the server before saying it cannot be reached (or MONGODB_TIMEOUT, if shorter)."""
LOCAL_URL = "mongodb://127.0.0.1:27018/?directConnection=true&retryWrites=false"


class Refused(Exception):
    """What to tell the user instead of migrating; ``code`` is the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def embedded_message(settings: Settings) -> str:
    return (
        "tauro migrations: nothing to migrate in the embedded mode (TAURO_MODE=embedded, the default).\n"
        "Migrations apply to a MongoDB database (the distributed mode's event store and read models).\n"
        f"The embedded mode keeps its events in SQLite under {settings.tauro_data_dir} and rebuilds its read\n"
        "models at every start, so it needs none.\n"
        "To migrate a MongoDB database, point at it:\n"
        "  TAURO_MODE=distributed MONGODB_URL='mongodb://HOST:27017/?replicaSet=rs0' make migrate\n"
        "(MONGODB_DATABASE names the database, default 'tauro'; `make up` starts a local MongoDB-wire server at\n"
        f"  {LOCAL_URL} ).\n"
    )


def wants_mongodb(settings: Settings) -> bool:
    """A MongoDB is named: the distributed mode, or ``MONGODB_URL`` set (environment or ``.env``)."""
    return settings.tauro_mode == "distributed" or "mongodb_url" in settings.model_fields_set


async def probe(client: Any, settings: Settings, seconds: float) -> None:
    """Raise ``Refused`` when the server does not answer a ping within ``seconds``."""
    try:
        await within(client.admin.command("ping"), seconds)
    except (TimeoutError, PyMongoError) as exc:
        reason = str(exc).splitlines()[0][:300] if str(exc) else "no answer to a ping"
        raise Refused(
            f"tauro migrations: cannot reach MongoDB at {redact(settings.mongodb_url)} within {seconds:g} s"
            f" ({reason}).\nStart it (`make up` starts a local one at {LOCAL_URL}), or set MONGODB_URL to your"
            " MongoDB (a replica set: the event store needs transactions).\n", 1) from exc


def _settings() -> Settings:
    """The settings, validated, without the production checks of a service (a secret key):
    migrating needs no secret."""
    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        raise Refused(f"tauro: invalid settings:\n{exc}\n", 2) from exc


async def _main(args: argparse.Namespace) -> None:
    if args.action == "create":
        print(runner.create(" ".join(args.name)))
        return
    settings = _settings()
    if not wants_mongodb(settings):
        raise Refused(embedded_message(settings), 2)
    try:
        client = mongo_client(settings)
    except (PyMongoError, ValueError) as exc:
        url = redact(settings.mongodb_url)
        raise Refused(f"tauro migrations: MONGODB_URL {url} is not usable: {exc}\n", 2) from exc
    db = client[settings.mongodb_database]
    try:
        await probe(client, settings, min(PROBE_SECONDS, float(settings.mongodb_timeout)))
        if args.action == "up":
            ran = await runner.up(db, args.to)
            print("\n".join(f"applied {m.number} {m.name}" for m in ran) or "nothing to apply")
        elif args.action == "down":
            reverted = await runner.down(db, args.to)
            print("\n".join(f"reverted {m.number} {m.name}" for m in reverted) or "nothing to revert")
        else:
            for migration, when in await runner.status(db):
                print(f"{migration.number} {migration.name:40} {'applied ' + when if when else 'pending'}")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tauro_platform.migrations")
    parser.add_argument("action", choices=["up", "down", "status", "create"])
    parser.add_argument("name", nargs="*", help="for create: the migration's name")
    parser.add_argument("--to", default=None, help="up: stop after N; down: revert everything above N")
    args = parser.parse_args()
    if args.action == "create" and not args.name:
        parser.error("create needs a NAME")
    try:
        asyncio.run(_main(args))
    except Refused as refused:
        print(str(refused), end="", file=sys.stderr)
        raise SystemExit(refused.code) from None


if __name__ == "__main__":
    main()
