"""The pipeline aggregate: definitions as config versions, names unique within a project."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tauro_contracts.base import Event
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail, conflict, not_found
from tauro_contracts.pipeline import PipelineSpec, dag_errors
from tauro_contracts.projects import (
    DefinePipeline,
    NameClaimed,
    NameReleased,
    PipelineDefined,
    PipelineDeleted,
)

from tauro_runs.domain.names import NameState

GLOBAL_SCOPE = "_catalog"


def name_scope(project_id: str | None) -> str:
    return f"pipeline:{project_id or GLOBAL_SCOPE}"


@dataclass(frozen=True)
class PipelineState:
    version: int = 0
    exists: bool = False
    deleted: bool = False
    project_id: str | None = None
    name: str = ""
    config_version: int = 0
    checksum: str = ""
    spec: PipelineSpec | None = None

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted


def evolve_pipeline(state: PipelineState, event: Event) -> PipelineState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, PipelineDefined):
        return replace(
            state, exists=True, deleted=False, project_id=event.project_id, name=event.name,
            config_version=event.version, checksum=event.checksum, spec=event.spec,
        )
    if isinstance(event, PipelineDeleted):
        return replace(state, deleted=True)
    return state


def fold_pipeline(events: Iterable[Event]) -> PipelineState:
    state = PipelineState()
    for event in events:
        state = evolve_pipeline(state, event)
    return state


def checksum(name: str, spec: PipelineSpec) -> str:
    canonical = json.dumps({"name": name, **spec.to_json()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class DefineOutcome:
    pipeline_events: list[Event]
    claim: list[Event]
    release_old_name: list[Event]


def decide_define(
    cmd: DefinePipeline, pipeline: PipelineState, project_live: bool, new_name: NameState
) -> DefineOutcome:
    """A new config version, or nothing when an upsert brings no change."""
    if cmd.project_id is not None and not project_live:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "invalid pipeline",
            [ErrorDetail(field="project_id", message=f"project '{cmd.project_id}' not found", type="not_found")],
        )
    errors = dag_errors(cmd.spec)
    if errors:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid pipeline definition", errors)
    if cmd.mode == "create" and pipeline.exists:
        raise conflict(f"pipeline '{cmd.pipeline_id}' already exists", field="id")
    if cmd.mode == "update" and not pipeline.live:
        raise not_found("pipeline", cmd.pipeline_id)
    if pipeline.live and pipeline.project_id != cmd.project_id:
        raise conflict("a pipeline cannot move to another project", field="project_id")
    if new_name.holder_id not in (None, cmd.pipeline_id):
        raise conflict(f"a pipeline named '{cmd.name}' already exists in this project", field="name")
    digest = checksum(cmd.name, cmd.spec)
    if pipeline.live and digest == pipeline.checksum:
        return DefineOutcome([], [], [])
    defined = PipelineDefined(
        pipeline_id=cmd.pipeline_id, project_id=cmd.project_id, name=cmd.name,
        version=pipeline.config_version + 1, spec=cmd.spec, source=cmd.source, checksum=digest,
    )
    scope = name_scope(cmd.project_id)
    claim: list[Event] = []
    release: list[Event] = []
    if new_name.holder_id is None:
        claim = [NameClaimed(scope=scope, name=cmd.name, holder_id=cmd.pipeline_id)]
    if pipeline.live and pipeline.name.lower() != cmd.name.lower():
        release = [NameReleased(scope=scope, name=pipeline.name, holder_id=cmd.pipeline_id)]
    return DefineOutcome([defined], claim, release)


def decide_delete(pipeline_id: str, pipeline: PipelineState) -> tuple[list[Event], list[Event]]:
    if not pipeline.live:
        raise not_found("pipeline", pipeline_id)
    return (
        [PipelineDeleted(pipeline_id=pipeline_id, project_id=pipeline.project_id, name=pipeline.name)],
        [NameReleased(scope=name_scope(pipeline.project_id), name=pipeline.name, holder_id=pipeline_id)],
    )
