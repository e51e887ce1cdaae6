"""``/configs``: a pipeline's definition as versioned configuration (the spec's config management).

``GET /configs`` lists config versions (newest first by default; filter by pipeline or
project), ``GET /configs/{version_id}`` reads one (``pipe_etl@v2``), and ``POST /configs``
records a new version of a pipeline: the same command as ``PUT /pipelines/{id}``
(``DefinePipeline`` in mode ``update``), so both paths validate, authorize and version alike.
The versions are the ``config_versions`` read model that ``/config-versions`` also shows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.pipeline import NAME_PATTERN, Edge, Node, PipelineConfig, PipelineSpec
from tauro_contracts.projects import DefinePipeline
from tauro_contracts.readmodels import ConfigVersion, Envelope, ListEnvelope, collections, ids

from tauro_gateway.context import Ctx
from tauro_gateway.envelopes import ok, public
from tauro_gateway.query import ListParams, check_id, list_params
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router
from tauro_gateway.routes.pipelines import config_version, config_versions_page
from tauro_gateway.security.pipelines import check_pipeline

router = make_router(prefix="/configs", tags=["configs"])
PIPELINES, CONFIG_VERSIONS = collections.PIPELINES, collections.CONFIG_VERSIONS
VersionId = Annotated[str, Path(pattern=ids.CONFIG_VERSION_ID, description="A config version id such as pipe_etl@v2")]
EXAMPLE = {
    "pipeline_id": "pipe_etl", "description": "Extract, transform, and load daily data",
    "nodes": [
        {"id": "extract_source", "type": "source", "config": {"source_type": "s3", "bucket": "data-lake"}},
        {"id": "load_warehouse", "type": "sink", "config": {"destination": "postgresql"}},
    ],
    "edges": [{"from": "extract_source", "to": "load_warehouse"}],
    "config": {"max_parallelism": 4, "retry_policy": {"max_attempts": 3, "backoff_seconds": 5}},
}


class ConfigCreate(BaseModel):
    """A new definition of an existing pipeline; ``name`` keeps the current one when omitted."""

    model_config = ConfigDict(extra="forbid")
    pipeline_id: str = Field(pattern=ids.PIPELINE_ID, examples=["pipe_etl"])
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    nodes: list[Node] = Field(max_length=500)
    edges: list[Edge] = Field(default_factory=list, max_length=5000)
    config: PipelineConfig = Field(default_factory=PipelineConfig)


@router.get("", summary="List config versions (all pipelines, or one pipeline's or project's)",
            response_model=ListEnvelope[ConfigVersion])
async def list_configs(
    request: Request,
    ctx: Ctx,
    params: Annotated[ListParams, Depends(list_params(("created_at", "version", "pipeline_id"), "-created_at"))],
    pipeline_id: Annotated[str | None, Query(pattern=ids.PIPELINE_ID)] = None,
    project_id: Annotated[str | None, Query(pattern=ids.PROJECT_ID)] = None,
) -> JSONResponse:
    return await config_versions_page(request, ctx, params, pipeline_id, project_id)


@router.get("/{version_id}", summary="One config version", response_model=Envelope[ConfigVersion],
            responses=errors(404))
async def get_config(request: Request, ctx: Ctx, version_id: VersionId) -> JSONResponse:
    return await config_version(request, ctx, version_id)


@router.post("", status_code=201, summary="Record a new config version of a pipeline (as PUT /pipelines/{id})",
             response_model=Envelope[ConfigVersion], responses=errors(*BODY, 404, 409, *COMMAND),
             openapi_extra=examples(("config", EXAMPLE)))
async def create_config(request: Request, ctx: Ctx, body: ConfigCreate) -> JSONResponse:
    pipeline_id = check_id(body.pipeline_id, "pipe_", "pipeline_id")
    current = await ctx.get_live(PIPELINES, pipeline_id, "pipeline")
    check_pipeline(request, body.nodes)
    spec = PipelineSpec(description=body.description, nodes=body.nodes, edges=body.edges, config=body.config)
    command = DefinePipeline(pipeline_id=pipeline_id, project_id=current["project_id"],
                             name=body.name or current["name"], spec=spec, mode="update")
    await ctx.send(request, command, key=pipeline_id)
    pipeline = await ctx.get_live(PIPELINES, pipeline_id, "pipeline")
    version = await ctx.get_live(CONFIG_VERSIONS, f"{pipeline_id}@v{pipeline['version']}", "config version")
    return ok(request, public(version), status=201)
