"""Command handlers of the streaming service: validate with the domain, load, decide.

``StartStream`` resolves its definition here, on the service side: ``config`` is a path
inside ``STREAMS_DIR`` (the domain rejects one that leaves it: VALIDATION_ERROR on
``config``; a missing file or pipeline is NOT_FOUND), or ``definition`` is given inline.
The pipeline is built once to prove its python callables import (inline definitions may
only use the modules in ``STREAM_CALLABLE_MODULES``). The resolved definition goes into
``StreamStarted``, so what runs is exactly what was validated.
"""

from __future__ import annotations

from pathlib import Path

from tauro_contracts.base import Command, Event
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_contracts.streams import (
    CompleteStreamStop,
    DefinitionSource,
    FailStream,
    StartStream,
    StopStream,
    StreamGroupClaimed,
    StreamStarted,
    group_stream,
)
from tauro_platform.eventstore.port import EventStore
from tauro_platform.runtime.commands import CommandHandler
from tauro_platform.runtime.decision import CommandContext, Decision, PendingWrite
from tauro_platform.runtime.streams import load
from tauro_platform.settings import Settings

from tauro_streaming import lifecycle
from tauro_streaming.domain import StreamDefinition, StreamPipeline, load_definition, parse_definition
from tauro_streaming.lifecycle import ExecutionState, GroupState


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, "invalid stream request",
                       [ErrorDetail(field=field, message=message)])


def resolve_definition(
    command: StartStream, streams_dir: Path, callable_modules: tuple[str, ...]
) -> tuple[StreamDefinition, DefinitionSource]:
    """The validated definition a start names; raises the domain's errors (VALIDATION/NOT_FOUND)."""
    if command.config is not None and command.definition is not None:
        raise _invalid("definition", "give either config (with pipeline) or an inline definition, not both")
    if command.definition is not None:
        definition = parse_definition(command.definition, name=command.pipeline, prefix=("definition",),
                                      source="the request")
        source: DefinitionSource = "inline"
    elif command.config is not None:
        definition = load_definition(streams_dir, command.config, command.pipeline)
        source = "config"
    else:
        raise _invalid("config", "name a definition file in config (with pipeline), or give a definition")
    build_pipeline(definition, source, callable_modules)
    return definition, source


def build_pipeline(
    definition: StreamDefinition, source: DefinitionSource, callable_modules: tuple[str, ...]
) -> StreamPipeline:
    """A runnable pipeline; inline definitions may only import ``callable_modules``."""
    allowed = None if source == "config" else callable_modules
    return StreamPipeline(definition, allowed_callable_prefixes=allowed)


class StreamHandlers:
    def __init__(self, store: EventStore, settings: Settings) -> None:
        self._store = store
        self._streams_dir = settings.streams_dir
        self._callable_modules = tuple(settings.stream_callable_modules)

    def table(self) -> dict[str, CommandHandler]:
        return {
            StartStream.type_name: self.start,
            StopStream.type_name: self.stop,
            CompleteStreamStop.type_name: self.complete_stop,
            FailStream.type_name: self.fail,
        }

    async def _execution(self, execution_id: str) -> ExecutionState:
        state = await load(self._store, execution_id, lifecycle.fold_execution)
        if not state.exists:
            raise lifecycle.unknown_execution(execution_id)
        return state

    async def _group(self, consumer_group: str) -> GroupState:
        return await load(self._store, group_stream(consumer_group), lifecycle.fold_group)

    async def start(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, StartStream)
        definition, source = resolve_definition(cmd, self._streams_dir, self._callable_modules)
        execution = await load(self._store, cmd.execution_id, lifecycle.fold_execution)
        group = await self._group(definition.consumer_group)
        started = StreamStarted(
            execution_id=cmd.execution_id, pipeline=definition.name, source=source, config=cmd.config,
            definition=definition.model_dump(mode="json"), consumer_group=definition.consumer_group,
            mode=cmd.mode, max_duration_seconds=cmd.max_duration_seconds,
        )
        events = lifecycle.decide_start(execution, group, started)
        claim = StreamGroupClaimed(consumer_group=definition.consumer_group, execution_id=cmd.execution_id)
        writes = (
            PendingWrite(cmd.execution_id, 0, tuple(events)),
            PendingWrite(group_stream(definition.consumer_group), group.version, (claim,)),
        )
        return Decision(writes, {"id": cmd.execution_id, "execution_id": cmd.execution_id})

    async def stop(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, StopStream)
        state = await self._execution(cmd.execution_id)
        events = lifecycle.decide_stop(state, cmd.timeout, cmd.reason, ctx.now)
        return self._decision(state, events, None)

    async def complete_stop(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CompleteStreamStop)
        state = await self._execution(cmd.execution_id)
        events = lifecycle.decide_complete_stop(state, cmd.forced, cmd.detail)
        return self._decision(state, events, await self._group(state.consumer_group) if events else None)

    async def fail(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, FailStream)
        state = await self._execution(cmd.execution_id)
        events = lifecycle.decide_fail(state, cmd.error)
        return self._decision(state, events, await self._group(state.consumer_group) if events else None)

    @staticmethod
    def _decision(state: ExecutionState, events: list[Event], group: GroupState | None) -> Decision:
        result = {"id": state.execution_id, "execution_id": state.execution_id, "changed": bool(events)}
        if not events:
            return Decision(result=result)
        writes = [PendingWrite(state.execution_id, state.version, tuple(events))]
        if group is not None:
            released = lifecycle.release(group, state)
            if released:
                writes.append(PendingWrite(group_stream(state.consumer_group), group.version, tuple(released)))
        return Decision(tuple(writes), result)
