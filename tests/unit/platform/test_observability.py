"""Unit tests of the platform's observability pieces: JSON log lines, trace context
propagation, exporter resolution, heartbeats and health on the in-memory read store."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from tauro_platform.logs import JsonFormatter
from tauro_platform.observability import logcontext
from tauro_platform.observability.health import HealthProbes, check_health
from tauro_platform.observability.heartbeat import HEARTBEATS, Heartbeat
from tauro_platform.observability.tracing import extract_context, inject_context, traces_endpoint
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.settings import Settings
from tauro_platform.timeutil import iso

TRACER = TracerProvider().get_tracer("test")


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def log_line(message: str, **extra: Any) -> dict[str, Any]:
    record = logging.LogRecord("tauro.test", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter("test").format(record))  # type: ignore[no-any-return]


def test_json_lines_carry_bound_fields_and_the_trace() -> None:
    with TRACER.start_as_current_span("work") as span, logcontext.bind(request_id="req_1", run_id="run_9"):
        entry = log_line("hello", node_id="a")
        ids = span.get_span_context()
    assert entry["request_id"] == "req_1" and entry["run_id"] == "run_9" and entry["node_id"] == "a"
    assert entry["trace_id"] == format(ids.trace_id, "032x") and entry["span_id"] == format(ids.span_id, "016x")
    outside = log_line("bye")
    assert "request_id" not in outside and "trace_id" not in outside


def test_json_lines_hide_secrets() -> None:
    secret = "s" * 40
    entry = log_line("connecting to mongodb://root:hunter2@db:27017/x", api_key="abc", password="pw",
                     settings=settings(secret_key=secret), url="amqp://u:p4ss@mq/")
    text = json.dumps(entry)
    for leaked in ("hunter2", "abc", "pw", secret, "p4ss"):
        assert leaked not in text
    assert entry["settings"] == "<settings>" and "db:27017" in entry["message"]
    assert secret not in repr(settings(secret_key=secret)) and secret not in str(settings(secret_key=secret))


def test_trace_context_round_trips_through_an_envelope_carrier() -> None:
    assert inject_context() == {}
    with TRACER.start_as_current_span("send") as span:
        carrier = inject_context()
    assert carrier["traceparent"].startswith("00-" + format(span.get_span_context().trace_id, "032x"))
    with TRACER.start_as_current_span("process", context=extract_context(carrier)) as child:
        assert child.get_span_context().trace_id == span.get_span_context().trace_id
        assert trace.get_current_span() is child


def test_trace_export_endpoint_follows_the_otel_rules() -> None:
    assert traces_endpoint(settings()) == (None, "http/protobuf")
    assert traces_endpoint(settings(otel_exporter_otlp_endpoint="http://jaeger:4318/")) == (
        "http://jaeger:4318/v1/traces", "http/protobuf")
    assert traces_endpoint(settings(otel_exporter_otlp_endpoint="http://jaeger:4317",
                                    otel_exporter_otlp_protocol="grpc")) == ("http://jaeger:4317", "grpc")
    assert traces_endpoint(settings(otel_exporter_otlp_endpoint="http://a:4318",
                                    otel_exporter_otlp_traces_endpoint="http://b:9999/t")) == (
        "http://b:9999/t", "http/protobuf")


async def test_heartbeats_continue_a_document_after_a_restart_and_mark_a_stop() -> None:
    store = MemoryReadStore()
    first = Heartbeat(store, "runs", "host-1", interval=60)
    await first.start()
    await first.beat()
    await first.stop()
    again = Heartbeat(store, "runs", "host-1", interval=60)
    await again.start()
    doc = await store.get(HEARTBEATS, "runs:host-1")
    assert doc is not None and doc["state"] == "running" and doc["_v"] == 4
    assert {"service", "instance_id", "started_at", "last_seen", "version", "pid"} <= set(doc)
    await again.stop()


class _Up:
    async def ping(self) -> None:
        return None


class _Hangs:
    async def ping(self) -> None:
        import asyncio

        await asyncio.sleep(3600)


async def test_health_fails_on_a_hanging_dependency_and_a_stale_required_service() -> None:
    store = MemoryReadStore()
    old = iso(datetime.now(UTC) - timedelta(seconds=60))
    await store.put_versioned(HEARTBEATS, {"_id": "runs:a", "_v": 1, "service": "runs", "last_seen": old,
                                           "state": "running", "instance_id": "a"}, None)
    beat = Heartbeat(store, "executor", "b", interval=60)
    await beat.beat()
    probes = HealthProbes(_Up(), _Hangs(), store)  # type: ignore[arg-type]
    healthy, checks, failing = await check_health(probes, settings(health_check_timeout_seconds=0.2))
    assert not healthy and failing == ["event_store", "services.runs"]
    assert checks["event_store"] == {"status": "down", "error": "timeout", "kind": None}
    assert checks["services"]["runs"]["status"] == "stale" and checks["services"]["executor"]["status"] == "ok"
