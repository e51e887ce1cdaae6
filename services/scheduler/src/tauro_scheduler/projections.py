"""Read models of the scheduler.

- ``schedules``: one document per schedule, ``state.to_doc`` of its folded stream — every
  spec field, ``next_run_at``, ``last_run_at``, the waiting ticks and tick counts. It is
  also the snapshot ``ScheduleStates`` starts from.
- ``schedule_ticks``: one document per tick that got an outcome (id = tick id): fired,
  waiting, skipped, missed or failed, with its reason and its run. ``RunCreated`` of a
  scheduled run marks its tick ``run_created``, which is how a restarted scheduler finds
  fired ticks whose run was never created. A tick's document changes as it moves on
  (missed, then backfilled: waiting, then fired); each change is applied once, in log
  order, by comparing global positions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels import TickOrigin, TickStatus, collections
from tauro_contracts.runs import RunCreated
from tauro_contracts.schedules import (
    BackfillRequested,
    TickFailed,
    TickFired,
    TickQueued,
    TickSkipped,
    TicksMissed,
)
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.runtime.projector import Projection, StreamDocProjection
from tauro_platform.timeutil import iso, parse_iso

from tauro_scheduler.domain.ticks import logical_date as render_logical_date
from tauro_scheduler.domain.ticks import tick_id
from tauro_scheduler.state import SCHEDULE_EVENTS, Schedule, evolve, from_doc, to_doc

SCHEDULES = collections.SCHEDULES
TICKS = collections.SCHEDULE_TICKS
Change = Callable[[Doc], Doc]


def evolve_schedule_doc(doc: Doc | None, event: Any, env: EventEnvelope) -> Doc | None:
    state = from_doc(doc) if doc is not None else Schedule()
    return to_doc(evolve(state, event, env))


class ScheduleProjection(StreamDocProjection):
    """``schedules``: one document per schedule stream. A batch folds each stream's events
    into its state and renders the document once (one read and one write per batch)."""

    def __init__(self) -> None:
        super().__init__(SCHEDULES, SCHEDULE_EVENTS, evolve_schedule_doc)

    def _fold(self, doc: Doc | None, stream_id: str, events: list[tuple[EventEnvelope, Event]]) -> Doc | None:
        fresh = [(e, p) for e, p in events if doc is None or e.stream_version > doc["_v"]]
        if not fresh:
            return doc
        state = from_doc(doc) if doc is not None else Schedule()
        for event, payload in fresh:
            state = evolve(state, payload, event)
        return {**to_doc(state), "_id": stream_id, "_v": state.version}


class TickProjection:
    """One document per tick; see the module docstring. A batch reads every tick document it
    touches at once, applies their changes in log order and writes them at once."""

    types = frozenset({TickFired.type_name, TickQueued.type_name, TickSkipped.type_name, TicksMissed.type_name,
                       TickFailed.type_name, BackfillRequested.type_name, RunCreated.type_name})
    collections: tuple[str, ...] = (TICKS,)

    async def apply(self, event: EventEnvelope, payload: Event, store: ReadStore) -> None:
        await self.apply_batch([(event, payload)], store)

    async def apply_batch(self, items: list[tuple[EventEnvelope, Event]], store: ReadStore) -> None:
        pending: dict[str, list[tuple[int, Doc | None, Change]]] = {}
        for event, payload in items:
            position = event.global_position or 0
            for doc_id, base, change in self._changes(payload, iso(event.occurred_at)):
                pending.setdefault(doc_id, []).append((position, base, change))
        if not pending:
            return
        found, _ = await store.find(TICKS, {"_id": {"$in": list(pending)}})
        current = {doc["_id"]: doc for doc in found}
        writes: list[tuple[Doc, int | None]] = []
        for doc_id, changes in pending.items():
            doc = current.get(doc_id)
            new = _compose(doc_id, doc, changes)
            if new is not doc and new is not None:
                writes.append((new, doc["_v"] if doc is not None else None))
        results = await store.put_many_versioned(TICKS, writes)
        for (new, _), written in zip(writes, results, strict=True):
            if not written:  # another writer got there first: redo this one alone
                await _apply_alone(store, new["_id"], pending[new["_id"]])

    @staticmethod
    def _changes(payload: Event, at: str) -> list[tuple[str, Doc | None, Change]]:
        match payload:
            case TickFired():
                launch = {"project_id": payload.project_id, "pipeline_id": payload.pipeline_id,
                          "params": payload.params, "timeout_seconds": payload.timeout_seconds,
                          "cancel_run_ids": payload.cancel_run_ids, "max_concurrency": payload.max_concurrency}
                fields = {"status": TickStatus.FIRED.value, "origin": payload.origin, "run_id": payload.run_id,
                          "fired_at": at,
                          "logical_date": payload.logical_date,
                          "reason": None, "message": None, "error": None, "backfill_id": payload.backfill_id,
                          "launch": launch, "cancelled_run_ids": payload.cancel_run_ids}
                base = _base(payload.schedule_id, payload.tick_id, iso(payload.nominal), payload.logical_date, at)
                return [(payload.tick_id, base, _set(fields, run_created=False))]
            case TickQueued():
                fields = {"status": TickStatus.WAITING.value, "origin": payload.origin, "run_id": payload.run_id,
                          "reason": payload.reason, "message": payload.message, "queued_at": at}
                base = _base(payload.schedule_id, payload.tick_id, iso(payload.nominal), None, at)
                return [(payload.tick_id, base, _set(fields))]
            case TickSkipped():
                fields = {"status": TickStatus.SKIPPED.value, "reason": payload.reason, "message": payload.message}
                base = _base(payload.schedule_id, payload.tick_id, iso(payload.nominal), None, at)
                return [(payload.tick_id, base, _set(fields))]
            case TicksMissed():
                changes: list[tuple[str, Doc | None, Change]] = []
                for tick in payload.ticks:
                    fields = {"status": TickStatus.MISSED.value, "reason": tick.reason, "message": tick.message}
                    base = _base(payload.schedule_id, tick.tick_id, iso(tick.nominal), None, at)
                    changes.append((tick.tick_id, base, _set(fields)))
                if payload.omitted_from is not None and payload.omitted_to is not None:
                    gap_id = f"gap_{payload.schedule_id}_{iso(payload.omitted_from)}"
                    count = "an uncounted number of" if payload.omitted < 0 else str(payload.omitted)
                    message = (f"{count} ticks from {iso(payload.omitted_from)} to {iso(payload.omitted_to)} passed "
                               "while no scheduler ran; too many to decide one by one, none fired")
                    gap: Doc = {"status": TickStatus.MISSED.value, "reason": "catch_up_limit", "message": message,
                                "range_from": iso(payload.omitted_from), "range_to": iso(payload.omitted_to),
                                "count": payload.omitted}
                    base = _base(payload.schedule_id, gap_id, iso(payload.omitted_to), None, at)
                    changes.append((gap_id, base, _set(gap)))
                return changes
            case TickFailed():
                fields = {"status": TickStatus.FAILED.value, "error": payload.error,
                          "reason": "run_rejected", "message": str(payload.error.get("message", ""))}
                return [(payload.tick_id, None, _set(fields))]
            case BackfillRequested():
                changes = []
                for nominal, run_id in zip(payload.nominals, payload.run_ids, strict=True):
                    ident = tick_id(payload.schedule_id, nominal)
                    fields = {"status": TickStatus.WAITING.value, "origin": TickOrigin.BACKFILL.value, "run_id": run_id,
                              "reason": "backfill",
                              "message": f"backfill {payload.backfill_id}: waiting for a free slot",
                              "backfill_id": payload.backfill_id, "queued_at": at}
                    base = _base(payload.schedule_id, ident, iso(nominal), None, at)
                    changes.append((ident, base, _set(fields)))
                return changes
            case RunCreated() if payload.schedule_id and payload.logical_date:
                try:
                    nominal = parse_iso(payload.logical_date)
                except ValueError:
                    return []
                return [(tick_id(payload.schedule_id, nominal), None, _set({}, run_created=True))]
        return []


def _base(schedule_id: str, ident: str, nominal: str, logical: str | None, at: str) -> Doc:
    return {"id": ident, "schedule_id": schedule_id, "nominal_time": nominal,
            "logical_date": logical or render_logical_date(parse_iso(nominal)), "recorded_at": at,
            "status": None, "origin": TickOrigin.SCHEDULE.value, "reason": None, "message": None, "run_id": None,
            "run_created": False}


def _compose(doc_id: str, doc: Doc | None, changes: list[tuple[int, Doc | None, Change]]) -> Doc | None:
    """The document after the changes newer than it, in order (``None``: nothing to write).
    A change with a ``base`` creates the document if absent; one without only updates."""
    new = doc
    for position, base, change in changes:
        if new is not None and new["_v"] >= position:
            continue
        if new is None and base is None:
            continue
        new = {**change(new if new is not None else base or {}), "_id": doc_id, "_v": position}
    return new


async def _apply_alone(store: ReadStore, doc_id: str, changes: list[tuple[int, Doc | None, Change]]) -> None:
    for _ in range(20):
        doc = await store.get(TICKS, doc_id)
        new = _compose(doc_id, doc, changes)
        if new is doc or new is None:
            return
        if await store.put_versioned(TICKS, new, doc["_v"] if doc is not None else None):
            return
    raise RuntimeError(f"could not apply events to {TICKS}/{doc_id}")


def _set(fields: Doc, **extra: Any) -> Change:
    def change(doc: Doc) -> Doc:
        return {**doc, **fields, **extra}

    return change


def projections() -> list[Projection]:
    return [ScheduleProjection(), TickProjection()]
