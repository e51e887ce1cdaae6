"""A new run's document built directly (``readmodels.runs.created_doc``) is exactly what the
``RunDoc`` model gives for the same values, for runs with and without a schedule, params,
tags and an actor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.pipeline import Edge, Node, PipelineSpec
from tauro_contracts.readmodels import RunDoc, RunState
from tauro_contracts.readmodels import doc as doc_of
from tauro_contracts.runs import RunCreated
from tauro_platform.readmodels.runs import _metrics, _progress, evolve_run_doc
from tauro_platform.timeutil import iso

SPEC = PipelineSpec(
    nodes=[Node(id="a", type="python", config={"callable": "m:a"}), Node(id="b", type="shell",
                                                                          config={"command": "true"})],
    edges=[Edge.model_validate({"from": "a", "to": "b"})],
)


def created(**overrides: object) -> RunCreated:
    fields: dict[str, object] = dict(run_id="run_1", project_id="proj_1", pipeline_id="pipe_1", pipeline_version=3,
                                     pipeline_name="etl", spec=SPEC, params={}, tags={}, trigger="api")
    fields.update(overrides)
    return RunCreated.model_validate(fields)


@pytest.mark.parametrize("event, actor", [
    (created(), None),
    (created(params={"day": "2024-05-01", "n": 3, "nested": {"x": [1, 2.5, None]}}, tags={"team": "data"}),
     "key:admin"),
    (created(trigger="schedule", schedule_id="sch_1", logical_date="2024-05-01T00:00:00Z"), "system:scheduler"),
])
def test_the_new_run_document_is_the_models(event: RunCreated, actor: str | None) -> None:
    env = EventEnvelope(event_id="e1", stream_id=event.run_id, stream_version=1, global_position=42,
                        type=RunCreated.type_name, occurred_at=datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
                        actor=actor, data=event.to_data())
    at = iso(env.occurred_at)
    tasks = {n.id: {"node_id": n.id, "type": n.type, "status": "PENDING", "attempt": 0, "attempts": [],
                    "executor_id": None, "started_at": None, "finished_at": None, "error": None, "metrics": {}}
             for n in event.spec.nodes}
    expected = doc_of(
        RunDoc, id=event.run_id, position=env.global_position, project_id=event.project_id,
        pipeline_id=event.pipeline_id, pipeline_name=event.pipeline_name,
        pipeline_version=event.pipeline_version, state=RunState.PENDING, params=event.params, tags=event.tags,
        trigger=event.trigger, schedule_id=event.schedule_id, logical_date=event.logical_date, created_at=at,
        updated_at=at, created_by=env.actor, queued_at=None, started_at=None, finished_at=None,
        duration_seconds=None, timeout_seconds=None, deadline=None, error=None, tasks=tasks,
        progress=_progress(tasks), metrics=_metrics(tasks),
    )
    built = evolve_run_doc(None, event, env)
    assert built == expected
    assert list(built) == list(expected)  # the same fields in the same order
