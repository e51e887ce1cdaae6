"""The ``tauro`` commands that talk to the API, on ``tauro_client`` only (no server package).

Exit codes: 0 ok, 1 API error (or a run that did not succeed), 2 usage, 3 server unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel
from tauro_client import APIError, Tauro, Unreachable
from tauro_client.dsl import PipelineDefinitionError
from tauro_contracts.readmodels.states import RunState

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
RUN_COLUMNS = ["id", "state", "pipeline_id", "created_at", "duration_seconds"]
SCHEDULE_COLUMNS = ["id", "kind", "expression", "enabled", "next_run_at"]
STREAM_COLUMNS = ["execution_id", "state", "pipeline", "records_in", "records_out"]
Handler = Callable[[Tauro, argparse.Namespace], int | None]


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def show(value: Any, args: argparse.Namespace, columns: list[str]) -> None:
    data = _json(value)
    if args.json or not isinstance(data, list | dict):
        print(json.dumps(data, indent=2))
    else:
        print(table(data if isinstance(data, list) else [data], columns))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    values = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(v[i]) for v in values)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in values]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(str(v.get("name", v.get("id", v)) if isinstance(v, dict) else v) for v in value)
    return "" if value is None else str(value)


def params(pairs: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--param wants key=value, got {pair!r}")
        out[key] = value
    return out


class UsageError(Exception):
    """Bad arguments found after parsing (exit 2)."""


def progress_line(run: Any) -> str:
    total = run.progress.total_tasks or 1
    done = run.progress.completed_tasks
    filled = int(20 * done / total)
    return f"[{'#' * filled}{'-' * (20 - filled)}] {done}/{total} tasks ({run.progress.percent_complete}%)  {run.state}"


def follow(client: Tauro, run_id: str, level: str | None = None) -> int:
    """Print the run's log lines live until it ends, then its progress; exit 0 only on SUCCESS."""
    for line in client.runs.follow_logs(run_id, level=level):
        node = f"[{line.node_id}] " if line.node_id else ""
        print(f"{line.timestamp[11:23]} {line.level:7} {node}{line.message}", flush=True)
    run = client.runs.wait(run_id, timeout=30, poll_interval=0.2)
    print(progress_line(run))
    if run.error:
        print(f"error: {run.error}")
    return EXIT_OK if run.state == RunState.SUCCESS else EXIT_API


# --- handlers ---------------------------------------------------------------------------------

def projects(client: Tauro, args: argparse.Namespace) -> int | None:
    if args.action == "list":
        show(list(client.projects.list(limit=args.limit)), args, ["id", "name", "owner", "created_at"])
    elif args.action == "create":
        show(client.projects.create(args.name, args.description or "", owner=args.owner,
                                    idempotency_key=args.idempotency_key), args, ["id", "name", "owner"])
    elif args.action == "get":
        project = client.projects.get(client.projects.find(args.id).id)
        show(project, args, ["id", "name", "owner", "description", "pipelines", "created_at"])
        if not args.json and project.statistics is not None:
            stats = project.statistics
            print(f"\n{stats.total_pipelines} pipelines, {stats.total_runs} runs, success rate "
                  f"{'-' if stats.success_rate is None else f'{stats.success_rate:.0%}'}, by state "
                  f"{_cell(stats.runs_by_state) or '-'}")
    elif args.action == "delete":
        show(client.projects.delete(client.projects.find(args.id).id), args, ["id", "deleted"])
    return None


def pipelines(client: Tauro, args: argparse.Namespace) -> int | None:
    columns = ["id", "name", "project_id", "version", "source"]
    if args.action == "list":
        project_id = client.projects.find(args.project).id if args.project else None
        show(list(client.pipelines.list(project_id=project_id, limit=args.limit)), args, columns)
    elif args.action == "apply":
        show(client.pipelines.apply(args.file, project=args.project), args, columns)
    elif args.action == "get":
        show(client.pipelines.get(args.id), args, columns)
    elif args.action == "dag":
        dag = client.pipelines.dag(args.id)
        if args.json:
            show(dag, args, [])
        else:
            parents: dict[str, list[str]] = {}
            for edge in dag.edges:
                parents.setdefault(edge.target, []).append(edge.source)
            for depth, layer in enumerate(dag.layers):
                for node in layer:
                    after = f"  <- {', '.join(parents[node])}" if node in parents else ""
                    print(f"{'  ' * depth}{node}{after}")
    elif args.action == "versions":
        show(list(client.pipelines.versions(args.id, limit=args.limit)), args,
             ["id", "version", "created_at", "created_by", "checksum"])
    elif args.action == "delete":
        show(client.pipelines.delete(args.id), args, ["id", "deleted"])
    return None


