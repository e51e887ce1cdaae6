"""The run aggregate: a run's state machine and the DAG progression of its tasks.

Run states: PENDING -> QUEUED -> RUNNING -> SUCCESS | FAILED | CANCELLED | TIMED_OUT,
and PENDING or QUEUED -> CANCELLED. Task states: PENDING -> SCHEDULED -> RUNNING ->
SUCCESS | FAILED, with a failed attempt going back to SCHEDULED while its retry policy
allows; SKIPPED for nodes that never ran. Every function here is pure: time and
randomness are arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.errors import conflict
from tauro_contracts.pipeline import PipelineSpec, RetryPolicy, upstream
from tauro_contracts.readmodels.states import TERMINAL_RUN_STATES
from tauro_contracts.readmodels.states import RunState as RunStatus
from tauro_contracts.readmodels.states import TaskState as TaskStatus
from tauro_contracts.runs import (
    AttemptStatus,
    RunCancelled,
    RunCreated,
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

TERMINAL = TERMINAL_RUN_STATES
ACTIVE_TASK = frozenset({TaskStatus.SCHEDULED, TaskStatus.RUNNING})
DONE_TASK = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.SKIPPED})


@dataclass(frozen=True)
class TaskState:
    status: str = TaskStatus.PENDING
    attempt: int = 0
    dispatch: int = 0
    executor_id: str | None = None


@dataclass(frozen=True)
class RunState:
    version: int = 0
    status: str = ""
    run_id: str = ""
    pipeline_id: str = ""
    spec: PipelineSpec | None = None
    params: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: int = 0
    deadline: datetime | None = None
    tasks: dict[str, TaskState] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.status != ""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL


def _task(state: RunState, node_id: str, **changes: Any) -> RunState:
    tasks = dict(state.tasks)
    tasks[node_id] = replace(tasks.get(node_id, TaskState()), **changes)
    return replace(state, tasks=tasks)


def evolve_run(state: RunState, event: Event) -> RunState:
    state = replace(state, version=state.version + 1)
    match event:
        case RunCreated():
            return replace(
                state, status=RunStatus.PENDING, run_id=event.run_id, pipeline_id=event.pipeline_id, spec=event.spec,
                params=dict(event.params), tasks={n.id: TaskState() for n in event.spec.nodes},
            )
        case RunQueued():
            return replace(state, status=RunStatus.QUEUED, timeout_seconds=event.timeout_seconds)
        case RunStarted():
            return replace(state, status=RunStatus.RUNNING, deadline=event.deadline)
        case TaskScheduled():
            return _task(state, event.node_id, status=TaskStatus.SCHEDULED, attempt=event.attempt,
                         dispatch=event.dispatch, executor_id=None)
        case TaskStarted():
            return _task(state, event.node_id, status=TaskStatus.RUNNING, executor_id=event.executor_id)
        case TaskSucceeded():
            return _task(state, event.node_id, status=TaskStatus.SUCCESS)
        case TaskFailed():
            return _task(state, event.node_id, status=TaskStatus.FAILED) if not event.will_retry else state
        case TaskSkipped():
            return _task(state, event.node_id, status=TaskStatus.SKIPPED)
        case RunSucceeded():
            return replace(state, status=RunStatus.SUCCESS)
        case RunFailed():
            return replace(state, status=RunStatus.FAILED)
        case RunCancelled():
            return replace(state, status=RunStatus.CANCELLED)
        case RunTimedOut():
            return replace(state, status=RunStatus.TIMED_OUT)
    return state


def fold_run(events: Iterable[Event]) -> RunState:
    state = RunState()
    for event in events:
        state = evolve_run(state, event)
    return state


def _spec(state: RunState) -> PipelineSpec:
    assert state.spec is not None, "run without a pipeline snapshot"
    return state.spec


def decide_start(state: RunState, timeout_seconds: int, pipeline_limit: int | None,
                 schedule_limit: int | None = None) -> list[Event]:
    """Queue the run; the dispatcher starts it when the global, pipeline and schedule limits allow."""
    if state.status != RunStatus.PENDING:
        raise conflict(f"run '{state.run_id}' is {state.status}; only a PENDING run can be started", field="state")
    return [RunQueued(run_id=state.run_id, pipeline_id=state.pipeline_id, timeout_seconds=timeout_seconds,
                      max_concurrent_for_pipeline=pipeline_limit, max_concurrent_for_schedule=schedule_limit)]


def decide_cancel(state: RunState, reason: str) -> list[Event]:
    if state.terminal:
        raise conflict(f"run '{state.run_id}' already ended as {state.status}", field="state")
    return [RunCancelled(run_id=state.run_id, reason=reason)]


def _schedule(state: RunState, node_id: str, attempt: int, dispatch: int, not_before: datetime | None) -> Event:
    spec = _spec(state)
    node = next(n for n in spec.nodes if n.id == node_id)
    return TaskScheduled(
        run_id=state.run_id, node_id=node_id, attempt=attempt, dispatch=dispatch, not_before=not_before,
        node=node.model_dump(mode="json"), upstream=upstream(spec)[node_id], params=state.params,
        timeout_seconds=node.timeout_seconds,
    )


def _ready(state: RunState) -> list[str]:
    """Pending nodes whose dependencies all succeeded, within the pipeline's parallelism."""
    spec = _spec(state)
    deps = upstream(spec)
    busy = sum(1 for t in state.tasks.values() if t.status in ACTIVE_TASK)
    room = max(0, spec.config.max_parallelism - busy)
    ready = [
        n.id for n in spec.nodes
        if state.tasks[n.id].status == TaskStatus.PENDING
        and all(state.tasks[d].status == TaskStatus.SUCCESS for d in deps[n.id])
    ]
    return ready[:room]


