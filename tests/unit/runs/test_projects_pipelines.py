"""The project and pipeline aggregates and the unique-name streams they claim and release."""

from __future__ import annotations

import pytest
from tauro_contracts.base import Event
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.pipeline import PipelineSpec
from tauro_contracts.projects import (
    CreateProject,
    DefinePipeline,
    NameClaimed,
    NameReleased,
    PipelineDefined,
    PipelineDeleted,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    UpdateProject,
    name_stream,
)
from tauro_runs.domain import pipelines as pl
from tauro_runs.domain import projects as pr
from tauro_runs.domain.names import NameState, evolve_name, fold_name

from .support import DIAMOND, expect_conflict, spec

# -- names ---------------------------------------------------------------------------------------


def test_name_is_held_by_the_last_claimant_until_released() -> None:
    assert fold_name([]) == NameState(0, None)
    claimed = NameClaimed(scope="project", name="etl", holder_id="p1")
    released = NameReleased(scope="project", name="etl", holder_id="p1")
    assert fold_name([claimed]) == NameState(1, "p1")
    assert fold_name([claimed, released]) == NameState(2, None)
    again = NameClaimed(scope="project", name="etl", holder_id="p2")
    assert fold_name([claimed, released, again]) == NameState(3, "p2")


def test_unrelated_events_only_bump_the_name_version() -> None:
    state = NameState(1, "p1")
    assert evolve_name(state, ProjectDeleted(project_id="p1", name="etl")) == NameState(2, "p1")


def test_name_streams_ignore_case() -> None:
    assert name_stream("project", "ETL") == name_stream("project", "etl") == "name:project:etl"


# -- projects ------------------------------------------------------------------------------------


