"""Issue 6, end to end: one trace across separate processes, and /health following the
MongoDB-wire server going away and coming back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Deployment, PrivateMongo, free_port
from tests.e2e.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.e2e.runs_helpers import make_pipeline, make_project, shell_pipeline, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
SERVER, CONSUMER = 2, 5  # OTLP span kinds


def _linked(spans: list[ReceivedSpan]) -> list[str]:
    """Names of the spans whose parent is missing from the trace (only the root should be)."""
    ids = {s.span_id for s in spans}
    return [s.name for s in spans if s.parent_span_id and s.parent_span_id not in ids] + [
        s.name for s in spans if not s.parent_span_id]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_one_trace_links_gateway_runs_executor_and_store_appends(deployment: Deployment) -> None:
    metrics_ports = {"runs": free_port(), "executor": free_port(), "gateway": 0}
    with OtlpReceiver() as receiver:
        for name in ("runs", "executor", "gateway"):
            deployment.start(name, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME=f"tauro-{name}",
                             OTEL_BSP_SCHEDULE_DELAY="100", ENABLE_AUTH="false",
                             METRICS_PORT=str(metrics_ports[name]))
        with deployment.client() as api:
            project = make_project(api)
            pipeline = make_pipeline(api, project, shell_pipeline("traced", {"a": "echo one", "b": "echo two"},
                                                                  edges=[("a", "b")]))
            created = api.post("/runs", json={"project_id": project, "pipeline_id": pipeline, "start": True})
            assert created.status_code == 201, created.text
            trace_id = created.headers["x-trace-id"]
            run_id = created.json()["data"]["id"]
            assert wait_for(api, run_id)["state"] == "SUCCESS"

        wanted = {("tauro-gateway", "POST /api/v1/runs"), ("tauro-gateway", "send CreateRun"),
                  ("tauro-runs", "process CreateRun"), ("tauro-runs", "eventstore.append"),
                  ("tauro-executor", "task a"), ("tauro-executor", "task b"),
                  ("tauro-executor", "send ClaimTask"), ("tauro-executor", "send RecordTaskOutcome"),
                  ("tauro-runs", "process RecordTaskOutcome")}
        deadline = time.monotonic() + 20
        spans: list[ReceivedSpan] = []
        while time.monotonic() < deadline:
            spans = receiver.trace(trace_id)
            if wanted <= {(s.service, s.name) for s in spans} and _linked(spans) == ["POST /api/v1/runs"]:
                break
            time.sleep(0.2)
        seen = {(s.service, s.name) for s in spans}
        assert wanted <= seen, f"missing {wanted - seen}; got {sorted(seen)}"
        assert _linked(spans) == ["POST /api/v1/runs"], "every span but the request's has its parent in the trace"
        root = next(s for s in spans if s.name == "POST /api/v1/runs")
        assert root.kind == SERVER and root.attributes["http.route"] == "/api/v1/runs"
        tasks = [s for s in spans if s.name.startswith("task ")]
        assert all(s.kind == CONSUMER and s.attributes["tauro.run_id"] == run_id for s in tasks)
        assert {s.attributes["tauro.task.status"] for s in tasks} == {"succeeded"}
        appends = [s for s in spans if s.name == "eventstore.append"]
        assert {"RunCreated", "TaskScheduled", "TaskLogged", "RunSucceeded"} <= {
            t for s in appends for t in s.attributes["tauro.event_types"]}

    # each service's own /metrics moved with the run (counters are per process)
    runs = scrape(f"http://127.0.0.1:{metrics_ports['runs']}/metrics")
    assert runs[("tauro_runs_total", (("state", "SUCCESS"),))] == 1
    assert runs[("tauro_run_duration_seconds_count", ())] == 1
    assert runs[("tauro_commands_total", (("outcome", "accepted"), ("type", "CreateRun")))] == 1
    assert ("tauro_consumer_lag", (("group", "tauro-runs"), ("topic", "tauro.commands.runs"))) in runs
    executor = scrape(f"http://127.0.0.1:{metrics_ports['executor']}/metrics")
    # a short attempt's lines go with its outcome: the runs service appends them with its events
    logged = (("type", "TaskLogged"),)
    assert runs.get(("tauro_events_appended_total", logged), 0) + executor.get(
        ("tauro_events_appended_total", logged), 0) >= 2
    assert executor[("tauro_commands_sent_total", (("reply", "ok"), ("type", "ClaimTask")))] == 2
    gateway = scrape(f"{deployment.url}/metrics")
    posted = (("method", "POST"), ("route", "/api/v1/runs"), ("status", "201"))
    assert gateway[("tauro_http_requests_total", posted)] == 1

    runs_log = [json.loads(line) for line in (deployment.tmp / "runs.log").read_text().splitlines()
                if line.startswith("{")]
    assert any(e.get("trace_id") == trace_id and e.get("run_id") == run_id for e in runs_log), \
        "the runs service's log lines carry the trace id and the run id"
    gateway_log = [json.loads(line) for line in (deployment.tmp / "gateway.log").read_text().splitlines()
                   if line.startswith("{")]
    assert any(e.get("trace_id") == trace_id and e.get("request_id") and e.get("route") == "/api/v1/runs"
               for e in gateway_log)


@pytest.fixture
def private_mongo(tmp_path: Path) -> Iterator[PrivateMongo]:
    server = PrivateMongo(tmp_path)
    server.start()
    yield server
    server.stop()


def _health(client: httpx.Client) -> tuple[int, float, dict]:  # type: ignore[type-arg]
    started = time.monotonic()
    response = client.get("/health")
    return response.status_code, time.monotonic() - started, response.json()


def test_health_503_within_5s_when_mongodb_stops_and_200_when_it_is_back(
    kafka_bootstrap: str, private_mongo: PrivateMongo, tmp_path: Path
) -> None:
    deployment = Deployment(kafka_bootstrap, private_mongo.url, tmp_path)
    fast = {"SERVICE_HEARTBEAT_SECONDS": "1", "HEALTH_HEARTBEAT_MAX_AGE_SECONDS": "6", "ENABLE_AUTH": "false"}
    try:
        for name in ("runs", "executor", "gateway"):
            deployment.start(name, **fast)
        with httpx.Client(base_url=deployment.url, timeout=10) as client:
            deadline = time.monotonic() + 30
            while _health(client)[0] != 200:
                assert time.monotonic() < deadline, _health(client)[2]
                time.sleep(0.3)

            private_mongo.kill()
            stopped = time.monotonic()
            while True:
                status, took, body = _health(client)
                assert took < 5.0, f"/health took {took:.1f}s"
                if status == 503:
                    break
                assert time.monotonic() - stopped < 5.0, "no 503 within 5 s of the MongoDB-wire server stopping"
                time.sleep(0.1)
            assert time.monotonic() - stopped < 5.0
            assert body["status"] == "unhealthy"
            assert {"event_store", "read_store"} <= set(body["failing"]), body
            assert body["checks"]["bus"]["status"] == "ok"

            private_mongo.start()
            restarted = time.monotonic()
            while True:
                status, took, body = _health(client)
                assert took < 5.0
                if status == 200:
                    break
                assert time.monotonic() - restarted < 60, body
                time.sleep(0.3)
            assert body["failing"] == [] and body["checks"]["services"]["runs"]["status"] == "ok"
    finally:
        deployment.stop_all()
