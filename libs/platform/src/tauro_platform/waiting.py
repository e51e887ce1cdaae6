"""Waiting with a time limit without losing a cancellation.

On Python 3.11 ``asyncio.wait_for`` returns the awaited result when the waiting task is
cancelled at the moment that result arrives, so the cancellation is lost: a loop like
``while True: await wait_for(wake.wait(), 0.5)`` stopped with ``task.cancel()`` then runs
on, and whoever awaits the task hangs (a teardown hung in CI that way when a stream's
drain woke the supervisor as the service stopped it). ``asyncio.timeout`` has no such
gap; these helpers use it, and code here uses them instead of ``wait_for``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``event``; True if it is set."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await event.wait()
    except TimeoutError:
        return event.is_set()
    return True


async def within(awaitable: Awaitable[T], seconds: float) -> T:
    """``await awaitable``, raising ``TimeoutError`` after ``seconds``."""
    async with asyncio.timeout(max(0.0, seconds)):
        return await awaitable
