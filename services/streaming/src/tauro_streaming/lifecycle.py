"""The stream execution aggregate and the consumer-group claim, as pure functions.

Execution states: RUNNING -> STOPPING -> STOPPED, and RUNNING | STOPPING -> FAILED.
A stop on a STOPPING execution changes nothing; on an ended one it is a CONFLICT.
Completing a stop or failing only acts on a live execution, so the replicas that race
to report it produce one terminal event between them.

The group stream says which execution holds a consumer group; a start while another
execution holds it is a CONFLICT, and the terminal event releases it in the same append.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tauro_contracts.base import Event
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail, conflict
from tauro_contracts.readmodels import StreamState
from tauro_contracts.streams import (
    StreamFailed,
    StreamGroupClaimed,
    StreamGroupReleased,
    StreamStarted,
    StreamStopped,
    StreamStopRequested,
)

RUNNING, STOPPING, STOPPED, FAILED = StreamState.RUNNING, StreamState.STOPPING, StreamState.STOPPED, StreamState.FAILED
LIVE = frozenset({RUNNING, STOPPING})
ENDED = frozenset({STOPPED, FAILED})


@dataclass(frozen=True)
class ExecutionState:
    version: int = 0
    status: str = ""
    execution_id: str = ""
    consumer_group: str = ""
    deadline: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.status != ""


@dataclass(frozen=True)
class GroupState:
    version: int = 0
    holder: str | None = None


def evolve_execution(state: ExecutionState, event: Event) -> ExecutionState:
    state = replace(state, version=state.version + 1)
    match event:
        case StreamStarted():
            return replace(state, status=RUNNING, execution_id=event.execution_id,
                           consumer_group=event.consumer_group)
        case StreamStopRequested():
            return replace(state, status=STOPPING, deadline=event.deadline)
        case StreamStopped():
            return replace(state, status=STOPPED)
        case StreamFailed():
            return replace(state, status=FAILED)
    return state


def fold_execution(events: Iterable[Event]) -> ExecutionState:
    state = ExecutionState()
    for event in events:
        state = evolve_execution(state, event)
    return state


def fold_group(events: Iterable[Event]) -> GroupState:
    state = GroupState()
    for event in events:
        if isinstance(event, StreamGroupClaimed):
            state = GroupState(state.version + 1, event.execution_id)
        elif isinstance(event, StreamGroupReleased):
            state = GroupState(state.version + 1, None)
        else:
            state = replace(state, version=state.version + 1)
    return state


def unknown_execution(execution_id: str) -> DomainError:
    message = f"stream execution '{execution_id}' not found"
    return DomainError(ErrorCode.NOT_FOUND, message,
                       [ErrorDetail(field="execution_id", message=message, type="not_found")])


def decide_start(execution: ExecutionState, group: GroupState, started: StreamStarted) -> list[Event]:
    """The events of a new execution, or a CONFLICT (id taken, consumer group in use)."""
    if execution.exists:
        raise conflict(f"stream execution '{started.execution_id}' already exists", field="execution_id")
    if group.holder is not None:
        raise conflict(
            f"consumer group '{started.consumer_group}' is in use by stream execution '{group.holder}'; "
            "stop it first or give this pipeline another consumer_group",
            field="pipeline",
        )
    return [started]


def decide_stop(state: ExecutionState, timeout: float, reason: str, now: datetime) -> list[Event]:
    if state.status == STOPPING:
        return []
    if state.status in ENDED:
        raise conflict(f"stream execution '{state.execution_id}' has already ended ({state.status})",
                       field="execution_id")
    deadline = now + timedelta(seconds=timeout)
    return [StreamStopRequested(execution_id=state.execution_id, timeout=timeout, deadline=deadline,
                                reason=reason)]


def decide_complete_stop(state: ExecutionState, forced: bool, detail: str) -> list[Event]:
    if state.status != STOPPING:
        return []
    return [StreamStopped(execution_id=state.execution_id, forced=forced, detail=detail)]


def decide_fail(state: ExecutionState, error: str) -> list[Event]:
    if state.status not in LIVE:
        return []
    return [StreamFailed(execution_id=state.execution_id, error=error)]


def release(group: GroupState, state: ExecutionState) -> list[Event]:
    """The group release that goes with ``state``'s terminal event (none if not its holder)."""
    if group.holder != state.execution_id:
        return []
    return [StreamGroupReleased(consumer_group=state.consumer_group, execution_id=state.execution_id)]
