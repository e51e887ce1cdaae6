"""Command handlers of the scheduler: load the schedule, check, decide, return the writes.

Every command on an existing schedule first brings it up to the command's instant
(``decide.advance``), so ticks that came due a moment before an update, a disable or a
backfill are settled under the rule they belong to, exactly once. Each write carries
the version the schedule's stream was read at: a replica that decided concurrently
loses the append and decides again on the new state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tauro_contracts.base import Command, Event
from tauro_contracts.errors import conflict, not_found
from tauro_contracts.readmodels import BackfillRunStatus
from tauro_contracts.schedules import (
    BackfillSchedule,
    CreateSchedule,
    DeleteSchedule,
    DisableSchedule,
    EnableSchedule,
    FireTicks,
    RecordTickFailure,
    ScheduleCreated,
    ScheduleDeleted,
    ScheduleDisabled,
    ScheduleEnabled,
    ScheduleUpdated,
    TickFailed,
    TickFired,
    UpdateSchedule,
)
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.commands import CommandHandler
from tauro_platform.runtime.decision import CommandContext, Decision, PendingWrite
from tauro_platform.timeutil import iso

from tauro_scheduler import decide
from tauro_scheduler.catalog import check_project, resolve_pipeline
from tauro_scheduler.domain import ScheduleRule, logical_date, run_id_for_tick, validate_schedule
from tauro_scheduler.domain.errors import ScheduleValidationError
from tauro_scheduler.loading import LaunchBook, ScheduleStates, active_runs, existing_runs
from tauro_scheduler.state import Schedule

TIMING = ("kind", "expression", "timezone")
log = logging.getLogger("tauro.scheduler")


def _anchor(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(microsecond=0)


def _validate(kind: str, expression: str, timezone: str) -> None:
    errors = validate_schedule(kind, expression, timezone)
    if errors:
        raise ScheduleValidationError(errors)


class SchedulerHandlers:
    def __init__(self, states: ScheduleStates, read_store: ReadStore, default_timezone: str = "UTC",
                 book: LaunchBook | None = None) -> None:
        self._states = states
        self._read = read_store
        self._default_timezone = default_timezone
        self.book = book

    def table(self) -> dict[str, CommandHandler]:
        return {
            CreateSchedule.type_name: self.create,
            UpdateSchedule.type_name: self.update,
            DeleteSchedule.type_name: self.delete,
            EnableSchedule.type_name: self.enable,
            DisableSchedule.type_name: self.disable,
            BackfillSchedule.type_name: self.backfill,
            FireTicks.type_name: self.fire_ticks,
            RecordTickFailure.type_name: self.record_failure,
        }

    async def _live(self, schedule_id: str) -> Schedule:
        state = await self._states.load(schedule_id)
        if not state.live:
            raise not_found("schedule", schedule_id)
        return state

    async def _advance(self, state: Schedule, now: datetime) -> list[Event]:
        active = await active_runs(self._read, [state], now, self.book)
        return decide.advance(state, now, active[state.schedule_id])

    async def create(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CreateSchedule)
        state = await self._states.load(cmd.schedule_id)
        if state.exists:
            raise conflict(f"schedule '{cmd.schedule_id}' already exists", field="id")
        timezone = cmd.timezone or self._default_timezone
        _validate(cmd.kind, cmd.expression, timezone)
        await check_project(self._read, cmd.project_id)
        pipeline = await resolve_pipeline(self._read, cmd.project_id, cmd.pipeline_id)
        rule = ScheduleRule(cmd.kind, cmd.expression, timezone, _anchor(ctx.now))
        data = cmd.model_dump(exclude={"schedule_id", "project_id", "pipeline_id", "kind", "expression", "timezone"})
        created = ScheduleCreated(
            schedule_id=cmd.schedule_id, project_id=cmd.project_id, pipeline_id=pipeline["_id"],
            pipeline_name=pipeline["name"], kind=str(rule.kind), expression=rule.expression, timezone=timezone,
            anchor=_anchor(ctx.now), resume_after=ctx.now, **data,
        )
        return Decision.of(cmd.schedule_id, 0, created, id=cmd.schedule_id)

    async def _changes(self, cmd: UpdateSchedule, state: Schedule) -> dict[str, Any]:
        given = cmd.model_dump(exclude_none=True, exclude={"schedule_id", "enabled"}, mode="json")
        current = {"pipeline_id": state.pipeline_id, "kind": state.kind, "expression": state.expression,
                   "timezone": state.timezone, "description": state.description, "params": state.params,
                   "max_concurrency": state.max_concurrency, "timeout_seconds": state.timeout_seconds,
                   "overlap_policy": state.overlap_policy, "catch_up_policy": state.catch_up_policy,
                   "catch_up_window_seconds": state.catch_up_window_seconds,
                   "misfire_grace_seconds": state.misfire_grace_seconds, "config": state.config}
        if "kind" in given:
            given["kind"] = str(given["kind"]).strip().upper()
        if "expression" in given:
            given["expression"] = str(given["expression"]).strip()
        changes = {k: v for k, v in given.items() if current.get(k) != v}
        if any(k in changes for k in TIMING):
            _validate(changes.get("kind", state.kind), changes.get("expression", state.expression),
                      changes.get("timezone", state.timezone))
        if "pipeline_id" in changes:
            pipeline = await resolve_pipeline(self._read, state.project_id, changes["pipeline_id"])
            if pipeline["_id"] == state.pipeline_id:
                del changes["pipeline_id"]
            else:
                changes.update(pipeline_id=pipeline["_id"], pipeline_name=pipeline["name"])
        return changes

    async def update(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, UpdateSchedule)
        state = await self._live(cmd.schedule_id)
        changes = await self._changes(cmd, state)
        events = await self._advance(state, ctx.now)
        if changes:
            timing = any(k in changes for k in TIMING)
            events.append(ScheduleUpdated(
                schedule_id=state.schedule_id, changes=changes,
                anchor=_anchor(ctx.now) if timing else None, resume_after=ctx.now if timing else None,
            ))
        if cmd.enabled is True and not state.enabled:
            events.append(ScheduleEnabled(schedule_id=state.schedule_id, resume_after=ctx.now))
        elif cmd.enabled is False and state.enabled:
            events.append(ScheduleDisabled(schedule_id=state.schedule_id))
        return self._decision(state, events, fields=sorted(changes))

    async def delete(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, DeleteSchedule)
        state = await self._live(cmd.schedule_id)
        deleted = ScheduleDeleted(schedule_id=state.schedule_id, dropped_waiting=len(state.waiting))
        return Decision.of(state.schedule_id, state.version, deleted, id=state.schedule_id)

    async def enable(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, EnableSchedule)
        state = await self._live(cmd.schedule_id)
        if state.enabled:
            return Decision(result={"id": state.schedule_id, "changed": False})
        enabled = ScheduleEnabled(schedule_id=state.schedule_id, resume_after=ctx.now)
        return Decision.of(state.schedule_id, state.version, enabled, id=state.schedule_id, changed=True)

    async def disable(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, DisableSchedule)
        state = await self._live(cmd.schedule_id)
        if not state.enabled:
            return Decision(result={"id": state.schedule_id, "changed": False})
        events = [*await self._advance(state, ctx.now), ScheduleDisabled(schedule_id=state.schedule_id)]
        return self._decision(state, events)

    async def backfill(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, BackfillSchedule)
        state = await self._live(cmd.schedule_id)
        nominals = decide.plan(state, ctx.now, cmd.count, cmd.start, cmd.end)
        run_ids = [run_id_for_tick(state.schedule_id, n) for n in nominals]
        existing = await existing_runs(self._read, run_ids)
        pending = {run_id_for_tick(state.schedule_id, n) for n in decide.backfill_pending(state, nominals, existing)}
        waiting = {w.run_id for w in state.waiting}
        new = BackfillRunStatus.WOULD_CREATE if cmd.dry_run else BackfillRunStatus.QUEUED
        items = [
            {"nominal_time": iso(n), "logical_date": logical_date(n, state.timezone), "run_id": r,
             "status": new if r in pending else BackfillRunStatus.WAITING if r in waiting
             else BackfillRunStatus.EXISTS}
            for n, r in zip(nominals, run_ids, strict=True)
        ]
        created = sum(1 for i in items if i["status"] == new)
        result: dict[str, Any] = {
            "id": state.schedule_id, "schedule_id": state.schedule_id, "backfill_id": cmd.backfill_id,
            "dry_run": cmd.dry_run, "nominal_times": [i["nominal_time"] for i in items], "runs": items,
            "total": len(items), "queued": 0 if cmd.dry_run else created,
        }
        if cmd.dry_run:
            result["would_create"] = created
        if cmd.dry_run:
            return Decision(result=result)
        events = await self._advance(state, ctx.now)
        events += decide.backfill(state, cmd.backfill_id, nominals, existing)
        return self._decision(state, events, **result)

    async def fire_ticks(self, cmd: Command, ctx: CommandContext) -> Decision:
        """Bring every listed schedule up to now, in one atomic append of all their streams."""
        assert isinstance(cmd, FireTicks)
        loaded = await asyncio.gather(*(self._states.load(sid) for sid in dict.fromkeys(cmd.schedule_ids)))
        writes = await self.decide_ticks(loaded, ctx.now)
        fired = sum(1 for w in writes for e in w.events if isinstance(e, TickFired))
        return Decision(tuple(writes), {"schedules": len(writes), "fired": fired})

    async def decide_ticks(self, states: Sequence[Schedule], now: datetime) -> list[PendingWrite]:
        """The writes that bring ``states`` up to ``now``, each at the version it was read at."""
        live = [s for s in states if s.live]
        active = await active_runs(self._read, live, now, self.book)
        writes = []
        for state in live:
            try:
                events = decide.advance(state, now, active[state.schedule_id])
            except Exception:  # one broken schedule must not stop the others
                log.exception("cannot decide the ticks of a schedule", extra={"schedule_id": state.schedule_id})
                continue
            if events:
                writes.append(PendingWrite(state.schedule_id, state.version, tuple(events)))
        return writes

    async def record_failure(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, RecordTickFailure)
        state = await self._states.load(cmd.schedule_id)
        if not state.exists:
            raise not_found("schedule", cmd.schedule_id)
        failed = TickFailed(schedule_id=cmd.schedule_id, tick_id=cmd.tick_id, nominal=cmd.nominal,
                            run_id=cmd.run_id, error=cmd.error)
        return Decision.of(cmd.schedule_id, state.version, failed, id=cmd.schedule_id)

    @staticmethod
    def _decision(state: Schedule, events: list[Event], **result: Any) -> Decision:
        result = {"id": state.schedule_id, **result}
        if not events:
            return Decision(result={**result, "changed": False})
        return Decision.of(state.schedule_id, state.version, *events, **result, changed=True)
