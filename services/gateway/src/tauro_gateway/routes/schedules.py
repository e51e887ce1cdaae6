"""``/schedules``: CRUD, enable/disable, backfill, and the ticks each schedule reached.

Writes are commands to the scheduler service (request/reply); reads come from its
``schedules`` and ``schedule_ticks`` read models, with run statistics from the runs
read model. ``max_concurrency`` and ``timeout_seconds`` are accepted at the top level
(as in the spec's create example) or inside ``config`` (as in its schedule object).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_contracts.readmodels import (
    ACTIVE_RUN_STATES,
    BackfillResult,
    Deleted,
    Envelope,
    ListEnvelope,
    RunState,
    Schedule,
    ScheduleKind,
    TickOrigin,
    TickStatus,
    TickView,
    collections,
    ids,
)
from tauro_contracts.schedules import (
    MAX_CONCURRENCY,
    MAX_GRACE_SECONDS,
    MAX_TIMEOUT_SECONDS,
    BackfillSchedule,
    CatchUpPolicyName,
    CreateSchedule,
    DeleteSchedule,
    DisableSchedule,
    EnableSchedule,
    Notifications,
    OverlapPolicyName,
    Params,
    UpdateSchedule,
)

from tauro_gateway.context import Ctx, creation_ids
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, check_id, fields_param, list_params
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router

router = make_router(prefix="/schedules", tags=["schedules"])
ScheduleId = Annotated[str, Path(pattern=ids.SCHEDULE_ID, description="A schedule id such as sched_456")]
SORTABLE = ("created_at", "updated_at", "next_run_at", "last_run_at")
TICK_SORTABLE = ("nominal_time", "recorded_at", "fired_at")
TICK_STATUSES = tuple(TickStatus)
KIND_PATTERN = "^(?:" + "|".join("".join(f"[{c}{c.lower()}]" for c in kind) for kind in ScheduleKind) + ")$"
TICK_STATUS_PATTERN = rf"^ *(?:{'|'.join(TICK_STATUSES)}) *(?:, *(?:{'|'.join(TICK_STATUSES)}) *)*$"
SCHEDULES, TICKS, RUNS = collections.SCHEDULES, collections.SCHEDULE_TICKS, collections.RUNS
CREATE_EXAMPLE = {
    "project_id": "proj_abc123", "pipeline_id": "daily_etl", "kind": "CRON", "expression": "0 2 * * *",
    "enabled": True, "timezone": "UTC", "params": {"mode": "incremental"},
    "config": {"max_concurrency": 1, "timeout_seconds": 7200, "retry_on_failure": True},
}
SHOWN = ("id", "project_id", "pipeline_id", "pipeline_name", "kind", "expression", "timezone", "enabled",
         "description", "params", "max_concurrency", "timeout_seconds", "overlap_policy", "catch_up_policy",
         "catch_up_window_seconds", "misfire_grace_seconds", "config", "created_at", "updated_at", "next_run_at",
         "last_run_at", "waiting_count", "tick_counts")
FAILED = (RunState.FAILED, RunState.TIMED_OUT)
ACTIVE = ACTIVE_RUN_STATES


class ConfigBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY)
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    retry_on_failure: bool | None = None
    notifications: Notifications | None = None


class ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None, max_length=2000)
    params: Params | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY,
                                        description="Runs of this schedule active at once (default 1)")
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    overlap_policy: OverlapPolicyName | None = Field(
        default=None, description="A due tick while max_concurrency runs are active: skip (default), buffer_one, "
                                  "allow_all (wait), cancel_running")
    catch_up_policy: CatchUpPolicyName | None = Field(
        default=None, description="Ticks missed while no scheduler ran: none, latest (default), all")
    catch_up_window_seconds: int | None = Field(default=None, ge=1, le=366 * 86400,
                                                description="catch-up 'all': oldest missed tick that still fires")
    misfire_grace_seconds: int | None = Field(default=None, ge=1, le=MAX_GRACE_SECONDS,
                                              description="A tick this late still counts as on time (default 60)")
    config: ConfigBody | None = None

    def settings(self) -> dict[str, Any]:
        """The command fields, with ``config.max_concurrency``/``timeout_seconds`` lifted to the top."""
        values = self.model_dump(exclude_none=True, include=set(ScheduleFields.model_fields) - {"config"})
        if self.config is not None:
            for name in ("max_concurrency", "timeout_seconds"):
                inner = getattr(self.config, name)
                if inner is not None and values.setdefault(name, inner) != inner:
                    raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid schedule", [ErrorDetail(
                        field=f"config.{name}", message=f"differs from the top-level {name}", type="inconsistent")])
            rest = self.config.model_dump(exclude_none=True, exclude={"max_concurrency", "timeout_seconds"})
            if rest:
                values["config"] = rest
        return values


EXPRESSION_PATTERN = r"^\s*(@[A-Za-z]+|[0-9A-Za-z*/,\-]+(\s+[0-9A-Za-z*/,\-]+){4}|([0-9]+[dhms])+)\s*$"
EXPRESSION_SHAPE: dict[str, Any] = {"pattern": EXPRESSION_PATTERN}
"""The shape of an expression (a CRON alias, five CRON fields, or an interval), declared in the
schema only: the scheduler checks it with its own messages (``invalid_cron``, ``invalid_interval``,
every problem of the request at once), and whether each field's values are in range too."""