def runs(client: Tauro, args: argparse.Namespace) -> int | None:
    if args.action == "list":
        project_id = client.projects.find(args.project).id if args.project else None
        found = client.runs.list(project_id=project_id, pipeline_id=args.pipeline, state=args.state, limit=args.limit)
        show(list(found), args, RUN_COLUMNS)
    elif args.action == "create":
        project_id = client.projects.find(args.project).id
        run = client.runs.create(project_id, args.pipeline, params=params(args.param), tags=params(args.tag),
                                 start=args.start or args.follow, idempotency_key=args.idempotency_key)
        show(run, args, RUN_COLUMNS)
        if args.follow:
            return follow(client, run.id)
    elif args.action == "batch":
        with open(args.file, encoding="utf-8") if args.file != "-" else sys.stdin as stream:
            items = json.load(stream)
        show(client.runs.batch(items.get("runs", items) if isinstance(items, dict) else items), args, RUN_COLUMNS)
    elif args.action == "start":
        show(client.runs.start(args.id), args, ["run_id", "state", "status_url"])
        if args.follow:
            return follow(client, args.id)
    elif args.action == "cancel":
        show(client.runs.cancel(args.id), args, RUN_COLUMNS)
    elif args.action == "retry":
        run = client.runs.retry(args.id)
        show(run, args, RUN_COLUMNS)
        if args.follow:
            return follow(client, run.id)
    elif args.action == "get":
        run = client.runs.get(args.id)
        show(run, args, [*RUN_COLUMNS, "error"])
        if not args.json:
            print(progress_line(run))
            print(table([t.model_dump(mode="json") for t in run.tasks], ["node_id", "status", "attempt", "error"]))
    elif args.action == "follow":
        return follow(client, args.id)
    return None


def logs(client: Tauro, args: argparse.Namespace) -> int | None:
    if args.follow:
        return follow(client, args.id, args.level)
    for line in client.runs.iter_logs(args.id, level=args.level):
        if args.json:
            print(line.model_dump_json())
        else:
            print(f"{line.timestamp} {line.level:7} [{line.node_id or '-'}] {line.message}")
    return None


def schedules(client: Tauro, args: argparse.Namespace) -> int | None:
    if args.action == "list":
        project_id = client.projects.find(args.project).id if args.project else None
        show(list(client.schedules.list(project_id=project_id, limit=args.limit)), args, SCHEDULE_COLUMNS)
    elif args.action == "create":
        fields = {"params": params(args.param) or None, "description": args.description}
        show(client.schedules.create(client.projects.find(args.project).id, args.pipeline, args.kind, args.expression,
                                     timezone=args.timezone, enabled=not args.disabled,
                                     idempotency_key=args.idempotency_key, **fields), args, SCHEDULE_COLUMNS)
    elif args.action == "get":
        show(client.schedules.get(args.id), args, [*SCHEDULE_COLUMNS, "last_run_at", "tick_counts"])
    elif args.action == "update":
        fields = {"expression": args.expression, "timezone": args.timezone, "description": args.description,
                  "params": params(args.param) or None}
        show(client.schedules.update(args.id, **fields), args, SCHEDULE_COLUMNS)
    elif args.action in ("enable", "disable", "delete"):
        show(getattr(client.schedules, args.action)(args.id), args, ["id", "enabled", "deleted"])
    elif args.action == "backfill":
        result = client.schedules.backfill(args.id, start=args.start, end=args.end, count=args.count,
                                           dry_run=args.dry_run)
        if args.json:
            show(result, args, [])
        else:
            print(table([r.model_dump(mode="json") for r in result.runs], ["nominal_time", "run_id", "status"]))
            what = f"would create {result.would_create}" if result.dry_run else f"queued {result.queued}"
            print(f"\n{result.total} nominal times, {what}")
    elif args.action == "ticks":
        show(list(client.schedules.ticks(args.id, status=args.status, limit=args.limit)), args,
             ["nominal_time", "status", "origin", "run_id", "run_state", "reason"])
    return None


