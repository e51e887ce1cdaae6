"""Batching an attempt's log lines into ``TaskLogged`` events on the run's log stream.

Lines are flushed every half second (sooner at 200 lines) so followers see them live; the
append uses ``ANY_VERSION`` on ``logs:<run_id>`` and retries when another task of the
same run appended at the same moment. Appends happen only in the buffer's own task,
never in the caller's, so cancelling an attempt cannot drop a batch half-written.

:meth:`LogBuffer.close_keeping` ends the buffer handing back the lines not written yet (all
the lines of an attempt shorter than the flush interval) when they are few: the executor
sends them with the attempt's outcome, which logs them in the same write, so a short task
costs one append instead of two.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tauro_contracts.runs import LOG_LEVELS, LogLevel, LogLine, TaskLogged, log_stream
from tauro_platform.eventstore.port import ANY_VERSION, ConcurrencyError, EventStore
from tauro_platform.observability.tracing import inject_context
from tauro_platform.runtime.decision import CommandContext, PendingWrite, to_writes
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.waiting import wait_event

FLUSH_SECONDS = 0.5
MAX_BATCH = 200
MAX_LINE = 8000


class LogBuffer:
    def __init__(self, store: EventStore, relay: OutboxRelay, run_id: str, node_id: str, attempt: int,
                 actor: str) -> None:
        self._store = store
        self._relay = relay
        self._run_id = run_id
        self._node_id = node_id
        self._attempt = attempt
        self._actor = actor
        self._lines: list[LogLine] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._keeping = False  # closing without a last flush: close_keeping hands the lines back
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_periodically())

    async def add(self, level: str, message: str) -> None:
        known: LogLevel = next((name for name in LOG_LEVELS if name == level.upper()), "INFO")
        self._lines.append(LogLine(ts=datetime.now(UTC), level=known, message=message[:MAX_LINE],
                                   node_id=self._node_id, attempt=self._attempt))
        if len(self._lines) >= MAX_BATCH:
            self._wake.set()

    async def _flush_periodically(self) -> None:
        while not self._closing:
            await wait_event(self._wake, FLUSH_SECONDS)
            self._wake.clear()
            if not self._closing:
                await self._flush()
        if not self._keeping:
            await self._flush()

    async def _flush(self) -> None:
        while self._lines:
            lines, self._lines = self._lines[:MAX_BATCH], self._lines[MAX_BATCH:]
            event = TaskLogged(run_id=self._run_id, lines=lines)
            ctx = CommandContext(command_id=f"log-{self._run_id}-{self._node_id}-{self._attempt}",
                                 correlation_id=self._run_id, actor=self._actor, trace_context=inject_context(),
                                 now=datetime.now(UTC))
            writes = to_writes((PendingWrite(log_stream(self._run_id), ANY_VERSION, (event,)),), ctx)
            for _ in range(20):
                try:
                    stored = await self._store.append(writes)
                    break
                except ConcurrencyError:
                    await asyncio.sleep(0.01)
            else:
                raise RuntimeError("could not append log lines")
            await self._relay.publish(stored)

    async def close(self) -> None:
        """Write every pending line, then stop; safe to await from a cancelled task."""
        await self._stop()
        if self._task is None:
            await self._flush()

    async def close_keeping(self, max_chars: int) -> list[LogLine]:
        """Stop, and hand back the lines not written yet if they are at most ``MAX_BATCH`` lines
        of at most ``max_chars`` characters in all; more are written first (none handed back)."""
        self._keeping = True
        try:
            await self._stop()
        except asyncio.CancelledError:  # nobody will take the lines: a task of the buffer's writes them
            self._keeping = False
            if self._task is None or self._task.done():
                self._task = asyncio.create_task(self._flush())
            raise
        rest, self._lines = self._lines, []
        if len(rest) <= MAX_BATCH and sum(len(line.message) for line in rest) <= max_chars:
            return rest
        await self.write(rest)
        return []

    async def write(self, lines: list[LogLine]) -> None:
        """Append ``lines`` now (after :meth:`close_keeping`: those it handed back, when they could
        not be logged with the outcome); in a task of its own, like every append here."""
        self._lines = [*lines, *self._lines]
        await asyncio.shield(asyncio.create_task(self._flush()))

    async def _stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await asyncio.shield(self._task)
