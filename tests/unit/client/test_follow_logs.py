"""follow_logs: a dropped SSE connection is resumed with Last-Event-ID, nothing lost or repeated."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
from tauro_client import AsyncTauro, Tauro


def _line(n: int) -> bytes:
    data = {"id": f"run_x:{n:04d}", "run_id": "run_x", "timestamp": "2025-11-18T10:00:00Z", "level": "INFO",
            "message": f"line {n}"}
    return f"id: run_x:{n:04d}\nevent: log\ndata: {json.dumps(data)}\n\n".encode()


class Dropping(httpx.AsyncByteStream, httpx.SyncByteStream):
    """Sends ``chunks`` then, if ``drop``, fails like a connection reset."""

    def __init__(self, chunks: list[bytes], drop: bool) -> None:
        self.chunks, self.drop = chunks, drop

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.drop:
            raise httpx.ReadError("connection reset")

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset")


def handler(seen: list[str | None]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        resume = request.headers.get("last-event-id")
        seen.append(resume)
        if resume is None:
            stream = Dropping([b"retry: 10\n\n", _line(1), _line(2)], drop=True)
        else:
            stream = Dropping([_line(3), b": keep-alive\n\n", b'event: end\ndata: {"state": "SUCCESS"}\n\n'], False)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    return httpx.MockTransport(answer)


async def test_async_follow_resumes_after_a_drop() -> None:
    seen: list[str | None] = []
    async with AsyncTauro("http://tauro", transport=handler(seen)) as tauro:
        messages = [line.message async for line in tauro.runs.follow_logs("run_x")]
    assert messages == ["line 1", "line 2", "line 3"]
    assert seen == [None, "run_x:0002"]


def test_sync_follow_resumes_after_a_drop() -> None:
    seen: list[str | None] = []
    with Tauro("http://tauro", transport=handler(seen)) as tauro:
        messages = [line.message for line in tauro.runs.follow_logs("run_x")]
    assert messages == ["line 1", "line 2", "line 3"]
    assert seen == [None, "run_x:0002"]
