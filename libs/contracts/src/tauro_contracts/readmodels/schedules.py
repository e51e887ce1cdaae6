"""Schedules, their ticks and backfill results, as stored and returned."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tauro_contracts.readmodels.envelopes import SPARSE, Timestamp
from tauro_contracts.readmodels.states import BackfillRunStatus, RunState, ScheduleKind, TickOrigin, TickStatus
from tauro_contracts.schedules import CatchUpPolicyName, OverlapPolicyName


class TickCounts(BaseModel):
    fired: int
    skipped: int
    missed: int
    failed: int


class ScheduleStatistics(BaseModel):
    total_runs: int
    successful_runs: int
    failed_runs: int
    cancelled_runs: int
    active_runs: int
    runs_by_state: dict[str, int]
    success_rate: float | None


class ScheduleFields(BaseModel):
    model_config = SPARSE

    id: str = Field(examples=["sched_456"])
    project_id: str
    pipeline_id: str
    pipeline_name: str
    kind: ScheduleKind
    expression: str = Field(examples=["0 2 * * *"])
    timezone: str = Field(examples=["UTC"])
    enabled: bool
    description: str = ""
    params: dict[str, Any]
    max_concurrency: int
    timeout_seconds: int | None = None
    overlap_policy: OverlapPolicyName
    catch_up_policy: CatchUpPolicyName
    catch_up_window_seconds: int | None = None
    misfire_grace_seconds: int
    config: dict[str, Any] = Field(description="max_concurrency, timeout_seconds, retry_on_failure, notifications")
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    next_run_at: Timestamp | None = None
    last_run_at: Timestamp | None = None
    waiting_count: int
    tick_counts: TickCounts


class ScheduleDoc(ScheduleFields):
    """``schedules``: one document per schedule (also the scheduler's snapshot of its state)."""

    deleted: bool = False
    anchor: Timestamp | None = None
    cursor: Timestamp | None = None
    waiting: list[dict[str, Any]] = Field(default_factory=list)
    recent_fired: list[list[str]] = Field(default_factory=list)


class Schedule(ScheduleFields):
    """A schedule as the API returns it, with statistics of its runs."""

    statistics: ScheduleStatistics | None = None


class Tick(BaseModel):
    """``schedule_ticks``: one document per tick that got an outcome."""

    model_config = SPARSE

    id: str
    schedule_id: str
    nominal_time: Timestamp
    logical_date: str | None = None
    recorded_at: Timestamp
    status: TickStatus | None
    origin: TickOrigin
    reason: str | None = None
    message: str | None = None
    run_id: str | None = None
    run_created: bool = False
    fired_at: Timestamp | None = None
    queued_at: Timestamp | None = None
    backfill_id: str | None = None
    error: dict[str, Any] | None = None
    cancelled_run_ids: list[str] | None = None
    range_from: Timestamp | None = None
    range_to: Timestamp | None = None
    count: int | None = None


class TickView(Tick):
    run_state: RunState | None = Field(default=None, description="The state of the tick's run, if any")


class BackfillRun(BaseModel):
    nominal_time: Timestamp
    logical_date: str
    run_id: str
    status: BackfillRunStatus


class BackfillResult(BaseModel):
    schedule_id: str
    backfill_id: str
    dry_run: bool
    nominal_times: list[Timestamp]
    runs: list[BackfillRun]
    total: int
    queued: int = Field(description="Runs this backfill created (0 for a dry run)")
    would_create: int | None = Field(default=None, description="Dry run: runs a real backfill would create")
