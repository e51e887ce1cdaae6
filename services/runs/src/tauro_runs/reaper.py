"""The reaper: the runs service's clock-driven duties, every second.

- give queued runs their slots (in case a dispatch was missed by a crash);
- time out runs past their deadline;
- fail (and retry by policy) attempts whose executor stopped heartbeating;
- re-dispatch scheduled attempts that no live executor claimed in time.

Each action is a command processed like any other, so replicas racing on the same
run are settled by the store's version check. It continues the run's trace (the context
recorded on the event that queued the run, i.e. its start request's), so a lost
attempt's expiry and its retry show up in the run's one trace, not in new ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels.states import RunState, TaskState
from tauro_contracts.runs import ExpireTask, RunCreated, RunQueued, TimeOutRun
from tauro_platform.eventstore.port import EventStore
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.commands import CommandProcessor, local_envelope
from tauro_platform.timeutil import iso

from tauro_runs.dispatcher import Dispatcher

log = logging.getLogger("tauro.reaper")
EXECUTORS = "executors"


class Reaper:
    def __init__(
        self, processor: CommandProcessor, dispatcher: Dispatcher, read_store: ReadStore, store: EventStore,
        heartbeat_timeout: float = 10.0, claim_timeout: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._processor = processor
        self._dispatcher = dispatcher
        self._read = read_store
        self._store = store
        self._heartbeat_timeout = heartbeat_timeout
        self._claim_timeout = claim_timeout
        self._clock = clock

    async def run(self, interval: float = 1.0) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reaper tick failed; retrying")
            await asyncio.sleep(interval)

    async def tick(self) -> None:
        await self._dispatcher.dispatch()
        now = self._clock()
        alive_since = iso(now - timedelta(seconds=self._heartbeat_timeout))
        executors, _ = await self._read.find(EXECUTORS, {"last_seen": {"$gte": alive_since}})
        live = {e["_id"] for e in executors}
        running, _ = await self._read.find("runs", {"state": RunState.RUNNING}, limit=1000)
        claim_deadline = iso(now - timedelta(seconds=self._claim_timeout))
        for run in running:
            if run.get("deadline") and run["deadline"] <= iso(now):
                await self._issue(TimeOutRun(run_id=run["_id"]))
                continue
            for task in run["tasks"].values():
                if task["status"] == TaskState.RUNNING and task.get("executor_id") not in live:
                    reason = f"executor {task.get('executor_id')} stopped heartbeating"
                    await self._issue(ExpireTask(run_id=run["_id"], node_id=task["node_id"], attempt=task["attempt"],
                                                 reason=reason, seen_status=TaskState.RUNNING,
                                                 seen_dispatch=task.get("dispatch")))
                elif task["status"] == "SCHEDULED" and live:
                    waiting_since = task.get("not_before") or task.get("scheduled_at") or ""
                    if waiting_since and waiting_since <= claim_deadline:
                        await self._issue(ExpireTask(run_id=run["_id"], node_id=task["node_id"],
                                                     attempt=task["attempt"], reason="not claimed in time",
                                                     seen_status="SCHEDULED", seen_dispatch=task.get("dispatch")))

    async def _issue(self, command: TimeOutRun | ExpireTask) -> None:
        trace = run_trace(await self._store.read_stream(command.run_id))
        reply = await self._processor.process(local_envelope(command, "system:reaper", trace_context=trace))
        log.info("reaper acted", extra={"command": command.type_name, "ok": reply.ok, "result": reply.result})


def run_trace(stream: list[EventEnvelope]) -> dict[str, str]:
    """The W3C context of the run's trace: the one recorded on the event that (last) queued
    the run, else on its creation; ``{}`` (a new trace) when neither carries one."""
    for wanted in (RunQueued.type_name, RunCreated.type_name):
        for event in reversed(stream):
            if event.type == wanted and event.trace_context:
                return dict(event.trace_context)
    return {}
