"""Health, info and platform-wide statistics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tauro_gateway import VERSION
from tauro_gateway.context import Ctx
from tauro_gateway.envelopes import ok
from tauro_gateway.statistics import run_statistics

router = APIRouter(tags=["monitoring"])
health_router = APIRouter(tags=["monitoring"])
CHECK_TIMEOUT = 3.0


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        return "ok"
    except Exception as exc:  # a health probe reports any failure instead of raising it
        return f"down: {type(exc).__name__}"


@health_router.get("/health", summary="Health of the gateway and its dependencies")
async def health(request: Request, ctx: Ctx) -> JSONResponse:
    names = ("event_store", "read_store", "bus")
    results = await asyncio.gather(
        _check(ctx.store.ping), _check(ctx.read_store.ping), _check(ctx.bus.ping)
    )
    checks = dict(zip(names, results, strict=True))
    healthy = all(v == "ok" for v in checks.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "version": VERSION,
        "mode": ctx.settings.tauro_mode,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "checks": checks,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/info", summary="API version and configuration facts (no secrets)")
async def info(request: Request, ctx: Ctx) -> JSONResponse:
    s = ctx.settings
    return ok(request, {
        "name": "Tauro API",
        "version": VERSION,
        "mode": s.tauro_mode,
        "started_at": ctx.started_at.isoformat().replace("+00:00", "Z"),
        "api_prefix": "/api/v1",
        "docs": {"swagger": "/docs", "redoc": "/redoc", "openapi": "/openapi.json"},
        "auth_enabled": s.enable_auth,
        "limits": {"max_page_size": 100, "max_body_bytes": s.max_body_bytes,
                   "max_concurrent_runs": s.max_concurrent_runs, "default_timeout_seconds": s.default_timeout},
        "pipelines_dir": str(s.pipelines_dir) if s.pipelines_dir else None,
    })


@router.get("/statistics", summary="Platform-wide statistics")
async def statistics(request: Request, ctx: Ctx) -> JSONResponse:
    _, projects = await ctx.read_store.find("projects", {"deleted": False}, limit=1)
    _, pipelines = await ctx.read_store.find("pipelines", {"deleted": False}, limit=1)
    stats = await run_statistics(ctx.read_store, {})
    return ok(request, {"total_projects": projects, "total_pipelines": pipelines, **stats})