class ScheduleCreate(ScheduleFields):
    project_id: str = Field(pattern=ids.PROJECT_ID)
    pipeline_id: str = Field(min_length=1, max_length=140, description="Pipeline id or name")
    kind: str = Field(pattern=KIND_PATTERN, description="CRON or INTERVAL (any case)", examples=["CRON"])
    expression: str = Field(max_length=200, json_schema_extra=EXPRESSION_SHAPE,
                            description="5-field CRON, or an interval such as 15s, 1h30m, 1d")
    timezone: str | None = Field(default=None, max_length=64, description="IANA time zone (default UTC)")
    enabled: bool = True


class ScheduleUpdate(ScheduleFields):
    pipeline_id: str | None = Field(default=None, min_length=1, max_length=140)
    kind: str | None = Field(default=None, pattern=KIND_PATTERN, description="CRON or INTERVAL (any case)")
    expression: str | None = Field(default=None, max_length=200, json_schema_extra=EXPRESSION_SHAPE)
    timezone: str | None = Field(default=None, max_length=64)
    enabled: bool | None = None


class BackfillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int | None = Field(default=None, description="The N most recent nominal times before now")
    start: datetime | None = Field(default=None, description="With end: every nominal time in [start, end]")
    end: datetime | None = None
    dry_run: bool = Field(default=False, description="Only list the nominal times and run ids")


async def _statistics(ctx: Ctx, schedule_id: str) -> dict[str, Any]:
    by_state = {k: v for k, v in (await ctx.read_store.count_by(RUNS, {"schedule_id": schedule_id}, "state")).items()
                if k is not None}
    finished = sum(v for k, v in by_state.items() if k not in ACTIVE)
    success = by_state.get(RunState.SUCCESS, 0)
    return {
        "total_runs": sum(by_state.values()), "successful_runs": success,
        "failed_runs": sum(by_state.get(s, 0) for s in FAILED), "cancelled_runs": by_state.get(RunState.CANCELLED, 0),
        "active_runs": sum(by_state.get(s, 0) for s in ACTIVE), "runs_by_state": by_state,
        "success_rate": round(success / finished, 4) if finished else None,
    }


async def schedule_view(ctx: Ctx, doc: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    view = {k: doc.get(k) for k in SHOWN}
    view["config"] = {"max_concurrency": doc["max_concurrency"], "timeout_seconds": doc["timeout_seconds"],
                      **(doc.get("config") or {})}
    if not fields or "statistics" in fields:
        view["statistics"] = await _statistics(ctx, doc["id"])
    return public(view, fields)


async def _send_and_show(request: Request, ctx: Ctx, command: Any, schedule_id: str) -> JSONResponse:
    await ctx.send(request, command, key=schedule_id)
    return ok(request, await schedule_view(ctx, await ctx.get_live(SCHEDULES, schedule_id, "schedule")))


@router.get("", summary="List schedules", response_model=ListEnvelope[Schedule])
async def list_schedules(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(SORTABLE))],
    project_id: Annotated[str | None, Query(pattern=ids.PROJECT_ID)] = None,
    pipeline_id: Annotated[str | None, Query(max_length=140)] = None,
    enabled: bool | None = None,
) -> JSONResponse:
    where: dict[str, Any] = {"deleted": False}
    if project_id is not None:
        where["project_id"] = check_id(project_id, "proj_", "project_id")
    if pipeline_id is not None:
        where["pipeline_id"] = pipeline_id
    if enabled is not None:
        where["enabled"] = enabled
    docs, total = await ctx.read_store.find(SCHEDULES, where, params.sort, params.offset, params.limit)
    items = [await schedule_view(ctx, d, params.fields) for d in docs]
    return page(request, items, total, params.limit, params.offset)


