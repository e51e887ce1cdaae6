"""Runs, their tasks and attempts, and log lines, as stored and returned."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tauro_contracts.readmodels.envelopes import SPARSE, Timestamp
from tauro_contracts.readmodels.states import AttemptStatus, LogLevel, RunState, TaskState


class Attempt(BaseModel):
    attempt: int = Field(ge=1)
    executor_id: str | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    status: AttemptStatus
    error: str | None = None
    duration_seconds: float | None = None


class Task(BaseModel):
    node_id: str
    type: str
    status: TaskState
    attempt: int = Field(ge=0, description="The current attempt (0 before the first)")
    attempts: list[Attempt]
    executor_id: str | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    error: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    dispatch: int | None = None
    scheduled_at: Timestamp | None = None
    not_before: Timestamp | None = None


class Progress(BaseModel):
    total_tasks: int
    completed_tasks: int
    running_tasks: int
    failed_tasks: int
    percent_complete: float


class RunMetrics(BaseModel):
    rows_processed: int | float
    bytes_processed: int | float
    error_count: int


class RunFields(BaseModel):
    model_config = SPARSE

    id: str = Field(examples=["run_xyz789"])
    project_id: str
    pipeline_id: str
    pipeline_name: str
    pipeline_version: int
    state: RunState
    params: dict[str, Any]
    tags: dict[str, str]
    trigger: str = Field(description="api, schedule, backfill, retry, ...")
    schedule_id: str | None = None
    logical_date: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    created_by: str | None = None
    queued_at: Timestamp | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    duration_seconds: float | None = None
    timeout_seconds: int | None = None
    deadline: Timestamp | None = None
    error: str | None = None
    progress: Progress
    metrics: RunMetrics
    max_concurrent_for_pipeline: int | None = None
    cancel_reason: str | None = None


class RunDoc(RunFields):
    """``runs``: one document per run; tasks keyed by node id; ``position`` is its creation's
    global position (not shown)."""

    position: int | None = None
    tasks: dict[str, Task]


class Run(RunFields):
    """A run as the API returns it: its tasks as a list. With ``as_of``, also ``as_of`` and
    ``version`` (the stream version it was replayed to)."""

    tasks: list[Task]
    as_of: str | None = None
    version: int | None = None


class RunStartAccepted(BaseModel):
    status: str = Field(examples=["accepted"])
    run_id: str
    state: RunState
    status_url: str = Field(examples=["/api/v1/runs/run_xyz789"])


class LogLine(BaseModel):
    """``run_logs``: one document per log line; ids sort in the order lines were recorded."""

    id: str = Field(examples=["run_xyz789:00000012:0003"])
    run_id: str
    timestamp: Timestamp
    level: LogLevel
    message: str
    node_id: str | None = None
    attempt: int | None = None
    project_id: str | None = Field(default=None, description="The run's project")
    pipeline_id: str | None = Field(default=None, description="The run's pipeline")
    seq: str | None = Field(default=None, examples=["0000000000001234:0003"],
                            description="Position in the platform-wide log (event position and line): GET /logs "
                                        "pages and streams in this order; the SSE id there")
