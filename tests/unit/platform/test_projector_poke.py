"""The projector's loop catches up at its interval, and at once when poked (a command that does
not wait for the read models pokes it)."""

from __future__ import annotations

import asyncio
from typing import Any

from tauro_platform.runtime.projector import Projector


class Counting(Projector):
    def __init__(self) -> None:
        super().__init__("p", store=None, read_store=None, projections=[])  # type: ignore[arg-type]
        self.catch_ups = 0
        self.caught_up = asyncio.Event()

    async def catch_up(self, until: int | None = None) -> int:
        self.catch_ups += 1
        self.caught_up.set()
        return 0


async def _next_catch_up(projector: Counting, within: float) -> bool:
    projector.caught_up.clear()
    try:
        await asyncio.wait_for(projector.caught_up.wait(), within)
    except TimeoutError:
        return False
    return True


async def test_a_poke_wakes_the_loop_before_its_interval() -> None:
    projector = Counting()
    loop: asyncio.Task[Any] = asyncio.create_task(projector.run(interval=3600))
    try:
        assert await _next_catch_up(projector, 5)  # the first pass, at start
        assert not await _next_catch_up(projector, 0.2)  # then it waits for its interval
        projector.poke()
        assert await _next_catch_up(projector, 5)
        projector.poke()
        projector.poke()  # pokes while it is asleep fold into one pass
        assert await _next_catch_up(projector, 5)
        assert not await _next_catch_up(projector, 0.2)
        assert projector.catch_ups == 3
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
