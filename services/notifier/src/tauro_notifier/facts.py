"""What the notifier knows, learnt from the public event topics like any outside consumer.

``FactsConsumer`` reads ``tauro.events.runs.v1``, ``tauro.events.schedules.v1`` and
``tauro.events.logs.v1`` in its own consumer group (``tauro-notifier``), decodes each
message as the published ``EventEnvelope`` and its payload schema (``tauro_contracts``),
and keeps, per run, schedule and run log, one document of the facts it needs:

- ``notifier_runs``: project, pipeline, schedule, the run's and its pipeline version's
  notification settings (from ``RunCreated``), start, the last failed task and its error,
  and the final state; ``pending`` once the run ended and its notifications are not decided;
- ``notifier_schedules``: each schedule's ``config.notifications``;
- ``notifier_logs``: the last lines of each run's log.

Delivery is at least once and, after a crash, a republished event may arrive late or twice:
each document lists the ``event_id`` s it has applied (the latest ``SEEN_CAP``) and is written
conditionally on its revision, so an event is applied once, whatever the order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError
from tauro_contracts import topics
from tauro_contracts.base import Payload
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels.states import RunState
from tauro_contracts.registry import REGISTRY, UnknownType
from tauro_contracts.runs import (
    RunCancelled,
    RunCreated,
    RunFailed,
    RunStarted,
    RunSucceeded,
    RunTimedOut,
    TaskFailed,
    TaskLogged,
)
from tauro_contracts.schedules import ScheduleCreated, ScheduleDeleted, ScheduleUpdated
from tauro_platform.bus.port import Bus, Message, Subscription
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.timeutil import iso

log = logging.getLogger("tauro.notifier.facts")

RUNS = "notifier_runs"
SCHEDULES = "notifier_schedules"
LOGS = "notifier_logs"
GROUP = "tauro-notifier"
TOPICS = (topics.EVENTS_RUNS, topics.EVENTS_SCHEDULES, topics.EVENTS_LOGS)
SEEN_CAP = 2000
LOG_LINES_KEPT = 200
TERMINAL = {RunSucceeded.type_name: RunState.SUCCESS, RunFailed.type_name: RunState.FAILED,
            RunCancelled.type_name: RunState.CANCELLED, RunTimedOut.type_name: RunState.TIMED_OUT}
WANTED = frozenset({RunCreated.type_name, RunStarted.type_name, TaskFailed.type_name, TaskLogged.type_name,
                    ScheduleCreated.type_name, ScheduleUpdated.type_name, ScheduleDeleted.type_name, *TERMINAL})

Change = Callable[[Doc], Doc | None]


async def update(store: ReadStore, collection: str, doc_id: str, event_id: str | None, change: Change) -> bool:
    """Apply ``change`` to the document once for ``event_id`` (None: no deduplication), with a
    conditional write on its revision ``_v``; retried when another writer got there first.
    Returns False when ``change`` left the document as it was (or the event was seen)."""
    for _ in range(100):
        doc = await store.get(collection, doc_id)
        seen: list[str] = list(doc.get("seen", [])) if doc else []
        if event_id is not None and event_id in seen:
            return False
        new = change(dict(doc) if doc else {})
        if new is None:
            return False
        if event_id is not None:
            new["seen"] = [*seen, event_id][-SEEN_CAP:]
        new["_id"], new["_v"] = doc_id, (doc["_v"] + 1 if doc else 1)
        if await store.put_versioned(collection, new, doc["_v"] if doc else None):
            return True
    raise RuntimeError(f"could not update {collection}/{doc_id}: too many concurrent writers")


def _iso(moment: datetime) -> str:
    return iso(moment)


def run_change(envelope: EventEnvelope, payload: Payload, now: datetime) -> Change:
    """How one run event changes the run's facts document (pure)."""

    def change(doc: Doc) -> Doc | None:
        match payload:
            case RunCreated():
                settings = payload.spec.config.notifications
                doc.update(
                    created=True, project_id=payload.project_id, pipeline_id=payload.pipeline_id,
                    pipeline_name=payload.pipeline_name, schedule_id=payload.schedule_id,
                    logical_date=payload.logical_date, params=payload.params,
                    run_notifications=payload.notifications.model_dump(mode="json") if payload.notifications else None,
                    pipeline_notifications=settings.model_dump(mode="json") if settings else None,
                    created_at=_iso(envelope.occurred_at),
                )
            case RunStarted():
                doc["started_at"] = _iso(envelope.occurred_at)
            case TaskFailed():
                if not payload.will_retry:
                    doc["last_failure"] = {"node": payload.node_id, "error": payload.error,
                                           "status": payload.status}
            case RunFailed() | RunSucceeded() | RunCancelled() | RunTimedOut():
                if doc.get("state"):
                    return None  # a run ends once
                doc.update(state=TERMINAL[payload.type_name], finished_at=_iso(envelope.occurred_at),
                           observed_at=_iso(now), pending=not doc.get("decided", False))
                if isinstance(payload, RunFailed):
                    doc.update(error=payload.error, failed_node=payload.failed_node)
                elif isinstance(payload, RunCancelled):
                    doc["reason"] = payload.reason
                elif isinstance(payload, RunTimedOut):
                    doc["reason"] = f"the run did not finish within {payload.timeout_seconds} s"
            case _:
                return None
        return doc

    return change


