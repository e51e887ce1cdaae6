"""Commands and events of projects, pipelines and the unique-name claims they rely on."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tauro_contracts import topics
from tauro_contracts.base import Command, Event
from tauro_contracts.pipeline import NAME_PATTERN, PipelineSpec
from tauro_contracts.registry import REGISTRY

Metadata = dict[str, str | int | float | bool | None]


def name_stream(scope: str, name: str) -> str:
    """The stream that records who holds ``name`` within ``scope`` (e.g. ``project``)."""
    return f"name:{scope}:{name.lower()}"


@REGISTRY.register
class CreateProject(Command):
    type_name = "CreateProject"
    topic = topics.COMMANDS_RUNS
    project_id: str
    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    owner: str | None = Field(default=None, max_length=320)
    metadata: Metadata = Field(default_factory=dict)


@REGISTRY.register
class UpdateProject(Command):
    type_name = "UpdateProject"
    topic = topics.COMMANDS_RUNS
    project_id: str
    description: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=320)
    metadata: Metadata | None = None


@REGISTRY.register
class DeleteProject(Command):
    type_name = "DeleteProject"
    topic = topics.COMMANDS_RUNS
    project_id: str


@REGISTRY.register
class DefinePipeline(Command):
    """Create a pipeline or record a new config version of it.

    ``mode`` says what the caller expects: ``create`` (the pipeline must not exist),
    ``update`` (it must exist) or ``upsert`` (file discovery: either, and an unchanged
    definition records nothing).
    """

    type_name = "DefinePipeline"
    topic = topics.COMMANDS_RUNS
    pipeline_id: str
    project_id: str | None = None
    name: str = Field(pattern=NAME_PATTERN)
    spec: PipelineSpec
    source: str = "api"
    mode: str = Field(default="create", pattern="^(create|update|upsert)$")


@REGISTRY.register
class DeletePipeline(Command):
    type_name = "DeletePipeline"
    topic = topics.COMMANDS_RUNS
    pipeline_id: str


@REGISTRY.register
class ProjectCreated(Event):
    type_name = "ProjectCreated"
    topic = topics.EVENTS_PROJECTS
    project_id: str
    name: str
    description: str = ""
    owner: str | None = None
    metadata: Metadata = Field(default_factory=dict)


@REGISTRY.register
class ProjectUpdated(Event):
    type_name = "ProjectUpdated"
    topic = topics.EVENTS_PROJECTS
    project_id: str
    changes: dict[str, Any]


@REGISTRY.register
class ProjectDeleted(Event):
    type_name = "ProjectDeleted"
    topic = topics.EVENTS_PROJECTS
    project_id: str
    name: str


@REGISTRY.register
class NameClaimed(Event):
    type_name = "NameClaimed"
    topic = topics.EVENTS_NAMES
    scope: str
    name: str
    holder_id: str


@REGISTRY.register
class NameReleased(Event):
    type_name = "NameReleased"
    topic = topics.EVENTS_NAMES
    scope: str
    name: str
    holder_id: str


@REGISTRY.register
class PipelineDefined(Event):
    """A pipeline's definition, as config version ``version`` (1 on creation)."""

    type_name = "PipelineDefined"
    topic = topics.EVENTS_PIPELINES
    pipeline_id: str
    project_id: str | None
    name: str
    version: int = Field(ge=1)
    spec: PipelineSpec
    source: str
    checksum: str


@REGISTRY.register
class PipelineDeleted(Event):
    type_name = "PipelineDeleted"
    topic = topics.EVENTS_PIPELINES
    pipeline_id: str
    project_id: str | None
    name: str
