"""A schedule's state, folded from its stream: what it is, and how far its ticks got.

``evolve`` is the one pure function from (state, event) to state. The command handlers
fold the stream with it, and the ``schedules`` read model is ``to_doc`` of the same
state, so a read-model document is also a snapshot: ``from_doc`` gives back the state at
the document's version, and only the events after it need folding (a 1-second schedule
writes 86 400 tick events a day; folding them all on every decision would not do).

``cursor`` is the instant up to which ticks are settled: every tick at or before it has
an outcome (fired, queued, skipped, missed), or fell while the schedule was disabled or
before it existed. The next tick to decide is ``next_after(rule, cursor)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.registry import REGISTRY
from tauro_contracts.schedules import (
    BackfillRequested,
    ScheduleCreated,
    ScheduleDeleted,
    ScheduleDisabled,
    ScheduleEnabled,
    ScheduleUpdated,
    TickFailed,
    TickFired,
    TickOrigin,
    TickQueued,
    TickSkipped,
    TicksMissed,
)
from tauro_platform.timeutil import iso, parse_iso

from tauro_scheduler.domain import ScheduleKind, ScheduleRule, next_after
from tauro_scheduler.domain.ticks import logical_date, tick_id

SCHEDULE_EVENTS = frozenset(
    c.type_name for c in (ScheduleCreated, ScheduleUpdated, ScheduleEnabled, ScheduleDisabled, ScheduleDeleted,
                          TickFired, TickQueued, TickSkipped, TicksMissed, TickFailed, BackfillRequested)
)
RECENT_FIRED = 64  # fired ticks remembered to count runs still being created as active

# Fields a ScheduleUpdated may change (its ``changes`` keys).
SETTABLE = ("pipeline_id", "pipeline_name", "kind", "expression", "timezone", "description", "params",
            "max_concurrency", "timeout_seconds", "overlap_policy", "catch_up_policy", "catch_up_window_seconds",
            "misfire_grace_seconds", "config")


@dataclass(frozen=True)
class WaitingTick:
    """A tick that waits for a free slot; released oldest nominal time first."""

    nominal: datetime
    run_id: str
    origin: TickOrigin
    backfill_id: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {"nominal": iso(self.nominal), "run_id": self.run_id, "origin": self.origin,
                "backfill_id": self.backfill_id}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> WaitingTick:
        return cls(parse_iso(doc["nominal"]), doc["run_id"], doc["origin"], doc.get("backfill_id"))


@dataclass(frozen=True)
class Schedule:
    version: int = 0
    exists: bool = False
    deleted: bool = False
    schedule_id: str = ""
    project_id: str = ""
    pipeline_id: str = ""
    pipeline_name: str = ""
    kind: str = "CRON"
    expression: str = ""
    timezone: str = "UTC"
    enabled: bool = False
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    max_concurrency: int = 1
    timeout_seconds: int | None = None
    overlap_policy: str = "skip"
    catch_up_policy: str = "latest"
    catch_up_window_seconds: int | None = None
    misfire_grace_seconds: int = 60
    config: dict[str, Any] = field(default_factory=dict)
    anchor: datetime | None = None
    cursor: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None
    waiting: tuple[WaitingTick, ...] = ()
    recent_fired: tuple[tuple[str, datetime], ...] = ()  # (run_id, fired at), newest last
    fired_count: int = 0
    skipped_count: int = 0
    missed_count: int = 0
    failed_count: int = 0

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted

    @property
    def rule(self) -> ScheduleRule:
        return rule_of(self.kind, self.expression, self.timezone, self.anchor)

    def next_run_at(self) -> datetime | None:
        if not self.live or not self.enabled or self.cursor is None:
            return None
        try:
            return next_after(self.rule, self.cursor)
        except ValueError:
            return None

    def tick(self, nominal: datetime) -> str:
        return tick_id(self.schedule_id, nominal)

    def logical_date(self, nominal: datetime) -> str:
        return logical_date(nominal, self.timezone)


@lru_cache(maxsize=4096)
def rule_of(kind: str, expression: str, timezone: str, anchor: datetime | None) -> ScheduleRule:
    """The validated rule (cached: parsing a CRON expression on every decision adds up)."""
    return ScheduleRule(ScheduleKind(kind), expression, timezone, anchor)


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _settle(state: Schedule, nominal: datetime) -> Schedule:
    return replace(state, cursor=_later(state.cursor, nominal))


def _unwait(state: Schedule, run_id: str) -> tuple[WaitingTick, ...]:
    return tuple(w for w in state.waiting if w.run_id != run_id)


def _with_waiting(state: Schedule, *ticks: WaitingTick) -> tuple[WaitingTick, ...]:
    known = {w.run_id for w in state.waiting}
    fresh = [t for t in ticks if t.run_id not in known]
    return tuple(sorted((*state.waiting, *fresh), key=lambda w: (w.nominal, w.run_id)))


def evolve(state: Schedule, event: Event, env: EventEnvelope) -> Schedule:
    """The state after ``event`` (recorded at ``env.occurred_at``)."""
    state = replace(state, version=env.stream_version)
    at = env.occurred_at
    match event:
        case ScheduleCreated():
            data = event.model_dump(mode="json")
            return replace(
                state, exists=True, deleted=False, schedule_id=event.schedule_id, project_id=event.project_id,
                pipeline_id=event.pipeline_id, pipeline_name=event.pipeline_name, kind=event.kind,
                expression=event.expression, timezone=event.timezone, enabled=event.enabled,
                description=event.description, params=dict(event.params), max_concurrency=event.max_concurrency,
                timeout_seconds=event.timeout_seconds, overlap_policy=event.overlap_policy,
                catch_up_policy=event.catch_up_policy, catch_up_window_seconds=event.catch_up_window_seconds,
                misfire_grace_seconds=event.misfire_grace_seconds, config=data["config"], anchor=event.anchor,
                cursor=event.resume_after, created_at=at, updated_at=at,
            )
        case ScheduleUpdated():
            changes = {k: v for k, v in event.changes.items() if k in SETTABLE}
            state = replace(state, **changes, updated_at=at)
            if event.anchor is not None:
                state = replace(state, anchor=event.anchor)
            if event.resume_after is not None:
                state = _settle(state, event.resume_after)
            return state
        case ScheduleEnabled():
            return replace(_settle(state, event.resume_after), enabled=True, updated_at=at)
        case ScheduleDisabled():
            return replace(state, enabled=False, updated_at=at)
        case ScheduleDeleted():
            return replace(state, deleted=True, enabled=False, waiting=(), updated_at=at)
        case TickFired():
            fired = (*state.recent_fired, (event.run_id, at))[-RECENT_FIRED:]
            state = replace(state, waiting=_unwait(state, event.run_id), recent_fired=fired,
                            last_run_at=_later(state.last_run_at, event.nominal), fired_count=state.fired_count + 1)
            return _settle(state, event.nominal) if event.origin != "backfill" else state
        case TickQueued():
            waiting = _with_waiting(state, WaitingTick(event.nominal, event.run_id, event.origin))
            return _settle(replace(state, waiting=waiting), event.nominal)
        case TickSkipped():
            return _settle(replace(state, skipped_count=state.skipped_count + 1), event.nominal)
        case TicksMissed():
            count = len(event.ticks) + max(event.omitted, 0)
            state = replace(state, missed_count=state.missed_count + count)
            for moment in (event.omitted_to, *(t.nominal for t in event.ticks)):
                if moment is not None:
                    state = _settle(state, moment)
            return state
        case TickFailed():
            fired = tuple(f for f in state.recent_fired if f[0] != event.run_id)
            return replace(state, recent_fired=fired, failed_count=state.failed_count + 1)
        case BackfillRequested():
            ticks = [WaitingTick(n, r, "backfill", event.backfill_id)
                     for n, r in zip(event.nominals, event.run_ids, strict=True)]
            return replace(state, waiting=_with_waiting(state, *ticks))
    return state


def to_doc(state: Schedule) -> dict[str, Any]:
    """The read-model document (and snapshot) of ``state``; ``_id``/``_v`` are added by the projector."""

    def moment(value: datetime | None) -> str | None:
        return iso(value) if value is not None else None

    next_run = state.next_run_at()
    return {
        "id": state.schedule_id, "project_id": state.project_id, "pipeline_id": state.pipeline_id,
        "pipeline_name": state.pipeline_name, "kind": state.kind, "expression": state.expression,
        "timezone": state.timezone, "enabled": state.enabled, "description": state.description,
        "params": state.params, "max_concurrency": state.max_concurrency, "timeout_seconds": state.timeout_seconds,
        "overlap_policy": state.overlap_policy, "catch_up_policy": state.catch_up_policy,
        "catch_up_window_seconds": state.catch_up_window_seconds,
        "misfire_grace_seconds": state.misfire_grace_seconds, "config": state.config,
        "created_at": moment(state.created_at), "updated_at": moment(state.updated_at),
        "next_run_at": moment(next_run), "last_run_at": moment(state.last_run_at),
        "waiting_count": len(state.waiting),
        "tick_counts": {"fired": state.fired_count, "skipped": state.skipped_count, "missed": state.missed_count,
                        "failed": state.failed_count},
        "deleted": state.deleted,
        "anchor": moment(state.anchor), "cursor": moment(state.cursor),
        "waiting": [w.to_doc() for w in state.waiting],
        "recent_fired": [[run_id, iso(at)] for run_id, at in state.recent_fired],
    }


def from_doc(doc: dict[str, Any]) -> Schedule:
    """The state a read-model document was built from (at version ``doc['_v']``)."""

    def moment(value: str | None) -> datetime | None:
        return parse_iso(value) if value else None

    counts = doc.get("tick_counts", {})
    return Schedule(
        version=int(doc["_v"]), exists=True, deleted=bool(doc.get("deleted")), schedule_id=doc["id"],
        project_id=doc["project_id"], pipeline_id=doc["pipeline_id"], pipeline_name=doc["pipeline_name"],
        kind=doc["kind"], expression=doc["expression"], timezone=doc["timezone"], enabled=doc["enabled"],
        description=doc.get("description", ""), params=dict(doc.get("params") or {}),
        max_concurrency=doc["max_concurrency"], timeout_seconds=doc.get("timeout_seconds"),
        overlap_policy=doc["overlap_policy"], catch_up_policy=doc["catch_up_policy"],
        catch_up_window_seconds=doc.get("catch_up_window_seconds"),
        misfire_grace_seconds=doc["misfire_grace_seconds"], config=dict(doc.get("config") or {}),
        anchor=moment(doc.get("anchor")), cursor=moment(doc.get("cursor")), created_at=moment(doc.get("created_at")),
        updated_at=moment(doc.get("updated_at")), last_run_at=moment(doc.get("last_run_at")),
        waiting=tuple(WaitingTick.from_doc(w) for w in doc.get("waiting", [])),
        recent_fired=tuple((r, parse_iso(at)) for r, at in doc.get("recent_fired", [])),
        fired_count=counts.get("fired", 0), skipped_count=counts.get("skipped", 0),
        missed_count=counts.get("missed", 0), failed_count=counts.get("failed", 0),
    )


def fold(envelopes: Iterable[EventEnvelope], start: Schedule | None = None) -> Schedule:
    """Fold a stream's events (after ``start``'s version) onto ``start`` (default: nothing yet)."""
    state = start or Schedule()
    for env in envelopes:
        payload = REGISTRY.decode(env.type, env.schema_version, env.data)
        assert isinstance(payload, Event)
        state = evolve(state, payload, env)
    return state
