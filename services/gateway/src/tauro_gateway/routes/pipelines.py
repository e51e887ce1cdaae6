"""``/pipelines`` and ``/config-versions``: definitions, their DAG, and their version history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.pipeline import NAME_PATTERN, Edge, Node, PipelineConfig, PipelineSpec, topological_layers
from tauro_contracts.projects import DefinePipeline, DeletePipeline
from tauro_contracts.readmodels import ConfigVersion, Dag, Deleted, Envelope, ListEnvelope, Pipeline, collections, ids

from tauro_gateway.context import Ctx, creation_ids
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, check_id, fields_param, list_params
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router
from tauro_gateway.security.pipelines import check_pipeline

router = make_router(tags=["pipelines"])
PipelineId = Annotated[str, Path(pattern=ids.PIPELINE_ID, description="A pipeline id such as pipe_etl")]
ProjectId = Annotated[str, Path(pattern=ids.PROJECT_ID, description="A project id such as proj_abc123")]
PIPELINES, CONFIG_VERSIONS = collections.PIPELINES, collections.CONFIG_VERSIONS
EXAMPLE = {
    "name": "daily_etl_pipeline", "description": "Extract, transform, and load daily data",
    "nodes": [
        {"id": "extract_source", "type": "source", "config": {"source_type": "s3", "bucket": "data-lake"}},
        {"id": "transform_data", "type": "processor", "config": {"transformations": ["deduplicate", "normalize"]}},
        {"id": "load_warehouse", "type": "sink", "config": {"destination": "postgresql"}},
    ],
    "edges": [{"from": "extract_source", "to": "transform_data"}, {"from": "transform_data", "to": "load_warehouse"}],
    "config": {"max_parallelism": 4, "retry_policy": {"max_attempts": 3, "backoff_seconds": 5}},
}
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
    project_id: str = Field(pattern=ids.PROJECT_ID)


async def _define(request: Request, ctx: Ctx, body: PipelineBody, project_id: str) -> JSONResponse:
    check_pipeline(request, body.nodes)
    pipeline_id, command_id = creation_ids(request, "pipe_", body)
    command = DefinePipeline(
        pipeline_id=pipeline_id, project_id=project_id, name=body.name, spec=body.spec(), mode="create"
    )
    await ctx.create(request, command, pipeline_id, pipeline_id, command_id)
    return ok(request, public(await ctx.get_live(PIPELINES, pipeline_id, "pipeline")), status=201)


@router.post("/pipelines", status_code=201, summary="Create a pipeline in a project", response_model=Envelope[Pipeline],
             responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("pipeline", {"project_id": "proj_abc123", **EXAMPLE})))
async def create_pipeline(request: Request, ctx: Ctx, body: PipelineCreate) -> JSONResponse:
    return await _define(request, ctx, body, body.project_id)


@router.post("/projects/{project_id}/pipelines", status_code=201, summary="Create a pipeline in this project",
             response_model=Envelope[Pipeline], responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("pipeline", EXAMPLE)))
async def create_project_pipeline(
    request: Request, ctx: Ctx, project_id: ProjectId, body: PipelineBody
) -> JSONResponse:
    await ctx.get_live(collections.PROJECTS, check_id(project_id, "proj_", "project_id"), "project")  # path: 404
    return await _define(request, ctx, body, project_id)


@router.get("/pipelines", summary="List pipelines", response_model=ListEnvelope[Pipeline])
async def list_pipelines(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(SORTABLE))],
    project_id: Annotated[str | None, Query(pattern=ids.PROJECT_ID)] = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> JSONResponse:
    where: dict[str, Any] = {"deleted": False}
    if project_id is not None:
        where["project_id"] = check_id(project_id, "proj_", "project_id")
    if name is not None:
        where["name"] = name
    docs, total = await ctx.read_store.find(PIPELINES, where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/projects/{project_id}/pipelines", summary="List a project's pipelines",
            response_model=ListEnvelope[Pipeline], responses=errors(404))
async def list_project_pipelines(
    request: Request,
    ctx: Ctx,
    project_id: ProjectId,
    params: Annotated[ListParams, Depends(list_params(SORTABLE))],
) -> JSONResponse:
    await ctx.get_live(collections.PROJECTS, check_id(project_id, "proj_", "project_id"), "project")
    docs, total = await ctx.read_store.find(
        PIPELINES, {"deleted": False, "project_id": project_id}, params.sort, params.offset, params.limit
    )
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/pipelines/{pipeline_id}", summary="Get a pipeline definition", response_model=Envelope[Pipeline],
            responses=errors(404))
async def get_pipeline(
    request: Request, ctx: Ctx, pipeline_id: PipelineId, fields: Annotated[list[str] | None, Depends(fields_param)]
) -> JSONResponse:
    doc = await ctx.get_live(PIPELINES, check_id(pipeline_id, "pipe_", "pipeline_id"), "pipeline")
    return ok(request, public(doc, fields))


@router.put("/pipelines/{pipeline_id}", summary="Change a pipeline (records a new config version)",
            response_model=Envelope[Pipeline], responses=errors(*BODY, 404, 409, *COMMAND),
            openapi_extra=examples(("pipeline", EXAMPLE)))
async def update_pipeline(request: Request, ctx: Ctx, pipeline_id: PipelineId, body: PipelineBody) -> JSONResponse:
    current = await ctx.get_live(PIPELINES, check_id(pipeline_id, "pipe_", "pipeline_id"), "pipeline")
    check_pipeline(request, body.nodes)
    command = DefinePipeline(
        pipeline_id=pipeline_id, project_id=current["project_id"], name=body.name, spec=body.spec(), mode="update"
    )
    await ctx.send(request, command, key=pipeline_id)
    return ok(request, public(await ctx.get_live(PIPELINES, pipeline_id, "pipeline")))


@router.delete("/pipelines/{pipeline_id}", summary="Delete a pipeline", response_model=Envelope[Deleted],
               responses=errors(404, 409, *COMMAND))
async def delete_pipeline(request: Request, ctx: Ctx, pipeline_id: PipelineId) -> JSONResponse:
    check_id(pipeline_id, "pipe_", "pipeline_id")
    await ctx.send(request, DeletePipeline(pipeline_id=pipeline_id), key=pipeline_id)
    return ok(request, {"id": pipeline_id, "deleted": True})


@router.get("/pipelines/{pipeline_id}/dag", summary="The pipeline's DAG in topological layers",
            response_model=Envelope[Dag], responses=errors(404))
async def get_pipeline_dag(request: Request, ctx: Ctx, pipeline_id: PipelineId) -> JSONResponse:
    doc = await ctx.get_live(PIPELINES, check_id(pipeline_id, "pipe_", "pipeline_id"), "pipeline")
    spec = PipelineSpec.model_validate({k: doc[k] for k in ("description", "nodes", "edges", "config")})
    layers = topological_layers(spec)
    return ok(request, {
        "pipeline_id": pipeline_id, "version": doc["version"], "layers": layers, "depth": len(layers),
        "nodes": doc["nodes"], "edges": doc["edges"],
    })


@router.get("/pipelines/{pipeline_id}/versions", summary="A pipeline's config versions",
            response_model=ListEnvelope[ConfigVersion])
async def list_pipeline_versions(
    request: Request, ctx: Ctx, pipeline_id: PipelineId,
    params: Annotated[ListParams, Depends(list_params(("version", "created_at"), "-version"))],
) -> JSONResponse:
    check_id(pipeline_id, "pipe_", "pipeline_id")
    docs, total = await ctx.read_store.find(
        CONFIG_VERSIONS, {"pipeline_id": pipeline_id}, params.sort, params.offset, params.limit
    )
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/config-versions", summary="Config version history of all pipelines", tags=["config-versions"],
            response_model=ListEnvelope[ConfigVersion])
async def list_config_versions(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(("created_at", "version", "pipeline_id")))],
    pipeline_id: Annotated[str | None, Query(pattern=ids.PIPELINE_ID)] = None,
    project_id: Annotated[str | None, Query(pattern=ids.PROJECT_ID)] = None,
) -> JSONResponse:
    return await config_versions_page(request, ctx, params, pipeline_id, project_id)


async def config_versions_page(request: Request, ctx: Ctx, params: ListParams, pipeline_id: str | None,
                               project_id: str | None) -> JSONResponse:
    """A page of config versions, of one pipeline or project if named (also ``GET /configs``)."""
    where: dict[str, Any] = {}
    if pipeline_id is not None:
        where["pipeline_id"] = check_id(pipeline_id, "pipe_", "pipeline_id")
    if project_id is not None:
        where["project_id"] = check_id(project_id, "proj_", "project_id")
    docs, total = await ctx.read_store.find(CONFIG_VERSIONS, where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


async def config_version(request: Request, ctx: Ctx, version_id: str) -> JSONResponse:
    """One config version (also ``GET /configs/{id}``)."""
    check_id(version_id.partition("@v")[0], "pipe_", "version_id")
    return ok(request, public(await ctx.get_live(CONFIG_VERSIONS, version_id, "config version")))


@router.get("/config-versions/{version_id}", summary="One config version", tags=["config-versions"],
            response_model=Envelope[ConfigVersion], responses=errors(404))
async def get_config_version(
    request: Request, ctx: Ctx,
    version_id: Annotated[str, Path(pattern=ids.CONFIG_VERSION_ID, description="pipe_etl@v2")],
) -> JSONResponse:
    return await config_version(request, ctx, version_id)
