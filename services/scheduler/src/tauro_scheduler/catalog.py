"""What a schedule refers to, checked against the runs service's read models.

A schedule names a project and a pipeline of it, or of the shared catalog (pipelines
without a project), by id or by name — the same lookup as ``CreateRun``. The read
models are the runs service's ``projects`` and ``pipelines`` collections; a pipeline
deleted later is caught when a tick's run is created (``TickFailed``).
"""

from __future__ import annotations

from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_platform.readstore.port import Doc, ReadStore


def invalid(field: str, message: str, type_: str = "not_found") -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, "invalid schedule", [ErrorDetail(field=field, message=message,
                                                                                   type=type_)])


async def check_project(read: ReadStore, project_id: str) -> Doc:
    project = await read.get("projects", project_id)
    if project is None or project.get("deleted"):
        raise invalid("project_id", f"project '{project_id}' not found")
    return project


async def resolve_pipeline(read: ReadStore, project_id: str, ref: str) -> Doc:
    """The live pipeline ``ref`` (id or name) of ``project_id`` or of the catalog."""
    owners = [project_id, None]
    doc = await read.get("pipelines", ref)
    if doc is not None and not doc.get("deleted") and doc.get("project_id") in owners:
        return doc
    docs, _ = await read.find("pipelines", {"name": ref, "deleted": False, "project_id": {"$in": owners}},
                              sort=[("project_id", -1)], limit=2)
    if docs:
        return docs[0]
    raise invalid("pipeline_id", f"pipeline '{ref}' not found in project '{project_id}' or the catalog")
