"""Commands and events of schedules: CRON / INTERVAL triggers, their ticks and backfills.

A schedule's stream (id = ``schedule_id``) holds its lifecycle (``ScheduleCreated``,
``ScheduleUpdated``, ``ScheduleEnabled``, ``ScheduleDisabled``, ``ScheduleDeleted``) and
what happened to each of its ticks. A tick is one nominal fire time; every tick the
schedule reaches gets exactly one outcome on the stream, appended at the stream's
expected version, so two scheduler replicas never decide the same tick twice:

- ``TickFired``: its run is created now (run id derived from schedule and nominal time);
- ``TickQueued``: it waits for a free slot (overlap policy, catch-up or backfill) and is
  fired later by a ``TickFired`` of the same tick;
- ``TickSkipped``: dropped by the overlap policy, with a reason;
- ``TicksMissed``: ticks that passed while no scheduler ran, settled by the catch-up
  policy (each with a reason; an over-long outage's oldest ticks as one summarised range);
- ``TickFailed``: the runs service refused the tick's run (e.g. its pipeline was deleted).

``BackfillRequested`` queues the nominal times of a backfill as waiting ticks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tauro_contracts import topics
from tauro_contracts.base import Command, Event
from tauro_contracts.notification_settings import NotificationSettings
from tauro_contracts.registry import REGISTRY

OverlapPolicyName = Literal["skip", "buffer_one", "allow_all", "cancel_running"]
CatchUpPolicyName = Literal["none", "latest", "all"]
TickOrigin = Literal["schedule", "catch_up", "backfill"]
Params = dict[str, Any]

MAX_CONCURRENCY = 1000
MAX_TIMEOUT_SECONDS = 7 * 86400
MAX_GRACE_SECONDS = 86400
MAX_BACKFILL = 1000

C = TypeVar("C", bound=Command)
E = TypeVar("E", bound=Event)


def _cmd(cls: type[C]) -> type[C]:
    cls.topic = topics.COMMANDS_SCHEDULER
    return REGISTRY.register(cls)


def _evt(cls: type[E]) -> type[E]:
    cls.topic = topics.EVENTS_SCHEDULES
    return REGISTRY.register(cls)


Notifications = NotificationSettings
"""The schedule's ``config.notifications`` (``tauro_contracts.notification_settings``)."""


class ScheduleConfig(BaseModel):
    """The spec's ``config`` block beyond concurrency and timeout (which are top-level fields)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    retry_on_failure: bool = False
    notifications: Notifications = Field(default_factory=Notifications)


# --------------------------------------------------------------------------- commands


@_cmd
class CreateSchedule(Command):
    type_name = "CreateSchedule"
    schedule_id: str = Field(min_length=1, max_length=140)
    project_id: str = Field(min_length=1, max_length=140)
    pipeline_id: str = Field(min_length=1, max_length=140, description="Pipeline id or name")
    kind: str = Field(max_length=20)
    expression: str = Field(max_length=200)
    timezone: str | None = Field(default=None, max_length=64, description="IANA name; default SCHEDULER_TIMEZONE")
    enabled: bool = True
    description: str = Field(default="", max_length=2000)
    params: Params = Field(default_factory=dict)
    max_concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    overlap_policy: OverlapPolicyName = "skip"
    catch_up_policy: CatchUpPolicyName = "latest"
    catch_up_window_seconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    misfire_grace_seconds: int = Field(default=60, ge=1, le=MAX_GRACE_SECONDS)
    config: ScheduleConfig = Field(default_factory=ScheduleConfig)


@_cmd
class UpdateSchedule(Command):
    """Change some fields; ``None`` leaves a field as it is."""

    type_name = "UpdateSchedule"
    schedule_id: str
    pipeline_id: str | None = Field(default=None, min_length=1, max_length=140)
    kind: str | None = Field(default=None, max_length=20)
    expression: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=2000)
    params: Params | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=MAX_CONCURRENCY)
    timeout_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMEOUT_SECONDS)
    overlap_policy: OverlapPolicyName | None = None
    catch_up_policy: CatchUpPolicyName | None = None
    catch_up_window_seconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    misfire_grace_seconds: int | None = Field(default=None, ge=1, le=MAX_GRACE_SECONDS)
    config: ScheduleConfig | None = None


@_cmd
class DeleteSchedule(Command):
    type_name = "DeleteSchedule"
    schedule_id: str


@_cmd
class EnableSchedule(Command):
    type_name = "EnableSchedule"
    schedule_id: str


@_cmd
class DisableSchedule(Command):
    type_name = "DisableSchedule"
    schedule_id: str


@_cmd
class BackfillSchedule(Command):
    """Queue runs for past nominal times: the ``count`` most recent before now, or every
    nominal time in ``[start, end]``. ``dry_run`` only reports them."""

    type_name = "BackfillSchedule"
    schedule_id: str
    backfill_id: str = Field(min_length=1, max_length=140)
    count: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    dry_run: bool = False


@_cmd
class FireTicks(Command):
    """Issued by the scheduler's firing loop: bring these schedules up to now — release
    waiting ticks into free slots and settle every tick that has come due."""

    type_name = "FireTicks"
    schedule_ids: list[str] = Field(min_length=1, max_length=500)


@_cmd
class RecordTickFailure(Command):
    """Issued by the scheduler when the runs service refused a fired tick's run."""

    type_name = "RecordTickFailure"
    schedule_id: str
    tick_id: str
    nominal: datetime
    run_id: str
    error: dict[str, Any]


