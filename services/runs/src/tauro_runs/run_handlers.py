"""Command handlers for runs and their tasks: load the run, decide, return the writes."""

from __future__ import annotations

from tauro_contracts.base import Command, Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.errors import not_found
from tauro_contracts.runs import (
    TERMINAL_EVENT_TYPES,
    CancelRun,
    ClaimTask,
    CreateRun,
    ExpireTask,
    RecordTaskOutcome,
    StartRun,
    TaskLogged,
    TimeOutRun,
    log_stream,
)
from tauro_platform.eventstore.port import ANY_VERSION, EventStore
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.commands import CommandHandler
from tauro_platform.runtime.decision import CommandContext, Decision, PendingWrite
from tauro_platform.runtime.streams import AggregateCache
from tauro_platform.settings import Settings

from tauro_runs.domain import creation
from tauro_runs.domain import runs as run_domain
from tauro_runs.domain.pipelines import PipelineState, evolve_pipeline
from tauro_runs.domain.projects import ProjectState, evolve_project
from tauro_runs.domain.runs import Outcome, RunState, evolve_run


class RunHandlers:
    def __init__(self, store: EventStore, read_store: ReadStore, settings: Settings,
                 aggregates: AggregateCache | None = None) -> None:
        self._store = store
        self._read = read_store
        self._settings = settings
        self._aggregates = aggregates or AggregateCache(store)

    def table(self) -> dict[str, CommandHandler]:
        return {
            CreateRun.type_name: self.create_run,
            StartRun.type_name: self.start_run,
            CancelRun.type_name: self.cancel_run,
            ClaimTask.type_name: self.claim_task,
            RecordTaskOutcome.type_name: self.record_outcome,
            ExpireTask.type_name: self.expire_task,
            TimeOutRun.type_name: self.time_out_run,
        }

    async def after_append(self, events: list[EventEnvelope]) -> None:
        """A run that ended leaves the aggregate cache."""
        for event in events:
            if event.type in TERMINAL_EVENT_TYPES:
                self._aggregates.forget(event.stream_id)

    async def _load_run(self, run_id: str, ctx: CommandContext) -> RunState:
        return await self._aggregates.load(run_id, RunState(), evolve_run, fresh=ctx.attempt > 0)

    async def _run(self, run_id: str, ctx: CommandContext) -> RunState:
        state = await self._load_run(run_id, ctx)
        if not state.exists:
            raise not_found("run", run_id)
        return state

    async def _pipeline_candidates(self, project_id: str, ref: str,
                                   ctx: CommandContext) -> list[tuple[str, PipelineState]]:
        """The pipelines ``ref`` may name (by id, or by name in the project and then the catalog)."""
        ids = [ref]
        if not creation.names_a_pipeline_id(ref):
            docs, _ = await self._read.find(
                "pipelines", {"name": ref, "deleted": False, "project_id": {"$in": [project_id, None]}},
                sort=[("project_id", -1)],
            )
            ids = [d["_id"] for d in docs] or [ref]
        return [(pipeline_id, await self._aggregates.load(pipeline_id, PipelineState(), evolve_pipeline,
                                                          fresh=ctx.attempt > 0))
                for pipeline_id in ids]

    async def create_run(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CreateRun)
        run = await self._load_run(cmd.run_id, ctx)
        project = await self._aggregates.load(cmd.project_id, ProjectState(), evolve_project, fresh=ctx.attempt > 0)
        pipeline = None
        if not run.exists and project.live:  # else the decision refuses before it needs one
            pipeline = creation.choose_pipeline(cmd.project_id, await self._pipeline_candidates(cmd.project_id,
                                                                                                 cmd.pipeline_id, ctx))
        events = creation.decide_create(cmd, run, project, pipeline, self._settings.default_timeout)
        return Decision.of(cmd.run_id, 0, *events, id=cmd.run_id)

    def _limits(self, state: RunState, timeout_seconds: int | None) -> tuple[int, int | None]:
        assert state.spec is not None
        config = state.spec.config
        return creation.run_limits(config.timeout_seconds, config.max_concurrent_runs, timeout_seconds,
                                   self._settings.default_timeout)

    async def start_run(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, StartRun)
        state = await self._run(cmd.run_id, ctx)
        events = run_domain.decide_start(state, *self._limits(state, cmd.timeout_seconds))
        return Decision.of(cmd.run_id, state.version, *events, id=cmd.run_id)

    async def cancel_run(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CancelRun)
        state = await self._run(cmd.run_id, ctx)
        return Decision.of(cmd.run_id, state.version, *run_domain.decide_cancel(state, cmd.reason), id=cmd.run_id)

    async def claim_task(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, ClaimTask)
        state = await self._run(cmd.run_id, ctx)
        events = run_domain.decide_claim(state, cmd.node_id, cmd.attempt, cmd.dispatch, cmd.executor_id)
        return self._maybe(state, events)

    async def record_outcome(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, RecordTaskOutcome)
        state = await self._run(cmd.run_id, ctx)
        outcome = Outcome(cmd.status, cmd.error, cmd.metrics, cmd.duration_seconds)
        events = run_domain.decide_outcome(state, cmd.node_id, cmd.attempt, outcome, ctx.now, ctx.random,
                                           executor_id=cmd.executor_id)
        decision = self._maybe(state, events)
        if not cmd.log_lines:
            return decision
        # the attempt's last lines, in the same write (logged even if the outcome changes nothing)
        logged = TaskLogged(run_id=cmd.run_id, lines=cmd.log_lines)
        return Decision((PendingWrite(log_stream(cmd.run_id), ANY_VERSION, (logged,)), *decision.writes),
                        decision.result)

    async def expire_task(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, ExpireTask)
        state = await self._run(cmd.run_id, ctx)
        seen = (cmd.seen_status, cmd.seen_dispatch) if cmd.seen_status and cmd.seen_dispatch else None
        events = run_domain.decide_expire(state, cmd.node_id, cmd.attempt, cmd.reason, ctx.now, ctx.random, seen)
        return self._maybe(state, events)

    async def time_out_run(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, TimeOutRun)
        state = await self._run(cmd.run_id, ctx)
        return self._maybe(state, run_domain.decide_timeout(state, ctx.now))

    @staticmethod
    def _maybe(state: RunState, events: list[Event]) -> Decision:
        if not events:
            return Decision(result={"id": state.run_id, "changed": False})
        return Decision.of(state.run_id, state.version, *events, id=state.run_id, changed=True)
