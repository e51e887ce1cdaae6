"""``tauro`` command line: the embedded server, operator tools, and a REST client."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from tauro_cli.client import ApiError, Client, follow_run, table


def _dev(args: argparse.Namespace) -> int:
    from tauro_platform.logs import configure_logging
    from tauro_platform.process import serve
    from tauro_platform.settings import load_settings

    os.environ.setdefault("TAURO_MODE", "embedded")
    os.environ.setdefault("LOG_FORMAT", "text")  # a person reads this terminal; LOG_FORMAT=json for machines
    if args.port:
        os.environ["PORT"] = str(args.port)
    settings = load_settings()
    configure_logging("tauro-dev", settings.log_level, settings.log_format)
    from tauro_cli.embedded import start_embedded

    asyncio.run(serve("embedded", start_embedded, settings))
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from tauro_cli.ops import rebuild_read_models

    return asyncio.run(rebuild_read_models(check=args.check))


def _keygen(args: argparse.Namespace) -> int:
    """Print a new API key for the deployment whose SECRET_KEY is in the environment (or .env):
    the value for TAURO_ADMIN_API_KEY, registered as a global admin key when the runs service starts."""
    from tauro_platform import apikeys
    from tauro_platform.settings import MIN_SECRET_LENGTH, Settings

    secret = Settings().secret_key
    if len(secret) < MIN_SECRET_LENGTH:
        print(f"tauro: set SECRET_KEY (at least {MIN_SECRET_LENGTH} characters) first", file=sys.stderr)
        return 2
    print(apikeys.new_key(secret).key)
    return 0


def _params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"tauro: --param wants key=value, got {pair!r}")
        params[key] = value
    return params


def _show(data: Any, args: argparse.Namespace, columns: list[str]) -> None:
    if args.json or not isinstance(data, list | dict):
        print(json.dumps(data, indent=2))
    elif isinstance(data, list):
        print(table(data, columns))
    else:
        print(table([data], columns))


RUN_COLUMNS = ["id", "state", "pipeline_id", "created_at", "duration_seconds"]


def _client_command(args: argparse.Namespace) -> int:
    client = Client(args.url, args.api_key)
    what, action = args.resource, args.action
    if what == "projects":
        if action == "list":
            projects = client.call("GET", "/projects", params={"limit": args.limit})
            _show(projects, args, ["id", "name", "owner", "created_at"])
        elif action == "create":
            body = {"name": args.name, "description": args.description or "", "owner": args.owner}
            _show(client.call("POST", "/projects", json=body), args, ["id", "name", "owner"])
        elif action == "get":
            _show(client.call("GET", f"/projects/{args.id}/statistics"), args,
                  ["project_id", "total_pipelines", "total_runs", "success_rate"])
        elif action == "delete":
            _show(client.call("DELETE", f"/projects/{args.id}"), args, ["id", "deleted"])
    elif what == "pipelines":
        params = {"limit": args.limit, **({"project_id": args.project} if args.project else {})}
        _show(client.call("GET", "/pipelines", params=params), args, ["id", "name", "project_id", "version"])
    elif what == "runs":
        if action == "list":
            filters = (("project_id", args.project), ("state", args.state))
            params = {"limit": args.limit, **{k: v for k, v in filters if v}}
            _show(client.call("GET", "/runs", params=params), args, RUN_COLUMNS)
        elif action == "create":
            body = {"project_id": args.project, "pipeline_id": args.pipeline, "params": _params(args.param),
                    "start": args.start}
            run = client.call("POST", "/runs", json=body)
            _show(run, args, RUN_COLUMNS)
            if args.follow:
                return 0 if follow_run(client, run["id"]) == "SUCCESS" else 1
        elif action in ("start", "cancel"):
            _show(client.call("POST", f"/runs/{args.id}/{action}"), args, ["run_id", "id", "state"])
        elif action == "get":
            _show(client.call("GET", f"/runs/{args.id}"), args, [*RUN_COLUMNS, "progress", "error"])
        elif action == "follow":
            return 0 if follow_run(client, args.id) == "SUCCESS" else 1
    elif what == "logs":
        if args.follow:
            return 0 if follow_run(client, args.id) == "SUCCESS" else 1
        params = {"limit": args.limit, **({"level": args.level} if args.level else {})}
        for line in client.call("GET", f"/runs/{args.id}/logs", params=params):
            print(f"{line['timestamp']} {line['level']:7} [{line.get('node_id')}] {line['message']}")
    elif what == "schedules":
        if action == "list":
            _show(client.call("GET", "/schedules", params={"limit": args.limit}), args,
                  ["id", "kind", "expression", "enabled", "next_run_at"])
        elif action == "create":
            body = {"project_id": args.project, "pipeline_id": args.pipeline, "kind": args.kind,
                    "expression": args.expression, "timezone": args.timezone, "enabled": True}
            _show(client.call("POST", "/schedules", json=body), args, ["id", "kind", "expression", "next_run_at"])
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tauro", description="Tauro data-pipeline orchestration")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run the whole platform in one process (embedded mode)")
    dev.add_argument("--port", type=int, default=None, help="API port (default: PORT or 8000)")
    dev.set_defaults(func=_dev)
    rebuild = sub.add_parser("rebuild", help="drop the read models and replay the event log (distributed mode)")
    rebuild.add_argument("--check", action="store_true", help="exit 1 unless the rebuilt models equal the old ones")
    rebuild.set_defaults(func=_rebuild)
    keygen = sub.add_parser("keygen", help="print a new API key of this deployment (for TAURO_ADMIN_API_KEY)")
    keygen.set_defaults(func=_keygen)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=None, help="gateway URL (TAURO_URL)")
    common.add_argument("--api-key", default=None, help="API key (TAURO_API_KEY)")
    common.add_argument("--json", action="store_true", help="print JSON")
    common.add_argument("--limit", type=int, default=50)

    projects = sub.add_parser("projects", help="projects").add_subparsers(dest="action", required=True)
    projects.add_parser("list", parents=[common])
    create = projects.add_parser("create", parents=[common])
    create.add_argument("name")
    create.add_argument("--description")
    create.add_argument("--owner")
    for name in ("get", "delete"):
        projects.add_parser(name, parents=[common]).add_argument("id")

    pipelines = sub.add_parser("pipelines", help="pipelines").add_subparsers(dest="action", required=True)
    pipelines.add_parser("list", parents=[common]).add_argument("--project")

    runs = sub.add_parser("runs", help="runs").add_subparsers(dest="action", required=True)
    listing = runs.add_parser("list", parents=[common])
    listing.add_argument("--project")
    listing.add_argument("--state")
    create_run = runs.add_parser("create", parents=[common])
    create_run.add_argument("project")
    create_run.add_argument("pipeline")
    create_run.add_argument("--param", action="append", default=[], help="key=value (repeatable)")
    create_run.add_argument("--start", action="store_true", help="start it at once")
    create_run.add_argument("--follow", action="store_true", help="follow its logs and progress until it ends")
    for name in ("start", "cancel", "get", "follow"):
        runs.add_parser(name, parents=[common]).add_argument("id")

    logs = sub.add_parser("logs", parents=[common], help="a run's logs")
    logs.add_argument("id")
    logs.add_argument("--follow", "-f", action="store_true")
    logs.add_argument("--level")
    logs.set_defaults(action="show")

    schedules = sub.add_parser("schedules", help="schedules").add_subparsers(dest="action", required=True)
    schedules.add_parser("list", parents=[common])
    create_schedule = schedules.add_parser("create", parents=[common])
    create_schedule.add_argument("project")
    create_schedule.add_argument("pipeline")
    create_schedule.add_argument("--kind", choices=["CRON", "INTERVAL"], required=True)
    create_schedule.add_argument("--expression", required=True)
    create_schedule.add_argument("--timezone", default="UTC")
    for name in ("projects", "pipelines", "runs", "logs", "schedules"):
        sub.choices[name].set_defaults(func=_client_command, resource=name)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        code = args.func(args)
    except ApiError as exc:
        print(f"tauro: {exc}", file=sys.stderr)
        for detail in exc.details:
            print(f"  {detail.get('field')}: {detail.get('message')}", file=sys.stderr)
        code = 1
    raise SystemExit(code)


if __name__ == "__main__":
    main()
