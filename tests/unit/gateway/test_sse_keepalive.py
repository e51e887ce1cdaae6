"""SSE log streams send a keep-alive comment while a run is silent (proxies close idle connections)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from tauro_contracts.readmodels import collections
from tauro_gateway import run_logs
from tauro_platform.readstore.memory import MemoryReadStore


class _Connected:
    async def is_disconnected(self) -> bool:
        return False


async def _store(state: str) -> MemoryReadStore:
    store = MemoryReadStore()
    await store.put_versioned(collections.RUNS, {"_id": "run_1", "id": "run_1", "state": state, "_v": 1}, None)
    return store


async def _line(store: MemoryReadStore, seq: int) -> None:
    await store.insert_if_absent(collections.RUN_LOGS, {"_id": f"{seq:08d}", "run_id": "run_1", "seq": seq,
                                                        "level": "INFO", "message": f"line {seq}"})


def _follow(store: MemoryReadStore) -> AsyncIterator[bytes]:
    ctx: Any = SimpleNamespace(read_store=store)
    request: Any = _Connected()
    return run_logs._follow(request, ctx, "run_1", {"run_id": "run_1"}, None)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_logs, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(run_logs, "KEEPALIVE_SECONDS", 0.1)


def test_the_interval_is_fifteen_seconds() -> None:
    assert run_logs.KEEPALIVE_SECONDS == 15.0
    assert run_logs.KEEPALIVE == b": keep-alive\n\n"


async def test_a_silent_run_gets_keep_alive_comments(quick: None) -> None:
    stream = _follow(await _store("RUNNING"))
    try:
        assert await anext(stream) == b"retry: 1000\n\n"
        assert await anext(stream) == b": keep-alive\n\n"
        assert await anext(stream) == b": keep-alive\n\n"
    finally:
        await stream.aclose()


async def test_lines_reset_the_silence_and_the_stream_still_ends(quick: None) -> None:
    store = await _store("RUNNING")
    await _line(store, 1)
    stream = _follow(store)
    try:
        assert await anext(stream) == b"retry: 1000\n\n"
        assert (await anext(stream)).startswith(b"id: 00000001\nevent: log\n")
        assert await anext(stream) == b": keep-alive\n\n"  # then silence
        await _line(store, 2)
        await store.put_versioned(collections.RUNS, {"_id": "run_1", "id": "run_1", "state": "SUCCESS", "_v": 2}, 1)
        rest = [chunk async for chunk in stream]
    finally:
        await stream.aclose()
    assert rest[-1].startswith(b"event: end\n")
    assert [c for c in rest if c.startswith(b"id: ")] == [rest[0]] and rest[0].startswith(b"id: 00000002\n")


async def test_no_keep_alive_before_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polled for a while (many POLL_SECONDS) but well within the 15 s: nothing but the end."""
    monkeypatch.setattr(run_logs, "POLL_SECONDS", 0.01)
    store = await _store("RUNNING")

    async def end_later() -> None:
        await asyncio.sleep(0.3)
        await store.put_versioned(collections.RUNS, {"_id": "run_1", "id": "run_1", "state": "FAILED", "_v": 2}, 1)

    ending = asyncio.create_task(end_later())
    stream = _follow(store)
    try:
        chunks = [chunk async for chunk in stream]
    finally:
        await stream.aclose()
        await ending
    assert chunks[0] == b"retry: 1000\n\n"
    assert len(chunks) == 2 and chunks[1].startswith(b"event: end\n")
