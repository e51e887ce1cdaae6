"""Commands and events of runs and their tasks.

A run's stream holds: ``RunCreated`` (PENDING), ``RunQueued`` (start requested,
waiting for a slot), ``RunStarted`` (RUNNING), task events, and exactly one terminal
event: ``RunSucceeded``, ``RunFailed``, ``RunCancelled`` or ``RunTimedOut``.
A task attempt is ``TaskScheduled`` (ready; ``dispatch`` counts re-dispatches of the
same attempt), ``TaskStarted`` (claimed by an executor), then ``TaskSucceeded`` or
``TaskFailed`` (with ``will_retry``); ``TaskSkipped`` marks nodes that never ran.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tauro_contracts import topics
from tauro_contracts.base import Command, Event
from tauro_contracts.notification_settings import NotificationSettings
from tauro_contracts.pipeline import PipelineSpec
from tauro_contracts.registry import REGISTRY

Params = dict[str, Any]
Tags = dict[str, str]
AttemptStatus = Literal["succeeded", "failed", "timed_out", "cancelled"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DISPATCHER_STREAM = "dispatcher:runs"


C = TypeVar("C", bound=Command)
E = TypeVar("E", bound=Event)


def _cmd(cls: type[C]) -> type[C]:
    cls.topic = topics.COMMANDS_RUNS
    return REGISTRY.register(cls)


def _evt(cls: type[E]) -> type[E]:
    cls.topic = topics.EVENTS_RUNS
    return REGISTRY.register(cls)


@_cmd
class CreateRun(Command):
    type_name = "CreateRun"
    run_id: str
    project_id: str
    pipeline_id: str
    params: Params = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)
    trigger: str = "api"
    schedule_id: str | None = None
    logical_date: str | None = None
    start: bool = False
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)
    notifications: NotificationSettings | None = None
    max_concurrent_for_schedule: int | None = Field(
        default=None, ge=1, description="A scheduled run: at most this many runs of its schedule RUNNING at once")


@_cmd
class StartRun(Command):
    type_name = "StartRun"
    run_id: str
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)


@_cmd
class CancelRun(Command):
    type_name = "CancelRun"
    run_id: str
    reason: str = Field(default="cancelled by user", max_length=500)


class LogLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    ts: datetime
    level: LogLevel
    message: str
    node_id: str | None = None
    attempt: int | None = None


@_cmd
class ClaimTask(Command):
    type_name = "ClaimTask"
    read_your_writes = False  # the executor waits for the reply before letting the attempt run
    run_id: str
    node_id: str
    attempt: int
    dispatch: int
    executor_id: str


@_cmd
class RecordTaskOutcome(Command):
    """An attempt's outcome. ``log_lines``: its lines not logged yet (a short attempt's all of
    them), appended as ``TaskLogged`` in the same write as the outcome's events."""

    type_name = "RecordTaskOutcome"
    read_your_writes = False
    run_id: str
    node_id: str
    attempt: int
    executor_id: str
    status: AttemptStatus
    error: str | None = None
    exit_code: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    duration_seconds: float = 0.0
    log_lines: list[LogLine] = Field(default_factory=list)  # the attempt's last lines, logged with the outcome


@_cmd
class ExpireTask(Command):
    """Issued by the runs service's reaper: an attempt's executor stopped heartbeating, or a
    scheduled attempt was never claimed."""

    type_name = "ExpireTask"
    run_id: str
    node_id: str
    attempt: int
    reason: str
    seen_status: str | None = None
    seen_dispatch: int | None = None


@_cmd
class TimeOutRun(Command):
    type_name = "TimeOutRun"
    run_id: str


@_evt
class RunCreated(Event):
    type_name = "RunCreated"
    run_id: str
    project_id: str
    pipeline_id: str
    pipeline_version: int
    pipeline_name: str
    spec: PipelineSpec
    params: Params
    tags: Tags
    trigger: str
    schedule_id: str | None = None
    logical_date: str | None = None
    notifications: NotificationSettings | None = Field(
        default=None, description="The run's own notification settings (over its schedule's and pipeline's)")


@_evt
class RunQueued(Event):
    type_name = "RunQueued"
    run_id: str
    pipeline_id: str
    timeout_seconds: int
    max_concurrent_for_pipeline: int | None = None
    max_concurrent_for_schedule: int | None = None


@_evt
class RunStarted(Event):
    type_name = "RunStarted"
    run_id: str
    deadline: datetime


@_evt
class TaskScheduled(Event):
    type_name = "TaskScheduled"
    run_id: str
    node_id: str
    attempt: int = Field(ge=1)
    dispatch: int = Field(default=1, ge=1)
    not_before: datetime | None = None
    node: dict[str, Any]
    upstream: list[str]
    params: Params
    timeout_seconds: int | None = None


@_evt
class TaskStarted(Event):
    type_name = "TaskStarted"
    run_id: str
    node_id: str
    attempt: int
    executor_id: str


@_evt
class TaskSucceeded(Event):
    type_name = "TaskSucceeded"
    run_id: str
    node_id: str
    attempt: int
    metrics: dict[str, float] = Field(default_factory=dict)
    duration_seconds: float = 0.0


@_evt
class TaskFailed(Event):
    type_name = "TaskFailed"
    run_id: str
    node_id: str
    attempt: int
    status: AttemptStatus
    error: str
    will_retry: bool
    duration_seconds: float = 0.0


@_evt
class TaskSkipped(Event):
    type_name = "TaskSkipped"
    run_id: str
    node_id: str
    reason: str


@_evt
class RunSucceeded(Event):
    type_name = "RunSucceeded"
    run_id: str


@_evt
class RunFailed(Event):
    type_name = "RunFailed"
    run_id: str
    error: str
    failed_node: str | None = None


@_evt
class RunCancelled(Event):
    type_name = "RunCancelled"
    run_id: str
    reason: str


@_evt
class RunTimedOut(Event):
    type_name = "RunTimedOut"
    run_id: str
    timeout_seconds: int


@REGISTRY.register
class RunsDispatched(Event):
    """Written on the dispatcher stream each time queued runs get slots; its version is the
    dispatcher's lock, so two dispatchers never grant the same free slot twice."""

    type_name = "RunsDispatched"
    topic = topics.EVENTS_RUNS
    run_ids: list[str]


@REGISTRY.register
class TaskLogged(Event):
    """A batch of log lines of a run, on the stream ``logs:<run_id>``."""

    type_name = "TaskLogged"
    topic = topics.EVENTS_LOGS
    run_id: str
    lines: list[LogLine]


def log_stream(run_id: str) -> str:
    return f"logs:{run_id}"


TERMINAL_EVENTS = (RunSucceeded, RunFailed, RunCancelled, RunTimedOut)
TERMINAL_EVENT_TYPES = frozenset(e.type_name for e in TERMINAL_EVENTS)
