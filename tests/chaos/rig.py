"""The chaos rig: a whole Tauro deployment under load while its processes are SIGKILLed.

Shared by the bounded test (``tests/chaos/test_chaos.py``, in ``make test``) and the long run
(``python -m bench.chaos``, ``make chaos``). What it does, in order:

1. **Deploy**: a private MongoDB-wire server (its own port and data under the run's folder, so
   stopping it touches no one else's) and, on the given Kafka, every service as its own OS
   process through ``tests/e2e/harness.py``: two ``runs`` and two ``executor`` replicas by
   default, one ``gateway``, ``scheduler`` and ``streaming``. Authentication and rate limits
   are on as in ``make up``, with a bootstrap admin key (``TAURO_ADMIN_API_KEY``) that every
   restart registers again; the rate budget is far above the load.
2. **Load**: ``POST /runs`` (``start: true``) at ``rate`` a second, open loop, each with its
   own ``Idempotency-Key`` and retried like a real client under the same key on time-outs,
   connection errors, 408/429/5xx, until a 2xx or ``give_up_after``. The pipeline's shell nodes
   append ``run node attempt pid time`` to the execution ledger (one ``O_APPEND`` write).
   INTERVAL schedules (every ``interval``; overlap ``allow_all``/``skip``/``buffer_one``, catch-up
   ``all``) fire runs of a one-node ledger pipeline. A stream execution copies a trickle of
   numbered records from one topic to another.
3. **Kill loop**: ``kills`` SIGKILLs spread evenly over the load (none in the warm-up nor in
   the last ``quiet_tail`` seconds), targets dealt round-robin over the five services in a
   seeded shuffle (a replica picked at random), each restarted after a random
   ``restart_delay``; ``db_outages`` times instead the database is stopped for
   ``db_outage_seconds`` and started again (same data).
4. **Settle** (bounded): schedules disabled, then wait until every accepted run is terminal,
   no tick waits, no event is unpublished and the stream output holds every record.
5. **Check** (:mod:`tests.chaos.checks`): runs through the API, ticks and the store through
   pymongo (services stopped, so nothing moves), the rebuild with ``tauro rebuild --check``,
   the ledger against the store's claims and the kills, recovery times from throughput.

The summary says when the code under test (``libs``, ``services``, ``apps``) changed during the
run: restarted processes then run other code than their peers, a mixed-version deployment
whose findings may be about that rather than about one version.

Loopback only; only PIDs this rig started are signalled; everything stops by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from pymongo import MongoClient
from tauro_platform import apikeys

from tests.chaos import checks
from tests.chaos.checks import SERVICES, TERMINAL, Kill
from tests.e2e.harness import ROOT, Deployment, PrivateMongo, Service

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
RUN_TERMINAL_EVENTS = ("RunSucceeded", "RunFailed", "RunCancelled", "RunTimedOut")
TICK_EVENTS = ("TickFired", "TickQueued", "TickSkipped", "TicksMissed", "TickFailed")
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
STREAM_IN, STREAM_OUT = "chaos.stream.in", "chaos.stream.out"
STORE_COLLECTIONS = {"events", "event_counters", "stream_heads"}


@dataclass
class ChaosConfig:
    load_seconds: float = 180.0
    kills: int = 15
    db_outages: int = 1
    warmup: float = 20.0
    quiet_tail: float = 35.0
    rate: float = 1.0
    schedules: int = 2
    interval_seconds: int = 2
    replicas: dict[str, int] = field(
        default_factory=lambda: {"runs": 2, "executor": 2, "scheduler": 1, "streaming": 1, "gateway": 1})
    restart_delay: tuple[float, float] = (0.5, 3.0)
    db_outage_seconds: float = 4.0
    stream_rate: float = 10.0
    node_seconds: float = 0.2
    seed: int | None = None
    settle_timeout: float = 240.0
    give_up_after: float = 150.0
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Submission:
    """One client request of the load generator: its key, and what became of it."""

    index: int
    key: str
    first_sent: float
    run_id: str | None = None
    accepted_at: float | None = None
    tries: int = 0
    errors: list[str] = field(default_factory=list)
    refused: str | None = None  # a 4xx that is not worth retrying


@dataclass
class ChaosResult:
    config: ChaosConfig
    kills: list[Kill]
    recoveries: list[float | None]
    runs: checks.RunsReport
    ledger: checks.LedgerReport
    ticks: list[checks.TicksReport]
    store: checks.StoreReport
    stream: checks.StreamReport
    rebuild_ok: bool
    rebuild_output: str
    violations: list[str]
    summary: str
    evidence: list[str]
    facts: dict[str, Any]
    folder: Path

    def to_json(self) -> dict[str, Any]:
        return {"violations": self.violations, "summary": self.summary, "evidence": self.evidence,
                "kills": [vars(k) for k in self.kills], "recoveries": self.recoveries, "facts": self.facts,
                "rebuild": self.rebuild_output}


def loopback_only(*addresses: str) -> None:
    hosts = set()
    for address in addresses:
        if "://" in address:
            hosts.add(urlparse(address).hostname or "")
        else:
            hosts |= {part.rsplit(":", 1)[0] for part in address.split(",")}
    if not hosts <= LOOPBACK:
        raise SystemExit(f"chaos: refusing non-loopback hosts {sorted(hosts - LOOPBACK)}")


def kill_plan(config: ChaosConfig, rng: random.Random) -> list[tuple[float, str]]:
    """(seconds after the load starts, target) for every fault: evenly spread between the
    warm-up and the quiet tail; services dealt round-robin in shuffled rounds, so each gets
    its share; database outages at evenly spaced slots among them."""
    total = config.kills + config.db_outages
    if total == 0:
        return []
    first, last = config.warmup, config.load_seconds - config.quiet_tail
    if last <= first:
        raise ValueError("load_seconds must exceed warmup + quiet_tail when there are kills")
    step = (last - first) / total
    targets: list[str] = []
    while len(targets) < config.kills:
        batch = list(SERVICES)
        rng.shuffle(batch)
        targets += batch
    targets = targets[:config.kills]
    for n in range(config.db_outages):
        targets.insert(round((n + 0.5) * total / config.db_outages), "database")
    return [(first + step * (i + rng.uniform(0.1, 0.9)), target) for i, target in enumerate(targets)]


class Chaos:
    """One chaos run. ``run()`` deploys, loads, kills, settles, checks and always tears down."""

    def __init__(self, config: ChaosConfig, kafka: str, folder: Path, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.kafka = kafka
        self.folder = folder
        self.say = say
        self.rng = random.Random(config.seed)
        self.ledger = folder / "ledger.txt"
        self.mongo = PrivateMongo(folder)
        self.dep: Deployment | None = None
        self.instances: dict[str, list[Service]] = defaultdict(list)
        self.submissions: list[Submission] = []
        self.kills: list[Kill] = []
        self.start_failures: list[str] = []
        self.stream_sent: list[int] = []
        self.schedule_ids: list[str] = []
        self.stop_event = threading.Event()
        self.admin_key = ""
        self.load_started = 0.0
        self.code_at_start: dict[str, float] = {}
        self.lock = threading.Lock()

    # ----------------------------------------------------------------------- deploy

    @property
    def deployment(self) -> Deployment:
        assert self.dep is not None, "deploy() first"
        return self.dep

    def deploy(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ledger.touch()
        self.mongo.start()
        loopback_only(self.kafka, self.mongo.url)
        self.dep = Deployment(self.kafka, self.mongo.url, self.folder, namespace=f"chaos{uuid.uuid4().hex[:8]}.")
        secret = uuid.uuid4().hex * 2
        self.admin_key = apikeys.new_key(secret).key
        streams = self.folder / "streams"
        streams.mkdir(exist_ok=True)
        (streams / "chaos.yaml").write_text(json.dumps({"pipelines": {"copy": {
            "input_topics": [STREAM_IN], "processors": [{"type": "map", "set": {"copied": True}}],
            "output_topic": STREAM_OUT, "key_field": "key"}}}))
        self._create_topics([STREAM_IN, STREAM_OUT])
        env = {"SECRET_KEY": secret, "TAURO_ADMIN_API_KEY": self.admin_key, "ENABLE_AUTH": "true",
               "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS": "1000000", "RATE_LIMIT_WINDOW": "60",
               "COMMAND_TIMEOUT_SECONDS": "10", "STREAMS_DIR": str(streams), "KAFKA_PARTITIONS": "2",
               "STREAM_STATS_INTERVAL_SECONDS": "1", "MAX_CONCURRENT_RUNS": "20", **self.config.extra_env}
        for name in ("runs", "executor", "scheduler", "streaming", "gateway"):
            for n in range(1, self.config.replicas.get(name, 1) + 1):
                self.say(f"chaos: starting {name}-{n}")
                try:
                    self.instances[name].append(self.deployment.start(name, instance=f"{name}-{n}", **env))
                except (RuntimeError, TimeoutError) as exc:
                    if n == 1:
                        raise
                    # a further replica that cannot start is a finding, not the end of the run: the
                    # kill loop tries it again when its turn comes
                    service = self.deployment.services[-1]
                    service.kill()
                    self.instances[name].append(service)
                    self.start_failures.append(f"{name}-{n}: {str(exc)[-1500:]}")
                    self.say(f"chaos: {name}-{n} did not start: {str(exc)[-300:]}")

    def api(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=f"{self.deployment.url}/api/v1", headers={"X-API-Key": self.admin_key},
                            timeout=timeout, limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))

    def _call(self, api: httpx.Client, method: str, path: str, within: float = 60.0, **kwargs: Any) -> httpx.Response:
        """A set-up or check request, retried on what a restart or an outage can cause."""
        deadline = time.monotonic() + within
        while True:
            try:
                response = api.request(method, path, **kwargs)
                if response.status_code not in RETRY_STATUSES:
                    return response
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                return response
            time.sleep(1.0)

    def prepare(self) -> tuple[str, str]:
        """Project, pipelines, schedules and the stream execution; returns (project, pipeline)."""
        cfg = self.config
        ledger = str(self.ledger)
        with self.api() as api:
            project = self._call(api, "POST", "/projects", json={"name": "chaos"})
            assert project.status_code == 201, project.text
            project_id = project.json()["data"]["id"]

            def pipeline(name: str, nodes: list[str]) -> str:
                command = checks.ledger_command(ledger, cfg.node_seconds)
                body = {"name": name,
                        "nodes": [{"id": n, "type": "shell", "config": {"command": command}} for n in nodes],
                        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(nodes)],
                        "config": {"max_parallelism": 4,
                                   "retry_policy": {"max_attempts": 3, "backoff_seconds": 0.5, "jitter": False}}}
                created = self._call(api, "POST", f"/projects/{project_id}/pipelines", json=body)
                assert created.status_code == 201, created.text
                return str(created.json()["data"]["id"])

            pipeline_id = pipeline("chaos_load", ["extract", "load"])
            ticking = pipeline("chaos_tick", ["tick"])
            policies = [("allow_all", 3), ("skip", 1), ("buffer_one", 1)]
            for n in range(cfg.schedules):
                overlap, concurrency = policies[n % len(policies)]
                created = self._call(api, "POST", "/schedules", json={
                    "project_id": project_id, "pipeline_id": ticking, "kind": "INTERVAL",
                    "expression": f"{cfg.interval_seconds}s", "overlap_policy": overlap,
                    "max_concurrency": concurrency, "catch_up_policy": "all", "catch_up_window_seconds": 3600})
                assert created.status_code == 201, created.text
                self.schedule_ids.append(created.json()["data"]["id"])
            started = self._call(api, "POST", "/stream/run", json={"config": "chaos.yaml", "pipeline": "copy",
                                                                   "mode": "async"})
            assert started.status_code == 202, started.text
            self.stream_execution = str(started.json()["data"]["execution_id"])
        return project_id, pipeline_id

    # ----------------------------------------------------------------------- load

    def _submit(self, api: httpx.Client, sub: Submission, body: dict[str, Any]) -> None:
        backoff = 0.5
        while True:
            sub.tries += 1
            try:
                response = api.post("/runs", json=body, headers={"Idempotency-Key": sub.key})
                if 200 <= response.status_code < 300:
                    sub.run_id = response.json()["data"]["id"]
                    sub.accepted_at = time.time()
                    return
                if response.status_code not in RETRY_STATUSES:
                    sub.refused = f"{response.status_code} {response.text[:300]}"
                    return
                sub.errors.append(str(response.status_code))
            except httpx.TransportError as exc:
                sub.errors.append(type(exc).__name__)
            if time.time() - sub.first_sent > self.config.give_up_after:
                return
            time.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(5.0, backoff * 2)

    def load(self, project_id: str, pipeline_id: str) -> None:
        cfg = self.config
        with self.api(timeout=15.0) as api, ThreadPoolExecutor(max_workers=48, thread_name_prefix="load") as pool:
            index = 0
            while not self.stop_event.is_set():
                due = self.load_started + index / cfg.rate
                if due >= self.load_started + cfg.load_seconds:
                    break
                time.sleep(max(0.0, due - time.time()))
                key = f"chaos-{index}-{uuid.uuid4().hex[:6]}"
                sub = Submission(index, key, time.time())
                with self.lock:
                    self.submissions.append(sub)
                body = {"project_id": project_id, "pipeline_id": pipeline_id, "start": True,
                        "tags": {"chaos_key": key}, "params": {"n": str(index)}}
                pool.submit(self._submit, api, sub, body)
                index += 1

    def produce_stream(self) -> None:
        """Numbered records into the stream's input topic at ``stream_rate`` a second."""

        async def produce() -> None:
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(bootstrap_servers=self.kafka, acks="all", linger_ms=5)
            await producer.start()
            try:
                seq = 0
                end = self.load_started + self.config.load_seconds
                while time.time() < end and not self.stop_event.is_set():
                    key = f"k{seq % 11}"
                    await producer.send_and_wait(self.deployment.namespace + STREAM_IN,
                                                 json.dumps({"seq": seq, "key": key}).encode(), key=key.encode())
                    self.stream_sent.append(seq)
                    seq += 1
                    await asyncio.sleep(1.0 / self.config.stream_rate)
            finally:
                await producer.stop()

        asyncio.run(produce())

    # ----------------------------------------------------------------------- faults

    def _restart(self, service: Service) -> tuple[float | None, str]:
        errors: list[str] = []
        for _ in range(3):
            try:
                service.start(timeout=90)
                return time.time(), "; ".join(errors)
            except (RuntimeError, TimeoutError) as exc:
                errors.append(str(exc)[-3000:])
                service.kill()
                time.sleep(3)
        return None, "\n---\n".join(errors)

    def kill_loop(self) -> None:
        low, high = self.config.restart_delay
        for offset, target in kill_plan(self.config, self.rng):
            while time.time() < self.load_started + offset:
                if self.stop_event.wait(0.1):
                    return
            if target == "database":
                at = time.time()
                self.say(f"chaos: +{at - self.load_started:.0f}s database outage ({self.config.db_outage_seconds}s)")
                self.mongo.stop()
                time.sleep(self.config.db_outage_seconds)
                error = ""
                try:
                    self.mongo.start()
                    back: float | None = time.time()
                except subprocess.CalledProcessError as exc:
                    back, error = None, f"database did not start: {exc.stderr!r}"[-3000:]
                self.kills.append(Kill("database", "mongo", None, at, back, error))
                continue
            service = self.rng.choice(self.instances[target])
            if service.process is None or service.process.poll() is not None:  # it failed to start earlier
                back, error = self._restart(service)
                if back is None:
                    self.kills.append(Kill(target, service.log_path.stem, None, time.time(), None,
                                           "was not running and did not start again: " + error))
                    continue
                self.say(f"chaos: {service.log_path.stem} was not running; started it again before its kill")
            assert service.process is not None
            pid = service.process.pid
            at = time.time()
            service.kill()
            self.say(f"chaos: +{at - self.load_started:.0f}s SIGKILL {service.log_path.stem} (pid {pid})")
            time.sleep(self.rng.uniform(low, high))
            back, error = self._restart(service)
            if error:
                self.say(f"chaos: restart of {service.log_path.stem} failed: {error[-500:]}")
            self.kills.append(Kill(target, service.log_path.stem, pid, at, back, error))

    # ----------------------------------------------------------------------- settle

    def settle(self, expected: dict[str, str]) -> tuple[dict[str, str | None], list[str]]:
        """Wait (bounded) for quiescence. Returns every run's state (GET /runs/{id}) and notes."""
        notes: list[str] = []
        states: dict[str, str | None] = {}
        deadline = time.monotonic() + self.config.settle_timeout
        with self.api() as api:
            for sid in self.schedule_ids:
                answer = self._call(api, "POST", f"/schedules/{sid}/disable")
                if answer.status_code != 200:
                    notes.append(f"disable {sid}: {answer.status_code} {answer.text[:200]}")
            pending = set(expected.values())
            while time.monotonic() < deadline:
                pending |= set(self._tick_runs()) - set(states)
                with ThreadPoolExecutor(max_workers=4) as pool:
                    for run_id, state in zip(pending, pool.map(lambda r: self._state(api, r), pending), strict=True):
                        states[run_id] = state
                pending = {r for r in pending if states[r] not in TERMINAL}
                waiting = sum(self._call(api, "GET", f"/schedules/{sid}").json()["data"].get("waiting_count", 0)
                              for sid in self.schedule_ids)
                if not pending and not waiting and self._unpublished() == 0:
                    break
                time.sleep(2)
            else:
                notes.append(f"not quiescent after {self.config.settle_timeout:.0f}s: "
                             f"{len(pending)} runs not terminal, {self._unpublished()} events unpublished")
            for run_id in set(self._tick_runs()) - set(states):
                states[run_id] = self._state(api, run_id)
        return states, notes

    def _state(self, api: httpx.Client, run_id: str) -> str | None:
        response = self._call(api, "GET", f"/runs/{run_id}", within=30)
        if response.status_code == 404:
            return None
        return str(response.json()["data"]["state"]) if response.status_code == 200 else f"HTTP {response.status_code}"

    def _db(self) -> Any:
        return MongoClient(self.mongo.url, serverSelectionTimeoutMS=10000)[self.deployment.database]

    def _tick_runs(self) -> dict[str, str]:
        """run id -> "tick:<schedule>@<nominal>" for every fired tick in the store whose run was
        not refused (a ``TickFailed`` is reported by the tick check)."""
        db = self._db()
        try:
            return checks.fired_tick_runs(db["events"].find({"type": {"$in": ["TickFired", "TickFailed"]},
                                                      "stream_id": {"$in": self.schedule_ids}}))
        finally:
            db.client.close()

    def _unpublished(self) -> int:
        db = self._db()
        try:
            return int(db["events"].count_documents({"published": False}))
        finally:
            db.client.close()

    def read_stream_output(self, within: float = 60.0) -> list[int]:
        """Every seq on the stream's output topic, waiting (bounded) for the sent ones to arrive."""
        wanted = set(self.stream_sent)

        async def read() -> list[int]:
            from aiokafka import AIOKafkaConsumer, TopicPartition

            consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka, enable_auto_commit=False, group_id=None)
            await consumer.start()
            try:
                name = self.deployment.namespace + STREAM_OUT
                await consumer._client.force_metadata_update()
                parts = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
                consumer.assign(parts)
                await consumer.seek_to_beginning(*parts)
                seen: list[int] = []
                deadline = time.monotonic() + within
                while time.monotonic() < deadline and not wanted <= set(seen):
                    for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                        seen += [json.loads(r.value)["seq"] for r in records if r.value]
                return seen
            finally:
                await consumer.stop()

        return asyncio.run(read())

    def _create_topics(self, names: list[str]) -> None:
        async def create() -> None:
            from aiokafka.admin import AIOKafkaAdminClient, NewTopic

            admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
            await admin.start()
            try:
                await admin.create_topics([NewTopic(self.deployment.namespace + n, 2, 1) for n in names])
            finally:
                await admin.close()

        asyncio.run(create())

    def _delete_topics(self) -> None:
        async def delete() -> None:
            from aiokafka.admin import AIOKafkaAdminClient

            admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
            await admin.start()
            try:
                names = [t for t in await admin.list_topics() if t.startswith(self.deployment.namespace)]
                if names:
                    await admin.delete_topics(names)
            finally:
                await admin.close()

        with contextlib.suppress(Exception):
            asyncio.run(delete())

    # ----------------------------------------------------------------------- check

    def store_facts(self) -> dict[str, Any]:
        db = self._db()
        try:
            events = db["events"]
            rows = [(int(d["_id"]), d["stream_id"], int(d["stream_version"]), d["event_id"])
                    for d in events.find({}, {"stream_id": 1, "stream_version": 1, "event_id": 1})]
            terminal_times = [float(d["appended_at"]) for d in events.find(
                {"type": {"$in": list(RUN_TERMINAL_EVENTS)}}, {"appended_at": 1})]
            created = [(d["data"]["run_id"], (d["data"].get("tags") or {}).get("chaos_key"))
                       for d in events.find({"type": "RunCreated"}, {"data.run_id": 1, "data.tags": 1})]
            claimed, failed, succeeded = {}, {}, set()
            for d in events.find({"type": {"$in": ["TaskStarted", "TaskFailed", "TaskSucceeded"]}},
                                 {"type": 1, "data": 1}):
                data = d["data"]
                key = (data["run_id"], data["node_id"], int(data["attempt"]))
                if d["type"] == "TaskStarted":
                    claimed[key] = data["executor_id"]
                elif d["type"] == "TaskFailed":
                    failed[key] = f"{data.get('status')}: {data.get('error')}"[:200]
                else:
                    succeeded.add(key)
            schedules = {}
            for sid in self.schedule_ids:
                stream = list(events.find({"stream_id": sid}).sort("stream_version", 1))
                schedules[sid] = stream
            return {"rows": rows, "terminal_times": terminal_times, "created": created,
                    "attempts": checks.AttemptFacts(claimed, failed, frozenset(succeeded)),
                    "schedules": schedules, "unpublished": events.count_documents({"published": False})}
        finally:
            db.client.close()

    def _read_models(self) -> dict[str, dict[Any, Any]]:
        """Every collection but the event store's own, as {name: {id: document}}."""
        db = self._db()
        try:
            return {name: {d["_id"]: d for d in db[name].find()} for name in db.list_collection_names()
                    if name not in STORE_COLLECTIONS and not name.startswith("system.")}
        finally:
            db.client.close()

    def rebuild_check(self) -> tuple[bool, str]:
        """``tauro rebuild --check`` as an operator runs it, with the deployment's settings; when
        the hashes differ, the documents that differ (read directly before and after)."""
        env = dict(self.instances["runs"][0].env)
        before = self._read_models()
        done = subprocess.run([sys.executable, "-m", "tauro_cli.main", "rebuild", "--check"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)
        output = (done.stdout + done.stderr).strip()[-3000:]
        if done.returncode != 0:
            output += "\n" + "\n".join(checks.diff_collections(before, self._read_models())[:40])
        return done.returncode == 0, output

    def code_fingerprint(self) -> dict[str, float]:
        """Modification times of the code under test, to tell when it changed during the run (a
        restarted process then runs other code than its peers: a mixed-version deployment)."""
        found = {}
        for top in ("libs", "services", "apps"):
            for path in (ROOT / top).rglob("*.py"):
                found[str(path.relative_to(ROOT))] = path.stat().st_mtime
        return found

    def evidence(self, kills: list[Kill], recoveries: list[float | None]) -> list[str]:
        """Log excerpts: restart failures, and the warnings/errors of every service around each stall."""
        found = [f"a replica did not start at deployment: {failure}" for failure in self.start_failures]
        for kill in kills:
            if kill.restart_error:
                found.append(f"restart of {kill.instance} after the kill at +{kill.at - self.load_started:.0f}s "
                             f"failed:\n{kill.restart_error[-1500:]}")
        for kill, recovery in zip(kills, recoveries, strict=True):
            if recovery is None or recovery > checks.STALL_SECONDS:
                lines = self._log_lines(kill.at, kill.at + checks.STALL_SECONDS + 10, limit=25)
                found.append(f"stall after {kill.service} ({kill.instance}) kill at +{kill.at - self.load_started:.0f}s"
                             f" (recovery {recovery}):\n" + "\n".join(lines))
        return found

    def error_counts(self) -> dict[str, int]:
        counts = {}
        for path in sorted(self.folder.glob("*.log")):
            text = path.read_text(errors="replace")
            counts[path.stem] = len(re.findall(r'"level": ?"(?:ERROR|CRITICAL)"', text)) + text.count("Traceback")
        return counts

    def _log_lines(self, start: float, end: float, limit: int) -> list[str]:
        picked: list[tuple[str, str]] = []
        for path in sorted(self.folder.glob("*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if not line.startswith("{"):
                    continue
                try:
                    entry = json.loads(line)
                    moment = _epoch(entry.get("timestamp", ""))
                except ValueError:
                    continue
                if start <= moment <= end and entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                    picked.append((entry["timestamp"], f"{path.stem}: {entry.get('level')} {entry.get('message')}"
                                   [:300]))
        picked.sort()
        return [text for _, text in picked[:limit]]

    # ----------------------------------------------------------------------- the whole run

    def run(self) -> ChaosResult:
        cfg = self.config
        try:
            self.deploy()
            project_id, pipeline_id = self.prepare()
            self.say(f"chaos: deployed in {self.folder}; load {cfg.rate}/s for {cfg.load_seconds:.0f}s, "
                     f"{cfg.kills} kills + {cfg.db_outages} database outages")
            self.code_at_start = self.code_fingerprint()
            self.load_started = time.time()
            threads = [threading.Thread(target=self.kill_loop, name="kills", daemon=True),
                       threading.Thread(target=self.produce_stream, name="stream", daemon=True)]
            for thread in threads:
                thread.start()
            self.load(project_id, pipeline_id)
            load_ended = time.time()
            for thread in threads:
                thread.join(timeout=300)
            self.say(f"chaos: load done ({len(self.submissions)} requests); settling")
            accepted = {s.key: s.run_id for s in self.submissions if s.run_id is not None}
            states, notes = self.settle(accepted)
            stream_seen = self.read_stream_output()
            self.deployment.stop_all()  # nothing moves from here on
            facts = self.store_facts()
            ok, rebuild_output = self.rebuild_check()
            return self._judge(accepted, states, notes, facts, stream_seen, ok, rebuild_output, load_ended)
        finally:
            self.stop_event.set()
            if self.dep is not None:
                self.dep.stop_all()
                self._delete_topics()
            with contextlib.suppress(Exception):
                self.mongo.stop()

    def _judge(self, accepted: dict[str, str], states: dict[str, str | None], notes: list[str],
               facts: dict[str, Any], stream_seen: list[int], rebuild_ok: bool, rebuild_output: str,
               load_ended: float) -> ChaosResult:
        cfg = self.config
        tick_runs = checks.fired_tick_runs(e for stream in facts["schedules"].values() for e in stream)
        runs = checks.check_runs({**accepted, **{label: run_id for run_id, label in tick_runs.items()}},
                                 facts["created"], states)
        killed_executors = {k.pid for k in self.kills if k.service == "executor" and k.pid is not None}
        entries, bad = checks.parse_ledger(self.ledger.read_text())
        ledger = checks.check_ledger(entries, facts["attempts"], killed_executors, bad)
        ticks = []
        interval = timedelta(seconds=cfg.interval_seconds)
        for sid, stream in facts["schedules"].items():
            created = next(e for e in stream if e["type"] == "ScheduleCreated")["data"]
            anchor = checks.parse_time(created["anchor"])
            first = checks.first_tick(anchor, interval, checks.parse_time(created["resume_after"]))
            ticks.append(checks.check_ticks(sid, anchor, interval, [e for e in stream if e["type"] in TICK_EVENTS],
                                            first_expected=first))
        store = checks.check_store(facts["rows"], facts["unpublished"])
        stream = checks.check_stream(self.stream_sent, stream_seen)

        end = load_ended
        accepted_series = checks.buckets([s.accepted_at for s in self.submissions if s.accepted_at], self.load_started,
                                         end)
        terminal_series = checks.buckets(facts["terminal_times"], self.load_started, end)
        first_kill = min((k.at for k in self.kills), default=end) - self.load_started
        base_from = int(cfg.warmup / 2)
        baselines = (checks.mean_rate(accepted_series, base_from, int(first_kill)),
                     checks.mean_rate(terminal_series, base_from, int(first_kill)))
        recoveries: list[float | None] = []
        for kill in self.kills:
            offset = kill.at - self.load_started
            times = [checks.recovery_time(accepted_series, offset, baselines[0]),
                     checks.recovery_time(terminal_series, offset, baselines[1])]
            recoveries.append(None if None in times else max(t for t in times if t is not None))

        refused = [f"{s.key}: {s.refused}" for s in self.submissions if s.refused]
        gave_up = [f"{s.key} after {s.tries} tries ({', '.join(s.errors[-3:])})" for s in self.submissions
                   if s.run_id is None and not s.refused]
        violations = [*notes, *runs.violations, *ledger.violations, *store.violations, *stream.violations]
        violations += [v for t in ticks for v in t.violations]
        violations += [f"request refused: {r}" for r in refused] + [f"request never accepted: {g}" for g in gave_up]
        violations += [f"restart failed: {k.instance} at +{k.at - self.load_started:.0f}s" for k in self.kills
                       if k.restart_error]
        violations += [f"start failed: {f.splitlines()[0]}" for f in self.start_failures]
        planned = cfg.kills + cfg.db_outages
        if len(self.kills) != planned:
            violations.append(f"the kill loop did {len(self.kills)} of {planned} planned faults")
        empty = [name for name, count in (("accepted runs", len(accepted)), ("ledger lines", ledger.entries),
                                          ("ticks", sum(t.ticks for t in ticks)), ("stream records", stream.sent))
                 if count == 0]
        if empty:
            violations.append(f"nothing to check: no {', no '.join(empty)}")
        if not rebuild_ok:
            violations.append(f"rebuild hash differs: {rebuild_output[-400:]}")
        stalls = [(k, r) for k, r in zip(self.kills, recoveries, strict=True) if r is None or r > checks.STALL_SECONDS]
        violations += [f"stall: no recovery within {checks.STALL_SECONDS:.0f}s of the {k.service} kill "
                       f"({k.instance}) at +{k.at - self.load_started:.0f}s" for k, _ in stalls]
        code_now = self.code_fingerprint()
        changed = sorted(p for p in self.code_at_start.keys() | code_now.keys()
                         if self.code_at_start.get(p) != code_now.get(p))
        extra = {
            "code changed during the run": f"{len(changed)} files (mixed versions!)" if changed else "no",
            "of which scheduled runs": str(len(tick_runs)),
            "requests refused / never accepted": f"{len(refused)} / {len(gave_up)}",
            "client retries": str(sum(s.tries - 1 for s in self.submissions)),
            "ledger entries / nodes executed": f"{ledger.entries} / {ledger.nodes}",
            "retries after executor kill": str(len(ledger.retries_after_kill)),
            "attempts executed twice": str(len(ledger.twice) + len(ledger.unexplained)),
            "store events / streams": f"{store.events} / {store.streams}",
            "store gaps / duplicates": f"{len(store.position_gaps) + len(store.version_gaps)} / "
                                       f"{len(store.duplicate_versions) + len(store.duplicate_event_ids)}",
            "tick gaps / duplicates": f"{sum(len(t.gaps) for t in ticks)} / {sum(len(t.duplicates) for t in ticks)}",
            "stream records sent / lost / dup": f"{stream.sent} / {len(stream.lost)} / {stream.duplicates}",
            "rebuild hash": "identical" if rebuild_ok else "DIFFERENT",
            "baseline accepted / terminal per s": f"{baselines[0]:.2f} / {baselines[1]:.2f}",
            "violations": str(len(violations)),
        }
        summary = checks.summary_table(self.kills, recoveries, runs, ticks, extra)
        per_kill = "\n".join(
            f"  +{k.at - self.load_started:6.1f}s {k.instance:<12} down {((k.back_at or k.at) - k.at):5.1f}s "
            f"recovery {'-' if r is None else f'{r:.1f}s'}{'  RESTART FAILED' if k.restart_error else ''}"
            for k, r in zip(self.kills, recoveries, strict=True))
        result = ChaosResult(
            config=cfg, kills=self.kills, recoveries=recoveries, runs=runs, ledger=ledger, ticks=ticks, store=store,
            stream=stream, rebuild_ok=rebuild_ok, rebuild_output=rebuild_output, violations=violations,
            summary=summary + "\nkills:\n" + per_kill, evidence=self.evidence(self.kills, recoveries),
            facts={"accepted_series": accepted_series, "terminal_series": terminal_series, "baselines": baselines,
                   "error_lines_per_log": self.error_counts(), "code_changed_during_run": changed,
                   "retries_after_kill": ledger.retries_after_kill[:50]},
            folder=self.folder)
        (self.folder / "chaos-report.json").write_text(json.dumps(result.to_json(), indent=2, default=str))
        return result


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
