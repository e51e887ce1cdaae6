"""Notifications of run outcomes: the events of every delivery attempt, and their read model.

When a run ends in a state its notification settings ask for, the notifier records one
delivery per (run outcome, channel, recipient) on the stream ``notifications:<run_id>``:

- ``NotificationRequested``: the delivery exists (its id is derived from run, outcome,
  channel and recipient, so it is requested once however often the run's events arrive);
- ``NotificationAttemptStarted``: a notifier instance claimed attempt ``attempt`` until
  ``lease_until`` (appended at the stream's expected version: one claim wins);
- ``NotificationSent``: the SMTP server or the webhook accepted it;
- ``NotificationAttemptFailed``: this attempt failed; the next is due at ``retry_at``;
- ``NotificationGaveUp``: no more attempts (a permanent refusal, or ``give_up_at`` passed).

They are published on ``tauro.events.notifications.v1`` like every event. The read model
``notifications`` (one document per delivery, see ``NotificationView``) answers
``GET /runs/{id}/notifications``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tauro_contracts import topics
from tauro_contracts.base import Event
from tauro_contracts.notification_settings import NotificationSettings, notification_errors
from tauro_contracts.registry import REGISTRY

Channel = Literal["email", "webhook"]
DeliveryStatus = Literal["pending", "sending", "retrying", "sent", "failed"]
NOTIFICATIONS = "notifications"
"""The read model of deliveries (one document per delivery id)."""

E = TypeVar("E", bound=Event)

__all__ = ["NOTIFICATIONS", "Channel", "DeliveryStatus", "NotificationAttemptFailed", "NotificationAttemptStarted",
           "NotificationGaveUp", "NotificationRequested", "NotificationSent", "NotificationSettings",
           "NotificationView", "notification_errors", "notification_stream"]


def notification_stream(run_id: str) -> str:
    return f"notifications:{run_id}"


def _evt(cls: type[E]) -> type[E]:
    cls.topic = topics.EVENTS_NOTIFICATIONS
    return REGISTRY.register(cls)


@_evt
class NotificationRequested(Event):
    """A run ended in a state its settings notify on: one delivery to one recipient.
    ``source`` says which level's settings named the recipient (run, schedule or pipeline)."""

    type_name = "NotificationRequested"
    run_id: str
    delivery_id: str
    channel: Channel
    recipient: str
    run_state: str
    project_id: str
    pipeline_id: str
    schedule_id: str | None = None
    source: str
    give_up_at: datetime


@_evt
class NotificationAttemptStarted(Event):
    """Attempt ``attempt`` is claimed by ``instance_id``; if no outcome is recorded by
    ``lease_until`` (the instance died), another instance may try again."""

    type_name = "NotificationAttemptStarted"
    run_id: str
    delivery_id: str
    attempt: int = Field(ge=1)
    instance_id: str
    lease_until: datetime


@_evt
class NotificationSent(Event):
    type_name = "NotificationSent"
    run_id: str
    delivery_id: str
    attempt: int = Field(ge=1)
    detail: str = Field(default="", description="The SMTP server's or webhook's answer")
    duration_ms: int = 0


@_evt
class NotificationAttemptFailed(Event):
    type_name = "NotificationAttemptFailed"
    run_id: str
    delivery_id: str
    attempt: int = Field(ge=1)
    error: str
    retry_at: datetime


@_evt
class NotificationGaveUp(Event):
    """No more attempts: ``reason`` is ``permanent`` (refused for good, e.g. an unknown
    mailbox or a 4xx answer), ``deadline`` (still failing at ``give_up_at``)."""

    type_name = "NotificationGaveUp"
    run_id: str
    delivery_id: str
    attempts: int = Field(ge=0)
    reason: Literal["permanent", "deadline"]
    error: str


class AttemptView(BaseModel):
    model_config = ConfigDict(extra="ignore")
    attempt: int
    started_at: str | None = None
    instance_id: str | None = None
    outcome: Literal["sending", "sent", "failed", "abandoned"] = "sending"
    finished_at: str | None = None
    detail: str | None = None
    error: str | None = None


class NotificationView(BaseModel):
    """One delivery of a run's outcome to one recipient, with every attempt."""

    model_config = ConfigDict(extra="ignore")
    id: str = Field(description="The delivery id: run, outcome, channel and recipient")
    run_id: str
    project_id: str | None = None
    pipeline_id: str
    schedule_id: str | None = None
    run_state: str
    channel: Channel
    recipient: str
    source: str = Field(description="Whose settings named the recipient: run, schedule or pipeline")
    status: DeliveryStatus
    attempts: int
    requested_at: str
    sent_at: str | None = None
    next_attempt_at: str | None = None
    give_up_at: str
    last_error: str | None = None
    history: list[AttemptView] = Field(default_factory=list)
