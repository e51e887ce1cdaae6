"""The backoff between task attempts: ``RetryPolicy.delay`` (the one rule; the runs domain uses
it when it schedules the next attempt). Bounds, monotonic ceiling, equal jitter, no overflow."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tauro_contracts.pipeline import RetryPolicy

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 20),
    backoff_seconds=st.floats(0, 3600, allow_nan=False),
    max_backoff_seconds=st.floats(0, 86400, allow_nan=False),
    jitter=st.booleans(),
)
units = st.floats(0, 1, allow_nan=False)


def ceiling(policy: RetryPolicy, attempt: int) -> float:
    return policy.model_copy(update={"jitter": False}).delay(attempt, 0.0)


@given(policies, st.integers(1, 5000), units)
def test_delay_is_within_zero_and_the_cap(policy: RetryPolicy, attempt: int, unit: float) -> None:
    delay = policy.delay(attempt, unit)
    assert 0 <= delay <= policy.max_backoff_seconds
    assert delay <= ceiling(policy, attempt)


@given(policies, st.integers(1, 5000))
def test_the_ceiling_never_decreases(policy: RetryPolicy, attempt: int) -> None:
    assert ceiling(policy, attempt + 1) >= ceiling(policy, attempt)


@given(policies, st.integers(1, 60), units)
def test_equal_jitter_keeps_at_least_half(policy: RetryPolicy, attempt: int, unit: float) -> None:
    assert policy.delay(attempt, unit) >= ceiling(policy, attempt) / 2


def test_exponential_without_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_seconds=1, max_backoff_seconds=10, jitter=False)
    assert [policy.delay(n, 0.5) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_jitter_spreads_over_the_upper_half() -> None:
    policy = RetryPolicy(backoff_seconds=8, max_backoff_seconds=100, jitter=True)
    assert (policy.delay(1, 0.0), policy.delay(1, 1.0)) == (4, 8)


def test_zero_backoff_is_zero() -> None:
    assert RetryPolicy(backoff_seconds=0).delay(5, 0.3) == 0
