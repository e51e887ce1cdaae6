"""Read models of the runs service, as pure functions of (document, event)."""

from __future__ import annotations

from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.projects import (
    PipelineDefined,
    PipelineDeleted,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
)
from tauro_contracts.readmodels import ConfigVersion, Pipeline, Project, collections
from tauro_contracts.readmodels import doc as doc_of
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.runtime.projector import Projection, StreamDocProjection
from tauro_platform.timeutil import iso

PROJECTS = collections.PROJECTS
PIPELINES = collections.PIPELINES
CONFIG_VERSIONS = collections.CONFIG_VERSIONS


def evolve_project_doc(doc: Doc | None, event: Any, env: EventEnvelope) -> Doc | None:
    at = iso(env.occurred_at)
    if isinstance(event, ProjectCreated):
        project = doc_of(Project, id=event.project_id, name=event.name, description=event.description,
                         owner=event.owner, metadata=dict(event.metadata), created_at=at, updated_at=at,
                         created_by=env.actor)
        return {**project, "deleted": False}
    if doc is None:
        return None
    if isinstance(event, ProjectUpdated):
        return {**doc, **event.changes, "updated_at": at}
    if isinstance(event, ProjectDeleted):
        return {**doc, "deleted": True, "deleted_at": at, "updated_at": at}
    return None


def _pipeline_fields(event: PipelineDefined) -> dict[str, Any]:
    spec = event.spec.to_json()
    return {
        "project_id": event.project_id, "name": event.name, "description": spec["description"],
        "nodes": spec["nodes"], "edges": spec["edges"], "config": spec["config"], "version": event.version,
        "source": event.source, "checksum": event.checksum,
    }


def evolve_pipeline_doc(doc: Doc | None, event: Any, env: EventEnvelope) -> Doc | None:
    at = iso(env.occurred_at)
    if isinstance(event, PipelineDefined):
        created_at = doc["created_at"] if doc and not doc.get("deleted") else at
        pipeline = doc_of(Pipeline, id=event.pipeline_id, **_pipeline_fields(event), created_at=created_at,
                          updated_at=at)
        return {**pipeline, "deleted": False}
    if doc is not None and isinstance(event, PipelineDeleted):
        return {**doc, "deleted": True, "updated_at": at}
    return None


class ConfigVersionProjection:
    """One immutable document per pipeline config version."""

    types = frozenset({PipelineDefined.type_name})
    collections: tuple[str, ...] = (CONFIG_VERSIONS,)

    async def apply(self, event: EventEnvelope, payload: Event, store: ReadStore) -> None:
        assert isinstance(payload, PipelineDefined)
        doc_id = f"{payload.pipeline_id}@v{payload.version}"
        version = doc_of(ConfigVersion, id=doc_id, pipeline_id=payload.pipeline_id, **_pipeline_fields(payload),
                         created_at=iso(event.occurred_at), created_by=event.actor, event_id=event.event_id)
        await store.insert_if_absent(CONFIG_VERSIONS, {"_id": doc_id, **version})


def projections() -> list[Projection]:
    return [
        StreamDocProjection(
            PROJECTS, {ProjectCreated.type_name, ProjectUpdated.type_name, ProjectDeleted.type_name},
            evolve_project_doc,
        ),
        StreamDocProjection(PIPELINES, {PipelineDefined.type_name, PipelineDeleted.type_name}, evolve_pipeline_doc),
        ConfigVersionProjection(),
    ]
