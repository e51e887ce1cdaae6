"""Fixed-window rate limits, counted in the shared read store so every gateway replica agrees.

Each (subject, window) pair is one counter document that expires with its window; a
request increments it atomically (``ReadStore.increment``) and is refused with 429 once
the count passes ``RATE_LIMIT_REQUESTS``. The subject is the API key (a key's tokens
share its budget) or, without a key, the client address.

``FailureLimiter`` counts refused credentials per client address instead: once an address
has sent ``RATE_LIMIT_AUTH_FAILURES`` of them in a window, its authenticated requests are
refused with 429 before their credentials are even checked, a right key included, until
the window turns. Keys cannot be guessed faster than that budget per address.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tauro_platform.readstore.port import ReadStore

COUNTERS = "rate_limits"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int
    """Seconds until the window resets."""


class RateLimiter:
    def __init__(self, store: ReadStore, limit: int, window_seconds: int) -> None:
        self._store = store
        self.limit = limit
        self.window = window_seconds

    async def hit(self, subject: str, now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        window = int(now // self.window)
        resets = (window + 1) * self.window
        count = await self._store.increment(
            COUNTERS, f"{subject}@{window}", "count", 1, datetime.fromtimestamp(resets, UTC)
        )
        return Verdict(count <= self.limit, self.limit, max(0, self.limit - count), max(1, math.ceil(resets - now)))


class FailureLimiter:
    """Refused credentials per client address (``subject``), ``limit`` per ``window_seconds``."""

    def __init__(self, store: ReadStore, limit: int, window_seconds: int) -> None:
        self._store = store
        self.limit = limit
        self.window = window_seconds

    def _counter(self, subject: str, now: float) -> tuple[str, float]:
        window = int(now // self.window)
        return f"authfail:{subject}@{window}", (window + 1) * self.window

    def _verdict(self, allowed: bool, count: int, resets: float, now: float) -> Verdict:
        return Verdict(allowed, self.limit, max(0, self.limit - count), max(1, math.ceil(resets - now)))

    async def check(self, subject: str, now: float | None = None) -> Verdict:
        """Whether ``subject`` may still try credentials in this window (counts nothing)."""
        now = time.time() if now is None else now
        counter, resets = self._counter(subject, now)
        doc = await self._store.get(COUNTERS, counter)
        expires = doc.get("expires_at") if doc else None
        live = doc is not None and (not isinstance(expires, datetime) or _aware(expires).timestamp() > now)
        count = int(doc.get("count", 0)) if live and doc else 0
        return self._verdict(count < self.limit, count, resets, now)

    async def failed(self, subject: str, now: float | None = None) -> Verdict:
        """Count one refused credential; not allowed when it went over the budget (attempts that
        passed ``check`` together, before their failures were counted)."""
        now = time.time() if now is None else now
        counter, resets = self._counter(subject, now)
        count = await self._store.increment(COUNTERS, counter, "count", 1, datetime.fromtimestamp(resets, UTC))
        return self._verdict(count <= self.limit, count, resets, now)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
