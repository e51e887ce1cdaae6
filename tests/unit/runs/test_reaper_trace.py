"""The reaper's commands continue the run's trace (issue 17): the expiry of a lost attempt and
a run's time-out are issued with the trace context recorded on the event that queued the run,
so the retry they lead to shows up in the run's one trace instead of starting a new one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from tauro_contracts.envelope import CommandEnvelope, CommandReply, EventEnvelope
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_runs.reaper import Reaper, run_trace

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
START_TRACE = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
CREATE_TRACE = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


def _event(version: int, type_: str, trace: dict[str, str]) -> EventEnvelope:
    return EventEnvelope(event_id=f"e{version}", stream_id="run_1", stream_version=version, type=type_,
                         occurred_at=NOW, trace_context=trace, data={})


class Streams:
    def __init__(self, events: list[EventEnvelope]) -> None:
        self.events = events

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[EventEnvelope]:
        return [e for e in self.events if e.stream_id == stream_id and e.stream_version > after_version]


class Processor:
    def __init__(self) -> None:
        self.seen: list[CommandEnvelope] = []

    async def process(self, envelope: CommandEnvelope, source: Any = None) -> CommandReply:
        self.seen.append(envelope)
        return CommandReply(command_id=envelope.command_id, ok=True)


class NoDispatch:
    async def dispatch(self) -> list[str]:
        return []


async def _tick(run: dict[str, Any], events: list[EventEnvelope]) -> list[CommandEnvelope]:
    read = MemoryReadStore()
    await read.insert_many_if_absent("runs", [{"_id": "run_1", "_v": 1, **run}])
    processor = Processor()
    reaper = Reaper(cast(Any, processor), cast(Any, NoDispatch()), read, cast(Any, Streams(events)),
                    clock=lambda: NOW)
    await reaper.tick()
    return processor.seen


LOST = {"a": {"node_id": "a", "status": "RUNNING", "attempt": 1, "executor_id": "ex-dead", "dispatch": 1}}
HISTORY = [_event(1, "RunCreated", CREATE_TRACE), _event(2, "RunQueued", START_TRACE), _event(3, "RunStarted", {}),
           _event(4, "TaskScheduled", {"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"})]


async def test_expiry_of_a_lost_attempt_continues_the_runs_trace() -> None:
    (sent,) = await _tick({"state": "RUNNING", "tasks": LOST}, HISTORY)
    assert (sent.type, sent.data["node_id"], sent.actor) == ("ExpireTask", "a", "system:reaper")
    assert sent.trace_context == START_TRACE


async def test_time_out_of_a_run_continues_the_runs_trace() -> None:
    (sent,) = await _tick({"state": "RUNNING", "deadline": "2025-03-01T11:00:00Z", "tasks": LOST}, HISTORY)
    assert sent.type == "TimeOutRun" and sent.trace_context == START_TRACE


def test_the_runs_trace_is_the_queuing_events_else_the_creations_else_none() -> None:
    assert run_trace(HISTORY) == START_TRACE
    assert run_trace([_event(1, "RunCreated", CREATE_TRACE), _event(2, "RunQueued", {})]) == CREATE_TRACE
    assert run_trace([_event(1, "RunCreated", {})]) == {}
    assert run_trace([]) == {}
