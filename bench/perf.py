"""Benchmark suite: how long users wait for their pipelines, and how much load the write path takes.

    make bench                                     # every figure, on an embedded platform it starts
    uv run python bench/perf.py --quick            # the same, shorter (20 s sustained, 5 s per rate)
    uv run python bench/perf.py --only chain,latency
    EXECUTOR_WARM_WORKER=false uv run python bench/perf.py   # attempts from cold interpreters
    uv run python bench/perf.py --url http://127.0.0.1:8000  # a running deployment (`make up`)
    uv run python bench/perf.py --distributed    # start the distributed mode here (Kafka + MongoDB-wire)

Without ``--url`` or ``--distributed`` it starts ``tauro dev`` (the embedded platform: one process, SQLite event
store) in a fresh temporary data folder, with the rate limit off and ``MAX_CONCURRENT_RUNS``
100, and stops it at the end. With ``--url`` it drives that deployment through the same REST
API; the key comes from ``--api-key``, ``TAURO_API_KEY`` or ``.tauro/dist/admin-key`` (what
``make up`` writes); start it with ``RATE_LIMIT_ENABLED=false`` or the rate limit answers 429.
``--distributed`` starts runs, executor, scheduler and gateway as separate processes on the
Kafka and MongoDB-wire servers of ``--kafka`` / ``--mongo`` (loopback only), in a fresh
namespace and database that are deleted at the end.
The ``python`` nodes call ``bench/noop.py:noop`` (a relative path: the executor's working
directory must be the repository root, as with ``make run`` / ``make up``); the ``shell`` nodes
run ``true``.

Figures, one line each:

- ``chain40.<kind>``: a chain of 40 no-op nodes, POST /runs (start) -> SUCCESS seen by the
  client (polling every 50 ms; median of ``--repeat``), and per task; ``server-side`` is the
  run's ``finished_at - created_at`` (committed times, no polling in it);
- ``run3.<kind>``: a 3-node no-op chain, create -> terminal, p50 / p99 over ``--runs`` runs
  one after the other (the client polls every ``--poll`` s);
- ``overhead.<kind>``: per attempt, the attempt's duration (the executor starting the
  worker to reaping it) minus the node's own time (``metrics.node_seconds``), p50 / p99
  over the attempts of the chain and 3-node runs;
- ``sustained``: 1-node ``shell`` runs, ``--clients`` clients each creating a run and
  waiting for its end, for ``--duration`` s: runs a second, latency, runs lost;
- ``post.<rate>``: POST /runs (create only) open loop at 50, 100 and 200 requests a second
  for ``--post-seconds`` s each; latency from the moment each request was due (a late
  send counts against the server), errors.

These are benchmarks, not tests: nothing here asserts a timing. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TERMINAL = {"SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"}
KINDS = ("python", "shell")
FIGURES = ("chain", "latency", "sustained", "post")
NODE_CONFIG: dict[str, dict[str, Any]] = {
    "python": {"callable": "bench/noop.py:noop"},
    "shell": {"command": "true"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running deployment (default: start an embedded platform)")
    parser.add_argument("--distributed", action="store_true",
                        help="start the distributed mode here (separate processes, real Kafka + MongoDB-wire)")
    parser.add_argument("--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--mongo", default=os.environ.get(
        "MONGODB_URL", "mongodb://127.0.0.1:27018/?directConnection=true&retryWrites=false"))
    parser.add_argument("--api-key", default=os.environ.get("TAURO_API_KEY"))
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated subset of {FIGURES}")
    parser.add_argument("--kinds", default=",".join(KINDS), help="node kinds of the chain/latency figures")
    parser.add_argument("--chain", type=int, default=40, help="nodes in the chain")
    parser.add_argument("--repeat", type=int, default=10, help="chain runs per kind (the median is printed)")
    parser.add_argument("--runs", type=int, default=50, help="3-node runs per kind")
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between state polls of one run")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the sustained figure")
    parser.add_argument("--rates", default="50,100,200", help="POST /runs rates, requests a second")
    parser.add_argument("--post-seconds", type=float, default=15.0, help="seconds per POST rate")
    parser.add_argument("--quick", action="store_true", help="--duration 20 --post-seconds 5 --runs 20 --repeat 3")
    parser.add_argument("--keep", action="store_true", help="keep the embedded platform's folder and log")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.post_seconds, args.runs, args.repeat = 20.0, 5.0, 20, 3
    return args


# ---------------------------------------------------------------- statistics and printing


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def dist(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"p50 {ms(percentile(values, 0.5))}  p99 {ms(percentile(values, 0.99))}  "
            f"max {ms(max(values))}  (n={len(values)})")


def figure(name: str, text: str) -> None:
    print(f"{name:<22} {text}", flush=True)


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------- the platform under test


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes used so far (Linux /proc; 0 elsewhere). Attempts
    run in child processes and are not included: this is the orchestration's own CPU."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Embedded:
    """``tauro dev`` in a fresh folder, as its own process group (stopped with it)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.log = work / "tauro-dev.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 120.0) -> str:
        (self.work / "pipelines").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAURO_", "KAFKA_", "MONGODB_"))}
        env.update({
            "TAURO_MODE": "embedded", "TAURO_DATA_DIR": str(self.work / "data"),
            "TAURO_WORK_DIR": str(self.work / "work"), "TAURO_OUTPUT_DIR": str(self.work / "output"),
            "PIPELINES_DIR": str(self.work / "pipelines"), "PORT": str(self.port), "LOG_LEVEL": "WARNING",
            "ENABLE_AUTH": "false", "RATE_LIMIT_ENABLED": "false", "MAX_CONCURRENT_RUNS": "100",
            "COMMAND_TIMEOUT_SECONDS": "30",
        })
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tauro_cli.main", "dev", "--port", str(self.port)],
                env=env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True,
            )
        deadline = time.monotonic() + within
        while "Tauro is running" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the embedded platform did not start; see {self.log}")
            time.sleep(0.1)
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Distributed:
    """The distributed mode started here: runs, executor, scheduler and gateway as separate
    processes on real Kafka and the MongoDB-wire server, in a fresh namespace and database
    (deleted at the end) -- like ``make up`` without touching its ``.tauro/dist`` or port."""

    SERVICES = ("runs", "executor", "scheduler", "gateway")

    def __init__(self, work: Path, kafka: str, mongo: str) -> None:
        self.work, self.kafka, self.mongo = work, kafka, mongo
        self.port = free_port()
        self.namespace = f"bench{int(time.time())}{os.getpid()}."
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, within: float = 120.0) -> str:
        hosts = {h.rsplit(":", 1)[0] for h in self.kafka.split(",")} | {urlparse(self.mongo).hostname or ""}
        if not hosts <= LOOPBACK:
            raise SystemExit(f"refusing non-loopback hosts: {sorted(hosts - LOOPBACK)}")
        (self.work / "pipelines").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAURO_", "KAFKA_", "MONGODB_"))}
        env.update({
            "TAURO_MODE": "distributed", "SECRET_KEY": os.urandom(24).hex(), "ENABLE_AUTH": "false",
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka, "MONGODB_URL": self.mongo,
            "MONGODB_DATABASE": self.namespace.rstrip("."), "TAURO_NAMESPACE": self.namespace,
            "TAURO_WORK_DIR": str(self.work / "work"), "TAURO_OUTPUT_DIR": str(self.work / "output"),
            "PIPELINES_DIR": str(self.work / "pipelines"), "PORT": str(self.port), "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_ENABLED": "false", "MAX_CONCURRENT_RUNS": "100", "COMMAND_TIMEOUT_SECONDS": "30",
        })
        deadline = time.monotonic() + within
        for name in self.SERVICES:
            log = self.work / f"{name}.log"
            with log.open("ab") as out:
                process = subprocess.Popen([sys.executable, "-m", f"tauro_{name}"], env=env, cwd=ROOT,
                                           stdout=out, stderr=out, start_new_session=True)
            self.processes.append(process)
            while f"tauro {name}: ready" not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start; see {log}")
                time.sleep(0.2)
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        from pymongo import MongoClient

        with MongoClient(self.mongo) as client:
            client.drop_database(self.namespace.rstrip("."))
        asyncio.run(self._delete_topics())

    async def _delete_topics(self) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith(self.namespace)]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()


