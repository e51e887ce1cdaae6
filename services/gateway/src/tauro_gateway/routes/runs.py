"""``/runs``: create (idempotent), batch, list, get, start, cancel, tasks, logs (SSE), events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail, not_found
from tauro_contracts.notification_settings import NotificationSettings
from tauro_contracts.readmodels import (
    Envelope,
    ListEnvelope,
    LogLevel,
    LogLine,
    Run,
    RunStartAccepted,
    RunState,
    Task,
    collections,
    ids,
)
from tauro_contracts.runs import CancelRun, CreateRun, Params, StartRun, Tags
from tauro_platform.readmodels.runs import run_as_of
from tauro_platform.timeutil import iso, parse_iso

from tauro_gateway.context import Ctx, creation_ids
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.paging import after, decode_cursor, encode_cursor
from tauro_gateway.query import ListParams, check_id, fields_param, list_params, state_filter, states_pattern
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router
from tauro_gateway.run_logs import SSE, log_response

router = make_router(prefix="/runs", tags=["runs"])
RunId = Annotated[str, Path(pattern=ids.RUN_ID, description="A run id such as run_xyz789")]
STATES = tuple(RunState)
SORTABLE = ("created_at", "started_at", "finished_at", "duration_seconds", "state")
RUNS = collections.RUNS
CREATE_EXAMPLE = {"project_id": "proj_123", "pipeline_id": "pipe_etl",
                  "params": {"start_date": "2025-01-01", "end_date": "2025-01-31"},
                  "tags": {"env": "production", "owner": "user@company.com"}}


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project_id: str = Field(pattern=ids.PROJECT_ID, examples=["proj_123"])
    pipeline_id: str = Field(min_length=1, max_length=140, description="Pipeline id or name", examples=["pipe_etl"])
    params: Params = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)
    start: bool = Field(default=False, description="Queue the run for execution at once")
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)
    notifications: NotificationSettings | None = Field(
        default=None, description="This run's notification settings (over its pipeline's config.notifications)")


class RunBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: list[RunCreate] = Field(min_length=1, max_length=100)


class RunStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)


class RunCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="cancelled by user", max_length=500)


def run_view(doc: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    view = public(doc)
    view["tasks"] = list(view.get("tasks", {}).values())
    view.pop("position", None)
    return public(view, fields)


async def _create(request: Request, ctx: Ctx, body: RunCreate, ids: tuple[str, str | None]) -> dict[str, Any]:
    run_id, command_id = ids
    command = CreateRun(run_id=run_id, **body.model_dump())
    await ctx.create(request, command, run_id, run_id, command_id)
    return run_view(await ctx.get_live(RUNS, run_id, "run"))


@router.post("", status_code=201, summary="Create a run (honours Idempotency-Key)", response_model=Envelope[Run],
             responses=errors(*BODY, 404, 409, *COMMAND), openapi_extra=examples(("run", CREATE_EXAMPLE)))
async def create_run(request: Request, ctx: Ctx, body: RunCreate) -> JSONResponse:
    return ok(request, await _create(request, ctx, body, creation_ids(request, "run_", body)), status=201)


@router.post("/batch", status_code=201, response_model=Envelope[list[Run]],
             summary="Create several runs, all or none: an invalid item is a 422 naming its index and field",
             responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("batch", {"runs": [CREATE_EXAMPLE, {**CREATE_EXAMPLE, "pipeline_id": "etl_2"}]})))
async def create_runs_batch(request: Request, ctx: Ctx, body: RunBatch) -> JSONResponse:
    problems = []  # every item is checked before any run is created: all of them, or none
    for i, item in enumerate(body.runs):
        project = await ctx.read_store.get(collections.PROJECTS, item.project_id)
        if project is None or project.get("deleted"):
            problems.append(ErrorDetail(field=f"runs[{i}].project_id", message="Project not found", type="not_found"))
        elif not await _pipeline_exists(ctx, item.project_id, item.pipeline_id):
            problems.append(ErrorDetail(field=f"runs[{i}].pipeline_id", type="not_found",
                                        message=f"pipeline '{item.pipeline_id}' not found in the project or catalog"))
    if problems:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid run parameters: no run was created", problems)
    # Each run's id from the key and its index; each command's from the whole batch, so a batch
    # sent again with another body is refused before any of its runs is created.
    ids = [creation_ids(request, "run_", body, f"#{i}") for i in range(len(body.runs))]
    for run_id, command_id in ids:
        await ctx.check_key_unused(request, run_id, command_id)
    created = [await _create(request, ctx, item, i) for item, i in zip(body.runs, ids, strict=True)]
    return ok(request, created, status=201)


async def _pipeline_exists(ctx: Ctx, project_id: str, pipeline: str) -> bool:
    """Whether ``pipeline`` (an id or a name) names a live pipeline of the project or of the shared catalog."""
    key = "_id" if pipeline.startswith("pipe_") else "name"
    where = {key: pipeline, "deleted": False, "project_id": {"$in": [project_id, None]}}
    _, found = await ctx.read_store.find(collections.PIPELINES, where, limit=1)
    if not found and key == "_id":  # a name may start with pipe_ too
        where = {"name": pipeline, "deleted": False, "project_id": {"$in": [project_id, None]}}
        _, found = await ctx.read_store.find(collections.PIPELINES, where, limit=1)
    return found > 0


DATE_TIME: dict[str, Any] = {"format": "date-time"}
MOMENT: TypeAdapter[datetime] = TypeAdapter(datetime)


def _moment(value: str | None, field: str) -> str | None:
    """An RFC 3339 date-time (as the schema says), or an ISO-8601 one; a naive one is UTC."""
    if value is None:
        return None
    try:
        return iso(MOMENT.validate_python(value))
    except (ValueError, OverflowError):
        raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid filter",
                          [ErrorDetail(field=field, message="must be an ISO-8601 date-time")]) from None


@router.get("", summary="List runs", response_model=ListEnvelope[Run])
async def list_runs(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(SORTABLE))],
    project_id: Annotated[str | None, Query(pattern=ids.PROJECT_ID)] = None,
    pipeline_id: Annotated[str | None, Query(max_length=140)] = None,
    state: Annotated[str | None, Query(max_length=200, pattern=states_pattern(STATES),
                                       description="State, or several comma-separated")] = None,
    tag: Annotated[list[Annotated[str, Field(max_length=300, pattern=r"^[^:]+:.*$")]] | None,
                   Query(max_length=300, description="key:value, repeatable")] = None,
    created_after: Annotated[str | None, Query(max_length=40, json_schema_extra=DATE_TIME)] = None,
    created_before: Annotated[str | None, Query(max_length=40, json_schema_extra=DATE_TIME)] = None,
    schedule_id: Annotated[str | None, Query(max_length=140)] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="meta.next_cursor of the previous page "
                                        "(with the same sort): the next page, each run once")] = None,
) -> JSONResponse:
    where: dict[str, Any] = {}
    if project_id is not None:
        where["project_id"] = check_id(project_id, "proj_", "project_id")
    if pipeline_id is not None:
        where["pipeline_id"] = pipeline_id
    if schedule_id is not None:
        where["schedule_id"] = schedule_id
    if state is not None:
        where["state"] = state_filter(state, STATES)
    for item in tag or []:
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid filter",
                              [ErrorDetail(field="tag", message="use key:value")])
        where[f"tags.{name}"] = value
    window = {k: v for k, v in (("$gt", _moment(created_after, "created_after")),
                                ("$lt", _moment(created_before, "created_before"))) if v}
    if window:
        where["created_at"] = window
    sort, offset = params.sort, params.offset
    if cursor is not None:  # keyset paging: the runs after the cursor's key (meta.total counts those)
        where.update(after(sort, decode_cursor(cursor, sort)))
        offset = 0
    docs, total = await ctx.read_store.find(RUNS, where, sort, offset, params.limit)
    extra = {"next_cursor": encode_cursor(sort, docs[-1])} if docs and offset + len(docs) < total else {}
    return page(request, [run_view(d, params.fields) for d in docs], total, params.limit, offset, **extra)


@router.get("/{run_id}", summary="Get a run: state, progress, timing, tasks (as_of: as it was then)",
            response_model=Envelope[Run], responses=errors(404))
async def get_run(
    request: Request, ctx: Ctx, run_id: RunId, fields: Annotated[list[str] | None, Depends(fields_param)],
    as_of: Annotated[str | None, Query(max_length=40, description="A stream version (integer) or an "
                                       "ISO-8601 time: the run as it was then, replayed from its events")] = None,
) -> JSONResponse:
    doc = await ctx.get_live(RUNS, check_id(run_id, "run_", "run_id"), "run")
    if as_of is None:
        return ok(request, run_view(doc, fields))
    past = run_as_of(await ctx.store.read_stream(run_id), **_as_of(as_of))
    if past is None:
        raise not_found("run", f"{run_id} as of the given time or version")
    return ok(request, {**run_view(past, fields), "as_of": as_of, "version": past["_v"]})


def _as_of(value: str) -> dict[str, Any]:
    if value.isdigit():
        return {"version": max(1, int(value))}
    try:
        return {"moment": parse_iso(value)}
    except ValueError:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid as_of",
                          [ErrorDetail(field="as_of", message="a stream version or an ISO-8601 time")]) from None


@router.post("/{run_id}/start", status_code=202, summary="Start a PENDING run",
             response_model=Envelope[RunStartAccepted], responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("timeout", {"timeout_seconds": 3600})))
async def start_run(request: Request, ctx: Ctx, run_id: RunId, body: RunStart | None = None) -> JSONResponse:
    check_id(run_id, "run_", "run_id")
    timeout = body.timeout_seconds if body else None
    await ctx.send(request, StartRun(run_id=run_id, timeout_seconds=timeout), key=run_id)
    doc = await ctx.get_live(RUNS, run_id, "run")
    return ok(request, {"status": "accepted", "run_id": run_id, "state": doc["state"],
                        "status_url": f"/api/v1/runs/{run_id}"}, status=202)


@router.post("/{run_id}/cancel", summary="Cancel a run", response_model=Envelope[Run],
             responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("reason", {"reason": "User requested cancellation"})))
async def cancel_run(request: Request, ctx: Ctx, run_id: RunId, body: RunCancel | None = None) -> JSONResponse:
    check_id(run_id, "run_", "run_id")
    reason = body.reason if body else "cancelled by user"
    await ctx.send(request, CancelRun(run_id=run_id, reason=reason), key=run_id)
    return ok(request, run_view(await ctx.get_live(RUNS, run_id, "run")))


@router.get("/{run_id}/tasks", summary="The run's tasks and their attempts", response_model=ListEnvelope[Task],
            responses=errors(404))
async def list_run_tasks(request: Request, ctx: Ctx, run_id: RunId) -> JSONResponse:
    doc = await ctx.get_live(RUNS, check_id(run_id, "run_", "run_id"), "run")
    tasks = list(doc["tasks"].values())
    return page(request, tasks, len(tasks), len(tasks), 0)


@router.get("/{run_id}/logs", summary="Run logs; text/event-stream (or follow=true) streams them live",
            response_model=ListEnvelope[LogLine], responses={200: SSE, **errors(404)})
async def list_run_logs(
    request: Request,
    ctx: Ctx,
    run_id: RunId,
    level: Annotated[LogLevel | None, Query(description="This level and above")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Lines per page (default 50, max 100)")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    follow: bool = False,
    node_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    await ctx.get_live(RUNS, check_id(run_id, "run_", "run_id"), "run")
    return await log_response(request, ctx, run_id, level, limit, offset, follow, node_id)


@router.get("/{run_id}/events", summary="The run's full event history", response_model=ListEnvelope[EventEnvelope],
            responses=errors(404))
async def list_run_events(request: Request, ctx: Ctx, run_id: RunId) -> JSONResponse:
    await ctx.get_live(RUNS, check_id(run_id, "run_", "run_id"), "run")
    events = [e.model_dump(mode="json") for e in await ctx.store.read_stream(run_id)]
    return page(request, events, len(events), len(events), 0)
