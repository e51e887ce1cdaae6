"""``tauro``: the API commands (on ``tauro_client`` only) and, with the server installed
(``tauro-cli[server]``, as in the workspace), the embedded server and operator tools.

Exit codes: 0 ok, 1 API error (or a followed run that did not succeed), 2 usage, 3 unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from tauro_cli.api import EXIT_USAGE, run_command

SERVER_HINT = ("tauro: `tauro {0}` needs the server packages: pip install 'tauro-cli[server]' "
               "(or run it in the workspace)")


def _dev(args: argparse.Namespace) -> int:
    from tauro_platform.logs import configure_logging
    from tauro_platform.process import run_loop, serve
    from tauro_platform.settings import load_settings

    os.environ.setdefault("TAURO_MODE", "embedded")
    os.environ.setdefault("LOG_FORMAT", "text")  # a person reads this terminal; LOG_FORMAT=json for machines
    if args.port:
        os.environ["PORT"] = str(args.port)
    settings = load_settings()
    configure_logging("tauro-dev", settings.log_level, settings.log_format)
    from tauro_cli.embedded import start_embedded

    run_loop(serve("embedded", start_embedded, settings), settings)
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


def _completion(args: argparse.Namespace) -> int:
    print(completion_script(_parser()))
    return 0


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _sub(parent: argparse._SubParsersAction, name: str, help: str, examples: list[str],
         parents: list[argparse.ArgumentParser] | None = None) -> argparse.ArgumentParser:
    return parent.add_parser(name, help=help, description=help, epilog=_examples(*examples), parents=parents or [],
                             formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tauro", description="Tauro data-pipeline orchestration",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples("tauro dev                      # the whole platform in one process",
                         "tauro projects create analytics",
                         "tauro pipelines apply examples/pipelines/daily_etl_py.py --project analytics",
                         "tauro runs create analytics pipe_daily_etl --param date=2025-11-18 --follow",
                         "source <(tauro completion bash)",
                         "exit codes: 0 ok, 1 API error, 2 usage, 3 server unreachable (TAURO_URL)"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dev = _sub(sub, "dev", "run the whole platform in one process (embedded mode)", ["tauro dev --port 8080"])
    dev.add_argument("--port", type=int, default=None, help="API port (default: PORT or 8000)")
    dev.set_defaults(func=_dev)
    rebuild = _sub(sub, "rebuild", "drop the read models and replay the event log (distributed mode)",
                   ["tauro rebuild --check"])
    rebuild.add_argument("--check", action="store_true", help="exit 1 unless the rebuilt models equal the old ones")
    rebuild.set_defaults(func=_rebuild)
    keygen = _sub(sub, "keygen", "print a new API key of this deployment (for TAURO_ADMIN_API_KEY)",
                  ["SECRET_KEY=... tauro keygen"])
    keygen.set_defaults(func=_keygen)
    completion = _sub(sub, "completion", "print a shell completion script",
                      ["source <(tauro completion bash)", "tauro completion bash > /etc/bash_completion.d/tauro"])
    completion.add_argument("shell", choices=["bash", "zsh"], help="zsh: load it with bashcompinit")
    completion.set_defaults(func=_completion)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=None, help="gateway URL (default: TAURO_URL, else http://127.0.0.1:8000)")
    common.add_argument("--api-key", default=None, help="API key (default: TAURO_API_KEY)")
    common.add_argument("--token", default=None, help="bearer token (default: TAURO_TOKEN)")
    common.add_argument("--json", action="store_true", help="print JSON")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    creating = argparse.ArgumentParser(add_help=False)
    creating.add_argument("--idempotency-key", default=None, help="retrying with the same key creates nothing new")
    api = [common]

    def group(name: str, help: str) -> argparse._SubParsersAction:
        holder = _sub(sub, name, help, [f"tauro {name} --help"])
        holder.set_defaults(func=run_command)
        return holder.add_subparsers(dest="action", required=True, metavar="ACTION")

    projects = group("projects", "projects")
    _sub(projects, "list", "list projects", ["tauro projects list --json"], [*api, listing])
    p = _sub(projects, "create", "create a project", ["tauro projects create analytics --owner ana"], [*api, creating])
    p.add_argument("name")
    p.add_argument("--description")
    p.add_argument("--owner")
    _sub(projects, "get", "a project: its pipelines and statistics", ["tauro projects get analytics"],
         api).add_argument("id", help="project id or name")
    _sub(projects, "delete", "delete a project", ["tauro projects delete proj_abc123"], api).add_argument(
        "id", help="project id or name")

    pipes = group("pipelines", "pipelines")
    p = _sub(pipes, "list", "list pipelines", ["tauro pipelines list --project analytics"], [*api, listing])
    p.add_argument("--project", help="project id or name")
    p = _sub(pipes, "apply", "create or update the pipelines of a YAML, JSON or Python (@pipeline) file in a project",
             ["tauro pipelines apply examples/pipelines/daily_etl_py.py --project analytics",
              "tauro pipelines apply examples/pipelines/daily_etl.yaml --project proj_abc123",
              "(a Python file's tasks are referenced relative to the current directory: run it where the "
              "executors run)"], api)
    p.add_argument("file")
    p.add_argument("--project", required=True, help="project id or name")
    for action, help, example in (("get", "a pipeline's definition", "tauro pipelines get pipe_daily_etl --json"),
                                  ("dag", "a pipeline's DAG, layer by layer", "tauro pipelines dag pipe_daily_etl"),
                                  ("delete", "delete a pipeline", "tauro pipelines delete pipe_abc")):
        _sub(pipes, action, help, [example], api).add_argument("id", help="pipeline id")
    _sub(pipes, "versions", "a pipeline's config versions", ["tauro pipelines versions pipe_daily_etl"],
         [*api, listing]).add_argument("id", help="pipeline id")

    run = group("runs", "runs")
    p = _sub(run, "list", "list runs", ["tauro runs list --project analytics --state FAILED"], [*api, listing])
    p.add_argument("--project", help="project id or name")
    p.add_argument("--pipeline", help="pipeline id")
    p.add_argument("--state", help="state, or several comma-separated")
    p = _sub(run, "create", "create a run (and start it with --start or --follow)",
             ["tauro runs create analytics pipe_daily_etl --param date=2025-11-18 --start",
              "tauro runs create analytics pipe_daily_etl_py --param date=2025-11-18 --follow"], [*api, creating])
    p.add_argument("project", help="project id or name")
    p.add_argument("pipeline", help="pipeline id")
    p.add_argument("--param", action="append", default=[], help="key=value (repeatable)")
    p.add_argument("--tag", action="append", default=[], help="key=value (repeatable)")
    p.add_argument("--start", action="store_true", help="start it at once")
    p.add_argument("--follow", action="store_true", help="start it and follow its logs until it ends (exit 1 unless "
                                                          "SUCCESS)")
    p = _sub(run, "batch", "create several runs from a JSON file (all or none)",
             ['echo \'[{"project_id": "proj_x", "pipeline_id": "pipe_daily_etl"}]\' | tauro runs batch -'], api)
    p.add_argument("file", help="JSON list of run bodies (or {\"runs\": [...]}); - for stdin")
    for action, help, example in (("start", "start a PENDING run", "tauro runs start run_xyz --follow"),
                                  ("retry", "run again with the same params", "tauro runs retry run_xyz --follow")):
        p = _sub(run, action, help, [example], api)
        p.add_argument("id")
        p.add_argument("--follow", action="store_true", help="follow its logs until it ends")
    for action, help, example in (("cancel", "cancel a run", "tauro runs cancel run_xyz"),
                                  ("get", "a run with its tasks", "tauro runs get run_xyz"),
                                  ("follow", "follow a run's logs until it ends (exit 1 unless SUCCESS)",
                                   "tauro runs follow run_xyz")):
        _sub(run, action, help, [example], api).add_argument("id")

    logs = _sub(sub, "logs", "a run's logs", ["tauro logs run_xyz --level WARNING", "tauro logs run_xyz --follow"],
                api)
    logs.add_argument("id", help="run id")
    logs.add_argument("--follow", "-f", action="store_true", help="live until the run ends")
    logs.add_argument("--level", choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], help="this level and up")
    logs.set_defaults(func=run_command)

    sched = group("schedules", "schedules")
    p = _sub(sched, "list", "list schedules", ["tauro schedules list --project analytics"], [*api, listing])
    p.add_argument("--project", help="project id or name")
    p = _sub(sched, "create", "create a schedule",
             ["tauro schedules create analytics pipe_daily_etl --kind CRON --expression '0 2 * * *'",
              "tauro schedules create analytics pipe_daily_etl --kind INTERVAL --expression 1h --disabled"],
             [*api, creating])
    p.add_argument("project", help="project id or name")
    p.add_argument("pipeline", help="pipeline id")
    p.add_argument("--kind", choices=["CRON", "INTERVAL"], required=True)
    p.add_argument("--expression", required=True)
    p.add_argument("--timezone", default=None)
    p.add_argument("--description", default=None)
    p.add_argument("--param", action="append", default=[], help="key=value (repeatable)")
    p.add_argument("--disabled", action="store_true", help="create it disabled")
    p = _sub(sched, "update", "change a schedule", ["tauro schedules update sched_456 --expression '0 3 * * *'"], api)
    p.add_argument("id")
    p.add_argument("--expression")
    p.add_argument("--timezone")
    p.add_argument("--description")
    p.add_argument("--param", action="append", default=[], help="key=value (repeatable)")
    for action in ("get", "enable", "disable", "delete"):
        _sub(sched, action, f"{action} a schedule", [f"tauro schedules {action} sched_456"], api).add_argument("id")
    p = _sub(sched, "backfill", "runs for past nominal times",
             ["tauro schedules backfill sched_456 --start 2025-11-01T00:00:00Z --end 2025-11-07T00:00:00Z --dry-run",
              "tauro schedules backfill sched_456 --count 3"], api)
    p.add_argument("id")
    p.add_argument("--start")
    p.add_argument("--end")
    p.add_argument("--count", type=int)
    p.add_argument("--dry-run", action="store_true", help="only say what it would create")
    p = _sub(sched, "ticks", "a schedule's ticks", ["tauro schedules ticks sched_456 --status skipped"],
             [*api, listing])
    p.add_argument("id")
    p.add_argument("--status")

    streams = group("stream", "streaming pipelines")
    p = _sub(streams, "run", "start a stream pipeline of a config file of the streams folder",
             ["tauro stream run streaming.yaml events_processor"], api)
    p.add_argument("config")
    p.add_argument("pipeline")
    p.add_argument("--mode", choices=["async", "sync"], default="async")
    p.add_argument("--max-duration", type=float, default=None, help="seconds")
    p = _sub(streams, "status", "an execution, or the list of them",
             ["tauro stream status exec_123", "tauro stream status --state RUNNING"], [*api, listing])
    p.add_argument("execution_id", nargs="?")
    p.add_argument("--state")
    p = _sub(streams, "stop", "stop an execution", ["tauro stream stop exec_123 --timeout 10"], api)
    p.add_argument("execution_id")
    p.add_argument("--timeout", type=float, default=None)
    p.add_argument("--reason", default=None)

    keys = group("keys", "API keys")
    p = _sub(keys, "create", "issue an API key (its value is shown once)",
             ["tauro keys create ci --grant admin", "tauro keys create dash --grant viewer:proj_abc123"], api)
    p.add_argument("name")
    p.add_argument("--grant", action="append", required=True, help="ROLE or ROLE:PROJECT_ID (repeatable)")
    p.add_argument("--expires-at", default=None)
    p = _sub(keys, "list", "list API keys", ["tauro keys list"], [*api, listing])
    p.add_argument("--revoked", action=argparse.BooleanOptionalAction, default=None)
    _sub(keys, "revoke", "revoke an API key", ["tauro keys revoke key_0123456789abcdef"], api).add_argument("id")

    for name, help, example in (("health", "the platform's health (exit 1 when unhealthy)", "tauro health"),
                                ("info", "version and configuration", "tauro info --json"),
                                ("stats", "platform statistics", "tauro stats")):
        _sub(sub, name, help, [example], api).set_defaults(func=run_command)
    return parser


def completion_script(parser: argparse.ArgumentParser) -> str:
    """A bash (and zsh with bashcompinit) completion of the commands, actions and options."""
    words: dict[str, list[str]] = {}

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        options = [o for a in p._actions for o in a.option_strings]
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                words[path] = [*action.choices, *options]
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}".strip())
                return
        words[path] = options

    walk(parser, "")
    cases = "\n".join(f'        "{path}") opts="{" ".join(opts)}" ;;' for path, opts in words.items())
    steps = "\n".join(
        f'            "{path}") [[ " {" ".join(w for w in opts if not w.startswith("-"))} " == *" $word "* ]] '
        '&& path="${path:+$path }$word" ;;' for path, opts in words.items())
    return f"""# tauro completion (bash; zsh: autoload bashcompinit && bashcompinit first)
_tauro() {{
    local cur path="" word i opts
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        [[ "$word" == -* ]] && continue
        case "$path" in
{steps}
        esac
    done
    case "$path" in
{cases}
        *) opts="" ;;
    esac
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}}
complete -o default -F _tauro tauro"""


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except ModuleNotFoundError as exc:
        if args.command in ("dev", "rebuild", "keygen") and (exc.name or "").startswith("tauro_"):
            print(SERVER_HINT.format(args.command), file=sys.stderr)
            code = EXIT_USAGE
        else:
            raise
    raise SystemExit(code)


if __name__ == "__main__":
    main()
