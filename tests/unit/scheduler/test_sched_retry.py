"""Retry on failure (pure rule): which ended runs a schedule retries, and the retry's id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tauro_scheduler.domain.retry import RETRY_OF, ScheduledRun, retry_run_id, wants_retry

ON = {"retry_on_failure": True}
SCHEDULED = ScheduledRun("run_abc", "sched_1", "schedule", {"schedule_id": "sched_1"})


def test_a_failed_or_timed_out_scheduled_run_is_retried_when_the_schedule_asks() -> None:
    assert wants_retry(SCHEDULED, "RunFailed", True, ON)
    assert wants_retry(SCHEDULED, "RunTimedOut", True, ON)


def test_success_and_cancel_are_not_retried() -> None:
    assert not wants_retry(SCHEDULED, "RunSucceeded", True, ON)
    assert not wants_retry(SCHEDULED, "RunCancelled", True, ON)


def test_no_retry_without_the_setting_or_for_a_deleted_schedule() -> None:
    assert not wants_retry(SCHEDULED, "RunFailed", True, {})
    assert not wants_retry(SCHEDULED, "RunFailed", True, {"retry_on_failure": False})
    assert not wants_retry(SCHEDULED, "RunFailed", True, {"retry_on_failure": "yes"})
    assert not wants_retry(SCHEDULED, "RunFailed", False, ON)


def test_a_retry_is_not_retried_and_other_runs_are_never_retried() -> None:
    retry = ScheduledRun("run_def", "sched_1", "schedule", {RETRY_OF: "run_abc"})
    assert not wants_retry(retry, "RunFailed", True, ON)
    assert not wants_retry(ScheduledRun("run_x", None, "api", {}), "RunFailed", True, ON)
    assert not wants_retry(ScheduledRun("run_x", "sched_1", "api", {}), "RunFailed", True, ON)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_the_retry_id_is_a_run_id_derived_from_the_failed_run(first: str, second: str) -> None:
    assert retry_run_id(first) == retry_run_id(first)
    assert retry_run_id(first).startswith("run_") and len(retry_run_id(first)) == 28
    assert retry_run_id(first) != first
    assert (retry_run_id(first) == retry_run_id(second)) == (first == second)
