"""Benchmark: firing lateness of many 1-second schedules.

``--mode distributed`` (default) starts the runs service, the scheduler, the gateway
(and, with ``--executor``, an executor) as separate processes on real Kafka and the
MongoDB-wire server, in a fresh namespace and database; ``--mode embedded`` starts the
embedded platform (``tauro dev``: one process, SQLite event store, in-process bus) in a
fresh data folder. It creates ``--schedules`` INTERVAL ``1s`` schedules through the
REST API, lets them fire for ``--seconds``, stops the scheduler and measures, from the
event store:

- **tick lateness**: when the tick's outcome was committed (the ``appended_at`` both
  event stores stamp on ``TickFired`` / ``TickSkipped`` / ``TickQueued``) minus its
  nominal time — the scheduler's own lateness;
- **run lateness**: when the run was committed (``RunCreated``) minus the nominal time —
  including the round trip through the runs service, which has to keep up with
  ``--schedules`` new runs a second.

Only ticks whose nominal time falls in the measured window count (after ``--warmup``).
A tick of the window that got no outcome at all is reported as missing.

    uv run python bench/schedule_lateness.py                      # 100 schedules, 60 s
    uv run python bench/schedule_lateness.py --mode embedded
    uv run python bench/schedule_lateness.py --overlap skip --command "sleep 600"

With the default ``--overlap allow_all`` every tick creates a run (of a ``true`` shell
node); with ``--overlap skip`` and a long-running command each schedule keeps one run
and every later tick is decided and recorded as skipped, which measures the scheduler
without the runs service's load.

Loopback only (refuses other hosts); bounded (``--limit`` seconds of wall time, after
which everything it started is stopped); stops by itself. Its database and topics are
deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TICK_TYPES = ("TickFired", "TickSkipped", "TickQueued")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="distributed", choices=("distributed", "embedded"))
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60, help="measured window")
    parser.add_argument("--warmup", type=int, default=5, help="seconds after the last schedule exists")
    parser.add_argument("--overlap", default="allow_all", choices=("allow_all", "skip"))
    parser.add_argument("--command", default="true", help="the pipeline's shell node")
    parser.add_argument("--executor", action="store_true", help="also run an executor (runs then finish)")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--mongo", default=os.environ.get("MONGODB_URL",
                                                          "mongodb://127.0.0.1:27018/?directConnection=true&retryWrites=false"))
    parser.add_argument("--drain", type=int, default=60, help="seconds to wait for late ticks and runs")
    parser.add_argument("--limit", type=int, default=600, help="wall-clock bound in seconds")
    parser.add_argument("--keep-logs", action="store_true", help="print where the service logs are")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args()


def loopback_only(kafka: str, mongo: str) -> None:
    hosts = {h.rsplit(":", 1)[0] for h in kafka.split(",")} | {urlparse(mongo).hostname or ""}
    if not hosts <= LOOPBACK:
        raise SystemExit(f"refusing non-loopback hosts: {sorted(hosts - LOOPBACK)}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """The processes of one isolated deployment, each its own ``python -m <module>``."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, module: list[str], ready: str, deadline: float) -> None:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen([sys.executable, "-m", *module], env=self.env, cwd=ROOT,
                                       stdout=out, stderr=out)
        self.running[name] = process
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {log}")
            time.sleep(0.2)

    def stop(self, *names: str) -> None:
        chosen = [self.running[n] for n in names] if names else list(reversed(self.running.values()))
        for process in chosen:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in chosen:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    return (f"{name}: n={len(values)}  p50={percentile(values, 0.5) * 1000:.0f} ms  "
            f"p99={percentile(values, 0.99) * 1000:.0f} ms  max={max(values) * 1000:.0f} ms  "
            f"mean={statistics.fmean(values) * 1000:.0f} ms")


