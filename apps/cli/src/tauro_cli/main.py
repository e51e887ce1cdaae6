"""``tauro`` command line entry point."""

from __future__ import annotations

import argparse
import asyncio
import os

from tauro_platform.logs import configure_logging
from tauro_platform.process import serve
from tauro_platform.settings import load_settings


def _dev(args: argparse.Namespace) -> None:
    os.environ.setdefault("TAURO_MODE", "embedded")
    if args.port:
        os.environ["PORT"] = str(args.port)
    settings = load_settings()
    configure_logging("tauro-dev", settings.log_level, settings.log_format)
    from tauro_cli.embedded import start_embedded

    asyncio.run(serve("embedded", start_embedded, settings))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tauro", description="Tauro data-pipeline orchestration")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the whole platform in one process (embedded mode)")
    dev.add_argument("--port", type=int, default=None, help="API port (default: PORT or 8000)")
    dev.set_defaults(func=_dev)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
