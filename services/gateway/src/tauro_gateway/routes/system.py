"""Health, info, Prometheus metrics and platform-wide statistics."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from tauro_contracts.readmodels import (
    CheckStatus,
    Envelope,
    Health,
    HealthStatus,
    Info,
    PlatformStatistics,
    collections,
)
from tauro_platform.observability import metrics
from tauro_platform.observability.health import build_probes, check_health
from tauro_platform.observability.identity import DEFAULTS
from tauro_platform.observability.tracing import traces_endpoint
from tauro_platform.settings import Settings

from tauro_gateway import VERSION
from tauro_gateway.context import Ctx, GatewayContext
from tauro_gateway.envelopes import ok
from tauro_gateway.responses import make_router
from tauro_gateway.statistics import run_statistics

router = make_router(tags=["monitoring"])
health_router = make_router(tags=["monitoring"], public=True)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _database(checks: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``database`` check: the event store and the read store (MongoDB, or the
    embedded stores) together: ok when both answer."""
    parts = [checks["event_store"], checks["read_store"]]
    down = [p for p in parts if p["status"] != CheckStatus.OK]
    latency = [p["latency_ms"] for p in parts if p.get("latency_ms") is not None]
    check: dict[str, Any] = {"status": CheckStatus.DOWN if down else CheckStatus.OK,
                             "kind": " + ".join(str(p.get("kind")) for p in parts)}
    if latency:
        check["latency_ms"] = max(latency)
    if down:
        check["error"] = down[0].get("error")
    return check


@health_router.get("/health", summary="Health of the gateway, its dependencies and every service",
                   response_model=Health, responses={503: {"model": Health, "description": "Unhealthy: see failing"}})
async def get_health(request: Request, ctx: Ctx) -> JSONResponse:
    """200 when the bus, the event store and the read store answer and every required service
    (``HEALTH_REQUIRED_SERVICES``) has a fresh heartbeat and is not stuck (``degraded`` when
    commands were dead-lettered in the last hour); 503 naming the failing checks otherwise."""
    probes = ctx.probes or build_probes(ctx.settings, ctx.bus, ctx.store, ctx.read_store, own_client=False)
    healthy, found, failing = await check_health(probes, ctx.settings)
    checks = {"database": _database(found), "scheduler": found["services"].get("scheduler") or {
        "status": CheckStatus.MISSING, "required": False, "instances": 0}, **found}
    body = {
        "status": (HealthStatus.DEGRADED if checks["dead_letters"]["status"] == "degraded" else HealthStatus.HEALTHY)
        if healthy else HealthStatus.UNHEALTHY,
        "version": VERSION,
        "mode": ctx.settings.tauro_mode,
        "timestamp": _now(),
        "checks": checks,
        "failing": failing,
    }
    return JSONResponse(body, status_code=200 if healthy else 503, headers={"Cache-Control": "no-store"})


@health_router.get("/metrics", summary="Prometheus metrics of this process", include_in_schema=False)
async def prometheus_metrics() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)


def _address(url: str | None) -> str | None:
    """``scheme://host:port/path`` of a URL, without credentials or query."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else None


def _servers(text: str) -> list[str]:
    return [part.rsplit("@", 1)[-1].strip() for part in text.split(",") if part.strip()]


def configuration_facts(s: Settings, ctx: GatewayContext) -> dict[str, Any]:
    """What an operator may know about this deployment; never secrets or credentials."""
    endpoint, protocol = traces_endpoint(s)
    exporter = "none" if s.otel_sdk_disabled or (s.otel_traces_exporter == "otlp" and not endpoint) \
        else s.otel_traces_exporter
    facts: dict[str, Any] = {
        "name": "Tauro API",
        "version": VERSION,
        "mode": s.tauro_mode,
        "instance_id": DEFAULTS.instance_id,
        "started_at": ctx.started_at.isoformat().replace("+00:00", "Z"),
        "python": platform.python_version(),
        "api_prefix": "/api/v1",
        "docs": {"swagger": "/docs", "redoc": "/redoc", "openapi": "/openapi.json"},
        "auth_enabled": s.enable_auth,
        "rate_limit": {"enabled": s.rate_limit_enabled, "requests": s.rate_limit_requests,
                       "window_seconds": s.rate_limit_window, "auth_failures": s.rate_limit_auth_failures,
                       "auth_window_seconds": s.rate_limit_auth_window},
        "limits": {"max_page_size": 100, "max_body_bytes": s.max_body_bytes,
                   "max_concurrent_runs": s.max_concurrent_runs, "default_timeout_seconds": s.default_timeout,
                   "command_timeout_seconds": s.command_timeout_seconds},
        "retries": {"default_attempts": s.default_retry_attempts, "default_delay_seconds": s.default_retry_delay},
        "scheduler": {"enabled": s.scheduler_enabled, "timezone": s.scheduler_timezone},
        "pipelines_dir": str(s.pipelines_dir) if s.pipelines_dir else None,
        "observability": {
            "metrics": "/metrics", "health_endpoint": "/health",
            "service_metrics_port": s.metrics_port or None,
            "log_level": s.log_level, "log_format": s.log_format,
            "tracing": {"exporter": exporter, "protocol": protocol, "endpoint": _address(endpoint),
                        "service_name": s.otel_service_name or "tauro-gateway"},
            "health": {"required_services": s.health_required_services,
                       "heartbeat_max_age_seconds": s.health_heartbeat_max_age_seconds,
                       "heartbeat_seconds": s.service_heartbeat_seconds},
        },
    }
    if s.tauro_mode == "distributed":
        facts["kafka"] = {"bootstrap_servers": _servers(s.kafka_bootstrap_servers), "namespace": s.tauro_namespace,
                          "partitions": s.kafka_partitions}
        facts["mongodb"] = {"servers": _servers(urlsplit(s.mongodb_url).netloc), "database": s.mongodb_database,
                            "pool_size": s.mongodb_pool_size}
    else:
        facts["data_dir"] = str(s.tauro_data_dir)
    return facts


@router.get("/info", summary="API version and configuration facts (no secrets)", response_model=Envelope[Info])
async def get_info(request: Request, ctx: Ctx) -> JSONResponse:
    return ok(request, configuration_facts(ctx.settings, ctx))


@router.get("/statistics", summary="Platform-wide statistics", response_model=Envelope[PlatformStatistics])
async def get_statistics(request: Request, ctx: Ctx) -> JSONResponse:
    _, projects = await ctx.read_store.find(collections.PROJECTS, {"deleted": False}, limit=1)
    _, pipelines = await ctx.read_store.find(collections.PIPELINES, {"deleted": False}, limit=1)
    stats = await run_statistics(ctx.read_store, {})
    return ok(request, {"total_projects": projects, "total_pipelines": pipelines, **stats})