class Project:
    """A project stream plus the name streams it touches, updated as the handlers would."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.names: dict[str, list[Event]] = {}

    @property
    def state(self) -> pr.ProjectState:
        return pr.fold_project(self.events)

    def name(self, name: str) -> NameState:
        return fold_name(self.names.get(name.lower(), []))

    def _names(self, events: list[Event]) -> None:
        for e in events:
            assert isinstance(e, NameClaimed | NameReleased)
            self.names.setdefault(e.name.lower(), []).append(e)

    def create(self, cmd: CreateProject) -> tuple[list[Event], list[Event]]:
        own, names = pr.decide_create(cmd, self.state, self.name(cmd.name))
        self.events += own
        self._names(names)
        return own, names

    def delete(self, project_id: str) -> tuple[list[Event], list[Event]]:
        own, names = pr.decide_delete(project_id, self.state)
        self.events += own
        self._names(names)
        return own, names


def _create(name: str = "analytics", project_id: str = "proj_1", **kw: object) -> CreateProject:
    return CreateProject(project_id=project_id, name=name, **kw)


def test_create_project_records_it_and_claims_its_name() -> None:
    p = Project()
    own, names = p.create(_create(description="d", owner="ann@example.com", metadata={"team": "data"}))
    assert own == [ProjectCreated(project_id="proj_1", name="analytics", description="d", owner="ann@example.com",
                                  metadata={"team": "data"})]
    assert names == [NameClaimed(scope="project", name="analytics", holder_id="proj_1")]
    state = p.state
    assert state.live and state.version == 1
    assert (state.name, state.description, state.owner, state.metadata) == ("analytics", "d", "ann@example.com",
                                                                            {"team": "data"})


def test_create_project_conflicts_when_the_name_is_held() -> None:
    held = NameState(1, "proj_other")
    error = expect_conflict(lambda: pr.decide_create(_create(), pr.ProjectState(), held))
    assert error.details[0].field == "name"


def test_create_project_conflicts_when_the_id_exists() -> None:
    p = Project()
    p.create(_create())
    error = expect_conflict(lambda: pr.decide_create(_create(name="other"), p.state, NameState()))
    assert error.details[0].field == "id"


def test_create_project_conflicts_when_the_id_belonged_to_a_deleted_project() -> None:
    p = Project()
    p.create(_create())
    p.delete("proj_1")
    expect_conflict(lambda: pr.decide_create(_create(), p.state, NameState()))


def test_update_project_records_only_what_changed() -> None:
    p = Project()
    p.create(_create(description="old", owner="ann"))
    events = pr.decide_update(UpdateProject(project_id="proj_1", description="new", owner="ann"), p.state)
    assert events == [ProjectUpdated(project_id="proj_1", changes={"description": "new"})]
    p.events += events
    assert (p.state.description, p.state.owner, p.state.version) == ("new", "ann", 2)


def test_update_project_with_metadata() -> None:
    p = Project()
    p.create(_create(metadata={"a": 1}))
    events = pr.decide_update(UpdateProject(project_id="proj_1", metadata={"a": 2, "b": True}), p.state)
    p.events += events
    assert p.state.metadata == {"a": 2, "b": True}


@pytest.mark.parametrize(
    "cmd",
    [UpdateProject(project_id="proj_1"), UpdateProject(project_id="proj_1", description="same", owner="ann"),
     UpdateProject(project_id="proj_1", metadata={"k": "v"})],
    ids=["nothing", "same-values", "same-metadata"],
)
def test_update_project_without_changes_is_a_no_op(cmd: UpdateProject) -> None:
    p = Project()
    p.create(_create(description="same", owner="ann", metadata={"k": "v"}))
    assert pr.decide_update(cmd, p.state) == []


@pytest.mark.parametrize("deleted", [False, True])
def test_update_of_an_unknown_or_deleted_project_is_not_found(deleted: bool) -> None:
    p = Project()
    if deleted:
        p.create(_create())
        p.delete("proj_1")
    with pytest.raises(DomainError) as info:
        pr.decide_update(UpdateProject(project_id="proj_1", description="x"), p.state)
    assert info.value.code is ErrorCode.NOT_FOUND


def test_delete_project_releases_its_name_for_reuse() -> None:
    p = Project()
    p.create(_create(name="Analytics"))
    own, names = p.delete("proj_1")
    assert own == [ProjectDeleted(project_id="proj_1", name="Analytics")]
    assert names == [NameReleased(scope="project", name="Analytics", holder_id="proj_1")]
    assert not p.state.live and p.state.deleted
    assert p.name("analytics").holder_id is None
    other = Project()
    other.names = p.names
    _, claimed = other.create(_create(name="analytics", project_id="proj_2"))
    assert claimed == [NameClaimed(scope="project", name="analytics", holder_id="proj_2")]


@pytest.mark.parametrize("deleted", [False, True])
def test_delete_of_an_unknown_or_deleted_project_is_not_found(deleted: bool) -> None:
    p = Project()
    if deleted:
        p.create(_create())
        p.delete("proj_1")
    with pytest.raises(DomainError) as info:
        pr.decide_delete("proj_1", p.state)
    assert info.value.code is ErrorCode.NOT_FOUND


# -- pipelines -----------------------------------------------------------------------------------

SPEC = spec(*DIAMOND)
SPEC_2 = spec(["a", "b"], [("a", "b")])


def _define(name: str = "etl", mode: str = "create", s: PipelineSpec = SPEC, project_id: str | None = "proj_1",
            pipeline_id: str = "pipe_1") -> DefinePipeline:
    return DefinePipeline(pipeline_id=pipeline_id, project_id=project_id, name=name, spec=s, mode=mode)


class Pipeline:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.names: dict[tuple[str, str], list[Event]] = {}

    @property
    def state(self) -> pl.PipelineState:
        return pl.fold_pipeline(self.events)

    def name(self, project_id: str | None, name: str) -> NameState:
        return fold_name(self.names.get((pl.name_scope(project_id), name.lower()), []))

    def define(self, cmd: DefinePipeline, project_live: bool = True) -> pl.DefineOutcome:
        out = pl.decide_define(cmd, self.state, project_live, self.name(cmd.project_id, cmd.name))
        self.events += out.pipeline_events
        for e in [*out.claim, *out.release_old_name]:
            assert isinstance(e, NameClaimed | NameReleased)
            self.names.setdefault((e.scope, e.name.lower()), []).append(e)
        return out


def test_define_creates_version_one_and_claims_the_name() -> None:
    p = Pipeline()
    out = p.define(_define())
    (defined,) = out.pipeline_events
    assert isinstance(defined, PipelineDefined)
    assert (defined.version, defined.name, defined.project_id, defined.spec) == (1, "etl", "proj_1", SPEC)
    assert defined.checksum == pl.checksum("etl", SPEC)
    assert out.claim == [NameClaimed(scope="pipeline:proj_1", name="etl", holder_id="pipe_1")]
    assert out.release_old_name == []
    state = p.state
    assert state.live and state.config_version == 1 and state.spec == SPEC


def test_catalog_pipelines_use_the_global_name_scope() -> None:
    out = Pipeline().define(_define(project_id=None), project_live=False)
    assert out.claim[0].scope == "pipeline:_catalog"


def test_create_of_an_existing_pipeline_is_a_conflict() -> None:
    p = Pipeline()
    p.define(_define())
    error = expect_conflict(lambda: p.define(_define(s=SPEC_2)))
    assert error.details[0].field == "id"


def test_create_with_a_name_held_by_another_pipeline_is_a_conflict() -> None:
    held = NameState(1, "pipe_other")
    error = expect_conflict(lambda: pl.decide_define(_define(), pl.PipelineState(), True, held))
    assert error.details[0].field == "name"


def test_update_records_a_new_version() -> None:
    p = Pipeline()
    p.define(_define())
    out = p.define(_define(mode="update", s=SPEC_2))
    (defined,) = out.pipeline_events
    assert defined.version == 2
    assert out.claim == [] and out.release_old_name == []
    assert p.state.spec == SPEC_2 and p.state.config_version == 2
    assert p.define(_define(mode="update", s=SPEC)).pipeline_events[0].version == 3


def test_update_without_changes_records_nothing() -> None:
    p = Pipeline()
    p.define(_define())
    out = p.define(_define(mode="update"))
    assert out == pl.DefineOutcome([], [], [])


@pytest.mark.parametrize("deleted", [False, True])
def test_update_of_an_unknown_or_deleted_pipeline_is_not_found(deleted: bool) -> None:
    p = Pipeline()
    if deleted:
        p.define(_define())
        p.events += pl.decide_delete("pipe_1", p.state)[0]
    with pytest.raises(DomainError) as info:
        p.define(_define(mode="update"))
    assert info.value.code is ErrorCode.NOT_FOUND


def test_upsert_creates_then_records_nothing_while_unchanged_then_a_new_version() -> None:
    p = Pipeline()
    assert p.define(_define(mode="upsert")).pipeline_events[0].version == 1
    assert p.define(_define(mode="upsert")) == pl.DefineOutcome([], [], [])
    assert p.define(_define(mode="upsert")) == pl.DefineOutcome([], [], [])
    assert p.define(_define(mode="upsert", s=SPEC_2)).pipeline_events[0].version == 2
    assert len(p.events) == 2


def test_checksum_covers_name_and_spec_and_ignores_key_order() -> None:
    assert pl.checksum("etl", SPEC) == pl.checksum("etl", PipelineSpec.model_validate(SPEC.to_json()))
    assert pl.checksum("etl", SPEC) != pl.checksum("etl2", SPEC)
    assert pl.checksum("etl", SPEC) != pl.checksum("etl", SPEC_2)


def test_rename_claims_the_new_name_and_releases_the_old() -> None:
    p = Pipeline()
    p.define(_define(name="etl"))
    out = p.define(_define(name="etl_v2", mode="update"))
    assert out.pipeline_events[0].version == 2
    assert out.claim == [NameClaimed(scope="pipeline:proj_1", name="etl_v2", holder_id="pipe_1")]
    assert out.release_old_name == [NameReleased(scope="pipeline:proj_1", name="etl", holder_id="pipe_1")]
    assert p.name("proj_1", "etl").holder_id is None
    assert p.name("proj_1", "etl_v2").holder_id == "pipe_1"
    # the old name is free for another pipeline
    other = pl.decide_define(_define(name="etl", pipeline_id="pipe_2"), pl.PipelineState(), True,
                             p.name("proj_1", "etl"))
    assert other.claim == [NameClaimed(scope="pipeline:proj_1", name="etl", holder_id="pipe_2")]


def test_rename_changing_only_case_keeps_the_claim() -> None:
    p = Pipeline()
    p.define(_define(name="etl"))
    out = p.define(_define(name="ETL", mode="update"))
    assert len(out.pipeline_events) == 1
    assert out.claim == [] and out.release_old_name == []
    assert p.state.name == "ETL"


def test_rename_to_a_name_held_by_another_pipeline_is_a_conflict() -> None:
    p = Pipeline()
    p.define(_define(name="etl"))
    error = expect_conflict(lambda: pl.decide_define(_define(name="taken", mode="update"), p.state, True,
                                                     NameState(1, "pipe_other")))
    assert error.details[0].field == "name"


@pytest.mark.parametrize("mode", ["update", "upsert"])
@pytest.mark.parametrize("target", ["proj_2", None])
def test_moving_a_pipeline_to_another_project_is_a_conflict(mode: str, target: str | None) -> None:
    p = Pipeline()
    p.define(_define(project_id="proj_1"))
    error = expect_conflict(lambda: p.define(_define(mode=mode, project_id=target, s=SPEC_2)))
    assert error.details[0].field == "project_id"
    assert p.state.project_id == "proj_1" and p.state.config_version == 1


@pytest.mark.parametrize("mode", ["create", "update", "upsert"])
def test_unknown_project_is_a_validation_error_on_project_id(mode: str) -> None:
    with pytest.raises(DomainError) as info:
        Pipeline().define(_define(mode=mode), project_live=False)
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert [(d.field, d.type) for d in info.value.details] == [("project_id", "not_found")]


@pytest.mark.parametrize(
    ("s", "fields"),
    [
        (PipelineSpec(), ["nodes"]),
        (spec(["a", "b"], [("a", "b"), ("b", "a")]), ["edges"]),
        (spec(["a"], [("a", "zz")]), ["edges[0].to"]),
        (spec(["a", "a"]), ["nodes[1].id"]),
        (spec(["a"], [("a", "a")]), ["edges[0]"]),
    ],
    ids=["empty", "cycle", "unknown-node", "duplicate-id", "self-loop"],
)
@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_invalid_dag_is_a_validation_error_with_details(s: PipelineSpec, fields: list[str], mode: str) -> None:
    p = Pipeline()
    with pytest.raises(DomainError) as info:
        p.define(_define(s=s, mode=mode))
    assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert [d.field for d in info.value.details] == fields
    assert p.events == [] and p.names == {}, "nothing is written"


def test_invalid_update_leaves_the_pipeline_as_it_was() -> None:
    p = Pipeline()
    p.define(_define())
    with pytest.raises(DomainError):
        p.define(_define(mode="update", s=spec(["a", "b"], [("a", "b"), ("b", "a")])))
    assert p.state.config_version == 1 and p.state.spec == SPEC


def test_delete_pipeline_releases_its_name() -> None:
    p = Pipeline()
    p.define(_define(name="etl"))
    own, names = pl.decide_delete("pipe_1", p.state)
    assert own == [PipelineDeleted(pipeline_id="pipe_1", project_id="proj_1", name="etl")]
    assert names == [NameReleased(scope="pipeline:proj_1", name="etl", holder_id="pipe_1")]
    p.events += own
    assert not p.state.live and p.state.deleted
    with pytest.raises(DomainError) as info:
        pl.decide_delete("pipe_1", p.state)
    assert info.value.code is ErrorCode.NOT_FOUND


def test_upsert_revives_a_deleted_pipeline_with_the_next_version() -> None:
    p = Pipeline()
    p.define(_define(name="etl"))
    own, names = pl.decide_delete("pipe_1", p.state)
    p.events += own
    for e in names:
        p.names[(e.scope, e.name.lower())].append(e)
    expect_conflict(lambda: p.define(_define(name="etl")))  # create: the id exists
    out = p.define(_define(name="etl", mode="upsert"))
    assert out.pipeline_events[0].version == 2
    assert out.claim == [NameClaimed(scope="pipeline:proj_1", name="etl", holder_id="pipe_1")]
    assert out.release_old_name == []
    assert p.state.live


def test_fold_pipeline_replays_versions() -> None:
    p = Pipeline()
    p.define(_define())
    p.define(_define(mode="update", s=SPEC_2, name="renamed"))
    state = pl.fold_pipeline(p.events)
    assert (state.version, state.config_version, state.name, state.spec) == (2, 2, "renamed", SPEC_2)
    assert state.checksum == pl.checksum("renamed", SPEC_2)
