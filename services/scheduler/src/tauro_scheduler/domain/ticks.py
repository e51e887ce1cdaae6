"""Tick identity: deterministic ids for (schedule, nominal time), so a tick fires once.

A tick is one nominal fire time of one schedule. Its id and the id of the run it creates
are pure functions of ``(schedule_id, nominal)`` — a SHA-256 over a versioned,
domain-separated canonical string — so a restart, a redelivered command, a backfill of
an already fired time or two scheduler replicas all compute the same ``run_...`` id and
the run stream's optimistic concurrency rejects the duplicate. The nominal instant is
canonicalised to UTC with microseconds, so the same instant written in any zone gives
the same ids.

``logical_date`` renders the nominal time as the ISO 8601 string a run receives as its
``logical_date`` param.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["canonical_instant", "logical_date", "run_id_for_tick", "tick_id"]

_HEX_DIGITS = 24  # 96 bits: collision odds ~1e-11 after a billion ticks


def canonical_instant(nominal: datetime) -> str:
    """``nominal`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC; the hash input for the ids."""
    if not isinstance(nominal, datetime) or nominal.utcoffset() is None:
        raise ValueError("a nominal time must be a timezone-aware datetime")
    return nominal.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _digest(purpose: str, schedule_id: str, nominal: datetime) -> str:
    if not isinstance(schedule_id, str) or not schedule_id:
        raise ValueError("schedule_id must be a non-empty string")
    material = "\x1f".join((f"tauro/{purpose}/v1", schedule_id, canonical_instant(nominal)))
    return hashlib.sha256(material.encode()).hexdigest()[:_HEX_DIGITS]


def tick_id(schedule_id: str, nominal: datetime) -> str:
    """The id of the tick of ``schedule_id`` at ``nominal``: ``tick_<24 hex>``."""
    return "tick_" + _digest("tick", schedule_id, nominal)


def run_id_for_tick(schedule_id: str, nominal: datetime) -> str:
    """The id of the run the tick creates: ``run_<24 hex>``, the same on every replica."""
    return "run_" + _digest("run", schedule_id, nominal)


def logical_date(nominal: datetime, timezone: str | ZoneInfo | None = None) -> str:
    """The nominal time as an ISO 8601 string, seconds precision when whole.

    In UTC by default (``2025-11-18T02:00:00Z``). Given the schedule's zone it is written
    in local time with its offset (``2025-11-18T00:30:00+01:00``): the same instant, but
    its first ten characters are then the local date the run is for.
    """
    if not isinstance(nominal, datetime) or nominal.utcoffset() is None:
        raise ValueError("a nominal time must be a timezone-aware datetime")
    zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    local = nominal.astimezone(zone or UTC)
    text = local.isoformat(timespec="seconds" if local.microsecond == 0 else "microseconds")
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
