"""Creating a run: the decision, pure (no I/O; the handler loads what it needs and passes it in).

A run is created once per run id, in a live project, from a live pipeline of that project or
of the shared catalog (``project_id`` None), named by id or by name. The run carries a
snapshot of the pipeline's definition and config version, so later changes to the pipeline
do not change it. ``start`` also queues it in the same write (``RunQueued``), with its
timeout (the command's, else the pipeline's, else the platform default) and the pipeline's
concurrency limit.
"""

from __future__ import annotations

from collections.abc import Iterable

from tauro_contracts.base import Event
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_contracts.runs import CreateRun, RunCreated

from tauro_runs.domain.pipelines import PipelineState
from tauro_runs.domain.projects import ProjectState
from tauro_runs.domain.runs import RunState, decide_start, evolve_run

PIPELINE_ID_PREFIX = "pipe_"


def invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.VALIDATION_ERROR, "invalid run parameters",
                       [ErrorDetail(field=field, message=message, type="not_found")])


def names_a_pipeline_id(ref: str) -> bool:
    """``ref`` is a pipeline id (else a name to look up)."""
    return ref.startswith(PIPELINE_ID_PREFIX)


def choose_pipeline(project_id: str,
                    candidates: Iterable[tuple[str, PipelineState]]) -> tuple[str, PipelineState] | None:
    """The first candidate that is live and belongs to the project or to the shared catalog
    (candidates come project first, then catalog)."""
    for pipeline_id, state in candidates:
        if state.live and state.project_id in (project_id, None):
            return pipeline_id, state
    return None


def run_limits(spec_timeout: int | None, pipeline_limit: int | None, requested: int | None,
               default_timeout: int) -> tuple[int, int | None]:
    """(timeout in seconds, the pipeline's concurrency limit) of a run being queued."""
    return requested or spec_timeout or default_timeout, pipeline_limit


def decide_create(cmd: CreateRun, run: RunState, project: ProjectState,
                  pipeline: tuple[str, PipelineState] | None, default_timeout: int) -> list[Event]:
    """The events that create (and, with ``cmd.start``, queue) the run; rejects a run id that is
    taken (409), a project that is not live or a pipeline not found in it (422)."""
    if run.exists:
        raise DomainError(ErrorCode.CONFLICT, f"run '{cmd.run_id}' already exists")
    if not project.live:
        raise invalid("project_id", "Project not found")
    if pipeline is None or pipeline[1].spec is None:
        raise invalid("pipeline_id",
                      f"pipeline '{cmd.pipeline_id}' not found in project '{cmd.project_id}' or the catalog")
    pipeline_id, found = pipeline
    assert found.spec is not None
    params = dict(cmd.params)
    if cmd.logical_date is not None:
        params.setdefault("logical_date", cmd.logical_date)
    created = RunCreated(
        run_id=cmd.run_id, project_id=cmd.project_id, pipeline_id=pipeline_id,
        pipeline_version=found.config_version, pipeline_name=found.name, spec=found.spec,
        params=params, tags=cmd.tags, trigger=cmd.trigger, schedule_id=cmd.schedule_id,
        logical_date=cmd.logical_date, notifications=cmd.notifications,
    )
    if not cmd.start:
        return [created]
    config = found.spec.config
    limits = run_limits(config.timeout_seconds, config.max_concurrent_runs, cmd.timeout_seconds, default_timeout)
    schedule_limit = cmd.max_concurrent_for_schedule if cmd.schedule_id is not None else None
    return [created, *decide_start(evolve_run(RunState(), created), *limits, schedule_limit)]
