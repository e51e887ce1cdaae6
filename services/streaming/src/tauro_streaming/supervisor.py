"""Keeps this replica's stream workers in line with the executions' states.

Every replica runs one supervisor. Each pass (every 0.5 s, and at once after this replica
appended events) reads the live executions from ``stream_executions`` and:

* RUNNING: makes sure this replica has a worker in the execution's consumer group, which
  is also how a restarted service resumes what was running. An execution whose
  ``max_duration_seconds`` has passed is sent a ``StopStream``. A pipeline that cannot be
  built here (a python callable that no longer imports) is sent ``FailStream``.
* STOPPING: drains this replica's worker (finish the batch in hand, flush windows, leave
  the group) within the stop deadline. Once no live replica is still consuming, any
  replica sends ``CompleteStreamStop``; at the deadline it is sent with ``forced``, so the
  execution ends in STOPPED within its timeout whichever replica took the request.
* ended (or gone): aborts a worker still running for it.

Commands go straight to this replica's command processor (the same dedup, decision and
append path as commands from the bus); the aggregate makes racing replicas harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from tauro_contracts.base import Command
from tauro_contracts.streams import CompleteStreamStop, FailStream, StopStream
from tauro_platform.bus.port import Bus
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.runtime.commands import CommandProcessor, local_envelope
from tauro_platform.settings import Settings
from tauro_platform.timeutil import parse_iso
from tauro_platform.waiting import wait_event

from tauro_streaming.docstore import DocStore
from tauro_streaming.domain import StreamDefinitionError
from tauro_streaming.lifecycle import RUNNING, STOPPING
from tauro_streaming.projections import STREAM_EXECUTIONS, STREAM_REPLICAS
from tauro_streaming.snapshots import SnapshotStore
from tauro_streaming.stats import ReplicaStats
from tauro_streaming.worker import ExecutionWorker

log = logging.getLogger("tauro.streaming.supervisor")
AUTO_STOP_TIMEOUT = 30.0


class StreamSupervisor:
    def __init__(self, bus: Bus, read_store: ReadStore, docs: DocStore, processor: CommandProcessor,
                 settings: Settings, replica_id: str) -> None:
        self._bus = bus
        self._read = read_store
        self._docs = docs
        self._processor = processor
        self._settings = settings
        self.replica_id = replica_id
        self.stats = ReplicaStats(read_store, replica_id)
        self.workers: dict[str, ExecutionWorker] = {}
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._refused: set[str] = set()
        self._auto_stopped: set[str] = set()
        self._wake = asyncio.Event()
        self._stats_written = 0.0

    def poke(self) -> None:
        """Reconcile now (after this replica appended events), not at the next tick."""
        self._wake.set()

    async def run(self, interval: float = 0.5) -> None:
        while True:
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("stream reconcile failed; retrying")
            await wait_event(self._wake, interval)
            self._wake.clear()

    async def reconcile(self) -> None:
        docs, _ = await self._read.find(STREAM_EXECUTIONS, {"state": {"$in": [RUNNING, STOPPING]}})
        live = {d["execution_id"] for d in docs}
        for doc in docs:
            if doc["state"] == RUNNING:
                await self._running(doc)
            else:
                await self._stopping(doc)
        for execution_id in [e for e in self.workers if e not in live]:
            await self._retire(execution_id)
        for execution_id in [e for e in self.stats.known() if e not in live and e not in self.workers]:
            await self.stats.write(execution_id)  # e.g. one this replica refused: last words, then quiet
            self.stats.forget(execution_id)
        self._refused &= live
        self._auto_stopped &= live
        if time.monotonic() - self._stats_written >= self._settings.stream_stats_interval_seconds:
            self._stats_written = time.monotonic()
            await self.stats.write_all()

    async def _command(self, command: Command) -> None:
        reply = await self._processor.process(local_envelope(command, f"system:streaming:{self.replica_id}"))
        if not reply.ok:
            log.warning("stream command rejected", extra={"command": command.type_name, "error": reply.error})

    # -- RUNNING -------------------------------------------------------------------------------

    async def _running(self, doc: Doc) -> None:
        execution_id = doc["execution_id"]
        run_until = doc.get("run_until")
        if run_until and datetime.now(UTC) >= parse_iso(run_until) and execution_id not in self._auto_stopped:
            self._auto_stopped.add(execution_id)
            await self._command(StopStream(execution_id=execution_id, timeout=AUTO_STOP_TIMEOUT,
                                           reason="max_duration_seconds reached"))
            return
        if execution_id in self.workers or execution_id in self._refused:
            return
        counters = self.stats.get(execution_id)
        try:
            snapshots = SnapshotStore(self._docs, doc["consumer_group"], execution_id)
            worker = ExecutionWorker(doc, self._bus, snapshots, counters, self._settings)
            counters.active = True
            await self.stats.write(execution_id)  # visible as consuming before it joins the group
            await worker.start()
        except StreamDefinitionError as exc:
            self._refused.add(execution_id)
            counters.active = False
            counters.error(f"cannot run the pipeline: {exc}")
            await self.stats.write(execution_id)
            await self._command(FailStream(execution_id=execution_id, error=f"cannot run the pipeline: {exc}"))
            return
        except Exception as exc:
            counters.active = False
            counters.error(f"could not join the consumer group: {type(exc).__name__}: {exc}")
            log.exception("stream worker failed to start; will retry", extra={"execution_id": execution_id})
            return
        self.workers[execution_id] = worker

    # -- STOPPING ------------------------------------------------------------------------------

    async def _stopping(self, doc: Doc) -> None:
        execution_id = doc["execution_id"]
        now = datetime.now(UTC)
        deadline = parse_iso(doc["stop_deadline"])
        # Act a little before the deadline, so STOPPED is recorded within the timeout.
        deadline -= timedelta(seconds=min(1.0, 0.25 * float(doc.get("stop_timeout") or 0)))
        worker = self.workers.get(execution_id)
        if worker is not None and execution_id not in self._drains:
            seconds = (deadline - now).total_seconds()
            self._drains[execution_id] = asyncio.create_task(self._drain(execution_id, worker, seconds))
        drain = self._drains.get(execution_id)
        mine_done = drain is None or drain.done()
        busy = await self._busy_replicas(execution_id)
        if mine_done and not busy:
            await self._command(CompleteStreamStop(execution_id=execution_id))
        elif now >= deadline:
            pending = sorted(busy | ({self.replica_id} if not mine_done else set()))
            await self._command(CompleteStreamStop(
                execution_id=execution_id, forced=True,
                detail=f"not drained within the timeout on replicas {pending}; their unfinished batches "
                       "stay uncommitted and their open windows stay in their snapshots",
            ))

    async def _busy_replicas(self, execution_id: str) -> set[str]:
        """Other replicas that say they are consuming for the execution and are alive."""
        docs, _ = await self._read.find(STREAM_REPLICAS, {"execution_id": execution_id, "active": True})
        now = datetime.now(UTC)
        ttl = self._settings.stream_replica_ttl_seconds
        return {
            d["replica_id"] for d in docs
            if d["replica_id"] != self.replica_id and (now - parse_iso(d["updated_at"])).total_seconds() <= ttl
        }

    async def _drain(self, execution_id: str, worker: ExecutionWorker, seconds: float) -> None:
        counters = self.stats.get(execution_id)
        try:
            if not await worker.drain(seconds):
                counters.error("drain did not finish within the stop timeout")
                await worker.abort()
        except Exception as exc:
            log.exception("stream drain failed", extra={"execution_id": execution_id})
            counters.error(f"drain failed: {type(exc).__name__}: {exc}")
            await worker.abort()
        counters.active = False
        await self.stats.write(execution_id)
        self.poke()

    # -- ended ---------------------------------------------------------------------------------

    async def _retire(self, execution_id: str) -> None:
        worker = self.workers.pop(execution_id)
        await worker.abort()
        self._drains.pop(execution_id, None)
        counters = self.stats.get(execution_id)
        counters.active = False
        await self.stats.write(execution_id)
        self.stats.forget(execution_id)

    async def shutdown(self) -> None:
        """Leave every consumer group without flushing: the executions stay RUNNING and
        resume (from their committed offsets and window snapshots) on a replica still up,
        or when the service comes back."""
        drains = [task for task in self._drains.values() if not task.done()]
        if drains:
            await asyncio.wait(drains, timeout=5.0)
        for execution_id, worker in list(self.workers.items()):
            try:
                await worker.abort()
            except Exception:
                log.exception("stream worker did not stop cleanly", extra={"execution_id": execution_id})
            self.stats.get(execution_id).active = False
        await self.stats.write_all()
