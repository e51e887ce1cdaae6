"""Issue 17, item 1: a run's trace in a real Jaeger v2 (scripts/infra/jaeger.sh).

The distributed deployment exports its spans over OTLP/HTTP to Jaeger; the test then reads the
run's trace back from Jaeger's query API, as an operator opening it in the UI would: one trace
from the gateway request through the runs service's commands, event-store appends and relay
publishes to the executor's task spans, each service under its own name, one SERVER span per
request, and the reaper's retry of an attempt lost with its SIGKILLed executor in the same trace.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.harness import ROOT, Deployment, free_port
from tests.e2e.runs_helpers import log_messages, make_pipeline, make_project, shell_pipeline, until, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCRIPT = ROOT / "scripts" / "infra" / "jaeger.sh"
CANNOT_BUILD = 3  # jaeger.sh's exit status when Jaeger cannot be built on this machine
DEFAULT_PORTS = {"TAURO_JAEGER_OTLP_GRPC_PORT": 4317, "TAURO_JAEGER_OTLP_HTTP_PORT": 4318,
                 "TAURO_JAEGER_QUERY_PORT": 16686, "TAURO_JAEGER_QUERY_GRPC_PORT": 16685}


@dataclass(frozen=True)
class Jaeger:
    otlp_endpoint: str
    query_url: str


def _settings(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _script(action: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), action], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def jaeger() -> Iterator[Jaeger]:
    """Jaeger v2 started by ``scripts/infra/jaeger.sh`` (built on first use: minutes), or the one
    already running; stopped at the end only if this session started it. The default ports
    unless one is taken (or ``TAURO_JAEGER_*_PORT`` is set), then free ones."""
    env = dict(os.environ)
    status = _script("status", env, 30)
    started = status.returncode != 0
    if started:
        ports = {name: int(env.get(name, default)) for name, default in DEFAULT_PORTS.items()}
        if not all(_free(port) for port in ports.values()):
            ports = {name: free_port() for name in DEFAULT_PORTS}
        env.update({name: str(port) for name, port in ports.items()})
        result = _script("start", env, 2600)
        if result.returncode == CANNOT_BUILD:
            pytest.skip(f"Jaeger cannot be built here: {result.stderr.strip().splitlines()[-1]}")
        assert result.returncode == 0, f"jaeger.sh start failed:\n{result.stderr[-3000:]}"
        settings = _settings(result.stdout)
    else:
        settings = _settings(status.stdout)
    yield Jaeger(settings["OTEL_EXPORTER_OTLP_ENDPOINT"], settings["JAEGER_QUERY_URL"])
    if started:
        _script("stop", env, 60)


@dataclass(frozen=True)
class JaegerSpan:
    service: str
    instance: str
    name: str
    span_id: str
    parent_id: str | None
    kind: str
    tags: dict[str, Any]


def _tag_value(tag: dict[str, Any]) -> Any:
    value = tag["value"]
    if isinstance(value, str) and value.startswith("["):  # array attributes arrive JSON-encoded
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def fetch_trace(jaeger: Jaeger, trace_id: str) -> list[JaegerSpan]:
    """The trace as Jaeger's query API (``GET /api/traces/{id}``, what the UI reads) returns it."""
    response = httpx.get(f"{jaeger.query_url}/api/traces/{trace_id}", timeout=10)
    if response.status_code == 404:
        return []
    response.raise_for_status()
    (found,) = response.json()["data"]
    processes = {key: (p["serviceName"], {t["key"]: t["value"] for t in p.get("tags") or []})
                 for key, p in found["processes"].items()}
    spans = []
    for raw in found["spans"]:
        assert raw["traceID"] == trace_id
        parents = [r["spanID"] for r in raw.get("references") or []
                   if r["refType"] == "CHILD_OF" and r["traceID"] == trace_id]
        tags = {t["key"]: _tag_value(t) for t in raw.get("tags") or []}
        service, resource = processes[raw["processID"]]
        spans.append(JaegerSpan(service=service, instance=str(resource.get("service.instance.id", "")),
                                name=raw["operationName"], span_id=raw["spanID"],
                                parent_id=parents[0] if parents else None, kind=str(tags.get("span.kind", "")),
                                tags=tags))
    return spans


def _complete(spans: list[JaegerSpan], wanted: set[tuple[str, str]]) -> bool:
    return wanted <= {(s.service, s.name) for s in spans} and any(
        s.name == "task work" and s.tags.get("tauro.attempt") == 2 and s.tags.get("tauro.task.status") == "succeeded"
        for s in spans)


