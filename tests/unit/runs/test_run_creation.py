"""The run-creation decision (``tauro_runs.domain.creation``): pure, no store."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.pipeline import PipelineConfig
from tauro_contracts.runs import CreateRun, RunCreated, RunQueued
from tauro_runs.domain.creation import choose_pipeline, decide_create, names_a_pipeline_id, run_limits
from tauro_runs.domain.pipelines import PipelineState
from tauro_runs.domain.projects import ProjectState
from tauro_runs.domain.runs import RunState, evolve_run

from tests.unit.runs.support import spec

PROJECT = ProjectState(version=1, exists=True, name="analytics")
SPEC = spec(["a", "b"], [("a", "b")])
PIPELINE = PipelineState(version=2, exists=True, project_id="proj_1", name="etl", config_version=2, spec=SPEC)
CATALOG = replace(PIPELINE, project_id=None, name="shared")
DEFAULT_TIMEOUT = 3600


def command(**changes: object) -> CreateRun:
    values: dict[str, object] = {"run_id": "run_1", "project_id": "proj_1", "pipeline_id": "pipe_etl",
                                 "params": {"date": "2025-11-18"}}
    values.update(changes)
    return CreateRun(**values)  # type: ignore[arg-type]


def rejected(exc: pytest.ExceptionInfo[DomainError]) -> tuple[ErrorCode, list[str | None]]:
    return exc.value.code, [d.field for d in exc.value.details]


def test_creates_a_pending_run_with_a_snapshot_of_the_pipeline() -> None:
    events = decide_create(command(logical_date="2025-11-17", tags={"team": "data"}), RunState(), PROJECT,
                           ("pipe_etl", PIPELINE), DEFAULT_TIMEOUT)
    assert len(events) == 1 and isinstance(events[0], RunCreated)
    created = events[0]
    assert (created.run_id, created.project_id, created.pipeline_id) == ("run_1", "proj_1", "pipe_etl")
    assert (created.pipeline_version, created.pipeline_name, created.spec) == (2, "etl", SPEC)
    assert created.params == {"date": "2025-11-18", "logical_date": "2025-11-17"}
    assert created.tags == {"team": "data"} and created.trigger == "api"
    assert evolve_run(RunState(), created).status == "PENDING"


def test_a_param_named_logical_date_wins_over_the_commands() -> None:
    cmd = command(params={"logical_date": "mine"}, logical_date="2025-11-17")
    (created,) = decide_create(cmd, RunState(), PROJECT, ("pipe_etl", PIPELINE), DEFAULT_TIMEOUT)
    assert isinstance(created, RunCreated) and created.params == {"logical_date": "mine"}


@pytest.mark.parametrize(("requested", "pipeline_timeout", "expected"),
                         [(None, None, DEFAULT_TIMEOUT), (None, 600, 600), (30, 600, 30)])
def test_start_queues_it_in_the_same_write_with_its_timeout(
        requested: int | None, pipeline_timeout: int | None, expected: int) -> None:
    limited = SPEC.model_copy(update={"config": PipelineConfig(timeout_seconds=pipeline_timeout,
                                                               max_concurrent_runs=2)})
    pipeline = replace(PIPELINE, spec=limited)
    events = decide_create(command(start=True, timeout_seconds=requested), RunState(), PROJECT,
                           ("pipe_etl", pipeline), DEFAULT_TIMEOUT)
    assert [type(e) for e in events] == [RunCreated, RunQueued]
    queued = events[1]
    assert isinstance(queued, RunQueued)
    assert (queued.timeout_seconds, queued.max_concurrent_for_pipeline) == (expected, 2)


def test_a_taken_run_id_is_a_conflict_before_anything_else() -> None:
    taken = evolve_run(RunState(), decide_create(command(), RunState(), PROJECT, ("pipe_etl", PIPELINE),
                                                 DEFAULT_TIMEOUT)[0])
    with pytest.raises(DomainError) as exc:
        decide_create(command(), taken, ProjectState(), None, DEFAULT_TIMEOUT)
    assert exc.value.code is ErrorCode.CONFLICT


@pytest.mark.parametrize("project", [ProjectState(), replace(PROJECT, deleted=True)])
def test_a_project_that_is_not_live_is_a_validation_error(project: ProjectState) -> None:
    with pytest.raises(DomainError) as exc:
        decide_create(command(), RunState(), project, ("pipe_etl", PIPELINE), DEFAULT_TIMEOUT)
    assert rejected(exc) == (ErrorCode.VALIDATION_ERROR, ["project_id"])


def test_no_pipeline_is_a_validation_error_naming_it() -> None:
    with pytest.raises(DomainError) as exc:
        decide_create(command(pipeline_id="nightly"), RunState(), PROJECT, None, DEFAULT_TIMEOUT)
    assert rejected(exc) == (ErrorCode.VALIDATION_ERROR, ["pipeline_id"])
    assert "nightly" in exc.value.details[0].message


def test_choose_pipeline_takes_a_live_one_of_the_project_or_the_catalog() -> None:
    other_project = replace(PIPELINE, project_id="proj_2")
    deleted = replace(PIPELINE, deleted=True)
    assert choose_pipeline("proj_1", [("p1", other_project), ("p2", deleted), ("p3", CATALOG)]) == ("p3", CATALOG)
    assert choose_pipeline("proj_1", [("p1", PIPELINE), ("p3", CATALOG)]) == ("p1", PIPELINE)
    assert choose_pipeline("proj_1", [("p1", other_project), ("p4", PipelineState())]) is None
    assert choose_pipeline("proj_1", []) is None


def test_pipeline_references_and_limits() -> None:
    assert names_a_pipeline_id("pipe_daily_etl") and not names_a_pipeline_id("daily_etl")
    assert run_limits(None, None, None, 100) == (100, None)
    assert run_limits(50, 3, None, 100) == (50, 3)
    assert run_limits(50, 3, 7, 100) == (7, 3)
