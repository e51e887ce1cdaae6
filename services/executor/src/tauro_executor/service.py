"""The executor service: runs the tasks the runs service schedules.

It consumes the run event topic in the consumer group ``tauro-executor`` (partitioned
by run, so more executors share the runs). For each ``TaskScheduled`` it waits for the
attempt's ``not_before``, claims the attempt (the runs service accepts one claim per
attempt), runs it in its own subprocess (forked from the warm worker's helper when
``EXECUTOR_WARM_WORKER`` is on, the default; see :mod:`tauro_executor.warm`), streams its
log lines to the run's log stream, and reports the outcome (with the lines not logged yet: the
runs service logs them in the same write). A terminal run event cancels that run's attempts
here, killing their process groups. A heartbeat document per executor lets the runs
service notice an executor that died mid-task.

Each attempt runs in a span that continues the trace of its ``TaskScheduled`` event
(which the run's command started), with the run, node and attempt on its log lines.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from tauro_contracts import topics
from tauro_contracts.base import Command
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.pipeline import Node
from tauro_contracts.registry import REGISTRY
from tauro_contracts.runs import TERMINAL_EVENT_TYPES, ClaimTask, RecordTaskOutcome, TaskScheduled
from tauro_platform.adapters import Adapters
from tauro_platform.bus.port import Message, Subscription
from tauro_platform.observability.heartbeat import Heartbeat
from tauro_platform.observability.lag import LagMonitor
from tauro_platform.observability.logcontext import bind as bind_log_fields
from tauro_platform.observability.tracing import Span, SpanKind, Status, StatusCode, span
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.runtime.wire import decode
from tauro_platform.settings import Settings
from tauro_platform.timeutil import iso

from tauro_executor.attempt import Worker, abandon_worker, run_attempt, start_worker
from tauro_executor.logbuffer import LogBuffer
from tauro_executor.protocol import TaskSpec
from tauro_executor.warm import WarmWorker

log = logging.getLogger("tauro.executor")
AttemptKey = tuple[str, str, int, int]
Answer = Literal["accepted", "refused", "unanswered"]
GROUP = "tauro-executor"
WARM_START_DELAY = 3.0  # the helper starts this long after the executor, or at its first attempt
OUTCOME_LOG_CHARS = 64_000  # an attempt's last lines go with its outcome up to this size (a bus message stays small)


class ExecutorService:
    def __init__(self, adapters: Adapters, settings: Settings, executor_id: str | None = None) -> None:
        self.executor_id = executor_id or f"exec-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._adapters = adapters
        self._settings = settings
        self._sender = CommandSender(adapters.bus, f"{self.executor_id}", settings.command_timeout_seconds)
        self._relay = OutboxRelay(adapters.store, adapters.bus)
        self._jobs: dict[AttemptKey, asyncio.Task[None]] = {}
        self._subscription: Subscription | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._beats = 0
        self.service_heartbeat = Heartbeat(adapters.read_store, "executor", self.executor_id)
        self._lag = LagMonitor(adapters.bus, GROUP, [topics.EVENTS_RUNS])
        self._lag_task: asyncio.Task[None] | None = None
        self.warm = WarmWorker(start_delay=WARM_START_DELAY) if settings.executor_warm_worker else None
        self.warm_shell = (WarmWorker(start_delay=WARM_START_DELAY, kinds=("shell",))
                           if settings.executor_warm_worker else None)

    async def start(self) -> None:
        for warm in self._warm_workers():
            await warm.start()  # in the background: attempts start cold until it is ready
        await self._sender.start()
        await self._beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="executor-heartbeat")
        self._subscription = await self._adapters.bus.subscribe([topics.EVENTS_RUNS], self.on_event, group_id=GROUP)
        await self.service_heartbeat.start()
        self._lag_task = asyncio.create_task(self._lag.run(), name="executor-lag")
        log.info("executor started", extra={"executor_id": self.executor_id})

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
        jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        for task in (self._heartbeat, self._lag_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.service_heartbeat.stop()
        await self._sender.stop()
        for warm in self._warm_workers():
            await warm.stop()

    def _warm_workers(self) -> list[WarmWorker]:
        return [w for w in (self.warm, self.warm_shell) if w is not None]

    def warm_worker_for(self, node_type: str) -> WarmWorker | None:
        """The helper an attempt of ``node_type`` forks from (None: warm starts are off)."""
        return self.warm_shell if node_type == "shell" else self.warm

    async def _beat(self) -> None:
        self._beats += 1
        doc = {"_id": self.executor_id, "_v": self._beats, "id": self.executor_id,
               "last_seen": iso(datetime.now(UTC)), "running_attempts": len(self._jobs)}
        await self._adapters.read_store.put_versioned("executors", doc, self._beats - 1 if self._beats > 1 else None)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.executor_heartbeat_seconds)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat failed")

    async def on_event(self, message: Message) -> None:
        envelope = decode(EventEnvelope, message.value)
        if envelope.type == TaskScheduled.type_name:
            scheduled = REGISTRY.decode(envelope.type, envelope.schema_version, envelope.data)
            assert isinstance(scheduled, TaskScheduled)
            key = (scheduled.run_id, scheduled.node_id, scheduled.attempt, scheduled.dispatch)
            if key not in self._jobs:
                self._jobs[key] = asyncio.create_task(self._run_job(key, scheduled, envelope))
        elif envelope.type in TERMINAL_EVENT_TYPES:
            run_id = envelope.data["run_id"]
            for key, job in list(self._jobs.items()):
                if key[0] == run_id:
                    job.cancel()

    async def _run_job(self, key: AttemptKey, task: TaskScheduled, envelope: EventEnvelope) -> None:
        try:
            await self._execute(task, envelope)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("attempt failed to run", extra={"run_id": task.run_id, "node_id": task.node_id})
        finally:
            self._jobs.pop(key, None)

    async def _execute(self, task: TaskScheduled, envelope: EventEnvelope) -> None:
        if task.not_before is not None:
            await asyncio.sleep(max(0.0, (task.not_before - datetime.now(UTC)).total_seconds()))
        attributes = {"tauro.run_id": task.run_id, "tauro.node_id": task.node_id, "tauro.attempt": task.attempt,
                      "tauro.dispatch": task.dispatch, "tauro.executor_id": self.executor_id,
                      "tauro.node.type": str(task.node.get("type", ""))}
        with (
            span(f"task {task.node_id}", kind=SpanKind.CONSUMER, parent=envelope.trace_context,
                 attributes=attributes) as current,
            bind_log_fields(run_id=task.run_id, node_id=task.node_id, attempt=task.attempt),
        ):
            await self._attempt(task, current)

    async def _attempt(self, task: TaskScheduled, current: Span) -> None:
        """Claim the attempt, run it, stream its log lines, report its outcome. Its worker starts
        while the claim is in flight (a fork and a command round trip at once, not one after the
        other), and runs nothing unless the claim is accepted."""
        claim = ClaimTask(run_id=task.run_id, node_id=task.node_id, attempt=task.attempt, dispatch=task.dispatch,
                          executor_id=self.executor_id)
        spec = self._spec(task)
        starting = asyncio.create_task(start_worker(spec, warm=self.warm_worker_for(str(task.node.get("type", "")))))
        claimed = False
        try:
            claimed = await self._send_reliably(claim, task.run_id) == "accepted"
        finally:
            if not claimed:
                await asyncio.shield(_abandon(starting))
        if not claimed:
            current.set_attribute("tauro.task.status", "not_claimed")
            return
        logs = LogBuffer(self._adapters.store, self._relay, task.run_id, task.node_id, task.attempt,
                         actor=self.executor_id)
        logs.start()
        await logs.add("INFO", f"task {task.node_id} attempt {task.attempt} started on {self.executor_id}")
        outcome: dict[str, Any]
        try:
            result = await run_attempt(spec, worker=await starting, timeout_seconds=task.timeout_seconds,
                                       on_log=lambda line: logs.add(line.level, line.message))
            outcome = {"status": result.status, "error": result.error, "exit_code": result.exit_code,
                       "metrics": result.metrics, "duration_seconds": result.duration_seconds}
            level = "INFO" if result.status == "succeeded" else "ERROR"
            await logs.add(level, f"task {task.node_id} attempt {task.attempt} {result.status}"
                           + (f": {result.error}" if result.error else ""))
        except asyncio.CancelledError:
            await logs.add("WARNING", f"task {task.node_id} attempt {task.attempt} cancelled")
            await logs.close()
            current.set_attribute("tauro.task.status", "cancelled")
            await self._report(task, {"status": "cancelled", "error": "cancelled"})
            raise
        except Exception as exc:
            log.exception("attempt crashed in the executor", extra={"run_id": task.run_id})
            outcome = {"status": "failed", "error": f"executor error: {exc}"}
        kept = await logs.close_keeping(OUTCOME_LOG_CHARS)
        current.set_attribute("tauro.task.status", outcome["status"])
        if outcome["status"] != "succeeded":
            current.set_status(Status(StatusCode.ERROR, str(outcome.get("error") or outcome["status"])[:200]))
        # Once sent, the outcome logs the lines whatever becomes of this task (the run's end,
        # which the outcome may cause, cancels it, often before the answer arrives).
        if await self._report(task, {**outcome, "log_lines": kept}) == "refused" and kept:
            await logs.write(kept)  # nothing of a refused command was written: the lines still belong in the log

    def _spec(self, task: TaskScheduled) -> TaskSpec:
        return TaskSpec(
            run_id=task.run_id, node=Node.model_validate(task.node), attempt=task.attempt, params=task.params,
            upstream=task.upstream, work_dir=str(self._settings.tauro_work_dir.resolve()),
            output_dir=str(self._settings.tauro_output_dir.resolve()),
            logical_date=task.params.get("logical_date"),
        )

    async def _report(self, task: TaskScheduled, outcome: dict[str, Any]) -> Answer:
        command = RecordTaskOutcome(run_id=task.run_id, node_id=task.node_id, attempt=task.attempt,
                                    executor_id=self.executor_id, **outcome)
        return await self._send_reliably(command, task.run_id)

    async def _send_reliably(self, command: Command, run_id: str) -> Answer:
        """Send until answered, re-sending under the same command id (so it applies once):
        ``accepted``, ``refused`` by the runs service (e.g. a stale claim; nothing of it was
        written), or ``unanswered`` after 60 timeouts (it may still be applied later)."""
        command_id = str(uuid.uuid4())
        for attempt in range(60):
            try:
                await self._sender.send(command, key=run_id, command_id=command_id)
                return "accepted"
            except DomainError as exc:
                if exc.code != ErrorCode.TIMEOUT:
                    log.info("command rejected", extra={"run_id": run_id, "command": command.type_name,
                                                        "reason": exc.message})
                    return "refused"
                await asyncio.sleep(min(5.0, 0.5 * (attempt + 1)))
        return "unanswered"


async def _abandon(starting: asyncio.Task[Worker]) -> None:
    """End the worker started for an attempt that is not going to run (once it is started)."""
    try:
        worker = await starting
    except (Exception, asyncio.CancelledError):  # it never started (a cancelled start cleans up)
        return
    await abandon_worker(worker)
