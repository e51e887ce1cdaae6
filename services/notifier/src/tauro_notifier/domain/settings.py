"""Which settings apply to a run, and what they ask for when it ends (pure).

Precedence, field by field: the run's own ``notifications`` (given at creation), then its
schedule's ``config.notifications``, then its pipeline's ``config.notifications`` (as of the
pipeline version the run was created from). A field that a level leaves out (``null``) comes
from the next level; so a pipeline can name the team's address for every run, a schedule can
send its runs' alerts elsewhere, and one run can opt out (``"on_failure": false``).

After that, a flag still unset is false, except ``on_timeout``, which then follows
``on_failure`` (a run that timed out has failed to finish).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tauro_contracts.notification_settings import NotificationSettings
from tauro_contracts.notifications import Channel
from tauro_contracts.readmodels.states import RunState

LEVELS = ("run", "schedule", "pipeline")
"""Most specific first."""
FLAGS = ("on_success", "on_failure", "on_timeout", "on_cancel")
FIELDS = (*FLAGS, "email", "webhook_url")
OUTCOME_FLAG: dict[str, str] = {RunState.SUCCESS: "on_success", RunState.FAILED: "on_failure",
                                RunState.TIMED_OUT: "on_timeout", RunState.CANCELLED: "on_cancel"}
TERMINAL_STATES = frozenset(OUTCOME_FLAG)


@dataclass(frozen=True)
class Resolved:
    """The settings that apply, and for each field the level it came from."""

    on_success: bool
    on_failure: bool
    on_timeout: bool
    on_cancel: bool
    emails: tuple[str, ...]
    webhook_url: str | None
    sources: dict[str, str]

    def notifies(self, state: str) -> bool:
        flag = OUTCOME_FLAG.get(state)
        return bool(flag and getattr(self, flag))


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    channel: Channel
    recipient: str
    source: str


def settings_of(value: Any) -> NotificationSettings | None:
    """Settings from a stored document or event data (None, a dict or a model). Old stored
    schedules hold ``false`` for unset flags: they count as set, like any stored value."""
    if value is None:
        return None
    if isinstance(value, NotificationSettings):
        return value
    if isinstance(value, dict):
        known = {k: v for k, v in value.items() if k in FIELDS}
        return NotificationSettings.model_validate(known)
    return None


def resolve(run: NotificationSettings | None, schedule: NotificationSettings | None,
            pipeline: NotificationSettings | None) -> Resolved:
    levels = dict(zip(LEVELS, (run, schedule, pipeline), strict=True))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in FIELDS:
        for level, settings in levels.items():
            value = getattr(settings, name) if settings is not None else None
            if value is not None:
                values[name], sources[name] = value, level
                break
    on_failure = bool(values.get("on_failure", False))
    emails = values.get("email")
    email_list = [emails] if isinstance(emails, str) else list(emails or [])
    return Resolved(
        on_success=bool(values.get("on_success", False)), on_failure=on_failure,
        on_timeout=bool(values.get("on_timeout", on_failure)), on_cancel=bool(values.get("on_cancel", False)),
        emails=tuple(dict.fromkeys(email_list)), webhook_url=values.get("webhook_url"), sources=sources,
    )


def delivery_id(run_id: str, state: str, channel: str, recipient: str) -> str:
    """One id per (run, outcome, channel, recipient): the idempotency record's key."""
    digest = hashlib.sha256(f"{run_id}|{state}|{channel}|{recipient.lower()}".encode()).hexdigest()[:16]
    return f"ntf_{digest}"


def deliveries(run_id: str, state: str, resolved: Resolved) -> list[Delivery]:
    """What to send when run ``run_id`` ends in ``state``: one delivery per e-mail address and
    one for the webhook, or nothing when the settings do not ask for this outcome."""
    if state not in TERMINAL_STATES or not resolved.notifies(state):
        return []
    found = [Delivery(delivery_id(run_id, state, "email", a), "email", a, resolved.sources.get("email", "run"))
             for a in resolved.emails]
    if resolved.webhook_url:
        found.append(Delivery(delivery_id(run_id, state, "webhook", resolved.webhook_url), "webhook",
                              resolved.webhook_url, resolved.sources.get("webhook_url", "run")))
    return found
