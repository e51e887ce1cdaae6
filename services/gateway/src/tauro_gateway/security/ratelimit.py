"""Fixed-window rate limits, counted in the shared read store so every gateway replica agrees.

Each (subject, window) pair is one counter document that expires with its window; a
request increments it atomically (``ReadStore.increment``) and is refused with 429 once
the count passes ``RATE_LIMIT_REQUESTS``. The subject is the API key (a key's tokens
share its budget) or, without a key, the client address.
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
