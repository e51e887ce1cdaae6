"""Lost executors, unclaimed attempts and cancelled attempts (decide_expire and 'cancelled' outcomes)."""

from __future__ import annotations

from datetime import timedelta

from tauro_contracts.runs import RunFailed, TaskFailed, TaskScheduled
from tauro_runs.domain import runs as d

from .support import DIAMOND, RUN_ID, T0, Run, policy, scheduled, spec, types


def test_running_attempt_of_a_lost_executor_fails_and_is_retried_by_policy() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=2, backoff=4)))
    run.running()
    run.claim("a", executor="ex-dead")
    events = run.expire("a", reason="executor ex-dead stopped heartbeating")
    assert events[0] == TaskFailed(run_id=RUN_ID, node_id="a", attempt=1, status="failed",
                                   error="executor ex-dead stopped heartbeating", will_retry=True)
    (again,) = scheduled(events)
    assert (again.attempt, again.dispatch, again.not_before) == (2, 1, T0 + timedelta(seconds=4))
    assert run.status("a") == "SCHEDULED" and run.state.tasks["a"].executor_id is None
    assert types(run.claim("a", executor="ex-alive")) == ["TaskStarted"]


def test_lost_executor_on_the_last_attempt_fails_the_run() -> None:
    run = Run(spec(["a", "b"], [("a", "b")]))
    run.running()
    run.claim("a")
    events = run.expire("a", reason="executor ex-1 stopped heartbeating")
    assert types(events) == ["TaskFailed", "TaskSkipped", "RunFailed"]
    assert events[-1] == RunFailed(run_id=RUN_ID, failed_node="a",
                                   error="task a failed after 1 attempt(s): executor ex-1 stopped heartbeating")
    assert run.state.status == "FAILED"


def test_expire_of_a_running_attempt_applies_once() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=3)))
    run.running()
    run.claim("a")
    assert types(run.expire("a", attempt=1)) == ["TaskFailed", "TaskScheduled"]
    assert run.expire("a", attempt=1) == []
    assert run.state.tasks["a"].attempt == 2


def test_unclaimed_attempt_is_redispatched_with_the_same_attempt_number() -> None:
    run = Run(spec(*DIAMOND))
    run.running()
    events = run.expire("a", reason="not claimed in time")
    assert len(events) == 1 and isinstance(events[0], TaskScheduled)
    again = events[0]
    assert (again.node_id, again.attempt, again.dispatch, again.not_before) == ("a", 1, 2, None)
    assert again.upstream == [] and again.node["id"] == "a"
    assert (run.status("a"), run.state.tasks["a"].dispatch) == ("SCHEDULED", 2)
    assert run.expire("a")[0].dispatch == 3
    assert not any(isinstance(e, TaskFailed) for e in run.events), "an unclaimed attempt is not a failure"


def test_redispatching_does_not_consume_attempts() -> None:
    run = Run(spec(["a"]))  # a single attempt allowed
    run.running()
    for _ in range(5):
        run.expire("a", reason="not claimed in time")
    run.claim("a", executor="ex-2")
    assert types(run.outcome("a")) == ["TaskSucceeded", "RunSucceeded"]


def test_cancelled_outcome_while_the_run_is_running_redispatches() -> None:
    run = Run(spec(["a", "b"], [("a", "b")]))  # a single attempt allowed
    run.running()
    run.claim("a", executor="ex-stopping")
    events = run.outcome("a", "cancelled", error="executor shutting down")
    assert len(events) == 1 and isinstance(events[0], TaskScheduled)
    assert (events[0].attempt, events[0].dispatch, events[0].not_before) == (1, 2, None)
    assert run.state.status == "RUNNING"
    assert (run.status("a"), run.state.tasks["a"].executor_id) == ("SCHEDULED", None)
    run.claim("a", executor="ex-other")
    assert types(run.outcome("a")) == ["TaskSucceeded", "TaskScheduled"]


def test_redispatch_keeps_the_parallelism() -> None:
    run = Run(spec(["a", "b", "c"], max_parallelism=2))
    run.running()
    run.claim("a")
    run.outcome("a", "cancelled")
    run.expire("b")
    assert run.active() == {"a", "b"}
    assert run.status("c") == "PENDING"



def test_a_stale_expiry_does_nothing_once_the_task_moved_on() -> None:
    """The reaper saw SCHEDULED (dispatch 1), but the claim landed before its command did."""
    run = Run(spec(["a"]))
    run.running()
    run.claim("a")
    assert d.decide_expire(run.state, "a", 1, "not claimed in time", T0, lambda: 0.5, seen=("SCHEDULED", 1)) == []
    assert types(d.decide_expire(run.state, "a", 1, "lost", T0, lambda: 0.5, seen=("RUNNING", 1)))[0] == "TaskFailed"


def test_an_outcome_from_another_executor_is_ignored() -> None:
    run = Run(spec(["a"]))
    run.running()
    run.claim("a", executor="ex-1")
    outcome = d.Outcome("succeeded")
    assert d.decide_outcome(run.state, "a", 1, outcome, T0, lambda: 0.5, executor_id="ex-2") == []
    accepted = d.decide_outcome(run.state, "a", 1, outcome, T0, lambda: 0.5, executor_id="ex-1")
    assert types(accepted)[0] == "TaskSucceeded"