def api_key(args: argparse.Namespace) -> str | None:
    if args.api_key:
        return str(args.api_key)
    stored = ROOT / ".tauro" / "dist" / "admin-key"
    return stored.read_text().strip() if args.url and stored.is_file() else None


# ---------------------------------------------------------------- the REST calls


@dataclass
class Bench:
    api: httpx.AsyncClient
    poll: float
    project: str = ""
    pipelines: dict[str, str] = field(default_factory=dict)
    overheads: dict[str, list[float]] = field(default_factory=dict)
    server_pids: list[int] = field(default_factory=list)  # the platform's processes (empty: --url)

    def cpu(self) -> float:
        return process_cpu_seconds(self.server_pids)

    def cpu_note(self, since: float, per: int, what: str) -> str:
        """The platform's CPU time since ``since`` per ``what`` (machine load hardly moves it)."""
        if not self.server_pids or per <= 0:
            return ""
        return f"; platform CPU {(self.cpu() - since) / per * 1000:.1f} ms a {what}"

    async def setup(self) -> None:
        response = await self.api.post("/projects", json={"name": f"bench-{int(time.time() * 1000)}"})
        response.raise_for_status()
        self.project = response.json()["data"]["id"]

    async def pipeline(self, kind: str, nodes: int) -> str:
        key = f"{kind}-{nodes}"
        if key not in self.pipelines:
            body = {
                "name": f"{kind}_chain_{nodes}",
                "nodes": [{"id": f"n{i:02d}", "type": kind, "config": NODE_CONFIG[kind]} for i in range(nodes)],
                "edges": [{"from": f"n{i:02d}", "to": f"n{i + 1:02d}"} for i in range(nodes - 1)],
            }
            response = await self.api.post(f"/projects/{self.project}/pipelines", json=body)
            response.raise_for_status()
            self.pipelines[key] = response.json()["data"]["id"]
        return self.pipelines[key]

    async def create(self, pipeline: str, start: bool) -> dict[str, Any]:
        response = await self.api.post("/runs", json={"project_id": self.project, "pipeline_id": pipeline,
                                                      "start": start})
        response.raise_for_status()
        return response.json()["data"]  # type: ignore[no-any-return]

    async def wait(self, run_id: str, poll: float, within: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            response = await self.api.get(f"/runs/{run_id}", params={"fields": "state"})
            if response.status_code == 200 and response.json()["data"]["state"] in TERMINAL:
                break
            await asyncio.sleep(poll)
        else:
            raise TimeoutError(f"run {run_id} did not end within {within} s")
        full = await self.api.get(f"/runs/{run_id}")
        full.raise_for_status()
        return full.json()["data"]  # type: ignore[no-any-return]

    async def run_once(self, pipeline: str, kind: str, poll: float | None = None) -> tuple[float, dict[str, Any]]:
        """Create-and-start one run and wait for its end: (client seconds, the run document)."""
        started = time.perf_counter()
        run = await self.create(pipeline, start=True)
        doc = await self.wait(run["id"], self.poll if poll is None else poll)
        elapsed = time.perf_counter() - started
        if doc["state"] != "SUCCESS":
            raise SystemExit(f"run {doc['id']} ended {doc['state']}: {doc.get('error')}")
        self.record_overheads(kind, doc)
        return elapsed, doc

    def record_overheads(self, kind: str, doc: dict[str, Any]) -> None:
        for task in doc["tasks"]:
            node = (task.get("metrics") or {}).get("node_seconds")
            attempts = [a for a in task.get("attempts", []) if a.get("duration_seconds") is not None]
            if node is not None and attempts:
                self.overheads.setdefault(kind, []).append(max(0.0, attempts[-1]["duration_seconds"] - node))


# ---------------------------------------------------------------- the figures


async def chain_figure(bench: Bench, kind: str, nodes: int, repeat: int) -> None:
    """Polled every 50 ms: reading a 40-task run document 100 times a second would take a
    fair share of a 2-core machine from the platform being measured."""
    pipeline = await bench.pipeline(kind, nodes)
    await bench.run_once(pipeline, kind, poll=0.05)  # warm-up: the first run pays for caches and imports
    times, server = [], []
    cpu = bench.cpu()
    for _ in range(repeat):
        elapsed, doc = await bench.run_once(pipeline, kind, poll=0.05)
        times.append(elapsed)
        server.append(parse_time(doc["finished_at"]) - parse_time(doc["created_at"]))
    median = statistics.median(times)
    figure(f"chain{nodes}.{kind}", f"{median:.2f} s create->SUCCESS ({median / nodes * 1000:.1f} ms a task; "
           f"runs {', '.join(f'{t:.2f}' for t in times)} s; server-side {statistics.median(server):.2f} s "
           f"({', '.join(f'{t:.2f}' for t in server)})"
           f"{bench.cpu_note(cpu, repeat * nodes, 'task, polling included')})")


async def latency_figure(bench: Bench, kind: str, runs: int) -> None:
    pipeline = await bench.pipeline(kind, 3)
    await bench.run_once(pipeline, kind)
    times, server = [], []
    for _ in range(runs):
        elapsed, doc = await bench.run_once(pipeline, kind)
        times.append(elapsed)
        server.append(parse_time(doc["finished_at"]) - parse_time(doc["created_at"]))
    figure(f"run3.{kind}", f"{dist(times)}; server-side p50 {ms(percentile(server, 0.5))} "
           f"p99 {ms(percentile(server, 0.99))}")


async def sustained_figure(bench: Bench, clients: int, duration: float) -> None:
    pipeline = await bench.pipeline("shell", 1)
    await bench.run_once(pipeline, "shell")
    end = time.monotonic() + duration
    done: list[float] = []
    created: list[str] = []
    failures: list[str] = []

    async def client() -> None:
        while time.monotonic() < end:
            started = time.perf_counter()
            try:
                run = await bench.create(pipeline, start=True)
                created.append(run["id"])
                doc = await bench.wait(run["id"], 0.05, within=120)
            except (httpx.HTTPError, TimeoutError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if doc["state"] == "SUCCESS":
                done.append(time.perf_counter() - started)
            else:
                failures.append(f"{doc['id']} {doc['state']}")

    began = time.monotonic()
    cpu = bench.cpu()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.monotonic() - began
    cpu_note = bench.cpu_note(cpu, len(done), "run, polling included")
    lost = 0
    for run_id in created:  # every run created must have ended (the clients waited for each)
        response = await bench.api.get(f"/runs/{run_id}", params={"fields": "state"})
        lost += response.status_code != 200 or response.json()["data"]["state"] not in TERMINAL
    figure("sustained", f"{len(done) / wall:.1f} runs/s ({len(done)} runs of 1 shell node, {clients} clients, "
           f"{wall:.0f} s); latency {dist(done)}; not ended {lost}; failures {len(failures)}"
           + (f" (first: {failures[0]})" if failures else "") + cpu_note)


class RawPost:
    """A minimal HTTP/1.1 keep-alive client for the open-loop figure: httpx's connection pool
    costs O(queued x connections) per event, so a few thousand requests in flight made the
    load generator, not the server, the bottleneck (and it shares the server's 2 CPUs)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.prefix = parsed.path.rstrip("/")
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def post(self, path: str, body: bytes) -> int:
        request = (f"POST {self.prefix}{path} HTTP/1.1\r\nHost: {self.host}\r\n{self.headers}"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        while True:
            reused = bool(self.idle)
            if reused:
                conn = self.idle.pop()
            else:
                conn = await asyncio.open_connection(self.host, self.port)
                self.opened += 1
            reader, writer = conn
            try:
                writer.write(request)
                first = await reader.readline()
            except (ConnectionError, OSError):
                first = b""
            if first:
                break
            writer.close()
            if not reused:  # a fresh connection that answers nothing is an error; an idle one timed out
                raise ConnectionError("the server closed the connection without answering")
        status = int(first.split()[1])
        length, keep = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        await reader.readexactly(length)
        if keep:
            self.idle.append(conn)
        else:
            writer.close()
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def post_figure(bench: Bench, rate: float, seconds: float) -> None:
    pipeline = await bench.pipeline("shell", 1)
    count = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    client = RawPost(str(bench.api.base_url), {k: v for k, v in bench.api.headers.items()
                                               if k.lower() == "x-api-key"})
    body = json.dumps({"project_id": bench.project, "pipeline_id": pipeline}).encode()
    base = time.perf_counter() + 0.2

    async def one(i: int) -> None:
        due = base + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            status = await client.post("/runs", body)
            key = None if status == 201 else str(status)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            key = type(exc).__name__
        if key is None:
            latencies.append(time.perf_counter() - due)
        else:
            errors[key] = errors.get(key, 0) + 1

    cpu = bench.cpu()
    try:
        await asyncio.gather(*(one(i) for i in range(count)))
    finally:
        client.close()
    achieved = count / max(1e-9, time.perf_counter() - base)
    cpu_note = bench.cpu_note(cpu, count, "request")
    figure(f"post.{int(rate)}", f"{dist(latencies)}; errors {sum(errors.values())}"
           + (f" {errors}" if errors else "") + f" ({count} requests, {achieved:.0f}/s achieved incl. drain, "
           f"{client.opened} connections{cpu_note})")


async def run_figures(args: argparse.Namespace, url: str, server_pids: list[int] | None = None) -> None:
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    headers = {"X-API-Key": key} if (key := api_key(args)) else {}
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=f"{url.rstrip('/')}/api/v1", headers=headers, timeout=120,
                                 limits=limits) as api:
        bench = Bench(api, args.poll, server_pids=server_pids or [])
        await bench.setup()
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        for kind in kinds:
            if "chain" in only:
                steps.append(("chain", lambda k=kind: chain_figure(bench, k, args.chain, args.repeat)))  # type: ignore[misc]
            if "latency" in only:
                steps.append(("latency", lambda k=kind: latency_figure(bench, k, args.runs)))  # type: ignore[misc]
        if "sustained" in only:
            steps.append(("sustained", lambda: sustained_figure(bench, args.clients, args.duration)))
        if "post" in only:
            for rate in (float(r) for r in args.rates.split(",") if r.strip()):
                steps.append(("post", lambda r=rate: post_figure(bench, r, args.post_seconds)))  # type: ignore[misc]
        for _name, step in steps:
            await step()
        for kind in kinds:
            if kind in bench.overheads:
                figure(f"overhead.{kind}", f"attempt duration - node time: {dist(bench.overheads[kind])}")


def describe(url: str, embedded: bool, started: bool = True) -> None:
    cpus = os.cpu_count()
    warm = os.environ.get("EXECUTOR_WARM_WORKER", "default")
    if started:
        mode = "embedded (started here)" if embedded else "distributed (started here: Kafka + MongoDB-wire)"
    else:
        mode = f"deployment at {url}"
    print(f"# tauro bench: {mode}; {cpus} CPUs; python {sys.version.split()[0]}; "
          f"EXECUTOR_WARM_WORKER={warm}; load average {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    args = parse_args()
    if args.url:
        host = urlparse(args.url).hostname or ""
        if host not in LOOPBACK:
            raise SystemExit(f"refusing a non-loopback deployment: {host}")
        describe(args.url, embedded=False, started=False)
        asyncio.run(run_figures(args, args.url))
        return
    work = Path(tempfile.mkdtemp(prefix="tauro-bench-"))
    platform: Embedded | Distributed = Distributed(work, args.kafka, args.mongo) if args.distributed else Embedded(work)
    try:
        url = platform.start()
        describe(url, embedded=not args.distributed)
        asyncio.run(run_figures(args, url, platform.pids()))
    finally:
        platform.stop()
        if args.keep:
            print(f"# kept: {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
