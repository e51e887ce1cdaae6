"""Pure domain of the scheduler: no I/O and no clock reads — every instant is an argument.

- ``expressions``: parse and validate CRON / INTERVAL expressions and time zones.
- ``model``: ``ScheduleRule`` (kind, expression, timezone, anchor) and the policy enums.
- ``wallclock``: local wall-time enumeration and DST resolution for CRON.
- ``timeline``: nominal fire times (``next_after``, ``between``, ``last_n_before``); the DST rule.
- ``ticks``: deterministic tick and run ids, ``logical_date``.
- ``policies``: overlap and catch-up decisions, each skipped tick with a reason.
- ``backfill``: the nominal times a backfill request covers.
"""

from .backfill import DEFAULT_BACKFILL_LIMIT, plan_backfill
from .errors import ScheduleValidationError
from .expressions import (
    CronExpression,
    IntervalExpression,
    ScheduleKind,
    parse_cron,
    parse_interval,
    parse_timezone,
    validate_schedule,
)
from .model import DEFAULT_CATCH_UP, DEFAULT_OVERLAP, CatchUpPolicy, OverlapPolicy, ScheduleRule
from .policies import (
    CatchUpDecision,
    OverlapAction,
    OverlapDecision,
    SkippedTick,
    SkipReason,
    decide_catch_up,
    decide_overlap,
    release_buffered,
    split_due,
)
from .ticks import logical_date, run_id_for_tick, tick_id
from .timeline import between, iter_after, last_n_before, next_after

__all__ = [
    "DEFAULT_BACKFILL_LIMIT",
    "DEFAULT_CATCH_UP",
    "DEFAULT_OVERLAP",
    "CatchUpDecision",
    "CatchUpPolicy",
    "CronExpression",
    "IntervalExpression",
    "OverlapAction",
    "OverlapDecision",
    "OverlapPolicy",
    "ScheduleKind",
    "ScheduleRule",
    "ScheduleValidationError",
    "SkipReason",
    "SkippedTick",
    "between",
    "decide_catch_up",
    "decide_overlap",
    "iter_after",
    "last_n_before",
    "logical_date",
    "next_after",
    "parse_cron",
    "parse_interval",
    "parse_timezone",
    "plan_backfill",
    "release_buffered",
    "run_id_for_tick",
    "split_due",
    "tick_id",
    "validate_schedule",
]
