"""Retry policy: backoff bounds and monotonicity, retry decisions, policy precedence."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tauro_contracts.pipeline import Node, PipelineConfig, RetryPolicy
from tauro_executor.retry import (
    backoff_ceiling,
    backoff_delay,
    effective_policy,
    effective_timeout,
    should_retry,
)

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 20),
    backoff_seconds=st.floats(0, 3600, allow_nan=False),
    max_backoff_seconds=st.floats(0, 86400, allow_nan=False),
    jitter=st.booleans(),
)


@given(policies, st.integers(1, 2000), st.integers(0, 2**32), st.sampled_from(["full", "equal"]))
def test_delay_is_always_within_zero_and_the_cap(
    policy: RetryPolicy, attempt: int, seed: int, mode: str
) -> None:
    delay = backoff_delay(policy, attempt, random.Random(seed), mode=mode)  # type: ignore[arg-type]
    assert 0 <= delay <= policy.max_backoff_seconds
    assert delay <= backoff_ceiling(policy, attempt)


@given(policies, st.integers(1, 2000))
def test_the_upper_bound_never_decreases(policy: RetryPolicy, attempt: int) -> None:
    assert backoff_ceiling(policy, attempt + 1) >= backoff_ceiling(policy, attempt)


@given(policies, st.integers(1, 60), st.integers(0, 2**32))
def test_equal_jitter_keeps_at_least_half(policy: RetryPolicy, attempt: int, seed: int) -> None:
    delay = backoff_delay(policy, attempt, random.Random(seed), mode="equal")
    assert delay >= backoff_ceiling(policy, attempt) / 2


def test_exponential_without_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_seconds=1, max_backoff_seconds=10, jitter=False)
    assert [backoff_delay(policy, n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_full_jitter_spreads_over_the_whole_range() -> None:
    policy = RetryPolicy(backoff_seconds=8, max_backoff_seconds=100, jitter=True)
    rng = random.Random(7)
    delays = [backoff_delay(policy, 1, rng, mode="full") for _ in range(500)]
    assert min(delays) < 1 and max(delays) > 7
    assert all(0 <= d <= 8 for d in delays)


def test_zero_backoff_is_zero() -> None:
    assert backoff_delay(RetryPolicy(backoff_seconds=0), 5, random.Random(1)) == 0


@pytest.mark.parametrize(
    ("attempt", "status", "expected"),
    [
        (1, "failed", True),
        (2, "timed_out", True),
        (3, "failed", False),
        (3, "timed_out", False),
        (1, "cancelled", False),
        (1, "succeeded", False),
    ],
)
def test_should_retry(attempt: int, status: str, expected: bool) -> None:
    assert should_retry(RetryPolicy(max_attempts=3), attempt, status) is expected


def test_node_policy_overrides_the_pipeline_policy() -> None:
    pipeline = PipelineConfig(
        retry_policy=RetryPolicy(max_attempts=3, backoff_seconds=1), timeout_seconds=600
    )
    plain = Node(id="a", type="shell")
    own = Node(id="b", type="shell", retry_policy=RetryPolicy(max_attempts=5), timeout_seconds=30)
    assert effective_policy(plain, pipeline).max_attempts == 3
    assert effective_policy(own, pipeline).max_attempts == 5
    assert effective_policy(plain) == RetryPolicy()
    assert effective_timeout(plain, pipeline) == 600
    assert effective_timeout(own, pipeline) == 30
    assert effective_timeout(plain, None, default=3600) == 3600