def schedule_change(payload: Payload) -> Change:
    def change(doc: Doc) -> Doc | None:
        match payload:
            case ScheduleCreated():
                doc.update(project_id=payload.project_id, pipeline_id=payload.pipeline_id, deleted=False,
                           notifications=payload.config.notifications.model_dump(mode="json"))
            case ScheduleUpdated():
                config = payload.changes.get("config")
                if not isinstance(config, dict):
                    return None
                doc["notifications"] = config.get("notifications")
            case ScheduleDeleted():
                doc["deleted"] = True
            case _:
                return None
        return doc

    return change


def logs_change(payload: TaskLogged) -> Change:
    def change(doc: Doc) -> Doc | None:
        lines = list(doc.get("lines", []))
        lines += [{"node": line.node_id, "level": line.level, "message": line.message} for line in payload.lines]
        doc["lines"] = lines[-LOG_LINES_KEPT:]
        return doc

    return change


class FactsConsumer:
    """The notifier's consumer of the public event topics."""

    def __init__(self, bus: Bus, read_store: ReadStore, partitions: int, on_run_ended: Callable[[], None],
                 group_id: str = GROUP) -> None:
        self.group_id = group_id
        self._bus = bus
        self._store = read_store
        self._partitions = partitions
        self._on_run_ended = on_run_ended
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        await self._bus.ensure_topics(list(TOPICS), self._partitions)
        self._subscription = await self._bus.subscribe_batches(list(TOPICS), self.on_batch, group_id=self.group_id,
                                                               max_records=200)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def on_batch(self, messages: list[Message]) -> None:
        for message in messages:
            await self.on_message(message)

    async def on_message(self, message: Message) -> None:
        kind = message.headers.get("tauro-type")
        if kind is not None and kind not in WANTED:
            return
        try:
            envelope = EventEnvelope.model_validate_json(message.value)
            if envelope.type not in WANTED:
                return
            payload = REGISTRY.decode(envelope.type, envelope.schema_version, envelope.data)
        except (ValidationError, UnknownType, ValueError) as exc:
            log.warning("skipping an event the notifier cannot read",
                        extra={"topic": message.topic, "offset": message.offset, "error": str(exc)[:300]})
            return
        await self.apply(envelope, payload)

    async def apply(self, envelope: EventEnvelope, payload: Payload) -> None:
        now = datetime.now(UTC)
        if isinstance(payload, TaskLogged):
            await update(self._store, LOGS, payload.run_id, envelope.event_id, logs_change(payload))
        elif isinstance(payload, ScheduleCreated | ScheduleUpdated | ScheduleDeleted):
            if await update(self._store, SCHEDULES, payload.schedule_id, envelope.event_id, schedule_change(payload)):
                self._on_run_ended()  # runs waiting for their schedule's settings may be decided now
        else:
            run_id = envelope.data.get("run_id")
            if not isinstance(run_id, str):
                return
            changed = await update(self._store, RUNS, run_id, envelope.event_id, run_change(envelope, payload, now))
            if changed and envelope.type in TERMINAL:
                self._on_run_ended()
