"""Every legal transition of the run and task state machines, with a fixed clock and random source."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tauro_contracts.runs import (
    RunCancelled,
    RunFailed,
    RunQueued,
    RunStarted,
    RunSucceeded,
    RunTimedOut,
    TaskFailed,
    TaskScheduled,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from tauro_runs.domain import runs as d

from .support import (
    DIAMOND,
    PIPELINE_ID,
    RUN_ID,
    T0,
    Run,
    chain,
    fixed_rand,
    node,
    policy,
    scheduled,
    scheduled_ids,
    spec,
    types,
)

# -- creation, start, dispatch -------------------------------------------------------------------


def test_created_run_is_pending_with_every_task_pending() -> None:
    run = Run(spec(*DIAMOND))
    assert run.state.exists and not run.state.terminal
    assert run.state.status == "PENDING"
    assert run.state.run_id == RUN_ID and run.state.pipeline_id == PIPELINE_ID
    assert run.state.version == 1
    assert run.statuses() == dict.fromkeys("abcd", "PENDING")
    assert run.state.params == {"day": "2024-05-01"}


def test_start_queues_a_pending_run_with_its_timeout_and_pipeline_limit() -> None:
    run = Run(spec(["a"]))
    events = run.start(timeout=120, limit=3)
    assert events == [RunQueued(run_id=RUN_ID, pipeline_id=PIPELINE_ID, timeout_seconds=120,
                                max_concurrent_for_pipeline=3)]
    assert run.state.status == "QUEUED"
    assert run.state.timeout_seconds == 120
    assert run.state.deadline is None


def test_dispatch_starts_the_run_with_a_deadline_and_schedules_the_roots() -> None:
    run = Run(spec(*DIAMOND))
    run.start(timeout=600)
    events = run.dispatch()
    assert isinstance(events[0], RunStarted)
    assert events[0].deadline == T0 + timedelta(seconds=600)
    assert scheduled_ids(events) == ["a"]
    first = scheduled(events)[0]
    assert (first.attempt, first.dispatch, first.not_before) == (1, 1, None)
    assert first.upstream == [] and first.params == {"day": "2024-05-01"}
    assert first.node["id"] == "a"
    assert run.state.status == "RUNNING"
    assert run.state.deadline == T0 + timedelta(seconds=600)
    assert run.statuses() == {"a": "SCHEDULED", "b": "PENDING", "c": "PENDING", "d": "PENDING"}


def test_dispatch_schedules_roots_up_to_max_parallelism_in_declaration_order() -> None:
    run = Run(spec(["r1", "r2", "r3", "r4", "r5"], max_parallelism=2))
    events = run.running()
    assert scheduled_ids(events) == ["r1", "r2"]
    assert run.active() == {"r1", "r2"}


def test_dispatch_schedules_every_root_when_parallelism_allows() -> None:
    run = Run(spec(["x", "y", "z"], [("x", "z"), ("y", "z")], max_parallelism=8))
    assert scheduled_ids(run.running()) == ["x", "y"]


def test_scheduled_task_carries_its_upstream_and_node_timeout() -> None:
    run = Run(spec([node("a"), node("b", timeout=42)], [("a", "b")]))
    run.running()
    events = run.finish("a")
    (b,) = scheduled(events)
    assert b.node_id == "b" and b.upstream == ["a"] and b.timeout_seconds == 42


def test_claim_starts_the_task_on_that_executor() -> None:
    run = Run(spec(["a"]))
    run.running()
    events = run.claim("a", executor="ex-7")
    assert events == [TaskStarted(run_id=RUN_ID, node_id="a", attempt=1, executor_id="ex-7")]
    task = run.state.tasks["a"]
    assert (task.status, task.attempt, task.dispatch, task.executor_id) == ("RUNNING", 1, 1, "ex-7")


# -- success ------------------------------------------------------------------------------------


def test_single_task_run_succeeds() -> None:
    run = Run(spec(["a"]))
    run.running()
    events = run.finish("a")
    assert types(events) == ["TaskSucceeded", "RunSucceeded"]
    assert events[-1] == RunSucceeded(run_id=RUN_ID)
    assert run.state.status == "SUCCESS" and run.state.terminal
    assert run.status("a") == "SUCCESS"


def test_success_records_metrics_and_duration() -> None:
    run = Run(spec(["a"]))
    run.running()
    run.claim("a")
    events = run.apply(d.decide_outcome(run.state, "a", 1, d.Outcome("succeeded", None, {"rows": 3.0}, 1.5),
                                        run.now, run.rand))
    assert events[0] == TaskSucceeded(run_id=RUN_ID, node_id="a", attempt=1, metrics={"rows": 3.0},
                                      duration_seconds=1.5)


def test_chain_schedules_each_successor_when_its_dependency_succeeds() -> None:
    run = Run(spec(["a", "b", "c"], chain("a", "b", "c")))
    assert scheduled_ids(run.running()) == ["a"]
    assert scheduled_ids(run.finish("a")) == ["b"]
    assert run.statuses() == {"a": "SUCCESS", "b": "SCHEDULED", "c": "PENDING"}
    assert scheduled_ids(run.finish("b")) == ["c"]
    assert types(run.finish("c")) == ["TaskSucceeded", "RunSucceeded"]


def test_diamond_joins_only_after_both_branches_succeed() -> None:
    run = Run(spec(*DIAMOND))
    run.running()
    assert scheduled_ids(run.finish("a")) == ["b", "c"]
    assert run.active() == {"b", "c"}
    after_c = run.finish("c")
    assert types(after_c) == ["TaskSucceeded"], "d must wait for b"
    assert run.status("d") == "PENDING"
    assert scheduled_ids(run.finish("b")) == ["d"]
    assert types(run.finish("d")) == ["TaskSucceeded", "RunSucceeded"]
    assert run.statuses() == dict.fromkeys("abcd", "SUCCESS")


def test_diamond_with_parallelism_one_runs_one_task_at_a_time() -> None:
    run = Run(spec(*DIAMOND, max_parallelism=1))
    run.running()
    assert scheduled_ids(run.finish("a")) == ["b"]
    assert scheduled_ids(run.finish("b")) == ["c"]
    assert scheduled_ids(run.finish("c")) == ["d"]
    assert run.finish("d")[-1] == RunSucceeded(run_id=RUN_ID)


def test_wide_dag_is_limited_by_max_parallelism() -> None:
    leaves = [f"w{i}" for i in range(7)]
    run = Run(spec(["root", *leaves, "sink"], [("root", w) for w in leaves] + [(w, "sink") for w in leaves],
                   max_parallelism=3))
    run.running()
    assert scheduled_ids(run.finish("root")) == ["w0", "w1", "w2"]
    # a slot frees: exactly one more leaf is scheduled
    assert scheduled_ids(run.finish("w1")) == ["w3"]
    assert run.active() == {"w0", "w2", "w3"}
    # a claimed (RUNNING) task still holds its slot
    run.claim("w0")
    assert len(run.active()) == 3
    for w in ["w0", "w2", "w3"]:
        if run.status(w) == "SCHEDULED":
            run.claim(w)
        run.outcome(w)
        assert len(run.active()) == 3, "each freed slot is taken by the next leaf"
    assert run.active() == {"w4", "w5", "w6"}
    for w in ["w4", "w5"]:
        assert scheduled_ids(run.finish(w)) == []
    assert run.status("sink") == "PENDING"
    assert scheduled_ids(run.finish("w6")) == ["sink"]
    assert run.finish("sink")[-1] == RunSucceeded(run_id=RUN_ID)


def test_success_is_recorded_with_the_attempt_number() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=3)))
    run.running()
    run.finish("a", "failed", error="boom")
    events = run.finish("a")
    assert events[0] == TaskSucceeded(run_id=RUN_ID, node_id="a", attempt=2)
    assert events[-1] == RunSucceeded(run_id=RUN_ID)


# -- failure and retries ------------------------------------------------------------------------


def test_failure_without_retries_fails_the_run_and_skips_the_rest() -> None:
    run = Run(spec(["a", "b", "c", "z"], [("a", "b"), ("b", "c")], max_parallelism=1))
    run.running()
    events = run.finish("a", "failed", error="exit 3")
    assert events[0] == TaskFailed(run_id=RUN_ID, node_id="a", attempt=1, status="failed", error="exit 3",
                                   will_retry=False)
    skipped = [e for e in events if isinstance(e, TaskSkipped)]
    assert sorted(e.node_id for e in skipped) == ["b", "c", "z"]
    assert all(e.reason == "run failed at a" for e in skipped)
    final = events[-1]
    assert isinstance(final, RunFailed)
    assert final.failed_node == "a"
    assert final.error == "task a failed after 1 attempt(s): exit 3"
    assert run.state.status == "FAILED"
    assert run.statuses() == {"a": "FAILED", "b": "SKIPPED", "c": "SKIPPED", "z": "SKIPPED"}


def test_terminal_failure_skips_scheduled_siblings_but_leaves_running_ones() -> None:
    run = Run(spec(["a", "b", "c", "d"], max_parallelism=3))
    run.running()
    run.claim("b")
    events = run.finish("a", "failed", error="bad")
    assert sorted(e.node_id for e in events if isinstance(e, TaskSkipped)) == ["c", "d"]
    assert run.status("b") == "RUNNING"  # its executor is told by the terminal event; its outcome is ignored
    assert run.outcome("b") == []
    assert run.state.status == "FAILED"


def test_failure_message_defaults_to_the_outcome_status() -> None:
    run = Run(spec(["a"]))
    run.running()
    events = run.finish("a", "failed")
    assert events[0].error == "failed"


def test_failed_attempt_is_retried_with_backoff_while_the_policy_allows() -> None:
    run = Run(spec(["a", "b"], [("a", "b")], retry=policy(max_attempts=3, backoff=10, jitter=False)))
    run.running()
    events = run.finish("a", "failed", error="flaky")
    assert types(events) == ["TaskFailed", "TaskScheduled"]
    failed, again = events
    assert isinstance(failed, TaskFailed) and failed.will_retry and failed.attempt == 1
    assert isinstance(again, TaskScheduled)
    assert (again.node_id, again.attempt, again.dispatch) == ("a", 2, 1)
    assert again.not_before == T0 + timedelta(seconds=10)
    assert run.state.status == "RUNNING"
    assert (run.status("a"), run.state.tasks["a"].attempt, run.state.tasks["a"].executor_id) == ("SCHEDULED", 2, None)

    run.advance(10)
    events = run.finish("a", "failed", error="flaky")
    assert types(events) == ["TaskFailed", "TaskScheduled"]
    assert events[1].attempt == 3
    assert events[1].not_before == run.now + timedelta(seconds=20)

    run.advance(20)
    events = run.finish("a", "failed", error="flaky")
    assert types(events) == ["TaskFailed", "TaskSkipped", "RunFailed"]
    assert events[0].will_retry is False and events[0].attempt == 3
    assert events[-1] == RunFailed(run_id=RUN_ID, error="task a failed after 3 attempt(s): flaky", failed_node="a")


def test_retry_delay_uses_the_random_source_for_jitter() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=2, backoff=8, jitter=True)), rand=fixed_rand(0.25))
    run.running()
    _, again = run.finish("a", "failed")
    # equal jitter: half fixed (4 s) + half scaled by rand (0.25 * 4 s)
    assert again.not_before == T0 + timedelta(seconds=5)


def test_retry_delay_is_capped() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=5, backoff=10, cap=15, jitter=False)))
    run.running()
    run.finish("a", "failed")
    _, again = run.finish("a", "failed")
    assert again.not_before == T0 + timedelta(seconds=15)


def test_retried_task_then_succeeding_continues_the_dag() -> None:
    run = Run(spec(["a", "b"], [("a", "b")], retry=policy(max_attempts=2)))
    run.running()
    run.finish("a", "failed")
    assert scheduled_ids(run.finish("a")) == ["b"]
    assert run.finish("b")[-1] == RunSucceeded(run_id=RUN_ID)


def test_a_retry_keeps_its_parallelism_slot() -> None:
    run = Run(spec(["a", "b", "c"], max_parallelism=2, retry=policy(max_attempts=2)))
    run.running()
    events = run.finish("a", "failed")
    assert scheduled_ids(events) == ["a"], "the retry takes a's slot; c must not be scheduled too"
    assert run.active() == {"a", "b"}
    assert run.status("c") == "PENDING"


def test_timed_out_outcome_is_retried_like_a_failure() -> None:
    run = Run(spec(["a"], retry=policy(max_attempts=2, backoff=3)))
    run.running()
    events = run.finish("a", "timed_out", error="exceeded 5s")
    assert events[0] == TaskFailed(run_id=RUN_ID, node_id="a", attempt=1, status="timed_out",
                                   error="exceeded 5s", will_retry=True)
    assert events[1].attempt == 2 and events[1].not_before == T0 + timedelta(seconds=3)
    events = run.finish("a", "timed_out")
    assert types(events) == ["TaskFailed", "RunFailed"]
    assert events[0].status == "timed_out" and events[0].error == "timed_out"
    assert run.state.status == "FAILED"


def test_node_retry_policy_overrides_the_pipelines() -> None:
    s = spec([node("a", retry=policy(max_attempts=3, backoff=1)), node("b")], max_parallelism=2,
             retry=policy(max_attempts=1))
    assert d.retry_policy(s, "a").max_attempts == 3
    assert d.retry_policy(s, "b").max_attempts == 1
    run = Run(s)
    run.running()
    assert types(run.finish("a", "failed")) == ["TaskFailed", "TaskScheduled"]
    assert types(run.finish("b", "failed")) == ["TaskFailed", "TaskSkipped", "RunFailed"]


def test_node_with_fewer_attempts_than_the_pipeline_is_not_retried() -> None:
    s = spec([node("a", retry=policy(max_attempts=1))], retry=policy(max_attempts=5))
    run = Run(s)
    run.running()
    assert types(run.finish("a", "failed")) == ["TaskFailed", "RunFailed"]


# -- cancel -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reach", ["PENDING", "QUEUED", "RUNNING"])
def test_cancel_from_a_live_state(reach: str) -> None:
    run = Run(spec(*DIAMOND))
    if reach in ("QUEUED", "RUNNING"):
        run.start()
    if reach == "RUNNING":
        run.dispatch()
        run.finish("a")
        run.claim("b")
    assert run.state.status == reach
    events = run.cancel("not needed")
    assert events == [RunCancelled(run_id=RUN_ID, reason="not needed")]
    assert run.state.status == "CANCELLED" and run.state.terminal


def test_cancelled_queued_run_is_never_dispatched() -> None:
    run = Run(spec(["a"]))
    run.start()
    run.cancel()
    assert run.dispatch() == []
    assert run.state.status == "CANCELLED"


# -- run timeout --------------------------------------------------------------------------------


def test_run_times_out_at_its_deadline_and_not_before() -> None:
    run = Run(spec(["a"]))
    run.running(timeout=60)
    run.claim("a")
    run.advance(59.999)
    assert run.timeout() == []
    assert run.state.status == "RUNNING"
    run.advance(0.001)
    assert run.timeout() == [RunTimedOut(run_id=RUN_ID, timeout_seconds=60)]
    assert run.state.status == "TIMED_OUT" and run.state.terminal
    run.advance(100)
    assert run.timeout() == [], "a run times out once"


def test_timeout_long_after_the_deadline() -> None:
    run = Run(spec(["a"]))
    run.running(timeout=1)
    run.advance(86400)
    assert types(run.timeout()) == ["RunTimedOut"]


@pytest.mark.parametrize("reach", ["PENDING", "QUEUED"])
def test_runs_that_never_started_do_not_time_out(reach: str) -> None:
    run = Run(spec(["a"]))
    if reach == "QUEUED":
        run.start(timeout=1)
    run.advance(10_000)
    assert run.timeout() == []
    assert run.state.status == reach


def test_timed_out_run_ignores_late_outcomes() -> None:
    run = Run(spec(["a", "b"], [("a", "b")]))
    run.running(timeout=5)
    run.claim("a")
    run.advance(5)
    run.timeout()
    assert run.outcome("a") == []
    assert run.status("a") == "RUNNING"
    assert run.state.status == "TIMED_OUT"


# -- replay -------------------------------------------------------------------------------------


def test_fold_of_the_stream_equals_the_state_built_step_by_step() -> None:
    run = Run(spec(*DIAMOND, retry=policy(max_attempts=2)))
    run.running()
    run.finish("a")
    run.finish("b", "failed")
    run.finish("b")
    run.finish("c")
    run.finish("d")
    assert run.state.status == "SUCCESS"
    assert d.fold_run(run.events) == run.state
    assert run.state.version == len(run.events)
