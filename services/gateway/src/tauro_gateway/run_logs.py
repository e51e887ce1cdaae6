"""Run logs: a page of lines, or a Server-Sent Events stream that follows the run live.

Each SSE event's id is the line id; a client reconnecting with ``Last-Event-ID``
resumes after that line. The stream ends (``event: end``) once the run is over and
every line has been sent. While nothing is sent for ``KEEPALIVE_SECONDS`` (a silent
run), the stream sends a comment (``: keep-alive``) so proxies do not close it as idle.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from tauro_contracts.readmodels import TERMINAL_RUN_STATES, LogLevel, collections

from tauro_gateway.context import GatewayContext
from tauro_gateway.envelopes import page, public

LEVELS = tuple(LogLevel)
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
KEEPALIVE = b": keep-alive\n\n"
SSE: dict[str, Any] = {
    "description": "A page of log lines (JSON), or with `Accept: text/event-stream` (or `follow=true`) a "
                   "Server-Sent Events stream: `event: log` per line (`id` = line id, `data` = the line), "
                   "`event: end` once the run is over and every line was sent; reconnect with `Last-Event-ID`",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


def _where(run_id: str, level: str | None, node_id: str | None) -> dict[str, Any]:
    where: dict[str, Any] = {"run_id": run_id}
    if level is not None:
        where["level"] = level_filter(level)
    if node_id is not None:
        where["node_id"] = node_id
    return where


async def log_response(
    request: Request, ctx: GatewayContext, run_id: str, level: str | None, limit: int, offset: int, follow: bool,
    node_id: str | None,
) -> Response:
    return await lines_response(request, ctx, _where(run_id, level, node_id), limit, offset, follow, run_id)


async def lines_response(
    request: Request, ctx: GatewayContext, where: dict[str, Any], limit: int, offset: int, follow: bool,
    run_id: str | None, key: str = "_id",
) -> Response:
    """A JSON page of the lines matching ``where`` (in ``key`` order), or their SSE stream
    (``Accept: text/event-stream`` or ``follow``), resumed after ``Last-Event-ID``."""
    if wants_stream(request, follow):
        resume = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
        return StreamingResponse(
            _follow(request, ctx, run_id, where, resume, key),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    docs, total = await ctx.read_store.find(collections.RUN_LOGS, where, [(key, 1)], offset, limit)
    return page(request, [public(d) for d in docs], total, limit, offset)


def wants_stream(request: Request, follow: bool) -> bool:
    return follow or "text/event-stream" in request.headers.get("accept", "")


def level_filter(level: str) -> dict[str, Any]:
    """This level and the ones above it."""
    return {"$in": list(LEVELS[LEVELS.index(level):])}


async def _follow(
    request: Request, ctx: GatewayContext, run_id: str | None, where: dict[str, Any], after: str | None,
    key: str = "_id",
) -> AsyncIterator[bytes]:
    """Lines after ``after`` in ``key`` order, then new ones as they come. With ``run_id`` the
    stream ends once that run is over and every line was sent; without, it follows until the
    client goes away (``GET /logs`` over many runs)."""
    yield b"retry: 1000\n\n"
    last_sent = time.monotonic()
    while True:
        query = {**where, key: {"$gt": after}} if after else where
        docs, _ = await ctx.read_store.find(collections.RUN_LOGS, query, [(key, 1)], 0, 500)
        for doc in docs:
            after = doc[key]
            yield f"id: {after}\nevent: log\ndata: {json.dumps(public(doc))}\n\n".encode()
        if docs:
            last_sent = time.monotonic()
            continue
        if run_id is not None:
            run = await ctx.read_store.get(collections.RUNS, run_id)
            if run is None or run["state"] in TERMINAL_RUN_STATES:
                rest = {**where, key: {"$gt": after}} if after else where
                again, _ = await ctx.read_store.find(collections.RUN_LOGS, rest, [(key, 1)], 0, 1)
                if not again:
                    state = run["state"] if run else "UNKNOWN"
                    yield f"event: end\ndata: {json.dumps({'run_id': run_id, 'state': state})}\n\n".encode()
                    return
                continue
        if await request.is_disconnected():
            return
        if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
            yield KEEPALIVE
            last_sent = time.monotonic()
        await asyncio.sleep(POLL_SECONDS)
