"""The ``notifications`` read model: one document per delivery, built from its events.

Documents carry ``_v``, the version of the run's ``notifications:<run_id>`` stream they
reflect (the stream holds every delivery of the run), and are written conditionally on it,
so re-applying an event changes nothing and a rebuild gives the same documents. ``due_at``
says when the delivery may next be claimed (the notifier's work queue); it is null once
the delivery is over.
"""

from __future__ import annotations

from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.notifications import (
    NOTIFICATIONS,
    NotificationAttemptFailed,
    NotificationAttemptStarted,
    NotificationGaveUp,
    NotificationRequested,
    NotificationSent,
)
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.timeutil import iso

TYPES = frozenset(c.type_name for c in (NotificationRequested, NotificationAttemptStarted, NotificationSent,
                                        NotificationAttemptFailed, NotificationGaveUp))


def _history(doc: Doc, attempt: int, **changes: Any) -> list[dict[str, Any]]:
    history = [dict(h) for h in doc.get("history", [])]
    for entry in history:
        if entry["attempt"] == attempt:
            entry.update(changes)
            return history
    return [*history, {"attempt": attempt, **changes}]


def evolve(doc: Doc | None, payload: Event, envelope: EventEnvelope) -> Doc | None:
    """The delivery document after one event (pure)."""
    at = iso(envelope.occurred_at)
    if isinstance(payload, NotificationRequested):
        if doc is not None:
            return None
        return {
            "id": payload.delivery_id, "run_id": payload.run_id, "project_id": payload.project_id,
            "pipeline_id": payload.pipeline_id, "schedule_id": payload.schedule_id, "run_state": payload.run_state,
            "channel": payload.channel, "recipient": payload.recipient, "source": payload.source,
            "status": "pending", "attempts": 0, "requested_at": at, "sent_at": None, "next_attempt_at": at,
            "give_up_at": iso(payload.give_up_at), "last_error": None, "history": [], "due_at": at,
        }
    if doc is None:
        return None
    new = dict(doc)
    match payload:
        case NotificationAttemptStarted():
            history = [dict(h, outcome="abandoned", error="the notifier stopped before recording an outcome")
                       if h.get("outcome") == "sending" else h for h in doc.get("history", [])]
            new.update(status="sending", attempts=payload.attempt, next_attempt_at=None,
                       due_at=iso(payload.lease_until),
                       history=_history({"history": history}, payload.attempt, started_at=at,
                                        instance_id=payload.instance_id, outcome="sending"))
        case NotificationSent():
            new.update(status="sent", sent_at=at, due_at=None, next_attempt_at=None,
                       history=_history(doc, payload.attempt, outcome="sent", finished_at=at, detail=payload.detail))
        case NotificationAttemptFailed():
            new.update(status="retrying", last_error=payload.error, due_at=iso(payload.retry_at),
                       next_attempt_at=iso(payload.retry_at),
                       history=_history(doc, payload.attempt, outcome="failed", finished_at=at, error=payload.error))
        case NotificationGaveUp():
            history = doc.get("history", [])
            if payload.attempts and any(h["attempt"] == payload.attempts for h in history):
                history = _history(doc, payload.attempts, outcome="failed", finished_at=at, error=payload.error)
            new.update(status="failed", last_error=payload.error, due_at=None, next_attempt_at=None,
                       history=history)
        case _:
            return None
    return new


class NotificationsProjection:
    types = TYPES
    collections: tuple[str, ...] = (NOTIFICATIONS,)

    async def apply(self, event: EventEnvelope, payload: Event, store: ReadStore) -> None:
        delivery_id = getattr(payload, "delivery_id", None)
        if not isinstance(delivery_id, str):
            return
        for _ in range(50):
            doc = await store.get(NOTIFICATIONS, delivery_id)
            if doc is not None and doc["_v"] >= event.stream_version:
                return
            new = evolve(doc, payload, event)
            if new is None:
                return
            new.update(_id=delivery_id, _v=event.stream_version)
            if await store.put_versioned(NOTIFICATIONS, new, doc["_v"] if doc else None):
                return
        raise RuntimeError(f"could not apply {event.type} to {NOTIFICATIONS}/{delivery_id}")