@router.post("", status_code=201, summary="Create a schedule (honours Idempotency-Key)",
             response_model=Envelope[Schedule], responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("cron", CREATE_EXAMPLE), ("interval", {
                 "project_id": "proj_abc123", "pipeline_id": "daily_etl", "kind": "INTERVAL", "expression": "2h"})))
async def create_schedule(request: Request, ctx: Ctx, body: ScheduleCreate) -> JSONResponse:
    schedule_id, command_id = creation_ids(request, "sched_", body)
    values = body.settings()
    command = CreateSchedule(
        schedule_id=schedule_id, project_id=body.project_id, pipeline_id=body.pipeline_id, kind=body.kind,
        expression=body.expression, timezone=body.timezone, enabled=body.enabled, **values,
    )
    await ctx.create(request, command, schedule_id, schedule_id, command_id)
    doc = await ctx.get_live(SCHEDULES, schedule_id, "schedule")
    return ok(request, await schedule_view(ctx, doc), status=201)


@router.get("/{schedule_id}", summary="Get a schedule: definition, next and last run, statistics",
            response_model=Envelope[Schedule], responses=errors(404))
async def get_schedule(
    request: Request, ctx: Ctx, schedule_id: ScheduleId, fields: Annotated[list[str] | None, Depends(fields_param)]
) -> JSONResponse:
    doc = await ctx.get_live(SCHEDULES, check_id(schedule_id, "sched_", "schedule_id"), "schedule")
    return ok(request, await schedule_view(ctx, doc, fields))


@router.put("/{schedule_id}", summary="Update a schedule (fields not given are kept)",
            response_model=Envelope[Schedule], responses=errors(*BODY, 404, 409, *COMMAND),
            openapi_extra=examples(("expression", {"expression": "0 3 * * *"})))
async def update_schedule(request: Request, ctx: Ctx, schedule_id: ScheduleId, body: ScheduleUpdate) -> JSONResponse:
    check_id(schedule_id, "sched_", "schedule_id")
    values = body.settings()
    command = UpdateSchedule(schedule_id=schedule_id, pipeline_id=body.pipeline_id, kind=body.kind,
                             expression=body.expression, timezone=body.timezone, enabled=body.enabled, **values)
    return await _send_and_show(request, ctx, command, schedule_id)


@router.delete("/{schedule_id}", summary="Delete a schedule; its waiting ticks are dropped",
               response_model=Envelope[Deleted], responses=errors(404, 409, *COMMAND))
async def delete_schedule(request: Request, ctx: Ctx, schedule_id: ScheduleId) -> JSONResponse:
    check_id(schedule_id, "sched_", "schedule_id")
    await ctx.send(request, DeleteSchedule(schedule_id=schedule_id), key=schedule_id)
    return ok(request, {"id": schedule_id, "deleted": True})


@router.post("/{schedule_id}/enable", summary="Enable a schedule: ticks from now on fire",
             response_model=Envelope[Schedule], responses=errors(404, 409, *COMMAND))
async def enable_schedule(request: Request, ctx: Ctx, schedule_id: ScheduleId) -> JSONResponse:
    check_id(schedule_id, "sched_", "schedule_id")
    return await _send_and_show(request, ctx, EnableSchedule(schedule_id=schedule_id), schedule_id)


@router.post("/{schedule_id}/disable", summary="Disable a schedule: no new ticks (waiting ones still run)",
             response_model=Envelope[Schedule], responses=errors(404, 409, *COMMAND))
async def disable_schedule(request: Request, ctx: Ctx, schedule_id: ScheduleId) -> JSONResponse:
    check_id(schedule_id, "sched_", "schedule_id")
    return await _send_and_show(request, ctx, DisableSchedule(schedule_id=schedule_id), schedule_id)


