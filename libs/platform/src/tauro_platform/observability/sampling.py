"""The loop behind every sampled gauge: take a sample, wait, again, until cancelled.

A failed sample is logged at debug level and the gauge keeps its last value; the next one
tries again. Used by the consumer-lag monitor, the heartbeat ages and the active-runs gauge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def sample_forever(sample: Callable[[], Awaitable[object]], interval: float, log: logging.Logger,
                         failure: str, **fields: Any) -> None:
    """Await ``sample()`` every ``interval`` seconds until cancelled; ``failure`` (with ``fields``
    and the error's type) is what a failed sample logs."""
    while True:
        try:
            await sample()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug(failure, extra={**fields, "error": type(exc).__name__})
        await asyncio.sleep(interval)