# The session's first use of ``jaeger`` may build Jaeger (the fixture's set-up counts towards the
# test's timeout): 23 minutes measured on two cores at a load average of 20; later sessions reuse it.
@pytest.mark.timeout(2700)
def test_a_runs_trace_in_jaeger_spans_the_services_and_the_reapers_retry(
    jaeger: Jaeger, deployment: Deployment
) -> None:
    tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": jaeger.otlp_endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    deployment.start("runs", EXECUTOR_LEASE_SECONDS="3", **tracing)
    lost = deployment.start("executor", instance="executor-a", **tracing)
    deployment.start("gateway", **tracing)
    with deployment.client() as api:
        project = make_project(api)
        # The first attempt of "work" hangs until its executor is SIGKILLed; the retry succeeds.
        body = shell_pipeline("traced-retry", {
            "prepare": "echo prepared",
            "work": 'if [ "$TAURO_ATTEMPT" = 1 ]; then sleep 60; fi; echo worked',
        }, edges=[("prepare", "work")], max_attempts=2, backoff=0.2)
        pipeline = make_pipeline(api, project, body)
        created = api.post("/runs", json={"project_id": project, "pipeline_id": pipeline, "start": True})
        assert created.status_code == 201, created.text
        trace_id = created.headers["x-trace-id"]
        run_id = created.json()["data"]["id"]
        wait_for(api, run_id, task_state=("work", "RUNNING"), timeout=60)
        # the hanging attempt's first log batch is the lost executor's own append (a short
        # attempt's lines go with its outcome); once it is in, its spans leave the export queue
        until(lambda: "task work attempt 1 started on" in " ".join(log_messages(api, run_id)),
              what="the hanging attempt's first log batch")
        time.sleep(1.0)
        assert lost.process is not None
        lost_instance = f"{socket.gethostname()}-{lost.process.pid}"
        lost.kill()
        deployment.start("executor", instance="executor-b", **tracing)
        run = wait_for(api, run_id, timeout=90)
        assert run["state"] == "SUCCESS", run
        work = next(t for t in run["tasks"] if t["node_id"] == "work")
        assert [a["status"] for a in work["attempts"]] == ["failed", "succeeded"]
        assert "stopped heartbeating" in work["attempts"][0]["error"]

    wanted = {
        ("tauro-gateway", "POST /api/v1/runs"), ("tauro-gateway", "send CreateRun"),
        ("tauro-runs", "process CreateRun"), ("tauro-runs", "eventstore.append"), ("tauro-runs", "relay publish"),
        ("tauro-runs", "process ExpireTask"), ("tauro-runs", "process RecordTaskOutcome"),
        ("tauro-executor", "task prepare"), ("tauro-executor", "task work"), ("tauro-executor", "send ClaimTask"),
        ("tauro-executor", "eventstore.append"), ("tauro-executor", "relay publish"),
    }
    spans: list[JaegerSpan] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spans = fetch_trace(jaeger, trace_id)
        if _complete(spans, wanted):
            break
        time.sleep(0.5)
    seen = {(s.service, s.name) for s in spans}
    assert wanted <= seen, f"missing {sorted(wanted - seen)}; got {sorted(seen)}"

    # the service names are the services'
    assert {s.service for s in spans} == {"tauro-gateway", "tauro-runs", "tauro-executor"}

    # one SERVER span: the request's, the root; none nested in a SERVER span of the same name
    by_id = {s.span_id: s for s in spans}
    servers = [s for s in spans if s.kind == "server"]
    assert [(s.service, s.name) for s in servers] == [("tauro-gateway", "POST /api/v1/runs")], servers
    assert not [s for s in servers if s.parent_id in by_id and by_id[s.parent_id].kind == "server"
                and by_id[s.parent_id].name == s.name]
    (root,) = servers
    assert root.parent_id is None and root.tags["http.route"] == "/api/v1/runs"

    # one tree: every span's parent is in the trace, but for the root and the children of the
    # attempt that died with its executor (a SIGKILLed process never exports its open spans)
    orphans = [s for s in spans if s is not root and s.parent_id not in by_id]
    assert all(s.instance == lost_instance for s in orphans), [(s.service, s.name, s.instance) for s in orphans]

    # the runs service's appends and the relay's publishes carry the run's events
    appended = {t for s in spans if s.name == "eventstore.append" for t in s.tags.get("tauro.event_types", [])}
    assert {"RunCreated", "RunQueued", "TaskScheduled", "TaskFailed", "TaskSucceeded", "RunSucceeded"} <= appended

    # the reaper's expiry continues the run's trace, and the retry it scheduled runs inside it
    (expiry,) = [s for s in spans if s.name == "process ExpireTask"]
    assert expiry.tags["tauro.run_id"] == run_id and expiry.parent_id in by_id
    assert by_id[expiry.parent_id].name == "process CreateRun", "continued from the run's queuing command"
    retries = [s for s in spans if s.name == "task work" and s.tags.get("tauro.attempt") == 2]
    assert len(retries) == 1 and retries[0].tags["tauro.task.status"] == "succeeded"
    assert retries[0].instance != lost_instance
    chain, span = [], retries[0]
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span.name)
    assert "process ExpireTask" in chain and chain[-1] == "POST /api/v1/runs", chain
