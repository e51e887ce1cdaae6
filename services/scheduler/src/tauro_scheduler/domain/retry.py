"""Retry on failure: the one extra run a schedule with ``config.retry_on_failure`` gets
for a scheduled run that ended FAILED or TIMED_OUT.

The retry is a new run for the same tick: same pipeline, params and ``logical_date``,
tagged ``retry_of`` with the failed run's id. Its id is derived from the failed run's, so
a redelivered failure or two scheduler replicas create it once. A retry that fails is not
retried again (one retry per tick), a cancelled run is not retried (someone chose to stop
it), and a deleted schedule retries nothing; a disabled one still retries the runs it
created, as it still accepts backfills.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RETRY_OF = "retry_of"
RETRIED_OUTCOMES = frozenset({"RunFailed", "RunTimedOut"})


@dataclass(frozen=True)
class ScheduledRun:
    """What a run was created with (its ``RunCreated`` event)."""

    run_id: str
    schedule_id: str | None
    trigger: str
    tags: Mapping[str, str]


def retry_run_id(run_id: str) -> str:
    """The id of the retry of ``run_id``: ``run_<24 hex>``, the same on every replica."""
    return "run_" + hashlib.sha256(f"tauro/retry/v1\x1f{run_id}".encode()).hexdigest()[:24]


def wants_retry(run: ScheduledRun, outcome: str, schedule_live: bool, config: Mapping[str, Any]) -> bool:
    """True when the schedule should create the retry of ``run``, which ended with ``outcome``
    (an event type such as ``RunFailed``)."""
    return (
        outcome in RETRIED_OUTCOMES
        and run.trigger == "schedule"
        and run.schedule_id is not None
        and RETRY_OF not in run.tags
        and schedule_live
        and config.get("retry_on_failure") is True
    )
