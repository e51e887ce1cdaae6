"""Batching an attempt's log lines into ``TaskLogged`` events on the run's log stream.

Lines are flushed every half second (or at 200 lines) so followers see them live; the
append uses ``ANY_VERSION`` on ``logs:<run_id>`` and retries when another task of the
same run appended at the same moment.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tauro_contracts.runs import LogLine, TaskLogged, log_stream
from tauro_platform.eventstore.port import ANY_VERSION, ConcurrencyError, EventStore
from tauro_platform.runtime.decision import CommandContext, PendingWrite, to_writes
from tauro_platform.runtime.relay import OutboxRelay

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
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_periodically())

    async def add(self, level: str, message: str) -> None:
        level = level.upper() if level.upper() in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO"
        self._lines.append(LogLine(ts=datetime.now(UTC), level=level, message=message[:MAX_LINE],  # type: ignore[arg-type]
                                   node_id=self._node_id, attempt=self._attempt))
        if len(self._lines) >= MAX_BATCH:
            await self.flush()

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            if not self._lines:
                return
            lines, self._lines = self._lines, []
            event = TaskLogged(run_id=self._run_id, lines=lines)
            ctx = CommandContext(command_id=f"log-{self._run_id}-{self._node_id}-{self._attempt}",
                                 correlation_id=self._run_id, actor=self._actor, trace_context={},
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
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
