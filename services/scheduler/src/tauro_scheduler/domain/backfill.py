"""Backfill planning: which nominal times a ``POST /schedules/{id}/backfill`` covers.

Two request shapes, exactly one of them:

* ``{"count": N}``: the N most recent nominal times strictly before ``now`` (spec), 1 <= N <= limit.
* ``{"start": ..., "end": ...}``: every nominal time in ``[start, end]`` (both inclusive),
  ``start <= end <= now``, at most ``limit`` of them.

The plan is the list of nominal times, oldest first, from the same timeline as live
ticks; the runs it creates take ``ticks.run_id_for_tick`` ids, so re-running a backfill,
or backfilling a time the schedule already fired, creates no duplicate. Bad requests
raise ``ScheduleValidationError`` naming ``count``, ``start`` or ``end``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tauro_contracts.errors import ErrorDetail

from .errors import ScheduleValidationError, detail
from .model import ScheduleRule
from .timeline import between, last_n_before

__all__ = ["DEFAULT_BACKFILL_LIMIT", "plan_backfill"]

DEFAULT_BACKFILL_LIMIT = 1000
_ONE_MICROSECOND = timedelta(microseconds=1)


def _aware(value: object, name: str, errors: list[ErrorDetail]) -> datetime | None:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    message = f"{name} must be a date-time with a time zone offset (e.g. 2025-01-01T00:00:00Z)"
    errors.append(detail(name, message))
    return None


def plan_backfill(
    rule: ScheduleRule,
    now: datetime,
    count: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = DEFAULT_BACKFILL_LIMIT,
) -> list[datetime]:
    """The nominal times to backfill, oldest first (UTC)."""
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    errors: list[ErrorDetail] = []
    ranged = start is not None or end is not None
    if count is not None and ranged:
        field = "start" if start is not None else "end"
        raise ScheduleValidationError([detail(field, "give either count or start and end, not both")])
    if count is None and not ranged:
        raise ScheduleValidationError([detail("count", "give either count or start and end")])
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= limit:
            message = f"count must be a whole number from 1 to {limit}"
            raise ScheduleValidationError([detail("count", message)])
        return last_n_before(rule, now, count)
    if start is None:
        errors.append(detail("start", "start is required with end"))
    if end is None:
        errors.append(detail("end", "end is required with start"))
    lower = _aware(start, "start", errors) if start is not None else None
    upper = _aware(end, "end", errors) if end is not None else None
    if lower is not None and upper is not None:
        if upper < lower:
            errors.append(detail("end", "end must not be before start"))
        elif upper > now:
            errors.append(detail("end", f"end must not be in the future (now is {now.isoformat()})"))
    if errors:
        raise ScheduleValidationError(errors)
    assert lower is not None and upper is not None
    fires = between(rule, lower - _ONE_MICROSECOND, upper, max_count=limit + 1)
    if len(fires) > limit:
        raise ScheduleValidationError(
            [detail("end", f"the range holds more than {limit} nominal times; backfill a shorter range")]
        )
    return fires
