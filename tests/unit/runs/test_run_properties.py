"""Property tests of the run state machine over random DAGs and random interleavings of reports."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tauro_contracts.base import Event
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.pipeline import PipelineSpec, RetryPolicy, dag_errors, upstream
from tauro_contracts.registry import REGISTRY
from tauro_contracts.runs import (
    TERMINAL_EVENTS,
    RunFailed,
    TaskFailed,
    TaskScheduled,
    TaskSkipped,
    TaskStarted,
    TaskSucceeded,
)
from tauro_runs.domain import runs as d

from .support import Run, dags, node, spec

SEEDS = st.integers(0, 2**32 - 1)  # drives the interleaving; the DAG itself shrinks
PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIGHT = settings(PROPS, max_examples=50)


POLICIES = [
    RetryPolicy(max_attempts=attempts, backoff_seconds=backoff, max_backoff_seconds=cap, jitter=jitter)
    for attempts in (1, 2, 3, 4)
    for backoff, cap, jitter in ((0.0, 300.0, False), (5.0, 2.0, True), (1.0, 300.0, True))
]


@st.composite
def specs(draw: st.DrawFn, with_policies: bool) -> PipelineSpec:
    ids, edges = draw(dags())
    nodes: list[Any] = list(ids)
    retry = None
    if with_policies:
        retry = draw(st.sampled_from(POLICIES))
        # per node: None (inherit the pipeline's policy) or an override
        picks = draw(st.lists(st.integers(-len(POLICIES), len(POLICIES) - 1), min_size=len(ids), max_size=len(ids)))
        nodes = [node(i, retry=POLICIES[k] if k >= 0 else None) for i, k in zip(ids, picks, strict=True)]
    s = spec(nodes, edges, max_parallelism=draw(st.integers(1, 4)), retry=retry)
    assert dag_errors(s) == []
    return s


class Checked(Run):
    """A run whose every appended event is checked against the invariants as it is evolved."""

    def apply(self, events: list[Event]) -> list[Event]:
        assert not self.state.terminal or not events, f"events after the run ended: {events}"
        limit = self.spec.config.max_parallelism
        deps = upstream(self.spec)
        for event in events:
            self.state = d.evolve_run(self.state, event)
            self.events.append(event)
            if isinstance(event, TaskScheduled):
                assert all(self.state.tasks[u].status == "SUCCESS" for u in deps[event.node_id]), (
                    f"{event.node_id} scheduled before its upstream succeeded"
                )
                policy = d.retry_policy(self.spec, event.node_id)
                assert event.attempt <= policy.max_attempts
            for t in self.state.tasks.values():
                if t.status in d.ACTIVE_TASK:  # a claim belongs to the attempt it was made for
                    assert (t.executor_id is not None) == (t.status == "RUNNING")
            active = sum(t.status in d.ACTIVE_TASK for t in self.state.tasks.values())
            assert active <= limit, f"{active} tasks active with max_parallelism {limit}"
        return events


def _replay_checks(run: Run) -> None:
    assert d.fold_run(run.events) == run.state
    stored = [REGISTRY.decode(type(e).type_name, 1, e.model_dump(mode="json")) for e in run.events]
    assert stored == run.events
    assert d.fold_run(stored) == run.state
    step = d.RunState()
    for event in stored:
        step = d.evolve_run(step, event)
    assert step == run.state


@PROPS
@given(s=specs(with_policies=False), seed=SEEDS)
def test_random_dag_with_successful_tasks_ends_success_with_each_task_run_once(
    s: PipelineSpec, seed: int
) -> None:
    rnd = random.Random(seed)
    run = Checked(s)
    run.running()
    for _ in range(10 * len(s.nodes)):
        if run.state.terminal:
            break
        active = sorted(run.active())
        assert active, f"run stuck with no active task: {run.statuses()}"
        node_id = rnd.choice(active)
        executor = rnd.choice(["ex-1", "ex-2"])
        if run.status(node_id) == "SCHEDULED":
            run.claim(node_id, executor=executor)
        else:
            run.outcome(node_id)
        if rnd.random() < 0.5:  # at-least-once: a re-delivered claim or report changes nothing
            task = run.state.tasks[node_id]
            if task.status == "RUNNING":
                assert d.decide_claim(run.state, node_id, task.attempt, task.dispatch, executor) == []
            else:
                assert run.outcome(node_id, attempt=task.attempt) == []
    assert run.state.status == "SUCCESS"
    ids = [n.id for n in s.nodes]
    for kind in (TaskScheduled, TaskStarted, TaskSucceeded):
        assert Counter(e.node_id for e in run.events if isinstance(e, kind)) == Counter(ids)
    assert not any(isinstance(e, TaskFailed | TaskSkipped) for e in run.events)
    assert sum(isinstance(e, TERMINAL_EVENTS) for e in run.events) == 1
    assert isinstance(run.events[-1], TERMINAL_EVENTS)
    # successors only start after their upstream succeeded, in event order too
    done_at = {e.node_id: i for i, e in enumerate(run.events) if isinstance(e, TaskSucceeded)}
    deps = upstream(s)
    for i, e in enumerate(run.events):
        if isinstance(e, TaskScheduled):
            assert all(done_at[u] < i for u in deps[e.node_id])
    _replay_checks(run)


ACTIONS_SCHEDULED = ["claim", "claim", "claim", "expire", "stale_claim"]
ACTIONS_RUNNING = ["succeeded", "failed", "failed", "timed_out", "cancelled", "expire", "reclaim", "other_claim",
                   "stale_claim"]


@PROPS
@given(s=specs(with_policies=True), seed=SEEDS)
def test_random_failures_and_retries_reach_exactly_one_terminal_event(s: PipelineSpec, seed: int) -> None:
    rnd = random.Random(seed)
    run = Checked(s)
    run.running()
    steps = 0
    while not run.state.terminal:
        steps += 1
        assert steps < 2000, "run did not end"
        active = sorted(run.active())
        assert active, f"run stuck with no active task: {run.statuses()}"
        node_id = rnd.choice(active)
        task = run.state.tasks[node_id]
        calm = steps > 150  # later on, only actions that make progress, so every run ends
        if task.status == "SCHEDULED":
            action = "claim" if calm else rnd.choice(ACTIONS_SCHEDULED)
            if action == "claim":
                run.claim(node_id, executor=rnd.choice(["ex-1", "ex-2", "ex-3"]))
            elif action == "expire":
                run.expire(node_id, reason="not claimed in time")
            else:
                _claim_conflicts(run.state, node_id, task.attempt, task.dispatch + 1, "ex")
        else:
            action = rnd.choice(ACTIONS_RUNNING[:3] if calm else ACTIONS_RUNNING)
            if action == "expire":
                run.expire(node_id, reason="executor lost")
            elif action == "reclaim":
                assert d.decide_claim(run.state, node_id, task.attempt, task.dispatch, task.executor_id or "") == []
            elif action == "other_claim":
                _claim_conflicts(run.state, node_id, task.attempt, task.dispatch, "intruder")
            elif action == "stale_claim":  # the claimant's own late claim of an earlier dispatch
                for dispatch in range(1, task.dispatch):
                    _claim_conflicts(run.state, node_id, task.attempt, dispatch, task.executor_id or "")
            else:
                run.outcome(node_id, action, error=f"{action} on purpose")
                assert run.outcome(node_id, action, attempt=task.attempt) == []  # a duplicate report is a no-op
        if not calm and not run.state.terminal and rnd.randrange(40) == 0:
            run.cancel("random cancel")
    terminal = [e for e in run.events if isinstance(e, TERMINAL_EVENTS)]
    assert len(terminal) == 1 and run.events[-1] is terminal[0]
    assert run.state.terminal
    _nothing_more_happens(run)

    for n in s.nodes:
        limit = d.retry_policy(s, n.id).max_attempts
        attempts = {e.attempt for e in run.events if isinstance(e, TaskStarted) and e.node_id == n.id}
        assert len(attempts) <= limit and all(a <= limit for a in attempts)
        ends = [e.attempt for e in run.events if isinstance(e, TaskSucceeded | TaskFailed) and e.node_id == n.id]
        assert len(ends) == len(set(ends)), f"an attempt of {n.id} was recorded twice"
        started = [(e.attempt) for e in run.events if isinstance(e, TaskStarted) and e.node_id == n.id]
        assert len(ends) <= len(started)
        retries = [e for e in run.events if isinstance(e, TaskFailed) and e.node_id == n.id and e.will_retry]
        assert all(e.attempt < limit for e in retries)

    if isinstance(terminal[0], RunFailed):
        final_failures = [e for e in run.events if isinstance(e, TaskFailed) and not e.will_retry]
        assert [e.node_id for e in final_failures] == [terminal[0].failed_node]
        assert run.status(terminal[0].failed_node or "") == "FAILED"
        assert not any(t.status in ("PENDING", "SCHEDULED") for t in run.state.tasks.values())
    if run.state.status == "SUCCESS":
        assert all(t.status == "SUCCESS" for t in run.state.tasks.values())
    _replay_checks(run)


def _nothing_more_happens(run: Run) -> None:
    """Once the run ended, every command is a no-op or a CONFLICT."""
    state, later = run.state, run.now + timedelta(days=30)
    assert d.decide_dispatch(state, later) == [] and d.decide_timeout(state, later) == []
    for node_id, task in state.tasks.items():
        for attempt in {1, task.attempt, task.attempt + 1}:
            for status in ("succeeded", "failed", "timed_out", "cancelled"):
                assert d.decide_outcome(state, node_id, attempt, d.Outcome(status), later, run.rand) == []
            assert d.decide_expire(state, node_id, attempt, "lost", later, run.rand) == []
            _claim_conflicts(state, node_id, attempt, task.dispatch, "ex-late")
    for decide in (lambda: d.decide_start(state, 60, None), lambda: d.decide_cancel(state, "late")):
        try:
            decide()
        except DomainError as exc:
            assert exc.code is ErrorCode.CONFLICT
        else:
            raise AssertionError("expected a CONFLICT")


def _claim_conflicts(state: d.RunState, node_id: str, attempt: int, dispatch: int, executor: str) -> None:
    try:
        d.decide_claim(state, node_id, attempt, dispatch, executor)
    except DomainError as exc:
        assert exc.code is ErrorCode.CONFLICT
    else:
        raise AssertionError("expected a CONFLICT")


@LIGHT
@given(s=specs(with_policies=True), seed=SEEDS)
def test_fold_equals_step_by_step_evolution_for_any_prefix(s: PipelineSpec, seed: int) -> None:
    rnd = random.Random(seed)
    run = Run(s)
    run.running()
    while not run.state.terminal:
        node_id = rnd.choice(sorted(run.active()))
        if run.status(node_id) == "SCHEDULED":
            run.claim(node_id)
        else:
            run.outcome(node_id, rnd.choice(["succeeded", "succeeded", "failed"]))
    cut = rnd.randint(0, len(run.events))
    prefix = run.events[:cut]
    state = d.RunState()
    for event in prefix:
        state = d.evolve_run(state, event)
    assert d.fold_run(prefix) == state
    assert state.version == cut
    assert d.fold_run(prefix + run.events[cut:]) == run.state