def nominal_of(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


Event = tuple[str, str, dict[str, Any], float]  # type, stream id, data, appended_at


def mongo_events(mongo: str, database: str, types: tuple[str, ...]) -> list[Event]:
    with MongoClient(mongo) as client:
        found = client[database]["events"].find({"type": {"$in": list(types)}},
                                                {"type": 1, "stream_id": 1, "data": 1, "appended_at": 1})
        return [(e["type"], e["stream_id"], e["data"], e["appended_at"]) for e in found]


def sqlite_events(path: Path, types: tuple[str, ...]) -> list[Event]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT record, appended_at FROM events").fetchall()
    out = []
    for record, appended_at in rows:
        event = json.loads(record)
        if event["type"] in types:
            out.append((event["type"], event["stream_id"], event["data"], appended_at))
    return out


def measure(events: list[Event], ids: set[str], start: float, end: float) -> dict[str, Any]:
    outcome: dict[tuple[str, float], tuple[str, float]] = {}
    runs = []
    created_in_window = 0
    for kind, stream_id, data, appended_at in events:
        if kind == "RunCreated":
            if data.get("schedule_id") in ids and start <= nominal_of(data["logical_date"]) < end:
                runs.append(appended_at - nominal_of(data["logical_date"]))
            created_in_window += data.get("schedule_id") in ids and start <= appended_at < end
            continue
        if stream_id not in ids:
            continue
        key = (stream_id, nominal_of(data["nominal"]))
        if key not in outcome or appended_at < outcome[key][1]:
            outcome[key] = (kind, appended_at)
    in_window = {k: v for k, v in outcome.items() if start <= k[1] < end}
    expected = len(ids) * int(end - start)
    return {
        "ticks": [at - nominal for (_, nominal), (_, at) in in_window.items()],
        "runs": runs,
        "by_type": {t: sum(1 for v in in_window.values() if v[0] == t) for t in TICK_TYPES},
        "expected": expected,
        "missing": expected - len(in_window),
        "runs_per_second": created_in_window / (end - start),
    }


async def cleanup(kafka: str, mongo: str, namespace: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(namespace)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()
    with MongoClient(mongo) as client:
        client.drop_database(namespace.rstrip("."))


def create_schedules(api: httpx.Client, args: argparse.Namespace, deadline: float) -> set[str]:
    project = api.post("/projects", json={"name": "bench"}).json()["data"]["id"]
    body = {"name": "tick", "nodes": [{"id": "work", "type": "shell", "config": {"command": args.command}}]}
    pipeline = api.post(f"/projects/{project}/pipelines", json=body).json()["data"]["id"]
    ids = set()
    for i in range(args.schedules):
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(ids)} schedules created in time")
        body = {"project_id": project, "pipeline_id": pipeline, "kind": "INTERVAL", "expression": "1s",
                "overlap_policy": args.overlap, "max_concurrency": 1000 if args.overlap == "allow_all" else 1}
        for _attempt in range(5):  # a 504 (services still joining their groups) is retried, same key
            response = api.post("/schedules", json=body, headers={"Idempotency-Key": f"bench-{i}"})
            if response.status_code != 504:
                break
        response.raise_for_status()
        ids.add(response.json()["data"]["id"])
    return ids


def run(args: argparse.Namespace, work: Path) -> None:
    deadline = time.monotonic() + args.limit
    embedded = args.mode == "embedded"
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    port = free_port()
    pipelines = work / "pipelines"
    pipelines.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAURO_", "KAFKA_", "MONGODB_"))}
    env.update({
        "TAURO_MODE": args.mode, "SECRET_KEY": uuid.uuid4().hex * 2, "KAFKA_BOOTSTRAP_SERVERS": args.kafka,
        "MONGODB_URL": args.mongo, "MONGODB_DATABASE": namespace.rstrip("."), "TAURO_NAMESPACE": namespace,
        "TAURO_DATA_DIR": str(work / "data"), "PORT": str(port), "PIPELINES_DIR": str(pipelines),
        "TAURO_WORK_DIR": str(work / "work"), "TAURO_OUTPUT_DIR": str(work / "output"),
        "LOG_LEVEL": args.log_level, "LOG_FORMAT": "json", "ENABLE_AUTH": "false", "RATE_LIMIT_ENABLED": "false",
        "MAX_CONCURRENT_RUNS": "1000", "COMMAND_TIMEOUT_SECONDS": "30",
    })

    def events(types: tuple[str, ...]) -> list[Event]:
        if embedded:
            return sqlite_events(work / "data" / "events.db", types)
        return mongo_events(args.mongo, namespace.rstrip("."), types)

    processes = Processes(env, work)
    try:
        if embedded:
            processes.start("tauro-dev", ["tauro_cli.main", "dev", "--port", str(port)], "Tauro is running", deadline)
        else:
            for name in ["runs", "scheduler", "gateway"] + (["executor"] if args.executor else []):
                processes.start(name, [f"tauro_{name}"], f"tauro {name}: ready", deadline)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as api:
            ids = create_schedules(api, args, deadline)
        if args.overlap == "skip":  # each schedule's one long run must exist before measuring
            ready = time.monotonic()
            while len(measure(events(("RunCreated",)), ids, 0, 1e12)["runs"]) < len(ids):
                if time.monotonic() > deadline:
                    raise SystemExit("the runs of the first ticks were not created in time")
                time.sleep(1)
            print(f"first runs created in {time.monotonic() - ready:.0f} s", flush=True)
        start = float(int(time.time()) + 1 + args.warmup)
        end = start + args.seconds
        print(f"{len(ids)} schedules ({args.mode}); measuring nominal times {datetime.fromtimestamp(start).time()} "
              f"to {datetime.fromtimestamp(end).time()} ({args.seconds} s)", flush=True)
        while time.time() < end + 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        types = (*TICK_TYPES, "RunCreated")
        drain = min(deadline, time.monotonic() + args.drain)
        while time.monotonic() < drain:  # let late ticks and runs land (bounded)
            result = measure(events(types), ids, start, end)
            if result["missing"] == 0 and (args.overlap == "skip" or len(result["runs"]) >= result["expected"]):
                break
            time.sleep(2)
        if not embedded:
            processes.stop("scheduler")  # no ticks after the window is read
        result = measure(events(types), ids, start, end)
        print(f"ticks expected {result['expected']}, outcomes by type {result['by_type']}, "
              f"missing {result['missing']}")
        print(summary("tick lateness (outcome committed - nominal)", result["ticks"]))
        print(summary("run lateness  (RunCreated committed - nominal)", result["runs"]))
        print(f"runs created while measuring: {result['runs_per_second']:.1f}/s (of {len(ids)}/s asked for)")
        if args.keep_logs:
            print(f"service logs: {work}")
    finally:
        processes.stop()
        if not embedded:
            asyncio.run(cleanup(args.kafka, args.mongo, namespace))


def main() -> None:
    args = parse_args()
    loopback_only(args.kafka, args.mongo)
    if args.keep_logs:
        run(args, Path(tempfile.mkdtemp(prefix="schedule-bench-")))
        return
    with tempfile.TemporaryDirectory(prefix="schedule-bench-") as work:
        run(args, Path(work))


if __name__ == "__main__":
    main()
