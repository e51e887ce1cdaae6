"""Benchmark: round trips of one 3-node run in the distributed mode (issue 14, item 4).

Starts the runs service, the executor and the gateway as separate processes on real Kafka
and the MongoDB-wire server (a fresh namespace and database, deleted at the end), each
wrapped so it counts, without any change to the services:

- **database operations** by command name (PyMongo command monitoring: ``insert``,
  ``find``, ``update``, ``findAndModify``, ``commitTransaction``, ...);
- **Kafka messages produced** (``AIOKafkaProducer.send``) and **consumed** (records
  returned by ``AIOKafkaConsumer.getmany``), by topic.

It creates a project and a pipeline of three ``shell`` nodes (``true``) in a chain,
runs it once to warm up (topics, consumer groups, the executor's warm worker), measures
the processes' background activity (heartbeats, sweepers, lag sampling) over an idle
window, then creates and starts ONE run (a single ``POST /runs`` with ``start``) and
waits for SUCCESS by reading the event store directly (no polling through the gateway),
then for the services to go quiet. Counts are that window's minus the idle rate over
the same time; events appended are counted in the event store. None of these depend on
the machine's speed (the idle-rate correction is approximate: heartbeats are periodic).

    uv run python bench/roundtrips.py            # Kafka 127.0.0.1:19092, MongoDB-wire 127.0.0.1:27018

Loopback only; bounded (``--limit`` seconds); stops what it started.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SERVICES = ("runs", "executor", "gateway")
QUIET = {"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo", "saslStart", "saslContinue"}


# ---------------------------------------------------------------- inside each service process


def counted_service(name: str, out: str) -> None:
    """Run ``python -m tauro_<name>`` with counters; SIGUSR1 writes them to ``out`` as JSON."""
    import aiokafka
    from pymongo import monitoring

    counts: Counter[str] = Counter()

    class Commands(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            counts[f"db {event.command_name}"] += 1

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            counts[f"db-failed {event.command_name}"] += 1

    monitoring.register(Commands())
    send, getmany = aiokafka.AIOKafkaProducer.send, aiokafka.AIOKafkaConsumer.getmany

    async def counting_send(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
        counts[f"produced {topic}"] += 1
        return await send(self, topic, *args, **kwargs)

    async def counting_getmany(self: Any, *args: Any, **kwargs: Any) -> Any:
        batches = await getmany(self, *args, **kwargs)
        for partition, records in batches.items():
            counts[f"consumed {partition.topic}"] += len(records)
        return batches

    aiokafka.AIOKafkaProducer.send = counting_send  # type: ignore[method-assign]
    aiokafka.AIOKafkaConsumer.getmany = counting_getmany  # type: ignore[method-assign]

    def dump(*_: Any) -> None:
        Path(out + ".tmp").write_text(json.dumps(counts))
        os.replace(out + ".tmp", out)

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = [f"tauro_{name}"]
    runpy.run_module(f"tauro_{name}", run_name="__main__", alter_sys=True)


# ---------------------------------------------------------------- the driver


class Deployment:
    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work, self.env = work, env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, deadline: float) -> None:
        log = self.work / f"{name}.log"
        with log.open("ab") as out:
            self.procs[name] = subprocess.Popen(
                [sys.executable, __file__, "--service", name, "--counts", str(self.work / f"{name}.json")],
                env=self.env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)
        while f"tauro {name}: ready" not in log.read_text(errors="replace"):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start; see {log}")
            time.sleep(0.2)

    def snapshot(self) -> dict[str, Counter[str]]:
        for name, proc in self.procs.items():
            (self.work / f"{name}.json").unlink(missing_ok=True)
            proc.send_signal(signal.SIGUSR1)
        result: dict[str, Counter[str]] = {}
        for name in self.procs:
            path = self.work / f"{name}.json"
            for _ in range(100):
                if path.exists():
                    break
                time.sleep(0.02)
            result[name] = Counter(json.loads(path.read_text()))
        return result

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def delta(after: dict[str, Counter[str]], before: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
    return {name: after[name] - before[name] for name in after}


def run(args: argparse.Namespace, work: Path) -> None:
    import httpx
    from pymongo import MongoClient

    deadline = time.monotonic() + args.limit
    namespace = f"rt{uuid.uuid4().hex[:8]}."
    database = namespace.rstrip(".")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAURO_", "KAFKA_", "MONGODB_"))}
    port = _free_port()
    env.update({"TAURO_MODE": "distributed", "SECRET_KEY": uuid.uuid4().hex * 2, "ENABLE_AUTH": "false",
                "KAFKA_BOOTSTRAP_SERVERS": args.kafka, "MONGODB_URL": args.mongo, "MONGODB_DATABASE": database,
                "TAURO_NAMESPACE": namespace, "PORT": str(port), "PIPELINES_DIR": str(work / "pipelines"),
                "TAURO_WORK_DIR": str(work / "work"), "TAURO_OUTPUT_DIR": str(work / "output"),
                "LOG_LEVEL": "WARNING", "RATE_LIMIT_ENABLED": "false", "HEALTH_REQUIRED_SERVICES": "runs,executor"})
    (work / "pipelines").mkdir()
    deployment = Deployment(work, env)
    mongo = MongoClient(args.mongo)
    events = mongo[database]["events"]
    try:
        for name in SERVICES:
            deployment.start(name, deadline)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as api:
            project = api.post("/projects", json={"name": "roundtrips"}).raise_for_status().json()["data"]["id"]
            body = {"name": "three", "nodes": [{"id": n, "type": "shell", "config": {"command": "true"}}
                                                for n in ("a", "b", "c")],
                    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]}
            pipeline = api.post(f"/projects/{project}/pipelines", json=body).raise_for_status().json()["data"]["id"]

            def one_run() -> tuple[str, float]:
                started = time.monotonic()
                created = api.post("/runs", json={"project_id": project, "pipeline_id": pipeline, "start": True})
                run_id = created.raise_for_status().json()["data"]["id"]
                while events.count_documents({"stream_id": run_id, "type": {"$in": [
                        "RunSucceeded", "RunFailed", "RunCancelled", "RunTimedOut"]}}) == 0:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"run {run_id} did not end in time")
                    time.sleep(0.05)
                return run_id, time.monotonic() - started

            for _ in range(2):  # warm-up: topics, groups, the warm worker (started by the first attempt)
                one_run()
                time.sleep(4)
            quiet = args.settle
            idle_before = deployment.snapshot()
            time.sleep(args.idle)
            idle = delta(deployment.snapshot(), idle_before)
            before = deployment.snapshot()
            window = time.monotonic()
            run_id, seconds = one_run()
            time.sleep(quiet)
            measured = delta(deployment.snapshot(), before)
            window = time.monotonic() - window
        appended = list(events.find({"$or": [{"stream_id": run_id}, {"stream_id": f"logs:{run_id}"},
                                             {"data.run_id": run_id}]}, {"type": 1}))
        scale = window / args.idle
        print(f"# one 3-node shell run, distributed mode (Kafka {args.kafka}, MongoDB-wire {args.mongo}); "
              f"run took {seconds:.2f} s; window {window:.1f} s, idle rate subtracted (x{scale:.2f})")
        print(f"events appended: {len(appended)} ({dict(Counter(e['type'] for e in appended))})")
        totals: Counter[str] = Counter()
        for name in SERVICES:
            net = Counter({k: round(v - idle[name].get(k, 0) * scale) for k, v in measured[name].items()})
            net = Counter({k: v for k, v in net.items() if v > 0 and k.split(" ", 1)[-1] not in QUIET})
            totals.update(net)
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(net.items())))
        kinds = Counter()
        for key, value in totals.items():
            kind, _, what = key.partition(" ")
            kinds[f"{kind} {what}" if kind == "db" else kind] += value
        print("total: db operations " + str(sum(v for k, v in kinds.items() if k.startswith("db ")))
              + " (" + ", ".join(f"{k[3:]} {v}" for k, v in sorted(kinds.items()) if k.startswith("db ")) + ")"
              + f"; kafka messages produced {kinds['produced']}, consumed {kinds['consumed']}")
    finally:
        deployment.stop()
        mongo.drop_database(database)
        mongo.close()
        _delete_topics(args.kafka, namespace)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _delete_topics(kafka: str, namespace: str) -> None:
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def delete() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith(namespace)]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()

    asyncio.run(delete())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--mongo", default=os.environ.get(
        "MONGODB_URL", "mongodb://127.0.0.1:27018/?directConnection=true&retryWrites=false"))
    parser.add_argument("--idle", type=float, default=6.0, help="seconds of background activity measured")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds after SUCCESS still counted")
    parser.add_argument("--limit", type=float, default=300.0, help="wall-clock bound in seconds")
    parser.add_argument("--keep", action="store_true", help="keep the service logs")
    parser.add_argument("--service", help=argparse.SUPPRESS)
    parser.add_argument("--counts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.service:
        counted_service(args.service, args.counts)
        return
    hosts = {h.rsplit(":", 1)[0] for h in args.kafka.split(",")} | {urlparse(args.mongo).hostname or ""}
    if not hosts <= LOOPBACK:
        raise SystemExit(f"refusing non-loopback hosts: {sorted(hosts - LOOPBACK)}")
    if args.keep:
        run(args, Path(tempfile.mkdtemp(prefix="roundtrips-")))
        return
    with tempfile.TemporaryDirectory(prefix="roundtrips-") as work:
        run(args, Path(work))


if __name__ == "__main__":
    main()
