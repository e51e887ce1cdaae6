"""``/pipelines`` and ``/config-versions``: definitions, their DAG, and their version history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.pipeline import NAME_PATTERN, Edge, Node, PipelineConfig, PipelineSpec, topological_layers
from tauro_contracts.projects import DefinePipeline, DeletePipeline

from tauro_gateway.context import Ctx, creation_ids
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, check_id, fields_param, list_params
from tauro_gateway.security.pipelines import check_pipeline

router = APIRouter(tags=["pipelines"])
PipelineId = Annotated[str, Path(max_length=140, description="A pipeline id such as pipe_etl")]
SORTABLE = ("created_at", "updated_at", "name", "version")


class PipelineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    nodes: list[Node] = Field(max_length=500)
    edges: list[Edge] = Field(default_factory=list, max_length=5000)
    config: PipelineConfig = Field(default_factory=PipelineConfig)

    def spec(self) -> PipelineSpec:
        return PipelineSpec(description=self.description, nodes=self.nodes, edges=self.edges, config=self.config)


class PipelineCreate(PipelineBody):
    project_id: str = Field(pattern=r"^proj_[A-Za-z0-9_.\-]{1,128}$")


async def _define(request: Request, ctx: Ctx, body: PipelineBody, project_id: str) -> JSONResponse:
    check_pipeline(request, body.nodes)
    pipeline_id, command_id = creation_ids(request, "pipe_", body)
    command = DefinePipeline(
        pipeline_id=pipeline_id, project_id=project_id, name=body.name, spec=body.spec(), mode="create"
    )
    await ctx.create(request, command, pipeline_id, pipeline_id, command_id)
    return ok(request, public(await ctx.get_live("pipelines", pipeline_id, "pipeline")), status=201)


@router.post("/pipelines", status_code=201, summary="Create a pipeline in a project")
async def create_pipeline(request: Request, ctx: Ctx, body: PipelineCreate) -> JSONResponse:
    return await _define(request, ctx, body, body.project_id)


@router.post("/projects/{project_id}/pipelines", status_code=201, summary="Create a pipeline in this project")
async def create_project_pipeline(
    request: Request, ctx: Ctx, project_id: Annotated[str, Path(max_length=140)], body: PipelineBody
) -> JSONResponse:
    return await _define(request, ctx, body, check_id(project_id, "proj_", "project_id"))


@router.get("/pipelines", summary="List pipelines")
async def list_pipelines(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(SORTABLE))],
    project_id: Annotated[str | None, Query(max_length=140)] = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> JSONResponse:
    where: dict[str, Any] = {"deleted": False}
    if project_id is not None:
        where["project_id"] = check_id(project_id, "proj_", "project_id")
    if name is not None:
        where["name"] = name
    docs, total = await ctx.read_store.find("pipelines", where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/projects/{project_id}/pipelines", summary="List a project's pipelines")
async def list_project_pipelines(
    request: Request,
    ctx: Ctx,
    project_id: Annotated[str, Path(max_length=140)],
    params: Annotated[ListParams, Depends(list_params(SORTABLE))],
) -> JSONResponse:
    await ctx.get_live("projects", check_id(project_id, "proj_", "project_id"), "project")
    docs, total = await ctx.read_store.find(
        "pipelines", {"deleted": False, "project_id": project_id}, params.sort, params.offset, params.limit
    )
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/pipelines/{pipeline_id}", summary="Get a pipeline definition")
async def get_pipeline(
    request: Request, ctx: Ctx, pipeline_id: PipelineId, fields: Annotated[list[str] | None, Depends(fields_param)]
) -> JSONResponse:
    doc = await ctx.get_live("pipelines", check_id(pipeline_id, "pipe_", "pipeline_id"), "pipeline")
    return ok(request, public(doc, fields))


@router.put("/pipelines/{pipeline_id}", summary="Change a pipeline (records a new config version)")
async def update_pipeline(request: Request, ctx: Ctx, pipeline_id: PipelineId, body: PipelineBody) -> JSONResponse:
    current = await ctx.get_live("pipelines", check_id(pipeline_id, "pipe_", "pipeline_id"), "pipeline")
    check_pipeline(request, body.nodes)
    command = DefinePipeline(
        pipeline_id=pipeline_id, project_id=current["project_id"], name=body.name, spec=body.spec(), mode="update"
    )
    await ctx.send(request, command, key=pipeline_id)
    return ok(request, public(await ctx.get_live("pipelines", pipeline_id, "pipeline")))


@router.delete("/pipelines/{pipeline_id}", summary="Delete a pipeline")
async def delete_pipeline(request: Request, ctx: Ctx, pipeline_id: PipelineId) -> JSONResponse:
    check_id(pipeline_id, "pipe_", "pipeline_id")
    await ctx.send(request, DeletePipeline(pipeline_id=pipeline_id), key=pipeline_id)
    return ok(request, {"id": pipeline_id, "deleted": True})


@router.get("/pipelines/{pipeline_id}/dag", summary="The pipeline's DAG in topological layers")
async def get_dag(request: Request, ctx: Ctx, pipeline_id: PipelineId) -> JSONResponse:
    doc = await ctx.get_live("pipelines", check_id(pipeline_id, "pipe_", "pipeline_id"), "pipeline")
    spec = PipelineSpec.model_validate({k: doc[k] for k in ("description", "nodes", "edges", "config")})
    layers = topological_layers(spec)
    return ok(request, {
        "pipeline_id": pipeline_id, "version": doc["version"], "layers": layers, "depth": len(layers),
        "nodes": doc["nodes"], "edges": doc["edges"],
    })


@router.get("/pipelines/{pipeline_id}/versions", summary="A pipeline's config versions")
async def pipeline_versions(
    request: Request, ctx: Ctx, pipeline_id: PipelineId,
    params: Annotated[ListParams, Depends(list_params(("version", "created_at"), "-version"))],
) -> JSONResponse:
    check_id(pipeline_id, "pipe_", "pipeline_id")
    docs, total = await ctx.read_store.find(
        "config_versions", {"pipeline_id": pipeline_id}, params.sort, params.offset, params.limit
    )
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/config-versions", summary="Config version history of all pipelines", tags=["config-versions"])
async def list_config_versions(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(("created_at", "version", "pipeline_id")))],
    pipeline_id: Annotated[str | None, Query(max_length=140)] = None,
    project_id: Annotated[str | None, Query(max_length=140)] = None,
) -> JSONResponse:
    where: dict[str, Any] = {}
    if pipeline_id is not None:
        where["pipeline_id"] = check_id(pipeline_id, "pipe_", "pipeline_id")
    if project_id is not None:
        where["project_id"] = check_id(project_id, "proj_", "project_id")
    docs, total = await ctx.read_store.find("config_versions", where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/config-versions/{version_id}", summary="One config version", tags=["config-versions"])
async def get_config_version(
    request: Request, ctx: Ctx, version_id: Annotated[str, Path(max_length=160)]
) -> JSONResponse:
    check_id(version_id.partition("@v")[0], "pipe_", "version_id")
    return ok(request, public(await ctx.get_live("config_versions", version_id, "config version")))
