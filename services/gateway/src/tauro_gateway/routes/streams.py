"""``/stream``: run a streaming pipeline, its status, stop it.

``POST /stream/run`` names a definition file (``config``, inside the streaming service's
``STREAMS_DIR``: ``streaming.yaml`` or as copied from the repository,
``examples/streams/streaming.yaml``; and ``pipeline``) or gives one inline (``definition``).
``mode: async`` answers 202 at once with the ``execution_id``. ``mode: sync`` waits until
the execution ends (it is stopped, fails, or reaches ``max_duration_seconds``) and answers
200 with its final status; if ``timeout`` seconds (default 30, at most 300: the request
time limit) pass first it answers 202 with the current status and ``completed: false``,
and the stream keeps running.

``GET /stream/status`` lists executions (newest first), or with ``?execution_id=`` shows
one: state, records in / out / dead-lettered (summed over the streaming replicas),
consumer lag per topic and partition, started-at, last error, and the replicas.

``POST /stream/stop`` drains the execution within ``timeout`` seconds and answers 200
once it is STOPPED (or 202 with state STOPPING if that takes more than ``timeout`` + 5 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.errors import DomainError, not_found
from tauro_contracts.readmodels import Envelope, ListEnvelope, StreamExecution, StreamState, collections, ids
from tauro_contracts.streams import MAX_STOP_TIMEOUT, StartStream, StopStream
from tauro_platform.readstore.port import Doc
from tauro_platform.timeutil import parse_iso

from tauro_gateway.context import Ctx, GatewayContext, creation_ids
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, check_id, list_params, state_filter, states_pattern
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router

log = logging.getLogger("tauro.gateway.streams")
router = make_router(prefix="/stream", tags=["streaming"])

EXECUTIONS, REPLICAS = collections.STREAM_EXECUTIONS, collections.STREAM_REPLICAS
STATES = tuple(StreamState)
ENDED = frozenset({StreamState.STOPPED, StreamState.FAILED})
SYNC_DEFAULT_WAIT, SYNC_MAX_WAIT, STOP_GRACE = 30.0, 300.0, 5.0
EXECUTION_ID = ids.EXECUTION_ID
STATUS = {"model": Envelope[StreamExecution]}


_SEGMENT = r"(\.|\.?[^./\\:\x00][^/\\:\x00]*)"
CONFIG_SHAPE: dict[str, Any] = {
    "pattern": rf"^{_SEGMENT}(/{_SEGMENT})*\.([Yy][Aa]?[Mm][Ll]|[Jj][Ss][Oo][Nn])$"}
"""A relative path of a .yaml/.yml/.json file without '..' (declared in the schema; the streaming
service checks it, and also takes an absolute path inside STREAMS_DIR)."""


class StreamRun(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["config"], "properties": {"config": {"type": "string"}}},
        {"required": ["definition"], "properties": {"definition": {"type": "object"}}}]})
    config: str | None = Field(default=None, max_length=1024, json_schema_extra=CONFIG_SHAPE,
                               description="Definition file inside the streaming config folder (STREAMS_DIR): "
                                           "'streaming.yaml', the repository path 'examples/streams/streaming.yaml', "
                                           "or an absolute path inside the folder; anything outside it is a 422")
    pipeline: str | None = Field(default=None, max_length=128, description="Pipeline name in the file")
    definition: dict[str, Any] | None = Field(default=None, description="An inline stream definition")
    mode: Literal["async", "sync"] = "async"
    timeout: float | None = Field(default=None, gt=0, le=SYNC_MAX_WAIT,
                                  description="sync: seconds to wait for the end (default 30, max 300)")
    max_duration_seconds: float | None = Field(default=None, gt=0, le=7 * 86400,
                                               description="Stop the stream by itself after this long")


class StreamStop(BaseModel):
    model_config = ConfigDict(extra="forbid")
    execution_id: str = Field(pattern=EXECUTION_ID)
    timeout: float = Field(default=30, ge=0, le=MAX_STOP_TIMEOUT, description="Drain time limit, seconds")
    reason: str = Field(default="stopped by user", max_length=500)


def _unknown(execution_id: str) -> DomainError:
    return not_found("stream execution", execution_id, field="execution_id")


async def _lag(ctx: GatewayContext, doc: Doc) -> dict[str, dict[str, int]] | None:
    try:
        lag = await ctx.bus.lag(doc["consumer_group"], doc["input_topics"])
    except Exception:
        log.warning("consumer lag unavailable", exc_info=True, extra={"execution_id": doc["execution_id"]})
        return None
    return {topic: {str(p): n for p, n in sorted(parts.items())} for topic, parts in lag.items()}


def _replicas(docs: list[Doc], ttl: float) -> dict[str, Any]:
    now = datetime.now(UTC)
    replicas = []
    last_error, last_error_at = None, None
    for d in sorted(docs, key=lambda d: str(d["replica_id"])):
        fresh = (now - parse_iso(d["updated_at"])).total_seconds() <= ttl
        replicas.append({"replica_id": d["replica_id"], "consuming": bool(d.get("active")) and fresh,
                         "records_in": d.get("records_in", 0), "records_out": d.get("records_out", 0),
                         "dead_lettered": d.get("dead_lettered", 0), "last_error": d.get("last_error"),
                         "updated_at": d["updated_at"]})
        if d.get("last_error_at") and (last_error_at is None or d["last_error_at"] > last_error_at):
            last_error, last_error_at = d.get("last_error"), d["last_error_at"]
    return {
        "records_in": sum(int(d.get("records_in", 0)) for d in docs),
        "records_out": sum(int(d.get("records_out", 0)) for d in docs),
        "dead_lettered": sum(int(d.get("dead_lettered", 0)) for d in docs),
        "last_error": last_error, "last_error_at": last_error_at, "replicas": replicas,
    }


async def status_view(ctx: GatewayContext, doc: Doc) -> dict[str, Any]:
    """An execution as ``/stream/status`` shows it."""
    replica_docs, _ = await ctx.read_store.find(REPLICAS, {"execution_id": doc["execution_id"]})
    view = public(doc)
    view.pop("position", None)
    view.update(_replicas(replica_docs, ctx.settings.stream_replica_ttl_seconds))
    if doc.get("error"):
        view["last_error"] = doc["error"]
        view["last_error_at"] = doc.get("stopped_at")
    lag = await _lag(ctx, doc)
    view["consumer_lag"] = lag
    view["total_lag"] = sum(n for parts in lag.values() for n in parts.values()) if lag is not None else None
    return view


async def _execution(ctx: GatewayContext, execution_id: str) -> Doc:
    doc = await ctx.read_store.get(EXECUTIONS, execution_id)
    if doc is None:
        raise _unknown(execution_id)
    return doc


async def _wait_until_ended(ctx: GatewayContext, execution_id: str, seconds: float) -> Doc:
    deadline = time.monotonic() + seconds
    doc = await _execution(ctx, execution_id)
    while doc["state"] not in ENDED and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        doc = await _execution(ctx, execution_id)
    return doc


@router.post("/run", status_code=202, summary="Run a streaming pipeline (async, or sync: wait for its end)",
             response_model=Envelope[StreamExecution],
             responses={200: {**STATUS, "description": "sync: the execution ended within timeout"},
                        **errors(*BODY, 404, 409, *COMMAND)},
             openapi_extra=examples(("file", {"config": "examples/streams/streaming.yaml", "pipeline": "kafka_events",
                                              "mode": "async"})))
async def run_stream(request: Request, ctx: Ctx, body: StreamRun) -> JSONResponse:
    execution_id, command_id = creation_ids(request, "exec_", body)
    command = StartStream(execution_id=execution_id, config=body.config, pipeline=body.pipeline,
                          definition=body.definition, mode=body.mode,
                          max_duration_seconds=body.max_duration_seconds)
    await ctx.create(request, command, execution_id, execution_id, command_id)
    status_url = f"/api/v1/stream/status?execution_id={execution_id}"
    if body.mode == "async":
        view = await status_view(ctx, await _execution(ctx, execution_id))
        return ok(request, {**view, "status": "accepted", "status_url": status_url}, status=202)
    doc = await _wait_until_ended(ctx, execution_id, body.timeout or SYNC_DEFAULT_WAIT)
    completed = doc["state"] in ENDED
    view = await status_view(ctx, doc)
    return ok(request, {**view, "completed": completed, "status_url": status_url}, status=200 if completed else 202)


@router.get("/status", summary="Streaming executions: state, records, consumer lag, last error",
            response_model=ListEnvelope[StreamExecution] | Envelope[StreamExecution],
            response_description="A page of executions, or with execution_id that one execution",
            responses=errors(404))
async def stream_status(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(("started_at", "stopped_at", "state"), "-started_at"))],
    execution_id: Annotated[str | None, Query(pattern=EXECUTION_ID)] = None,
    state: Annotated[str | None, Query(max_length=100, pattern=states_pattern(STATES),
                                       description="State, or several comma-separated")] = None,
) -> JSONResponse:
    if execution_id is not None:
        check_id(execution_id, "exec_", "execution_id")
        return ok(request, await status_view(ctx, await _execution(ctx, execution_id)))
    where: dict[str, Any] = {}
    if state is not None:
        where["state"] = state_filter(state, STATES)
    docs, total = await ctx.read_store.find(EXECUTIONS, where, params.sort, params.offset, params.limit)
    views = await asyncio.gather(*(status_view(ctx, d) for d in docs))
    return page(request, [public(v, params.fields) for v in views], total, params.limit, params.offset)


@router.post("/stop", summary="Stop a streaming execution: drain within timeout, end in STOPPED",
             response_model=Envelope[StreamExecution],
             responses={202: {**STATUS, "description": "Still STOPPING after timeout + 5 s"},
                        **errors(*BODY, 404, 409, *COMMAND)},
             openapi_extra=examples(("stop", {"execution_id": "exec_123", "timeout": 60})))
async def stop_stream(request: Request, ctx: Ctx, body: StreamStop) -> JSONResponse:
    await _execution(ctx, body.execution_id)
    command = StopStream(execution_id=body.execution_id, timeout=body.timeout, reason=body.reason)
    await ctx.send(request, command, key=body.execution_id)
    doc = await _wait_until_ended(ctx, body.execution_id, body.timeout + STOP_GRACE)
    view = await status_view(ctx, doc)
    return ok(request, view, status=200 if doc["state"] in ENDED else 202)
