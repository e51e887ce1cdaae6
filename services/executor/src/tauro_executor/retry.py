"""Retry rules for task attempts: pure functions, no clock, randomness passed in.

Attempts are numbered from 1. After attempt ``n`` fails or times out, the next one
waits :func:`backoff_delay` seconds: ``backoff_seconds * 2 ** (n - 1)`` capped at
``max_backoff_seconds`` (:func:`backoff_ceiling`), with jitter when the policy asks
for it: ``equal`` (default: uniform in [ceiling/2, ceiling], so at least half the
configured backoff is honoured) or ``full`` (uniform in [0, ceiling]).
"""

from __future__ import annotations

import random
from typing import Literal

from tauro_contracts.pipeline import Node, PipelineConfig, RetryPolicy

JitterMode = Literal["full", "equal"]
RETRYABLE = frozenset({"failed", "timed_out"})
_MAX_EXPONENT = 1023  # 2.0 ** 1024 overflows a float


def effective_policy(node: Node, pipeline: PipelineConfig | None = None) -> RetryPolicy:
    """The node's own policy when it has one, else the pipeline's, else the defaults."""
    if node.retry_policy is not None:
        return node.retry_policy
    return pipeline.retry_policy if pipeline is not None else RetryPolicy()


def effective_timeout(
    node: Node, pipeline: PipelineConfig | None = None, default: float | None = None
) -> float | None:
    """The node's timeout, else the pipeline's, else ``default`` (seconds; None = no limit)."""
    if node.timeout_seconds is not None:
        return float(node.timeout_seconds)
    if pipeline is not None and pipeline.timeout_seconds is not None:
        return float(pipeline.timeout_seconds)
    return default


def backoff_ceiling(policy: RetryPolicy, attempt: int) -> float:
    """The un-jittered delay after attempt ``attempt`` (>= 1): exponential, capped."""
    exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
    return float(min(policy.max_backoff_seconds, policy.backoff_seconds * 2.0**exponent))


def backoff_delay(
    policy: RetryPolicy,
    attempt: int,
    rng: random.Random | None = None,
    *,
    mode: JitterMode = "equal",
) -> float:
    """Seconds to wait before the attempt after ``attempt``; always in ``[0, backoff_ceiling]``."""
    ceiling = backoff_ceiling(policy, attempt)
    if not policy.jitter or ceiling <= 0:
        return ceiling
    rng = rng or random.Random()
    if mode == "full":
        return rng.uniform(0.0, ceiling)
    half = ceiling / 2
    return min(ceiling, half + rng.uniform(0.0, half))


def should_retry(policy: RetryPolicy, attempt: int, status: str) -> bool:
    """Failed and timed-out attempts retry while attempts remain; cancelled (or succeeded) never."""
    return status in RETRYABLE and attempt < policy.max_attempts
