"""Group commit: an event store whose appends, requested while the store is busy, go to it together.

A service decides many commands at once (one per key of a consumer batch). Each would
pay a whole store transaction of its own; with ``GroupCommit`` an append that finds
the store busy waits for the one in flight, then goes in with every other append that
queued meanwhile, as one atomic append. Throughput then follows the load: one append
at a time when it is quiet, a few transactions a second carrying hundreds of commands
when it is not.

``GroupCommit`` is an ``EventStore`` (it passes the event store contract suite over
each adapter). Nothing changes for the callers: each gets its own events back, or the
``ConcurrencyError`` its own writes caused. A group never writes one stream twice (an
append that touches a stream already in the group waits for the next one), and if the
group's append fails for any reason, its halves are tried on their own, down to single
members, so one member's conflict, bad write or already applied command never fails
another. The commands named by the members are recorded with the group's append. Each store append
runs in the context of the first request of its group; callers trace their own appends
above this (``ObservedEventStore`` wraps it in ``build_adapters``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field

from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.port import EventStore, StreamWrite, check_writes

MAX_GROUP_WRITES = 500


@dataclass
class _Request:
    writes: list[StreamWrite]
    future: asyncio.Future[list[EventEnvelope]]
    commands: list[str] = field(default_factory=list)
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    @property
    def streams(self) -> set[str]:
        """What two members of one group must not share: streams, and commands (two copies of one)."""
        return {w.stream_id for w in self.writes} | {f"\0command:{c}" for c in self.commands}


class GroupCommit:
    def __init__(self, store: EventStore, max_writes: int = MAX_GROUP_WRITES) -> None:
        self.inner = store
        self._max_writes = max_writes
        self._waiting: list[_Request] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, writes: Sequence[StreamWrite], *, commands: Sequence[str] = ()) -> list[EventEnvelope]:
        """Append ``writes`` atomically (possibly with others'); returns their events."""
        check_writes(writes, commands)
        if not writes:
            return []
        request = _Request(list(writes), asyncio.get_running_loop().create_future(), list(commands))
        self._waiting.append(request)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="group-commit")
        try:
            return await asyncio.shield(request.future)
        except asyncio.CancelledError:
            await self._settle(request)
            raise

    async def _settle(self, request: _Request) -> None:
        """A cancelled caller: a waiting append is dropped; one being written is waited for,
        so once the cancellation is through, the append is either done or never happens."""
        if request in self._waiting:
            self._waiting.remove(request)
            return
        while not request.future.done():
            try:
                await asyncio.wait([request.future])
            except asyncio.CancelledError:
                continue
        if not request.future.cancelled():
            request.future.exception()  # the caller is gone; its outcome is dropped, not reported

    async def _write_all(self) -> None:
        while self._waiting:
            await self._append_group(self._take_group())

    async def _append_group(self, group: list[_Request]) -> None:
        """One append for the group; if it fails, each half on its own (down to single
        requests, which get their own error), so a conflict costs a few extra appends."""
        if len(group) == 1:
            await self._append_alone(group[0])
            return
        try:
            stored = await self._in_context(group[0], [w for r in group for w in r.writes],
                                            [c for r in group for c in r.commands])
        except Exception:
            middle = len(group) // 2
            await self._append_group(group[:middle])
            await self._append_group(group[middle:])
            return
        offset = 0
        for request in group:
            count = sum(len(w.events) for w in request.writes)
            _resolve(request, stored[offset:offset + count])
            offset += count

    def _take_group(self) -> list[_Request]:
        """The waiting requests, oldest first, that fit one append (distinct streams)."""
        group: list[_Request] = []
        streams: set[str] = set()
        writes = 0
        later: list[_Request] = []
        for request in self._waiting:
            fits = not (request.streams & streams) and (not group or writes + len(request.writes) <= self._max_writes)
            if fits:
                group.append(request)
                streams |= request.streams
                writes += len(request.writes)
            else:
                later.append(request)
        self._waiting = later
        return group

    async def _append_alone(self, request: _Request) -> None:
        try:
            stored = await self._in_context(request, request.writes, request.commands)
        except Exception as exc:
            if not request.future.done():
                request.future.set_exception(exc)
            return
        _resolve(request, stored)

    async def _in_context(self, request: _Request, writes: list[StreamWrite],
                          commands: list[str]) -> list[EventEnvelope]:
        return await asyncio.create_task(self.inner.append(writes, commands=commands), context=request.context)

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EventEnvelope]:
        return await self.inner.read_stream(stream_id, after_version)

    async def stream_version(self, stream_id: str) -> int:
        return await self.inner.stream_version(stream_id)

    async def read_all(self, after_position: int = 0, limit: int = 500) -> list[EventEnvelope]:
        return await self.inner.read_all(after_position, limit)

    async def head_position(self) -> int:
        return await self.inner.head_position()

    async def caused_by(self, causation_id: str) -> list[EventEnvelope]:
        return await self.inner.caused_by(causation_id)

    async def unpublished(self, older_than_seconds: float, limit: int = 500) -> list[EventEnvelope]:
        return await self.inner.unpublished(older_than_seconds, limit)

    async def mark_published(self, positions: Sequence[int]) -> None:
        await self.inner.mark_published(positions)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


def _resolve(request: _Request, events: list[EventEnvelope]) -> None:
    if not request.future.done():
        request.future.set_result(events)
