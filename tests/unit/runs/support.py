"""Builders for the run-domain tests: specs, a fixed clock and random source, and a small
harness that applies decisions to a run the way the command handlers do (decide, then evolve)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import strategies as st
from tauro_contracts.base import Event
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.pipeline import Edge, Node, PipelineConfig, PipelineSpec, RetryPolicy
from tauro_contracts.runs import (
    RunCreated,
    TaskScheduled,
)
from tauro_runs.domain import runs as d
from tauro_runs.domain.runs import Outcome, RunState

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
RUN_ID = "run_1"
PIPELINE_ID = "pipe_1"
TIMEOUT = 3600


def fixed_rand(value: float = 0.5) -> Callable[[], float]:
    return lambda: value


RAND = fixed_rand(0.5)


def policy(max_attempts: int = 1, backoff: float = 10.0, cap: float = 300.0, jitter: bool = False) -> RetryPolicy:
    return RetryPolicy(max_attempts=max_attempts, backoff_seconds=backoff, max_backoff_seconds=cap, jitter=jitter)


def node(node_id: str, retry: RetryPolicy | None = None, timeout: int | None = None) -> Node:
    return Node(id=node_id, type="python", config={"callable": f"mod:{node_id}"}, retry_policy=retry,
                timeout_seconds=timeout)


def spec(
    nodes: Sequence[str | Node],
    edges: Iterable[tuple[str, str]] = (),
    max_parallelism: int = 4,
    retry: RetryPolicy | None = None,
) -> PipelineSpec:
    return PipelineSpec(
        nodes=[n if isinstance(n, Node) else node(n) for n in nodes],
        edges=[Edge.model_validate({"from": a, "to": b}) for a, b in edges],
        config=PipelineConfig(max_parallelism=max_parallelism, retry_policy=retry or RetryPolicy(max_attempts=1)),
    )


def chain(*ids: str) -> list[tuple[str, str]]:
    return list(pairwise(ids))


DIAMOND = (["a", "b", "c", "d"], [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 12) -> tuple[list[str], list[tuple[str, str]]]:
    """A random valid DAG: edges only go forward in a hidden order; nodes are declared shuffled."""
    n = draw(st.integers(1, max_nodes))
    order = [f"n{i}" for i in range(n)]
    pairs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
    # one bit per forward pair; two masks ANDed give each possible edge a 1-in-4 chance
    mask = draw(st.integers(0, 2 ** len(pairs) - 1)) & draw(st.integers(0, 2 ** len(pairs) - 1))
    edges = [pair for k, pair in enumerate(pairs) if mask >> k & 1]
    declared = draw(st.permutations(order))
    return list(declared), edges


def created(s: PipelineSpec, params: dict[str, Any] | None = None) -> RunCreated:
    return RunCreated(
        run_id=RUN_ID, project_id="proj_1", pipeline_id=PIPELINE_ID, pipeline_version=1, pipeline_name="etl",
        spec=s, params=params or {"day": "2024-05-01"}, tags={}, trigger="api",
    )


def expect_conflict(fn: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn()
    assert info.value.code is ErrorCode.CONFLICT
    return info.value


def scheduled(events: Iterable[Event]) -> list[TaskScheduled]:
    return [e for e in events if isinstance(e, TaskScheduled)]


def scheduled_ids(events: Iterable[Event]) -> list[str]:
    return [e.node_id for e in scheduled(events)]


def types(events: Iterable[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


@dataclass
class Run:
    """One run's stream in memory: every accepted decision is evolved into ``state`` and logged."""

    spec: PipelineSpec
    now: datetime = T0
    rand: Callable[[], float] = RAND
    events: list[Event] = field(default_factory=list)
    state: RunState = field(default_factory=RunState)

    def __post_init__(self) -> None:
        self.apply([created(self.spec)])

    def apply(self, events: list[Event]) -> list[Event]:
        for event in events:
            self.state = d.evolve_run(self.state, event)
        self.events.extend(events)
        return events

    # -- commands ---------------------------------------------------------------------------
    def start(self, timeout: int = TIMEOUT, limit: int | None = None) -> list[Event]:
        return self.apply(d.decide_start(self.state, timeout, limit))

    def dispatch(self) -> list[Event]:
        return self.apply(d.decide_dispatch(self.state, self.now))

    def running(self, timeout: int = TIMEOUT) -> list[Event]:
        """Start and dispatch: the run is RUNNING with its root tasks scheduled."""
        self.start(timeout)
        return self.dispatch()

    def claim(self, node_id: str, executor: str = "ex-1", attempt: int | None = None,
              dispatch: int | None = None) -> list[Event]:
        task = self.state.tasks[node_id]
        return self.apply(d.decide_claim(
            self.state, node_id, task.attempt if attempt is None else attempt,
            task.dispatch if dispatch is None else dispatch, executor,
        ))

    def outcome(self, node_id: str, status: str = "succeeded", attempt: int | None = None,
                error: str | None = None) -> list[Event]:
        task = self.state.tasks[node_id]
        return self.apply(d.decide_outcome(
            self.state, node_id, task.attempt if attempt is None else attempt, Outcome(status, error),
            self.now, self.rand,
        ))

    def finish(self, node_id: str, status: str = "succeeded", error: str | None = None) -> list[Event]:
        """Claim the task's current attempt and report its outcome."""
        self.claim(node_id)
        return self.outcome(node_id, status, error=error)

    def expire(self, node_id: str, attempt: int | None = None, reason: str = "executor lost") -> list[Event]:
        task = self.state.tasks[node_id]
        return self.apply(d.decide_expire(
            self.state, node_id, task.attempt if attempt is None else attempt, reason, self.now, self.rand,
        ))

    def cancel(self, reason: str = "by user") -> list[Event]:
        return self.apply(d.decide_cancel(self.state, reason))

    def timeout(self) -> list[Event]:
        return self.apply(d.decide_timeout(self.state, self.now))

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    # -- views ------------------------------------------------------------------------------
    def status(self, node_id: str) -> str:
        return self.state.tasks[node_id].status

    def statuses(self) -> dict[str, str]:
        return {k: t.status for k, t in self.state.tasks.items()}

    def active(self) -> set[str]:
        return {k for k, t in self.state.tasks.items() if t.status in ("SCHEDULED", "RUNNING")}