def _apply(state: RunState, events: list[Event]) -> RunState:
    for event in events:
        state = evolve_run(state, event)
    return state


def decide_dispatch(state: RunState, now: datetime) -> list[Event]:
    """A QUEUED run got a slot: it starts and its root tasks are scheduled."""
    if state.status != RunStatus.QUEUED:
        return []
    events: list[Event] = [RunStarted(run_id=state.run_id, deadline=now + timedelta(seconds=state.timeout_seconds))]
    after = _apply(state, events)
    return events + [_schedule(after, node_id, 1, 1, None) for node_id in _ready(after)]


def decide_claim(state: RunState, node_id: str, attempt: int, dispatch: int, executor_id: str) -> list[Event]:
    task = state.tasks.get(node_id)
    if state.status != RunStatus.RUNNING or task is None:
        raise conflict(f"run '{state.run_id}' is {state.status or 'unknown'}; task cannot start", field="state")
    if (task.status == TaskStatus.RUNNING and task.attempt == attempt and task.dispatch == dispatch
            and task.executor_id == executor_id):
        return []  # the same claim again; a superseded dispatch of this attempt must not run too
    if task.status != TaskStatus.SCHEDULED or task.attempt != attempt or task.dispatch != dispatch:
        raise conflict(f"task {node_id} attempt {attempt}/{dispatch} is not waiting to be claimed", field="attempt")
    return [TaskStarted(run_id=state.run_id, node_id=node_id, attempt=attempt, executor_id=executor_id)]


def retry_policy(spec: PipelineSpec, node_id: str) -> RetryPolicy:
    node = next(n for n in spec.nodes if n.id == node_id)
    return node.retry_policy or spec.config.retry_policy


@dataclass(frozen=True)
class Outcome:
    status: AttemptStatus
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    duration_seconds: float = 0.0


def decide_outcome(
    state: RunState, node_id: str, attempt: int, outcome: Outcome, now: datetime, rand: Callable[[], float],
    executor_id: str | None = None,
) -> list[Event]:
    """Record one attempt's end once, from the executor that claimed it; then schedule what
    became ready, or end the run."""
    task = state.tasks.get(node_id)
    if state.terminal or task is None or task.status != TaskStatus.RUNNING or task.attempt != attempt:
        return []
    if executor_id is not None and task.executor_id != executor_id:
        return []
    run_id = state.run_id
    if outcome.status == "succeeded":
        events: list[Event] = [TaskSucceeded(run_id=run_id, node_id=node_id, attempt=attempt,
                                             metrics=outcome.metrics, duration_seconds=outcome.duration_seconds)]
        after = _apply(state, events)
        if all(t.status == TaskStatus.SUCCESS for t in after.tasks.values()):
            return [*events, RunSucceeded(run_id=run_id)]
        return events + [_schedule(after, n, 1, 1, None) for n in _ready(after)]
    if outcome.status == "cancelled":
        return [_schedule(state, node_id, attempt, task.dispatch + 1, None)]
    return _failure(state, node_id, attempt, outcome, now, rand)


def _failure(
    state: RunState, node_id: str, attempt: int, outcome: Outcome, now: datetime, rand: Callable[[], float]
) -> list[Event]:
    policy = retry_policy(_spec(state), node_id)
    will_retry = attempt < policy.max_attempts
    error = outcome.error or outcome.status
    failed = TaskFailed(run_id=state.run_id, node_id=node_id, attempt=attempt, status=outcome.status,
                        error=error, will_retry=will_retry, duration_seconds=outcome.duration_seconds)
    if will_retry:
        not_before = now + timedelta(seconds=policy.delay(attempt, rand()))
        return [failed, _schedule(state, node_id, attempt + 1, 1, not_before)]
    skipped: list[Event] = [
        TaskSkipped(run_id=state.run_id, node_id=n, reason=f"run failed at {node_id}")
        for n, t in state.tasks.items() if t.status in (TaskStatus.PENDING, TaskStatus.SCHEDULED) and n != node_id
    ]
    message = f"task {node_id} failed after {attempt} attempt(s): {error}"
    return [failed, *skipped, RunFailed(run_id=state.run_id, error=message, failed_node=node_id)]


def decide_expire(
    state: RunState, node_id: str, attempt: int, reason: str, now: datetime, rand: Callable[[], float],
    seen: tuple[str, int] | None = None,
) -> list[Event]:
    """A lost executor's attempt fails (and retries by policy); an unclaimed task is re-dispatched.
    ``seen`` is the (status, dispatch) the reaper acted on: if the task moved on since, nothing happens."""
    task = state.tasks.get(node_id)
    if state.terminal or task is None or task.attempt != attempt:
        return []
    if seen is not None and seen != (task.status, task.dispatch):
        return []
    if task.status == TaskStatus.SCHEDULED:
        return [_schedule(state, node_id, attempt, task.dispatch + 1, None)]
    if task.status == TaskStatus.RUNNING:
        return _failure(state, node_id, attempt, Outcome("failed", reason), now, rand)
    return []


def decide_timeout(state: RunState, now: datetime) -> list[Event]:
    if state.status == RunStatus.RUNNING and state.deadline is not None and now >= state.deadline:
        return [RunTimedOut(run_id=state.run_id, timeout_seconds=state.timeout_seconds)]
    return []
