"""The project aggregate: create, update, delete, with names unique across live projects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.errors import conflict, not_found
from tauro_contracts.projects import (
    CreateProject,
    NameClaimed,
    NameReleased,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    UpdateProject,
)

from tauro_runs.domain.names import NameState

SCOPE = "project"


@dataclass(frozen=True)
class ProjectState:
    version: int = 0
    exists: bool = False
    deleted: bool = False
    name: str = ""
    description: str = ""
    owner: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.exists and not self.deleted


def evolve_project(state: ProjectState, event: Event) -> ProjectState:
    state = replace(state, version=state.version + 1)
    if isinstance(event, ProjectCreated):
        return replace(
            state, exists=True, name=event.name, description=event.description, owner=event.owner,
            metadata=dict(event.metadata),
        )
    if isinstance(event, ProjectUpdated):
        return replace(state, **event.changes)
    if isinstance(event, ProjectDeleted):
        return replace(state, deleted=True)
    return state


def fold_project(events: Iterable[Event]) -> ProjectState:
    state = ProjectState()
    for event in events:
        state = evolve_project(state, event)
    return state


def decide_create(cmd: CreateProject, project: ProjectState, name: NameState) -> tuple[list[Event], list[Event]]:
    """Events for the project stream and for the name stream."""
    if project.exists:
        raise conflict(f"project '{cmd.project_id}' already exists", field="id")
    if name.holder_id is not None:
        raise conflict(f"a project named '{cmd.name}' already exists", field="name")
    created = ProjectCreated(
        project_id=cmd.project_id, name=cmd.name, description=cmd.description, owner=cmd.owner,
        metadata=cmd.metadata,
    )
    return [created], [NameClaimed(scope=SCOPE, name=cmd.name, holder_id=cmd.project_id)]


def decide_update(cmd: UpdateProject, project: ProjectState) -> list[Event]:
    if not project.live:
        raise not_found("project", cmd.project_id)
    wanted = {"description": cmd.description, "owner": cmd.owner, "metadata": cmd.metadata}
    changes = {k: v for k, v in wanted.items() if v is not None and getattr(project, k) != v}
    return [ProjectUpdated(project_id=cmd.project_id, changes=changes)] if changes else []


def decide_delete(project_id: str, project: ProjectState) -> tuple[list[Event], list[Event]]:
    if not project.live:
        raise not_found("project", project_id)
    return (
        [ProjectDeleted(project_id=project_id, name=project.name)],
        [NameReleased(scope=SCOPE, name=project.name, holder_id=project_id)],
    )
