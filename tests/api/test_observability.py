"""Observability on the embedded platform: /metrics, /health, /api/v1/info, and one trace
from the REST call to the executor's task spans (in-process, in-memory exporter)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from tauro_gateway.routes.system import configuration_facts
from tauro_platform.settings import Settings

from tests.api.conftest import create_project

API = "/api/v1"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(api: httpx.AsyncClient) -> tuple[Samples, set[str]]:
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(response.text):
        families.add(f"{family.name}:{family.type}")
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def finished_run(api: httpx.AsyncClient, project_id: str) -> tuple[dict[str, Any], httpx.Response]:
    created = await api.post(f"{API}/runs", json={"project_id": project_id, "pipeline_id": "daily_etl", "start": True,
                                                  "params": {"date": "2025-02-03"}})
    assert created.status_code == 201, created.text
    run_id = created.json()["data"]["id"]
    for _ in range(300):
        run = (await api.get(f"{API}/runs/{run_id}")).json()["data"]
        if run["state"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"):
            return run, created
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


async def test_metrics_parse_and_move_as_a_run_completes(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    before, _ = await scrape(api)
    run, _ = await finished_run(api, project["id"])
    assert run["state"] == "SUCCESS"
    for _ in range(50):  # the read model can show the end a moment before the counters move
        after, families = await scrape(api)
        if value(after, "tauro_commands_total", type="RecordTaskOutcome", outcome="accepted") >= 3 + value(
                before, "tauro_commands_total", type="RecordTaskOutcome", outcome="accepted"):
            break
        await asyncio.sleep(0.1)

    assert {"tauro_runs:counter", "tauro_run_duration_seconds:histogram", "tauro_active_runs:gauge",
            "tauro_events_appended:counter", "tauro_commands:counter", "tauro_consumer_lag:gauge",
            "tauro_schedule_lateness_seconds:histogram", "tauro_http_requests:counter",
            "tauro_http_request_duration_seconds:histogram"} <= families
    assert value(after, "tauro_runs_total", state="SUCCESS") == value(before, "tauro_runs_total", state="SUCCESS") + 1
    assert value(after, "tauro_run_duration_seconds_count") == value(before, "tauro_run_duration_seconds_count") + 1
    assert value(after, "tauro_events_appended_total", type="RunSucceeded") >= 1 + value(
        before, "tauro_events_appended_total", type="RunSucceeded")
    assert value(after, "tauro_commands_total", type="CreateRun", outcome="accepted") == 1 + value(
        before, "tauro_commands_total", type="CreateRun", outcome="accepted")
    route = {"method": "GET", "route": "/api/v1/runs/{run_id}", "status": "200"}
    assert value(after, "tauro_http_requests_total", **route) > value(before, "tauro_http_requests_total", **route)
    assert value(after, "tauro_http_request_duration_seconds_count", method="POST", route="/api/v1/runs") >= 1


async def test_unknown_paths_do_not_create_a_label_each(api: httpx.AsyncClient) -> None:
    for i in range(3):
        assert (await api.get(f"/nope/{i}")).status_code == 404
    samples, _ = await scrape(api)
    assert value(samples, "tauro_http_requests_total", method="GET", route="<unmatched>", status="404") >= 3
    assert not any("/nope/" in dict(labels).get("route", "") for _, labels in samples)


async def test_health_reports_every_dependency_and_service(api: httpx.AsyncClient) -> None:
    response = await api.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy" and body["failing"] == []
    checks = body["checks"]
    assert {checks[name]["status"] for name in ("bus", "event_store", "read_store")} == {"ok"}
    assert checks["bus"]["kind"] == "embedded" and checks["event_store"]["kind"] == "sqlite"
    for service in ("runs", "executor", "streaming"):
        entry = checks["services"][service]
        assert entry["status"] == "ok" and entry["instances"] >= 1, entry
        assert entry["age_seconds"] < 15 and entry["version"]
    assert checks["services"]["runs"]["required"] and not checks["services"]["streaming"]["required"]
    assert (await api.get(f"{API}/health")).status_code == 200


async def test_health_answers_503_naming_a_required_service_without_heartbeat(api: httpx.AsyncClient) -> None:
    ctx = api._transport.app.state.ctx  # type: ignore[attr-defined]
    ctx.settings = ctx.settings.model_copy(update={"health_required_services": ["runs", "executor", "billing"]})
    response = await api.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy" and body["failing"] == ["services.billing"]
    assert body["checks"]["services"]["billing"] == {"required": True, "instances": 0, "status": "missing"}


async def test_info_gives_configuration_facts_without_secrets(api: httpx.AsyncClient) -> None:
    info = (await api.get(f"{API}/info")).json()["data"]
    assert info["mode"] == "embedded" and info["version"]
    assert info["observability"]["metrics"] == "/metrics"
    assert info["observability"]["health"]["required_services"] == ["runs", "executor"]

    secret = "k" * 48
    settings = Settings(_env_file=None, tauro_mode="distributed", secret_key=secret,  # type: ignore[call-arg]
                        mongodb_url="mongodb://admin:hunter2@db.internal:27017/?replicaSet=rs0",
                        kafka_bootstrap_servers="k1:9092,k2:9092",
                        otel_exporter_otlp_endpoint="http://otel:s3cret@collector:4318")
    facts = configuration_facts(settings, SimpleNamespace(started_at=datetime.now(UTC)))
    text = str(facts)
    for leaked in (secret, "hunter2", "admin", "s3cret"):
        assert leaked not in text
    assert facts["mongodb"]["servers"] == ["db.internal:27017"]
    assert facts["kafka"]["bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert facts["observability"]["tracing"] == {"exporter": "otlp", "protocol": "http/protobuf",
                                                 "endpoint": "http://collector:4318/v1/traces",
                                                 "service_name": "tauro-gateway"}
    assert secret not in repr(settings) and "hunter2" not in repr(settings)


async def test_one_trace_from_post_runs_to_the_task_spans(api: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    project = await create_project(api)
    spans.clear()
    run, created = await finished_run(api, project["id"])
    assert run["state"] == "SUCCESS"
    trace_id = created.headers["x-trace-id"]
    await asyncio.sleep(0.2)
    mine: list[ReadableSpan] = [s for s in spans.get_finished_spans()
                                if s.context is not None and format(s.context.trace_id, "032x") == trace_id]
    names = [s.name for s in mine]
    assert "POST /api/v1/runs" in names and "send CreateRun" in names and "process CreateRun" in names
    tasks = [s for s in mine if s.name.startswith("task ")]
    assert {s.attributes["tauro.node_id"] for s in tasks if s.attributes} == {
        "extract_orders", "transform_orders", "load_orders"}
    assert all(s.attributes and s.attributes["tauro.task.status"] == "succeeded" for s in tasks)
    assert names.count("eventstore.append") >= 4
    assert "process RecordTaskOutcome" in names and "relay publish" in names
    by_id = {s.context.span_id: s for s in mine if s.context is not None}
    roots = [s for s in mine if s.parent is None or s.parent.span_id not in by_id]
    assert [s.name for s in roots] == ["POST /api/v1/runs"]
