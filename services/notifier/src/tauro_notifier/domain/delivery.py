"""The life of one delivery (pure): claim an attempt, record its outcome, retry or give up.

State comes from folding the events of the run's ``notifications:<run_id>`` stream. Every
decision is appended at the stream's expected version, so of two notifier instances that
decide on the same state only one is recorded; the other reloads and decides again.

- A delivery is **claimable** when it is pending, when its retry is due, or when the
  attempt in flight has outlived its lease (its notifier died mid-send). The claim
  (``NotificationAttemptStarted``) is recorded *before* sending.
- After sending: ``NotificationSent``, or ``NotificationAttemptFailed`` with the next
  attempt's time (exponential backoff), or ``NotificationGaveUp`` when the refusal is
  permanent or ``give_up_at`` has passed.

The window this leaves: a notifier that dies after the SMTP server or webhook accepted the
message but before ``NotificationSent`` is appended leaves a claim whose lease runs out, and
the next attempt sends again: delivery is at least once in that window (milliseconds wide),
exactly once otherwise. Repeats carry the same ``Message-ID`` / ``X-Tauro-Delivery-Id`` so
receivers can drop them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tauro_contracts.base import Event
from tauro_contracts.notifications import (
    NotificationAttemptFailed,
    NotificationAttemptStarted,
    NotificationGaveUp,
    NotificationRequested,
    NotificationSent,
)

FINAL = frozenset({"sent", "failed"})


@dataclass(frozen=True)
class Policy:
    lease_seconds: float = 30.0
    retry_initial_seconds: float = 2.0
    retry_max_seconds: float = 300.0

    def backoff(self, failed_attempt: int) -> float:
        """Seconds before the attempt after ``failed_attempt`` (1-based): doubling, capped."""
        exponent = min(max(0, failed_attempt - 1), 30)
        return min(self.retry_max_seconds, self.retry_initial_seconds * 2.0**exponent)


@dataclass(frozen=True)
class DeliveryState:
    delivery_id: str
    run_id: str
    channel: str
    recipient: str
    run_state: str
    give_up_at: datetime
    status: str = "pending"
    attempts: int = 0
    lease_until: datetime | None = None
    retry_at: datetime | None = None
    owner: str | None = None
    last_error: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class SendResult:
    ok: bool
    detail: str = ""
    permanent: bool = False
    duration_ms: int = 0


def evolve(states: dict[str, DeliveryState], event: Event) -> dict[str, DeliveryState]:
    match event:
        case NotificationRequested():
            if event.delivery_id in states:
                return states
            return {**states, event.delivery_id: DeliveryState(
                delivery_id=event.delivery_id, run_id=event.run_id, channel=event.channel,
                recipient=event.recipient, run_state=event.run_state, give_up_at=event.give_up_at)}
        case NotificationAttemptStarted():
            new = replace(states[event.delivery_id], status="sending", attempts=event.attempt,
                          lease_until=event.lease_until, owner=event.instance_id)
        case NotificationSent():
            new = replace(states[event.delivery_id], status="sent", lease_until=None)
        case NotificationAttemptFailed():
            new = replace(states[event.delivery_id], status="retrying", retry_at=event.retry_at, lease_until=None,
                          last_error=event.error)
        case NotificationGaveUp():
            new = replace(states[event.delivery_id], status="failed", lease_until=None, last_error=event.error)
        case _:
            return states
    return {**states, new.delivery_id: new}


def fold(events: Iterable[Event]) -> dict[str, DeliveryState]:
    states: dict[str, DeliveryState] = {}
    for event in events:
        states = evolve(states, event)
    return states


def decide_claim(state: DeliveryState, now: datetime, instance_id: str, policy: Policy) -> Event | None:
    """Claim the next attempt, give up (deadline passed), or nothing (not due, or over)."""
    if state.final:
        return None
    if state.status == "sending" and state.lease_until is not None and now < state.lease_until:
        return None
    if state.status == "retrying" and state.retry_at is not None and now < state.retry_at:
        return None
    if now >= state.give_up_at:
        error = state.last_error or ("the notifier stopped during the last attempt" if state.attempts
                                     else "no attempt before the deadline")
        return NotificationGaveUp(run_id=state.run_id, delivery_id=state.delivery_id, attempts=state.attempts,
                                  reason="deadline", error=error)
    return NotificationAttemptStarted(run_id=state.run_id, delivery_id=state.delivery_id,
                                      attempt=state.attempts + 1, instance_id=instance_id,
                                      lease_until=now + timedelta(seconds=policy.lease_seconds))


def decide_outcome(state: DeliveryState, attempt: int, result: SendResult, now: datetime,
                   policy: Policy) -> Event | None:
    """Record how attempt ``attempt`` went; nothing when the delivery already ended (another
    instance, after this one's lease ran out, finished it)."""
    if state.final:
        return None
    if result.ok:
        return NotificationSent(run_id=state.run_id, delivery_id=state.delivery_id, attempt=attempt,
                                detail=result.detail[:500], duration_ms=result.duration_ms)
    error = result.detail[:1000] or "failed"
    if result.permanent:
        return NotificationGaveUp(run_id=state.run_id, delivery_id=state.delivery_id, attempts=attempt,
                                  reason="permanent", error=error)
    retry_at = now + timedelta(seconds=policy.backoff(attempt))
    if retry_at >= state.give_up_at:
        return NotificationGaveUp(run_id=state.run_id, delivery_id=state.delivery_id, attempts=attempt,
                                  reason="deadline", error=error)
    return NotificationAttemptFailed(run_id=state.run_id, delivery_id=state.delivery_id, attempt=attempt,
                                     error=error, retry_at=retry_at)
