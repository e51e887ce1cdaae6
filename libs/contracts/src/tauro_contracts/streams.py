"""Commands and events of stream executions (Kafka-native streaming pipelines).

An execution's stream (id = ``execution_id``) holds ``StreamStarted`` (RUNNING), then
optionally ``StreamStopRequested`` (STOPPING: every replica drains, flushes its windows
and leaves the consumer group), and exactly one terminal event: ``StreamStopped`` or
``StreamFailed``.

A consumer group serves one execution at a time. The stream ``stream-group:<group>``
records who holds it: ``StreamGroupClaimed`` is appended atomically with
``StreamStarted`` and ``StreamGroupReleased`` with the terminal event, so two executions
never share (and split) one group's partitions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import Field

from tauro_contracts import topics
from tauro_contracts.base import Command, Event
from tauro_contracts.registry import REGISTRY

StreamMode = Literal["async", "sync"]
DefinitionSource = Literal["config", "inline"]
MAX_STOP_TIMEOUT = 3600

C = TypeVar("C", bound=Command)
E = TypeVar("E", bound=Event)


def group_stream(consumer_group: str) -> str:
    """The event stream that records which execution holds ``consumer_group``."""
    return f"stream-group:{consumer_group}"


def _cmd(cls: type[C]) -> type[C]:
    cls.topic = topics.COMMANDS_STREAMING
    return REGISTRY.register(cls)


def _evt(cls: type[E]) -> type[E]:
    cls.topic = topics.EVENTS_STREAMS
    return REGISTRY.register(cls)


@_cmd
class StartStream(Command):
    """Start an execution of a definition named by ``config`` + ``pipeline``, or given inline."""

    type_name = "StartStream"
    execution_id: str = Field(min_length=1, max_length=140)
    config: str | None = Field(default=None, max_length=1024)
    pipeline: str | None = Field(default=None, max_length=128)
    definition: dict[str, Any] | None = None
    mode: StreamMode = "async"
    max_duration_seconds: float | None = Field(default=None, gt=0, le=7 * 86400)


@_cmd
class StopStream(Command):
    """Drain the execution within ``timeout`` seconds, then end it in STOPPED."""

    type_name = "StopStream"
    execution_id: str = Field(min_length=1, max_length=140)
    timeout: float = Field(default=30, ge=0, le=MAX_STOP_TIMEOUT)
    reason: str = Field(default="stopped by user", max_length=500)


@_cmd
class CompleteStreamStop(Command):
    """Issued by a streaming replica once every replica drained, or the stop deadline passed."""

    type_name = "CompleteStreamStop"
    execution_id: str
    forced: bool = False
    detail: str = Field(default="", max_length=2000)


@_cmd
class FailStream(Command):
    """Issued by a streaming replica when an execution cannot run (e.g. its callable is gone)."""

    type_name = "FailStream"
    execution_id: str
    error: str = Field(max_length=4000)


@_evt
class StreamStarted(Event):
    """An execution started: its resolved definition is recorded, so replicas and restarts
    run exactly what was validated, even if the file changes later."""

    type_name = "StreamStarted"
    execution_id: str
    pipeline: str
    source: DefinitionSource
    config: str | None = None
    definition: dict[str, Any]
    consumer_group: str
    mode: StreamMode = "async"
    max_duration_seconds: float | None = None


@_evt
class StreamStopRequested(Event):
    """A stop was requested: replicas drain and flush until ``deadline``."""

    type_name = "StreamStopRequested"
    execution_id: str
    timeout: float
    deadline: datetime
    reason: str


@_evt
class StreamStopped(Event):
    """The execution ended; ``forced`` when some replica had not drained by the deadline."""

    type_name = "StreamStopped"
    execution_id: str
    forced: bool = False
    detail: str = ""


@_evt
class StreamFailed(Event):
    """The execution cannot run and ended."""

    type_name = "StreamFailed"
    execution_id: str
    error: str


@_evt
class StreamGroupClaimed(Event):
    """``execution_id`` now consumes with ``consumer_group`` (on the group's stream)."""

    type_name = "StreamGroupClaimed"
    consumer_group: str
    execution_id: str


@_evt
class StreamGroupReleased(Event):
    """``execution_id`` ended and gave ``consumer_group`` back (on the group's stream)."""

    type_name = "StreamGroupReleased"
    consumer_group: str
    execution_id: str


EXECUTION_EVENTS = (StreamStarted, StreamStopRequested, StreamStopped, StreamFailed)
TERMINAL_STREAM_EVENTS = (StreamStopped, StreamFailed)
