"""Benchmark: firing lateness of many 1-second schedules on the real infrastructure.

Starts the runs service, the scheduler, the gateway (and, with ``--executor``, an
executor) as separate processes on real Kafka and the MongoDB-wire server, in a fresh
namespace and database; creates ``--schedules`` INTERVAL ``1s`` schedules through the
REST API; lets them fire for ``--seconds``; then disables them and measures, from the
event store:

- **tick lateness**: when the tick's outcome was committed (the ``appended_at`` the
  MongoDB event store stamps on ``TickFired`` / ``TickSkipped`` / ``TickQueued``) minus
  its nominal time — the scheduler's own lateness;
- **run lateness**: when the run was committed (``RunCreated``) minus the nominal time —
  including the round trip through the runs service, which has to keep up with
  ``--schedules`` new runs a second.

Only ticks whose nominal time falls in the measured window count (after ``--warmup``).
A tick of the window that got no outcome at all is reported as missing.

    uv run python bench/schedule_lateness.py                      # 100 schedules, 60 s
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
import os
import signal
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
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60, help="measured window")
    parser.add_argument("--warmup", type=int, default=5, help="seconds after the last schedule exists")
    parser.add_argument("--overlap", default="allow_all", choices=("allow_all", "skip"))
    parser.add_argument("--command", default="true", help="the pipeline's shell node")
    parser.add_argument("--executor", action="store_true", help="also run an executor (runs then finish)")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--mongo", default=os.environ.get("MONGODB_URL",
                                                          "mongodb://127.0.0.1:27018/?directConnection=true"))
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
    """The services of one isolated deployment, each its own ``python -m tauro_<name>``."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, deadline: float) -> None:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen([sys.executable, "-m", f"tauro_{name}"], env=self.env, cwd=ROOT,
                                       stdout=out, stderr=out)
        self.running.append(process)
        while f"tauro {name}: ready" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


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


def measure(mongo: str, database: str, ids: set[str], start: float, end: float) -> dict[str, Any]:
    with MongoClient(mongo) as client:
        events = client[database]["events"]
        ticks = list(events.find({"type": {"$in": list(TICK_TYPES)}, "stream_id": {"$in": list(ids)}},
                                 {"type": 1, "stream_id": 1, "data.nominal": 1, "appended_at": 1}))
        created = list(events.find({"type": "RunCreated", "data.schedule_id": {"$in": list(ids)}},
                                   {"data.logical_date": 1, "appended_at": 1}))
    outcome: dict[tuple[str, float], tuple[str, float]] = {}
    for event in ticks:
        key = (event["stream_id"], nominal_of(event["data"]["nominal"]))
        if key not in outcome or event["appended_at"] < outcome[key][1]:
            outcome[key] = (event["type"], event["appended_at"])
    in_window = {k: v for k, v in outcome.items() if start <= k[1] < end}
    expected = len(ids) * int(end - start)
    runs = [e["appended_at"] - nominal_of(e["data"]["logical_date"]) for e in created
            if start <= nominal_of(e["data"]["logical_date"]) < end]
    return {
        "ticks": [at - nominal for (_, nominal), (_, at) in in_window.items()],
        "runs": runs,
        "by_type": {t: sum(1 for v in in_window.values() if v[0] == t) for t in TICK_TYPES},
        "expected": expected,
        "missing": expected - len(in_window),
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


def run(args: argparse.Namespace, work: Path) -> None:
    deadline = time.monotonic() + args.limit
    namespace = f"bench{uuid.uuid4().hex[:8]}."
    port = free_port()
    pipelines = work / "pipelines"
    pipelines.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAURO_", "KAFKA_", "MONGODB_"))}
    env.update({
        "TAURO_MODE": "distributed", "SECRET_KEY": uuid.uuid4().hex * 2, "KAFKA_BOOTSTRAP_SERVERS": args.kafka,
        "MONGODB_URL": args.mongo, "MONGODB_DATABASE": namespace.rstrip("."), "TAURO_NAMESPACE": namespace,
        "PORT": str(port), "PIPELINES_DIR": str(pipelines), "TAURO_WORK_DIR": str(work / "work"),
        "TAURO_OUTPUT_DIR": str(work / "output"), "LOG_LEVEL": args.log_level, "ENABLE_AUTH": "false",
        "RATE_LIMIT_ENABLED": "false", "MAX_CONCURRENT_RUNS": "1000", "COMMAND_TIMEOUT_SECONDS": "30",
    })
    processes = Processes(env, work)
    try:
        names = ["runs", "scheduler", "gateway"] + (["executor"] if args.executor else [])
        for name in names:
            processes.start(name, deadline)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as api:
            project = api.post("/projects", json={"name": "bench"}).json()["data"]["id"]
            body = {"name": "tick", "nodes": [{"id": "work", "type": "shell", "config": {"command": args.command}}]}
            pipeline = api.post(f"/projects/{project}/pipelines", json=body).json()["data"]["id"]
            ids = set()
            for i in range(args.schedules):
                body = {"project_id": project, "pipeline_id": pipeline, "kind": "INTERVAL", "expression": "1s",
                        "overlap_policy": args.overlap, "max_concurrency": 1000 if args.overlap == "allow_all" else 1}
                for _attempt in range(5):  # a 504 (services still joining their groups) is retried, same key
                    response = api.post("/schedules", json=body, headers={"Idempotency-Key": f"bench-{i}"})
                    if response.status_code != 504:
                        break
                response.raise_for_status()
                ids.add(response.json()["data"]["id"])
            if args.overlap == "skip":  # each schedule's one long run must exist before measuring
                ready = time.monotonic()
                while len(measure(args.mongo, namespace.rstrip("."), ids, 0, 1e12)["runs"]) < len(ids):
                    if time.monotonic() > deadline:
                        raise SystemExit("the runs of the first ticks were not created in time")
                    time.sleep(1)
                print(f"first runs created in {time.monotonic() - ready:.0f} s", flush=True)
            start = float(int(time.time()) + 1 + args.warmup)
            end = start + args.seconds
            print(f"{len(ids)} schedules; measuring nominal times {datetime.fromtimestamp(start).time()} "
                  f"to {datetime.fromtimestamp(end).time()} ({args.seconds} s)", flush=True)
            while time.time() < end + 2 and time.monotonic() < deadline:
                time.sleep(0.5)
            drain = min(deadline, time.monotonic() + 60)
            while time.monotonic() < drain:  # let late ticks and runs land (bounded)
                result = measure(args.mongo, namespace.rstrip("."), ids, start, end)
                if result["missing"] == 0 and (args.overlap == "skip" or len(result["runs"]) >= result["expected"]):
                    break
                time.sleep(2)
            for sid in ids:
                api.post(f"/schedules/{sid}/disable")
        result = measure(args.mongo, namespace.rstrip("."), ids, start, end)
        print(f"ticks expected {result['expected']}, outcomes by type {result['by_type']}, "
              f"missing {result['missing']}")
        print(summary("tick lateness (outcome committed - nominal)", result["ticks"]))
        print(summary("run lateness  (RunCreated committed - nominal)", result["runs"]))
        if args.keep_logs:
            print(f"service logs: {work}")
    finally:
        processes.stop()
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