@router.post("/{schedule_id}/backfill", status_code=202,
             summary="Create runs for past nominal times ({count} or {start, end}) at once, QUEUED; the "
                     "schedule's max_concurrency limits how many run at a time",
             response_model=Envelope[BackfillResult],
             responses={200: {"model": Envelope[BackfillResult], "description": "A dry run: what it would create"},
                        **errors(*BODY, 404, 409, *COMMAND)},
             openapi_extra=examples(("count", {"count": 30}), ("range", {
                 "start": "2025-11-01T00:00:00Z", "end": "2025-11-07T00:00:00Z", "dry_run": True})))
async def backfill_schedule(
    request: Request, ctx: Ctx, schedule_id: ScheduleId, body: BackfillBody | None = None
) -> JSONResponse:
    check_id(schedule_id, "sched_", "schedule_id")
    body = body or BackfillBody(count=None)
    backfill_id, command_id = creation_ids(request, "bf_", body)

    async def backfill_recorded() -> bool:  # its ticks carry its id
        return bool((await ctx.read_store.find(TICKS, {"backfill_id": backfill_id}, limit=1))[1])

    command = BackfillSchedule(schedule_id=schedule_id, backfill_id=backfill_id, count=body.count,
                               start=body.start, end=body.end, dry_run=body.dry_run)
    result = await ctx.create(request, command, schedule_id, backfill_id, command_id, backfill_recorded)
    if "nominal_times" not in result:  # a replayed request is answered from its events: list them again
        result = await ctx.send(request, command.model_copy(update={"dry_run": True}), key=schedule_id)
        result["dry_run"] = body.dry_run
    hidden = ("streams", "id", "changed") if body.dry_run else ("streams", "id", "changed", "would_create")
    data = {k: v for k, v in result.items() if k not in hidden}
    if not body.dry_run:
        await _until_created(ctx, [r["run_id"] for r in data.get("runs", []) if r["status"] == "queued"])
    return ok(request, data, status=200 if body.dry_run else 202)


async def _until_created(ctx: Ctx, run_ids: list[str]) -> None:
    """Read-your-writes for a backfill: its runs are created right after its ticks are recorded
    (the scheduler's launcher); answer once they are all listed (QUEUED), or after the command
    time-out (they still come: the scheduler's repair re-creates any that were not)."""
    deadline = time.monotonic() + ctx.settings.command_timeout_seconds
    while run_ids and time.monotonic() < deadline:
        _, found = await ctx.read_store.find(RUNS, {"_id": {"$in": run_ids}}, limit=1)
        if found >= len(run_ids):
            return
        await asyncio.sleep(0.05)


@router.get("/{schedule_id}/ticks", summary="The ticks a schedule reached: fired, waiting, skipped, missed, failed",
            response_model=ListEnvelope[TickView], responses=errors(404))
async def list_schedule_ticks(
    request: Request,
    ctx: Ctx,
    schedule_id: ScheduleId,
    params: Annotated[ListParams, Depends(list_params(TICK_SORTABLE, default_sort="-nominal_time"))],
    status: Annotated[str | None, Query(max_length=100, pattern=TICK_STATUS_PATTERN,
                                        description="Status, or several comma-separated")] = None,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    origin: TickOrigin | None = None,
) -> JSONResponse:
    await ctx.get_live(SCHEDULES, check_id(schedule_id, "sched_", "schedule_id"), "schedule")
    where: dict[str, Any] = {"schedule_id": schedule_id}
    if status is not None:
        statuses = [s.strip().lower() for s in status.split(",") if s.strip()]
        bad = [s for s in statuses if s not in TICK_STATUSES]
        if bad:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid filter", [ErrorDetail(
                field="status", message=f"unknown status(es) {bad}; use {list(TICK_STATUSES)}")])
        where["status"] = {"$in": statuses}
    if reason is not None:
        where["reason"] = reason
    if origin is not None:
        where["origin"] = origin
    docs, total = await ctx.read_store.find(TICKS, where, params.sort, params.offset, params.limit)
    run_ids = [d["run_id"] for d in docs if d.get("run_id")]
    runs, _ = await ctx.read_store.find(RUNS, {"_id": {"$in": run_ids}}) if run_ids else ([], 0)
    states = {r["_id"]: r["state"] for r in runs}
    items = []
    for doc in docs:
        item = public({k: v for k, v in doc.items() if k != "launch"})
        item["run_state"] = states.get(doc.get("run_id") or "")
        items.append(public(item, params.fields))
    return page(request, items, total, params.limit, params.offset)
