"""``python -m tauro_platform.migrations up | down [--to N] | status | create NAME``."""

from __future__ import annotations

import argparse
import asyncio

from tauro_platform.adapters import mongo_client
from tauro_platform.migrations import runner
from tauro_platform.settings import load_settings


async def _main(args: argparse.Namespace) -> None:
    if args.action == "create":
        print(runner.create(" ".join(args.name)))
        return
    settings = load_settings()
    client = mongo_client(settings)
    db = client[settings.mongodb_database]
    try:
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
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
