"""@task / @pipeline: the DAG from calls and from depends_on, the definition's JSON, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tauro_client import PipelineDefinitionError, pipeline, task
from tauro_client.dsl import load_file, pipelines_in
from tauro_client.sources import definitions_from
from tauro_contracts.pipeline import PipelineSpec, dag_errors

ROOT = Path(__file__).resolve().parents[3]


@task(retries=2, timeout_seconds=30)
def extract() -> Any:
    return [1, 2, 3]


@task
def clean(rows: Any, limit: int = 10) -> Any:
    return rows[:limit]


@task
def enrich(rows: Any) -> Any:
    return rows


@task
def join(left: Any, right: Any, params: Any) -> Any:
    return (left, right, params)


@task(depends_on=["join"])
def report(log: Any) -> None:
    log("done")


@pipeline(name="calls", description="from calls", config={"max_parallelism": 3})
def from_calls() -> None:
    rows = extract()
    join(clean(rows, limit=2), enrich(rows))
    report()


def test_the_dag_follows_the_calls_and_depends_on() -> None:
    definition = from_calls.definition()
    assert [n["id"] for n in definition["nodes"]] == ["extract", "clean", "enrich", "join", "report"]
    assert [(e["from"], e["to"]) for e in definition["edges"]] == [
        ("extract", "clean"), ("extract", "enrich"), ("clean", "join"), ("enrich", "join"), ("join", "report")]
    nodes = {n["id"]: n for n in definition["nodes"]}
    assert nodes["extract"]["retry_policy"] == {"max_attempts": 3} and nodes["extract"]["timeout_seconds"] == 30
    assert nodes["clean"]["config"]["inputs"] == [["rows", "extract"]]
    assert nodes["clean"]["config"]["kwargs"] == {"limit": 2}
    assert nodes["join"]["config"]["inputs"] == [["left", "clean"], ["right", "enrich"]]
    assert nodes["extract"]["config"]["callable"] == f"{__name__}:extract.run"
    assert all(n["type"] == "python" for n in definition["nodes"])
    assert definition["name"] == "calls" and definition["config"] == {"max_parallelism": 3}
    spec = PipelineSpec.model_validate({k: definition[k] for k in ("description", "nodes", "edges", "config")})
    assert dag_errors(spec) == []


def test_a_task_is_the_plain_function_outside_a_pipeline() -> None:
    assert clean([5, 6, 7], limit=1) == [5]
    assert extract() == [1, 2, 3]


def test_run_maps_upstream_outputs_and_injects_params_and_log() -> None:
    node = {n["id"]: n for n in from_calls.definition()["nodes"]}["join"]
    result = join.run(["L", "R"], node["config"], {"date": "d"}, print)
    assert result == ("L", "R", {"date": "d"})
    assert clean.run([[1, 2, 3]], {"inputs": [["rows", "extract"]], "kwargs": {"limit": 1}}, {}, print) == [1]
    with pytest.raises(RuntimeError, match="return None instead of a DataFrame"):
        join.run(["L"], node["config"], {}, print)


def test_depends_on_task_objects_bring_them_in() -> None:
    @task(depends_on=[extract])
    def after() -> None: ...

    @pipeline
    def only_after() -> None:
        after()

    definition = only_after.definition()
    assert {n["id"] for n in definition["nodes"]} == {"after", "extract"}
    assert definition["edges"] == [{"from": "extract", "to": "after"}]
    assert definition["name"] == "only_after"


def test_cycles_are_refused_with_the_path() -> None:
    @task(depends_on=["b"])
    def a() -> None: ...

    @task(depends_on=["a"])
    def b() -> None: ...

    @pipeline
    def cyclic() -> None:
        a()
        b()

    with pytest.raises(PipelineDefinitionError, match=r"pipeline 'cyclic': edges: cycle: a -> b -> a"):
        cyclic.definition()


def test_duplicate_ids_are_refused() -> None:
    @task(id="extract")
    def other() -> None: ...

    @pipeline
    def twice() -> None:
        extract()
        extract()

    @pipeline
    def clash() -> None:
        extract()
        other()

    with pytest.raises(PipelineDefinitionError, match=r"duplicate node id 'extract'.*is called twice"):
        twice.definition()
    with pytest.raises(PipelineDefinitionError, match=r"duplicate node id 'extract'.*has the same id"):
        clash.definition()


def test_clear_errors_for_misuse() -> None:
    @pipeline
    def empty() -> None:
        pass

    @pipeline
    def unknown_dependency() -> None:
        report()

    @pipeline
    def attribute_use() -> None:
        extract().head()

    @pipeline
    def passing_the_task() -> None:
        clean(extract)

    with pytest.raises(PipelineDefinitionError, match="no task is called"):
        empty.definition()
    with pytest.raises(PipelineDefinitionError, match="depends on 'join', which is not a task of this pipeline"):
        unknown_dependency.definition()
    with pytest.raises(PipelineDefinitionError, match="placeholder: pass it to another task"):
        attribute_use.definition()
    with pytest.raises(PipelineDefinitionError, match="got the task 'extract' itself"):
        passing_the_task.definition()
    with pytest.raises(PipelineDefinitionError, match="\\*args"):
        task(lambda *rows: rows)


def test_invalid_retries_fail_like_the_api_would() -> None:
    @task(retries=50)
    def flaky() -> None: ...

    @pipeline
    def too_many() -> None:
        flaky()

    with pytest.raises(PipelineDefinitionError, match="max_attempts"):
        too_many.definition()


def test_a_file_module_is_referenced_by_path(tmp_path: Path) -> None:
    file = tmp_path / "my_flow.py"
    file.write_text("from tauro_client import pipeline, task\n\n@task\ndef one():\n    return None\n\n"
                    "@pipeline(name='flow')\ndef flow():\n    one()\n")
    [found] = pipelines_in(load_file(file))
    assert found.definition()["nodes"][0]["config"]["callable"] == f"{file.resolve()}:one.run"
    assert definitions_from(file)[0]["name"] == "flow"
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise RuntimeError('boom')\n")
    with pytest.raises(PipelineDefinitionError, match=r"importing it failed \(line 2\): RuntimeError: boom"):
        load_file(broken)


def test_the_example_runs_through_the_executor_node(tmp_path: Path) -> None:
    """The daily ETL example's tasks, called as the executor's python node calls them."""
    from tauro_executor.nodes.base import TaskLog
    from tauro_executor.nodes.python_node import load_callable

    [example] = pipelines_in(load_file(ROOT / "examples" / "pipelines" / "daily_etl_py.py"))
    nodes = {n["id"]: n for n in example.definition()["nodes"]}
    lines: list[str] = []
    log = TaskLog(lambda level, message, source: lines.append(message))
    extract_fn = load_callable(nodes["extract_orders"]["config"]["callable"])
    orders = extract_fn([], nodes["extract_orders"]["config"], {}, log)
    transform_fn = load_callable(nodes["transform_orders"]["config"]["callable"])
    cleaned = transform_fn([orders], nodes["transform_orders"]["config"], {}, log)
    assert cleaned.height < orders.height and "order_id" in cleaned.columns
    load_config = {**nodes["load_orders"]["config"], "kwargs": {"path": str(tmp_path / "out.jsonl")}}
    load_callable(nodes["load_orders"]["config"]["callable"])([cleaned], load_config, {}, log)
    assert (tmp_path / "out.jsonl").read_text().count("\n") == cleaned.height
    assert any("duplicates removed" in line for line in lines)


def test_gen_sync_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "libs" / "client" / "scripts" / "gen_sync.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
