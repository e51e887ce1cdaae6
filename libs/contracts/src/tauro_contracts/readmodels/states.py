"""States and kinds of the read models, as string enums: JSON carries the same strings as
before, code compares against names instead of literals."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    PENDING = "PENDING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"


TERMINAL_RUN_STATES: frozenset[RunState] = frozenset(
    {RunState.SUCCESS, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT})
ACTIVE_RUN_STATES: frozenset[RunState] = frozenset({RunState.PENDING, RunState.QUEUED, RunState.RUNNING})


class TaskState(StrEnum):
    PENDING = "PENDING"
    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


class AttemptStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class ScheduleKind(StrEnum):
    CRON = "CRON"
    INTERVAL = "INTERVAL"


class TickStatus(StrEnum):
    FIRED = "fired"
    WAITING = "waiting"
    SKIPPED = "skipped"
    MISSED = "missed"
    FAILED = "failed"


class TickOrigin(StrEnum):
    SCHEDULE = "schedule"
    CATCH_UP = "catch_up"
    BACKFILL = "backfill"


class BackfillRunStatus(StrEnum):
    """What a backfill did for one nominal time: created its run now (``queued``), found it
    already created (``exists``) or already waiting (``waiting``); a dry run's ``would_create``."""

    QUEUED = "queued"
    EXISTS = "exists"
    WAITING = "waiting"
    WOULD_CREATE = "would_create"


class StreamState(StrEnum):
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class CheckStatus(StrEnum):
    OK = "ok"
    DOWN = "down"
    DEGRADED = "degraded"
    UNKNOWN = "unknown"
    DISABLED = "disabled"
    MISSING = "missing"
    STUCK = "stuck"
    STOPPED = "stopped"
    STALE = "stale"
