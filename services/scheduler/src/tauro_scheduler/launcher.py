"""Creating the runs of fired ticks through the runs service.

After a ``TickFired`` is appended, the launcher sends ``CreateRun`` to the runs service
(request/reply on ``tauro.commands.runs``) with the tick's run id, ``trigger="schedule"``,
``schedule_id``, ``logical_date``, ``start=True`` and the schedule's ``max_concurrency`` (the
runs service starts at most that many of the schedule's runs at once); for ``cancel_running`` it first
cancels the runs the tick supersedes. Launches run in worker tasks (up to
``LAUNCH_WORKERS`` at once), so recording ticks never waits on run creation.

Exactly once: the run id is a function of (schedule, nominal time) and the command id
of (run id), so a second ``CreateRun`` for a tick is answered from the first one's
events (same command) or refused with CONFLICT (the run exists) — never a second run.
A launch that got no answer is left to ``repair``: fired ticks whose run has not been
recorded after a while are launched again, from the tick document. A refusal (unknown
project or pipeline: the tick cannot ever run) is recorded as ``TickFailed``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.registry import REGISTRY
from tauro_contracts.runs import CancelRun, CreateRun
from tauro_contracts.schedules import RecordTickFailure, TickFired
from tauro_platform.runtime.sender import CommandSender

log = logging.getLogger("tauro.scheduler.launcher")

Issue = Callable[[RecordTickFailure], Awaitable[None]]
SETTLED_MEMORY = 10_000
LAUNCH_WORKERS = 64  # runs being created at once: the runs service decides them as one batch
RETRYABLE = frozenset({ErrorCode.TIMEOUT, ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.INTERNAL_ERROR})


class Launcher:
    def __init__(self, sender: CommandSender, record_failure: Issue, workers: int = LAUNCH_WORKERS) -> None:
        self._sender = sender
        self._record_failure = record_failure
        self._queue: asyncio.Queue[TickFired] = asyncio.Queue()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[str] = set()
        self._settled: OrderedDict[str, None] = OrderedDict()  # run ids created or refused, newest last
        self.launched = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"scheduler-launcher-{i}") for i in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def submit_events(self, events: list[EventEnvelope]) -> None:
        """Queue the launches of the fired ticks among freshly appended events."""
        for event in events:
            if event.type == TickFired.type_name:
                payload = REGISTRY.decode(event.type, event.schema_version, event.data)
                assert isinstance(payload, TickFired)
                self.submit(payload)

    def submit(self, tick: TickFired) -> bool:
        if tick.run_id in self._pending:
            return False
        self._pending.add(tick.run_id)
        self._queue.put_nowait(tick)
        return True

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def in_flight(self, run_id: str) -> bool | None:
        """For ``loading.active_runs``: is this process still creating the run?"""
        if run_id in self._pending:
            return True
        return False if run_id in self._settled else None

    def _settle(self, run_id: str) -> None:
        self._settled[run_id] = None
        while len(self._settled) > SETTLED_MEMORY:
            self._settled.popitem(last=False)

    async def _work(self) -> None:
        while True:
            tick = await self._queue.get()
            try:
                await self.launch(tick)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("launch failed; repair will retry", extra={"run_id": tick.run_id})
            finally:
                self._pending.discard(tick.run_id)

    async def launch(self, tick: TickFired) -> str:
        """Create the tick's run; returns ``created``, ``exists``, ``failed`` or ``retry``."""
        for run_id in tick.cancel_run_ids:
            reason = f"superseded by the tick of {tick.logical_date} (overlap policy cancel_running)"
            await self._send(CancelRun(run_id=run_id, reason=reason), run_id, f"cancel-{run_id}-by-{tick.run_id}")
        command = CreateRun(
            run_id=tick.run_id, project_id=tick.project_id, pipeline_id=tick.pipeline_id, params=tick.params,
            tags={"schedule_id": tick.schedule_id, "tick_origin": tick.origin}, trigger="schedule",
            schedule_id=tick.schedule_id, logical_date=tick.logical_date, start=True,
            timeout_seconds=tick.timeout_seconds, max_concurrent_for_schedule=tick.max_concurrency,
        )
        error = await self._send(command, tick.run_id, f"create-{tick.run_id}")
        if error is None or error.code == ErrorCode.CONFLICT:
            self._settle(tick.run_id)
            self.launched += error is None
            return "created" if error is None else "exists"
        if error.code in RETRYABLE:
            log.warning("run creation got no answer; repair will retry",
                        extra={"run_id": tick.run_id, "error": error.message})
            return "retry"
        await self._record_failure(RecordTickFailure(
            schedule_id=tick.schedule_id, tick_id=tick.tick_id, nominal=tick.nominal, run_id=tick.run_id,
            error=error.to_dict(),
        ))
        self._settle(tick.run_id)
        return "failed"

    async def _send(self, command: Any, key: str, command_id: str) -> DomainError | None:
        try:
            await self._sender.send(command, key=key, command_id=command_id, actor="system:scheduler")
        except DomainError as exc:
            if not isinstance(command, CancelRun):
                return exc
        return None


def tick_from_doc(doc: dict[str, Any]) -> TickFired:
    """Rebuild a fired tick from its ``schedule_ticks`` document (for ``repair``)."""
    launch = doc["launch"]
    return TickFired(
        schedule_id=doc["schedule_id"], tick_id=doc["id"], nominal=datetime.fromisoformat(
            doc["nominal_time"].replace("Z", "+00:00")),
        logical_date=doc["logical_date"], run_id=doc["run_id"], origin=doc.get("origin") or "schedule",
        project_id=launch["project_id"], pipeline_id=launch["pipeline_id"], params=launch["params"],
        timeout_seconds=launch.get("timeout_seconds"), cancel_run_ids=launch.get("cancel_run_ids") or [],
        backfill_id=doc.get("backfill_id"), max_concurrency=launch.get("max_concurrency"),
    )
