"""Command handlers of the runs service: load state, call the pure decisions, return writes."""

from __future__ import annotations

from tauro_contracts.base import Command
from tauro_contracts.projects import (
    CreateProject,
    DefinePipeline,
    DeletePipeline,
    DeleteProject,
    UpdateProject,
    name_stream,
)
from tauro_platform.eventstore.port import EventStore
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.commands import CommandHandler
from tauro_platform.runtime.decision import CommandContext, Decision, PendingWrite
from tauro_platform.runtime.streams import load

from tauro_runs.domain import pipelines as pipeline_domain
from tauro_runs.domain import projects as project_domain
from tauro_runs.domain.names import fold_name
from tauro_runs.domain.pipelines import fold_pipeline, name_scope
from tauro_runs.domain.projects import fold_project


class RunsHandlers:
    def __init__(self, store: EventStore, read_store: ReadStore) -> None:
        self._store = store
        self._read = read_store

    def table(self) -> dict[str, CommandHandler]:
        return {
            CreateProject.type_name: self.create_project,
            UpdateProject.type_name: self.update_project,
            DeleteProject.type_name: self.delete_project,
            DefinePipeline.type_name: self.define_pipeline,
            DeletePipeline.type_name: self.delete_pipeline,
        }

    async def create_project(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CreateProject)
        project = await load(self._store, cmd.project_id, fold_project)
        name_id = name_stream(project_domain.SCOPE, cmd.name)
        name = await load(self._store, name_id, fold_name)
        created, claimed = project_domain.decide_create(cmd, project, name)
        return Decision(
            (PendingWrite(cmd.project_id, project.version, tuple(created)),
             PendingWrite(name_id, name.version, tuple(claimed))),
            {"id": cmd.project_id},
        )

    async def update_project(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, UpdateProject)
        project = await load(self._store, cmd.project_id, fold_project)
        events = project_domain.decide_update(cmd, project)
        if not events:
            return Decision(result={"id": cmd.project_id})
        return Decision.of(cmd.project_id, project.version, *events, id=cmd.project_id)

    async def delete_project(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, DeleteProject)
        project = await load(self._store, cmd.project_id, fold_project)
        deleted, released = project_domain.decide_delete(cmd.project_id, project)
        name_id = name_stream(project_domain.SCOPE, project.name)
        name = await load(self._store, name_id, fold_name)
        writes = [
            PendingWrite(cmd.project_id, project.version, tuple(deleted)),
            PendingWrite(name_id, name.version, tuple(released)),
        ]
        owned, _ = await self._read.find("pipelines", {"project_id": cmd.project_id, "deleted": False})
        for doc in owned:
            writes.extend(await self._pipeline_deletion(doc["_id"]))
        return Decision(tuple(writes), {"id": cmd.project_id})

    async def define_pipeline(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, DefinePipeline)
        pipeline = await load(self._store, cmd.pipeline_id, fold_pipeline)
        project_live = True
        if cmd.project_id is not None:
            project_live = (await load(self._store, cmd.project_id, fold_project)).live
        scope = name_scope(cmd.project_id)
        new_name_id = name_stream(scope, cmd.name)
        new_name = await load(self._store, new_name_id, fold_name)
        outcome = pipeline_domain.decide_define(cmd, pipeline, project_live, new_name)
        writes: list[PendingWrite] = []
        if outcome.pipeline_events:
            writes.append(PendingWrite(cmd.pipeline_id, pipeline.version, tuple(outcome.pipeline_events)))
        if outcome.claim:
            writes.append(PendingWrite(new_name_id, new_name.version, tuple(outcome.claim)))
        if outcome.release_old_name:
            old_name_id = name_stream(scope, pipeline.name)
            old_name = await load(self._store, old_name_id, fold_name)
            writes.append(PendingWrite(old_name_id, old_name.version, tuple(outcome.release_old_name)))
        return Decision(tuple(writes), {"id": cmd.pipeline_id})

    async def delete_pipeline(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, DeletePipeline)
        return Decision(tuple(await self._pipeline_deletion(cmd.pipeline_id)), {"id": cmd.pipeline_id})

    async def _pipeline_deletion(self, pipeline_id: str) -> list[PendingWrite]:
        pipeline = await load(self._store, pipeline_id, fold_pipeline)
        deleted, released = pipeline_domain.decide_delete(pipeline_id, pipeline)
        name_id = name_stream(name_scope(pipeline.project_id), pipeline.name)
        name = await load(self._store, name_id, fold_name)
        return [
            PendingWrite(pipeline_id, pipeline.version, tuple(deleted)),
            PendingWrite(name_id, name.version, tuple(released)),
        ]
