"""``/projects``: list, get, create, update, delete, statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.pipeline import NAME_PATTERN
from tauro_contracts.projects import CreateProject, DeleteProject, Metadata, UpdateProject
from tauro_contracts.readmodels import (
    Deleted,
    Envelope,
    ListEnvelope,
    Project,
    ProjectStatistics,
    ProjectView,
    collections,
    ids,
)

from tauro_gateway.context import Ctx, creation_ids
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, check_id, fields_param, list_params
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router
from tauro_gateway.statistics import run_statistics

router = make_router(prefix="/projects", tags=["projects"])
ProjectId = Annotated[str, Path(pattern=ids.PROJECT_ID, description="A project id such as proj_abc123")]
PROJECTS = collections.PROJECTS


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN, description="Unique project name", examples=["my_project"])
    description: str = Field(default="", max_length=2000)
    owner: str | None = Field(default=None, max_length=320)
    metadata: Metadata = Field(default_factory=dict)


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=320)
    metadata: Metadata | None = None


@router.get("", summary="List projects", response_model=ListEnvelope[Project])
async def list_projects(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(("created_at", "updated_at", "name")))],
    owner: Annotated[str | None, Query(max_length=320)] = None,
) -> JSONResponse:
    where: dict[str, object] = {"deleted": False}
    if owner is not None:
        where["owner"] = owner
    docs, total = await ctx.read_store.find(PROJECTS, where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.post("", status_code=201, summary="Create a project", response_model=Envelope[Project],
             responses=errors(*BODY, 409, *COMMAND), openapi_extra=examples(("project", {
                 "name": "my_project", "description": "Project description", "owner": "user@company.com"})))
async def create_project(request: Request, ctx: Ctx, body: ProjectCreate) -> JSONResponse:
    project_id, command_id = creation_ids(request, "proj_", body)
    command = CreateProject(project_id=project_id, **body.model_dump())
    result = await ctx.create(request, command, project_id, project_id, command_id)
    doc = await ctx.get_live(PROJECTS, result["id"], "project")
    return ok(request, public(doc), status=201)


@router.get("/{project_id}", summary="Get a project, with its pipelines (id, name) and statistics",
            response_model=Envelope[ProjectView], responses=errors(404))
async def get_project(
    request: Request, ctx: Ctx, project_id: ProjectId, fields: Annotated[list[str] | None, Depends(fields_param)]
) -> JSONResponse:
    doc = await ctx.get_live(PROJECTS, check_id(project_id, "proj_", "project_id"), "project")
    view = public(doc)
    if not fields or "pipelines" in fields:
        pipelines, _ = await ctx.read_store.find(collections.PIPELINES, {"project_id": project_id, "deleted": False},
                                                 [("name", 1)])
        view["pipelines"] = [{"id": p["id"], "name": p["name"]} for p in pipelines]
    if not fields or "statistics" in fields:
        view["statistics"] = await _statistics(ctx, project_id)
    return ok(request, public(view, fields))


async def _statistics(ctx: Ctx, project_id: str) -> dict[str, object]:
    where = {"project_id": project_id, "deleted": False}
    _, pipelines = await ctx.read_store.find(collections.PIPELINES, where, limit=1)
    stats = await run_statistics(ctx.read_store, {"project_id": project_id})
    return {"project_id": project_id, "total_pipelines": pipelines, **stats}


@router.put("/{project_id}", summary="Update a project", response_model=Envelope[Project],
            responses=errors(*BODY, 404, 409, *COMMAND),
            openapi_extra=examples(("description", {"description": "Updated description"})))
async def update_project(request: Request, ctx: Ctx, project_id: ProjectId, body: ProjectUpdate) -> JSONResponse:
    check_id(project_id, "proj_", "project_id")
    await ctx.send(request, UpdateProject(project_id=project_id, **body.model_dump()), key=project_id)
    return ok(request, public(await ctx.get_live(PROJECTS, project_id, "project")))


@router.delete("/{project_id}", summary="Delete a project and its pipelines", response_model=Envelope[Deleted],
               responses=errors(404, 409, *COMMAND))
async def delete_project(request: Request, ctx: Ctx, project_id: ProjectId) -> JSONResponse:
    check_id(project_id, "proj_", "project_id")
    await ctx.send(request, DeleteProject(project_id=project_id), key=project_id)
    return ok(request, {"id": project_id, "deleted": True})


@router.get("/{project_id}/statistics", summary="Project statistics", response_model=Envelope[ProjectStatistics],
            responses=errors(404))
@router.get("/{project_id}/stats", include_in_schema=False)
async def get_project_statistics(request: Request, ctx: Ctx, project_id: ProjectId) -> JSONResponse:
    await ctx.get_live(PROJECTS, check_id(project_id, "proj_", "project_id"), "project")
    return ok(request, await _statistics(ctx, project_id))