# --------------------------------------------------------------------------- events


@_evt
class ScheduleCreated(Event):
    """A schedule was created; ticks strictly after ``resume_after`` are its to fire.
    ``anchor``: INTERVAL ticks are ``anchor + k * interval``."""

    type_name = "ScheduleCreated"
    schedule_id: str
    project_id: str
    pipeline_id: str
    pipeline_name: str
    kind: str
    expression: str
    timezone: str
    enabled: bool
    description: str = ""
    params: Params
    max_concurrency: int
    timeout_seconds: int | None = None
    overlap_policy: OverlapPolicyName
    catch_up_policy: CatchUpPolicyName
    catch_up_window_seconds: int | None = None
    misfire_grace_seconds: int
    config: ScheduleConfig
    anchor: datetime
    resume_after: datetime


@_evt
class ScheduleUpdated(Event):
    """Some fields changed (``changes``, as stored). When the timing rule changed,
    ``anchor`` is the new INTERVAL anchor and ``resume_after`` the instant after which the
    new rule's ticks fire."""

    type_name = "ScheduleUpdated"
    schedule_id: str
    changes: dict[str, Any]
    anchor: datetime | None = None
    resume_after: datetime | None = None


@_evt
class ScheduleEnabled(Event):
    """Ticks strictly after ``resume_after`` fire; those while it was disabled never do."""

    type_name = "ScheduleEnabled"
    schedule_id: str
    resume_after: datetime


@_evt
class ScheduleDisabled(Event):
    type_name = "ScheduleDisabled"
    schedule_id: str


@_evt
class ScheduleDeleted(Event):
    type_name = "ScheduleDeleted"
    schedule_id: str
    dropped_waiting: int = 0


@_evt
class TickFired(Event):
    """The tick's run is created (and started) now. Everything needed to create it is
    here, so a scheduler that crashed before creating it re-sends the same run."""

    type_name = "TickFired"
    schedule_id: str
    tick_id: str
    nominal: datetime
    logical_date: str
    run_id: str
    origin: TickOrigin = "schedule"
    project_id: str
    pipeline_id: str
    params: Params
    timeout_seconds: int | None = None
    cancel_run_ids: list[str] = Field(default_factory=list)
    backfill_id: str | None = None
    max_concurrency: int | None = Field(
        default=None, ge=1, description="The schedule's max_concurrency when it fired: at most this many of its "
                                        "runs start at once (the runs service's dispatcher holds the others QUEUED)")


@_evt
class TickQueued(Event):
    """The tick waits for a free slot of the schedule (``max_concurrency``)."""

    type_name = "TickQueued"
    schedule_id: str
    tick_id: str
    nominal: datetime
    run_id: str
    origin: TickOrigin = "schedule"
    reason: str
    message: str


@_evt
class TickSkipped(Event):
    """The overlap policy dropped the tick (``reason``: overlap, buffer_full)."""

    type_name = "TickSkipped"
    schedule_id: str
    tick_id: str
    nominal: datetime
    reason: str
    message: str


class MissedTick(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    tick_id: str
    nominal: datetime
    reason: str
    message: str


@_evt
class TicksMissed(Event):
    """Ticks that came due while no scheduler was running and that the catch-up policy
    does not fire (reasons: missed, superseded, outside_window, catch_up_limit). When an
    outage holds more ticks than one decision lists, the oldest are summarised as the range
    ``omitted_from``..``omitted_to`` (``omitted`` of them; -1 when too many to count)."""

    type_name = "TicksMissed"
    schedule_id: str
    ticks: list[MissedTick]
    omitted: int = 0
    omitted_from: datetime | None = None
    omitted_to: datetime | None = None


@_evt
class TickFailed(Event):
    """The runs service refused the fired tick's run; the tick ends here, with the error."""

    type_name = "TickFailed"
    schedule_id: str
    tick_id: str
    nominal: datetime
    run_id: str
    error: dict[str, Any]


@_evt
class BackfillRequested(Event):
    """A backfill queued these nominal times (oldest first) as waiting ticks; their runs
    are ``run_ids`` (same order). Times whose run already exists are not listed again.

    No longer produced: a backfill now fires its ticks at once (``TickFired`` with origin
    ``backfill``), so its runs exist as soon as it is accepted. Kept, and still applied, for
    the schedule streams that hold it."""

    type_name = "BackfillRequested"
    schedule_id: str
    backfill_id: str
    nominals: list[datetime]
    run_ids: list[str]
    count: int | None = None
    start: datetime | None = None
    end: datetime | None = None
