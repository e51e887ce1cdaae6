"""The ``warm`` fixture: each attempt test runs twice, with a cold worker (a fresh interpreter,
``None``) and forked from a ready warm worker (:class:`~tauro_executor.warm.WarmWorker`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tauro_executor.warm import WarmWorker


@pytest.fixture(params=["cold", "warm"])
async def warm(request: pytest.FixtureRequest) -> AsyncIterator[WarmWorker | None]:
    if request.param == "cold":
        yield None
        return
    worker = WarmWorker()
    await worker.start()
    assert await worker.wait_ready(60), "the warm worker's helper did not start"
    try:
        yield worker
    finally:
        await worker.stop()
