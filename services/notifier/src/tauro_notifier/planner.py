"""Deciding, once per run outcome, which notifications to send.

The ``Planner`` takes the runs whose end the facts consumer saw (``pending``), resolves
their settings (run > schedule > pipeline, ``domain.settings``) and records one
``NotificationRequested`` per recipient on ``notifications:<run_id>``, appended at expected
version 0: whichever notifier replica gets there first decides, and a decision is never
made twice (a redelivered terminal event finds the run already decided).

A run is decided when its facts are complete: its ``RunCreated`` seen, and its schedule's
settings when it has a schedule (the topics are consumed independently, so these may come
a little after the end). After ``FACTS_WAIT_SECONDS`` without them it is decided with what
is known. Runs that ended more than ``NOTIFY_MAX_AGE_SECONDS`` before the notifier saw them
(a new notifier reading old history) are not notified.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.notifications import NotificationRequested, notification_stream
from tauro_platform.eventstore.port import ConcurrencyError, EventStore, StreamWrite
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.settings import Settings
from tauro_platform.timeutil import parse_iso

from tauro_notifier.domain.settings import deliveries, resolve, settings_of
from tauro_notifier.facts import RUNS, SCHEDULES, update

log = logging.getLogger("tauro.notifier.planner")
SETTLE_SECONDS = 0.5
FACTS_WAIT_SECONDS = 30.0


def envelopes(stream_id: str, after_version: int, payloads: Sequence[Event], actor: str,
              correlation_id: str | None, now: datetime) -> list[EventEnvelope]:
    return [
        EventEnvelope(event_id=str(uuid.uuid4()), stream_id=stream_id, stream_version=after_version + i,
                      type=p.type_name, schema_version=p.schema_version, occurred_at=now,
                      correlation_id=correlation_id, actor=actor, data=p.to_data())
        for i, p in enumerate(payloads, start=1)
    ]


async def append(store: EventStore, relay: OutboxRelay, stream_id: str, expected_version: int,
                 payloads: Sequence[Event], actor: str, correlation_id: str | None = None) -> list[EventEnvelope]:
    """Append at the expected version (``ConcurrencyError`` when someone else did first) and publish."""
    now = datetime.now(UTC)
    write = StreamWrite(stream_id, expected_version,
                        envelopes(stream_id, expected_version, payloads, actor, correlation_id, now))
    appended = await store.append([write])
    try:
        await relay.publish(appended)
    except Exception:  # the outbox sweeper publishes it later
        log.warning("publishing notification events failed; the sweeper will", exc_info=True)
    return appended


class Planner:
    def __init__(self, store: EventStore, relay: OutboxRelay, read_store: ReadStore, settings: Settings,
                 actor: str, on_requested: Callable[[], None]) -> None:
        self._store = store
        self._relay = relay
        self._read = read_store
        self._actor = actor
        self._on_requested = on_requested
        self._give_up = timedelta(seconds=settings.notify_give_up_seconds)
        self._max_age = settings.notify_max_age_seconds
        self._wake = asyncio.Event()

    def poke(self) -> None:
        self._wake.set()

    async def run(self, interval: float = 1.0) -> None:
        while True:
            self._wake.clear()
            try:
                await self.plan_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("planning notifications failed; retrying")
            try:
                async with asyncio.timeout(interval):
                    await self._wake.wait()
                await asyncio.sleep(SETTLE_SECONDS)
            except TimeoutError:
                pass

    async def plan_once(self) -> int:
        docs, _ = await self._read.find(RUNS, {"pending": True}, [("observed_at", 1)], 0, 200)
        decided = 0
        now = datetime.now(UTC)
        for doc in docs:
            if await self._plan(doc, now):
                decided += 1
        return decided

    async def _plan(self, doc: Doc, now: datetime) -> bool:
        run_id = doc["_id"]
        waited = (now - parse_iso(doc["observed_at"])).total_seconds()
        if waited < SETTLE_SECONDS:
            return False
        if not doc.get("created"):
            if waited < FACTS_WAIT_SECONDS:
                return False
            log.warning("run ended but its RunCreated was never seen: not notified", extra={"run_id": run_id})
            return await self._settle(run_id, "facts_missing")
        schedule: dict[str, Any] | None = None
        if doc.get("schedule_id"):
            schedule = await self._read.get(SCHEDULES, doc["schedule_id"])
            if schedule is None and waited < FACTS_WAIT_SECONDS:
                return False
        if (now - parse_iso(doc["finished_at"])).total_seconds() > self._max_age:
            return await self._settle(run_id, "too_old")
        resolved = resolve(settings_of(doc.get("run_notifications")),
                           settings_of(schedule.get("notifications") if schedule else None),
                           settings_of(doc.get("pipeline_notifications")))
        found = deliveries(run_id, doc["state"], resolved)
        if found:
            requests = [NotificationRequested(
                run_id=run_id, delivery_id=d.delivery_id, channel=d.channel,
                recipient=d.recipient, run_state=doc["state"], project_id=doc["project_id"],
                pipeline_id=doc["pipeline_id"], schedule_id=doc.get("schedule_id"), source=d.source,
                give_up_at=now + self._give_up) for d in found]
            try:
                await append(self._store, self._relay, notification_stream(run_id), 0, requests, self._actor,
                             correlation_id=run_id)
            except ConcurrencyError:
                pass  # another replica decided this run first
            self._on_requested()
            log.info("notifications requested", extra={"run_id": run_id, "count": len(found)})
        return await self._settle(run_id, "requested" if found else "nothing_to_send")

    async def _settle(self, run_id: str, outcome: str) -> bool:
        def change(doc: Doc) -> Doc | None:
            if not doc.get("pending"):
                return None
            return {**doc, "pending": False, "decided": True, "decision": outcome}

        return await update(self._read, RUNS, run_id, None, change)