def stream(client: Tauro, args: argparse.Namespace) -> int | None:
    if args.action == "run":
        show(client.streams.run(config=args.config, pipeline=args.pipeline, mode=args.mode,
                                max_duration_seconds=args.max_duration), args, STREAM_COLUMNS)
    elif args.action == "status":
        if args.execution_id:
            show(client.streams.status(args.execution_id), args, [*STREAM_COLUMNS, "total_lag", "last_error"])
        else:
            show(list(client.streams.list(state=args.state, limit=args.limit)), args, STREAM_COLUMNS)
    elif args.action == "stop":
        show(client.streams.stop(args.execution_id, timeout=args.timeout, reason=args.reason), args, STREAM_COLUMNS)
    return None


def keys(client: Tauro, args: argparse.Namespace) -> int | None:
    columns = ["id", "name", "grants", "revoked", "expires_at"]
    if args.action == "create":
        grants = []
        for grant in args.grant:
            role, _, project = grant.partition(":")
            grants.append({"role": role, **({"project_id": project} if project else {})})
        issued = client.api_keys.create(args.name, grants, expires_at=args.expires_at)
        show(issued, args, ["id", "name", "grants", "expires_at"])
        if not args.json:
            print(f"\nkey (shown once): {issued.key}")
    elif args.action == "list":
        show(list(client.api_keys.list(revoked=args.revoked, limit=args.limit)), args, columns)
    elif args.action == "revoke":
        show(client.api_keys.revoke(args.id), args, columns)
    return None


def health(client: Tauro, args: argparse.Namespace) -> int | None:
    report = client.health()
    if args.json:
        show(report, args, [])
    else:
        print(f"{report.status}  (version {report.version}, {report.mode} mode)")
        checks = report.checks.model_dump(mode="json")
        for name in ("database", "bus", "event_store", "read_store", "scheduler", "dead_letters"):
            print(f"  {name:13} {checks[name]['status']}")
        for name, service in checks["services"].items():
            print(f"  {name:13} {service['status']}")
    return EXIT_OK if report.status != "unhealthy" else EXIT_API


def info(client: Tauro, args: argparse.Namespace) -> int | None:
    facts = client.info()
    if args.json:
        show(facts, args, [])
    else:
        for key in ("name", "version", "mode", "api_prefix", "auth_enabled", "pipelines_dir", "started_at"):
            print(f"{key:14} {getattr(facts, key)}")
    return None


def stats(client: Tauro, args: argparse.Namespace) -> int | None:
    numbers = client.statistics()
    if args.json:
        show(numbers, args, [])
    else:
        for key, value in numbers.model_dump(mode="json").items():
            print(f"{key:25} {_cell(value)}")
    return None


HANDLERS: dict[str, Handler] = {
    "projects": projects, "pipelines": pipelines, "runs": runs, "logs": logs, "schedules": schedules,
    "stream": stream, "keys": keys, "health": health, "info": info, "stats": stats,
}


def run_command(args: argparse.Namespace, client_factory: Callable[..., Tauro] = Tauro) -> int:
    """Run an API command; prints a one-line error and returns its exit code on failure."""
    try:
        with client_factory(args.url, api_key=args.api_key, token=args.token) as client:
            code = HANDLERS[args.command](client, args)
        return EXIT_OK if code is None else code
    except Unreachable as exc:
        print(f"tauro: cannot reach {exc.url}: is `make run` running? set TAURO_URL ({exc.reason})", file=sys.stderr)
        return EXIT_UNREACHABLE
    except APIError as exc:
        print(f"tauro: {exc.status} {exc.code}: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            print(f"  {detail.field or '-'}: {detail.message}", file=sys.stderr)
        return EXIT_API
    except (UsageError, PipelineDefinitionError, OSError, ValueError) as exc:
        print(f"tauro: {exc}", file=sys.stderr)
        return EXIT_USAGE
