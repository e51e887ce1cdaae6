"""Illegal transitions raise CONFLICT; re-deliveries and stale reports are idempotent no-ops."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tauro_contracts.runs import TaskFailed, TaskScheduled
from tauro_runs.domain import runs as d

from .support import DIAMOND, T0, Run, expect_conflict, policy, spec, types


def _pending() -> Run:
    return Run(spec(*DIAMOND))


def _queued() -> Run:
    run = _pending()
    run.start()
    return run


def _running() -> Run:
    run = _pending()
    run.running()
    return run


def _succeeded() -> Run:
    run = Run(spec(["a"]))
    run.running()
    run.finish("a")
    return run


def _failed() -> Run:
    run = Run(spec(["a", "b"], [("a", "b")]))
    run.running()
    run.finish("a", "failed")
    return run


def _cancelled() -> Run:
    run = _running()
    run.cancel()
    return run


def _timed_out() -> Run:
    run = _running()
    run.advance(10**6)
    run.timeout()
    return run


LIVE: dict[str, Callable[[], Run]] = {"PENDING": _pending, "QUEUED": _queued, "RUNNING": _running}
TERMINAL: dict[str, Callable[[], Run]] = {
    "SUCCESS": _succeeded, "FAILED": _failed, "CANCELLED": _cancelled, "TIMED_OUT": _timed_out,
}
ALL = {**LIVE, **TERMINAL}


@pytest.mark.parametrize("name", list(ALL))
def test_fixtures_reach_the_named_state(name: str) -> None:
    assert ALL[name]().state.status == name


# -- start ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["QUEUED", "RUNNING", *TERMINAL])
def test_start_of_a_run_that_is_not_pending_is_a_conflict(name: str) -> None:
    run = ALL[name]()
    before = run.state
    error = expect_conflict(lambda: d.decide_start(run.state, 60, None))
    assert name in error.message
    assert error.details[0].field == "state"
    assert run.state == before


# -- cancel --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TERMINAL))
def test_cancel_of_a_finished_run_is_a_conflict(name: str) -> None:
    run = TERMINAL[name]()
    error = expect_conflict(lambda: d.decide_cancel(run.state, "late"))
    assert name in error.message


@pytest.mark.parametrize("name", list(LIVE))
def test_cancel_twice_is_a_conflict(name: str) -> None:
    run = LIVE[name]()
    assert types(run.cancel()) == ["RunCancelled"]
    expect_conflict(lambda: d.decide_cancel(run.state, "again"))
    assert types(run.events).count("RunCancelled") == 1


# -- dispatch ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["PENDING", "RUNNING", *TERMINAL])
def test_dispatch_of_a_run_that_is_not_queued_does_nothing(name: str) -> None:
    run = ALL[name]()
    assert d.decide_dispatch(run.state, T0) == []


def test_dispatch_twice_starts_the_run_once() -> None:
    run = _queued()
    assert types(run.dispatch())[0] == "RunStarted"
    assert run.dispatch() == []
    assert types(run.events).count("RunStarted") == 1


# -- claim ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["PENDING", "QUEUED", *TERMINAL])
def test_claim_on_a_run_that_is_not_running_is_a_conflict(name: str) -> None:
    run = ALL[name]()
    error = expect_conflict(lambda: d.decide_claim(run.state, "a", 1, 1, "ex-1"))
    assert error.details[0].field == "state"


def test_claim_of_an_unknown_node_is_a_conflict() -> None:
    run = _running()
    expect_conflict(lambda: d.decide_claim(run.state, "nope", 1, 1, "ex-1"))


def test_claim_of_a_task_that_is_not_scheduled_yet_is_a_conflict() -> None:
    run = _running()
    assert run.status("b") == "PENDING"
    expect_conflict(lambda: d.decide_claim(run.state, "b", 1, 1, "ex-1"))


@pytest.mark.parametrize(("attempt", "dispatch"), [(2, 1), (0, 1), (1, 2), (1, 0)])
def test_claim_of_a_wrong_attempt_or_dispatch_is_a_conflict(attempt: int, dispatch: int) -> None:
    run = _running()
    error = expect_conflict(lambda: d.decide_claim(run.state, "a", attempt, dispatch, "ex-1"))
    assert error.details[0].field == "attempt"
    assert run.status("a") == "SCHEDULED"


def test_claim_of_a_superseded_dispatch_is_a_conflict() -> None:
    run = _running()
    run.expire("a", reason="not claimed in time")
    assert run.state.tasks["a"].dispatch == 2
    expect_conflict(lambda: d.decide_claim(run.state, "a", 1, 1, "slow-executor"))
    assert types(run.claim("a", executor="ex-2")) == ["TaskStarted"]


def test_claim_of_a_superseded_attempt_is_a_conflict() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=2)))
    run.running()
    run.finish("a", "failed")
    expect_conflict(lambda: d.decide_claim(run.state, "a", 1, 1, "ex-1"))


def test_second_executor_claiming_a_claimed_attempt_is_a_conflict() -> None:
    run = _running()
    run.claim("a", executor="ex-1")
    expect_conflict(lambda: d.decide_claim(run.state, "a", 1, 1, "ex-2"))
    assert run.state.tasks["a"].executor_id == "ex-1"


def test_same_executor_reclaiming_its_attempt_is_a_no_op() -> None:
    run = _running()
    run.claim("a", executor="ex-1")
    assert d.decide_claim(run.state, "a", 1, 1, "ex-1") == []
    assert types(run.events).count("TaskStarted") == 1


def test_claim_of_a_finished_task_is_a_conflict() -> None:
    run = _running()
    run.finish("a")
    expect_conflict(lambda: d.decide_claim(run.state, "a", 1, 1, "ex-1"))


# -- outcomes ------------------------------------------------------------------------------------


def test_outcome_for_a_task_that_was_never_claimed_is_ignored() -> None:
    run = _running()
    assert run.status("a") == "SCHEDULED"
    assert run.outcome("a") == []
    assert run.status("a") == "SCHEDULED"


def test_outcome_for_a_pending_or_unknown_task_is_ignored() -> None:
    run = _running()
    assert run.outcome("b") == []
    assert d.decide_outcome(run.state, "nope", 1, d.Outcome("succeeded"), T0, lambda: 0.5) == []


@pytest.mark.parametrize("status", ["succeeded", "failed", "timed_out", "cancelled"])
def test_outcome_reported_twice_is_recorded_once(status: str) -> None:
    run = Run(spec(["a", "b"], [("a", "b")], retry=policy(max_attempts=3)))
    run.running()
    run.claim("a")
    first = run.outcome("a", status, attempt=1)
    assert first
    assert run.outcome("a", status, attempt=1) == []
    assert run.outcome("a", "succeeded", attempt=1) == []
    assert run.outcome("a", "failed", attempt=1) == []


def test_outcome_for_a_stale_attempt_is_ignored() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=3)))
    run.running()
    run.claim("a")
    run.expire("a", reason="executor lost")  # attempt 1 failed, attempt 2 scheduled
    run.claim("a", executor="ex-2")
    assert run.state.tasks["a"].attempt == 2
    assert run.outcome("a", "succeeded", attempt=1) == []
    assert run.outcome("a", "failed", attempt=1) == []
    assert run.outcome("a", "succeeded", attempt=3) == []
    assert run.status("a") == "RUNNING"
    assert types(run.outcome("a", attempt=2)) == ["TaskSucceeded", "RunSucceeded"]


@pytest.mark.parametrize("name", list(TERMINAL))
@pytest.mark.parametrize("status", ["succeeded", "failed", "timed_out", "cancelled"])
def test_no_outcome_is_recorded_after_the_run_ended(name: str, status: str) -> None:
    run = TERMINAL[name]()
    for node_id, task in run.state.tasks.items():
        for attempt in {task.attempt, task.attempt + 1, 1}:
            assert d.decide_outcome(run.state, node_id, attempt, d.Outcome(status), run.now, run.rand) == []


def test_outcome_for_a_running_task_after_cancel_is_not_recorded() -> None:
    run = _running()
    run.claim("a")
    run.cancel()
    assert run.outcome("a") == []
    assert run.outcome("a", "failed") == []
    assert types(run.events)[-1] == "RunCancelled"


# -- expire and timeout no-ops -------------------------------------------------------------------


def test_expire_of_a_finished_task_does_nothing() -> None:
    run = _running()
    run.finish("a")
    assert run.expire("a", attempt=1) == []


def test_expire_of_a_pending_task_does_nothing() -> None:
    run = _running()
    assert run.expire("b", attempt=0) == []
    assert run.expire("b", attempt=1) == []


def test_expire_of_a_stale_attempt_does_nothing() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=3)))
    run.running()
    run.finish("a", "failed")
    assert run.state.tasks["a"].attempt == 2
    assert run.expire("a", attempt=1) == []


def test_expire_of_an_unknown_task_does_nothing() -> None:
    run = _running()
    assert d.decide_expire(run.state, "nope", 1, "lost", T0, lambda: 0.5) == []


@pytest.mark.parametrize("name", list(TERMINAL))
def test_expire_after_the_run_ended_does_nothing(name: str) -> None:
    run = TERMINAL[name]()
    for node_id, task in run.state.tasks.items():
        assert d.decide_expire(run.state, node_id, task.attempt, "lost", run.now, run.rand) == []


@pytest.mark.parametrize("name", ["PENDING", "QUEUED", *TERMINAL])
def test_timeout_of_a_run_that_is_not_running_does_nothing(name: str) -> None:
    run = ALL[name]()
    assert d.decide_timeout(run.state, T0.replace(year=2100)) == []


def test_rejections_leave_the_stream_untouched() -> None:
    run = _succeeded()
    before = list(run.events)
    for attempt in (lambda: d.decide_start(run.state, 1, None), lambda: d.decide_cancel(run.state, "x"),
                    lambda: d.decide_claim(run.state, "a", 1, 1, "ex")):
        expect_conflict(attempt)
    assert run.events == before
    assert d.fold_run(run.events) == run.state


def test_no_attempt_is_recorded_twice_across_redeliveries() -> None:
    """Claims and outcomes delivered twice (at-least-once) leave one TaskStarted and one end per attempt."""
    run = Run(spec(*DIAMOND, retry=policy(max_attempts=2)))
    run.running()
    for node_id, status in [("a", "failed"), ("a", "succeeded"), ("b", "succeeded"), ("c", "succeeded"),
                            ("d", "succeeded")]:
        for _ in range(2):
            if run.status(node_id) == "SCHEDULED":
                run.claim(node_id, executor="ex-1")
            else:
                assert d.decide_claim(run.state, node_id, run.state.tasks[node_id].attempt,
                                      run.state.tasks[node_id].dispatch, "ex-1") == []
        attempt = run.state.tasks[node_id].attempt
        run.outcome(node_id, status, attempt=attempt)
        assert run.outcome(node_id, status, attempt=attempt) == []
    assert run.state.status == "SUCCESS"
    ends = [(e.node_id, e.attempt) for e in run.events if type(e).__name__ in ("TaskSucceeded", "TaskFailed")]
    assert len(ends) == len(set(ends)) == 5
    starts = [(e.node_id, e.attempt) for e in run.events if type(e).__name__ == "TaskStarted"]
    assert len(starts) == len(set(starts)) == 5
    assert sum(isinstance(e, TaskScheduled) for e in run.events) == 5
    assert sum(isinstance(e, TaskFailed) for e in run.events) == 1


def test_stale_dispatch_claimed_by_the_executor_running_the_newer_one_is_a_conflict() -> None:
    """One executor got both deliveries of an attempt (the original and the reaper's re-dispatch):
    the job for dispatch 2 claimed first; the late claim for dispatch 1 must not also be accepted,
    or the same executor would run the attempt twice."""
    run = _running()
    run.expire("a", reason="not claimed in time")
    run.claim("a", executor="ex-1", dispatch=2)
    error = expect_conflict(lambda: d.decide_claim(run.state, "a", 1, 1, "ex-1"))
    assert error.details[0].field == "attempt"
    assert d.decide_claim(run.state, "a", 1, 2, "ex-1") == []
