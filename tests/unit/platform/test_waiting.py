"""``wait_event`` / ``within``: time limits that never lose a cancellation (unlike
``asyncio.wait_for`` on Python 3.11), and no ``wait_for`` left in the code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tauro_platform.waiting import wait_event, within

ROOT = Path(__file__).resolve().parents[3]


async def _wake_loop(wake: asyncio.Event, rounds: list[int]) -> None:
    while True:
        rounds.append(1)
        await wait_event(wake, 0.5)
        wake.clear()


async def test_a_cancel_arriving_with_the_wake_up_stops_the_loop() -> None:
    for _ in range(20):
        wake, rounds = asyncio.Event(), list[int]()
        task = asyncio.create_task(_wake_loop(wake, rounds))
        await asyncio.sleep(0.01)
        wake.set()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert task in done and task.cancelled(), f"the loop ran on for {len(rounds)} rounds"


async def test_wait_event_says_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5) is True
    assert await wait_event(event, 0) is True  # already set: no wait at all
    assert await wait_event(asyncio.Event(), -1) is False


async def test_within_returns_the_result_or_times_out() -> None:
    assert await within(asyncio.sleep(0, "done"), 1) == "done"
    with pytest.raises(TimeoutError):
        await within(asyncio.sleep(5), 0.01)


async def test_within_a_cancel_arriving_with_the_result_still_cancels() -> None:
    for _ in range(20):
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(within(future, 5))
        await asyncio.sleep(0)
        future.set_result("late")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_code_has_no_asyncio_wait_for() -> None:
    sources = [p for top in ("libs", "services", "apps") for p in (ROOT / top).rglob("*.py")
               if p.name != "waiting.py"]
    using = [str(p.relative_to(ROOT)) for p in sources if "wait_for(" in p.read_text()]
    assert sources and not using, f"use tauro_platform.waiting instead of asyncio.wait_for in {using}"
