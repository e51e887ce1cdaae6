"""Projects, pipelines and config versions as the read models store them and the API returns them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tauro_contracts.pipeline import Edge, Node, PipelineConfig
from tauro_contracts.readmodels.envelopes import SPARSE, Timestamp


class RunStatistics(BaseModel):
    """Run counts computed from the runs read model (so they agree with ``GET /runs``)."""

    total_runs: int
    runs_by_state: dict[str, int] = Field(description="Run count per state (RunState)")
    success_rate: float | None = Field(description="SUCCESS / finished runs; null before any finished")
    average_duration_seconds: float | None


class ProjectStatistics(RunStatistics):
    project_id: str | None = None
    total_pipelines: int


class PlatformStatistics(RunStatistics):
    total_projects: int
    total_pipelines: int


class PipelineRef(BaseModel):
    id: str
    name: str


class Project(BaseModel):
    """``projects``: one document per project."""

    model_config = SPARSE

    id: str = Field(examples=["proj_abc123"])
    name: str = Field(examples=["analytics_pipeline"])
    description: str = ""
    owner: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: Timestamp
    updated_at: Timestamp
    created_by: str | None = None
    deleted_at: Timestamp | None = None


class ProjectView(Project):
    """A project as ``GET /projects/{id}`` shows it: with its pipelines and statistics."""

    pipelines: list[PipelineRef] = Field(default_factory=list)
    statistics: ProjectStatistics | None = None


class PipelineFields(BaseModel):
    model_config = SPARSE

    project_id: str | None = Field(description="Null for the shared catalog of discovered pipelines")
    name: str = Field(examples=["daily_etl"])
    description: str = ""
    nodes: list[Node]
    edges: list[Edge]
    config: PipelineConfig
    version: int = Field(ge=1, description="Config version: every change of the definition is a new one")
    source: str | None = Field(default=None, description="'api', or the file it was discovered from")
    checksum: str | None = None


class Pipeline(PipelineFields):
    """``pipelines``: one document per pipeline (its current definition)."""

    id: str = Field(examples=["pipe_etl"])
    created_at: Timestamp
    updated_at: Timestamp


class ConfigVersion(PipelineFields):
    """``config_versions``: one immutable document per pipeline definition change (id ``pipe_x@v3``)."""

    id: str = Field(examples=["pipe_etl@v2"])
    pipeline_id: str
    created_at: Timestamp
    created_by: str | None = None
    event_id: str | None = None


class Dag(BaseModel):
    pipeline_id: str
    version: int
    layers: list[list[str]] = Field(description="Node ids in topological layers: a layer depends only on earlier ones")
    depth: int
    nodes: list[Node]
    edges: list[Edge]
