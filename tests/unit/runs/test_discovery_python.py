"""Discovery of ``.py`` files declaring ``@pipeline``s, next to YAML/JSON, with per-file errors."""

from __future__ import annotations

from pathlib import Path

from tauro_runs.discovery import scan

GOOD = """
from tauro_client import pipeline, task

@task(retries=1)
def first():
    return None

@task(depends_on=[first])
def second(log):
    log("second")

@pipeline(name="py_one", description="one")
def one():
    second()

@pipeline(name="py_two")
def two():
    first()
"""

CYCLIC = """
from tauro_client import pipeline, task

@task(depends_on=["b"])
def a(): ...

@task(depends_on=["a"])
def b(): ...

@pipeline(name="loop")
def loop():
    a()
    b()
"""


def test_python_files_are_discovered_with_clear_per_file_errors(tmp_path: Path) -> None:
    (tmp_path / "flows.py").write_text(GOOD)
    (tmp_path / "cyclic.py").write_text(CYCLIC)
    (tmp_path / "broken.py").write_text("import nothing_like_this_module\n")
    (tmp_path / "helpers.py").write_text("VALUE = 1\n")  # no pipeline: nothing, no error
    (tmp_path / "_private.py").write_text("raise SystemExit('never imported')\n")
    (tmp_path / "p.yaml").write_text("name: from_yaml\nnodes: [{id: a, type: shell, config: {command: 'true'}}]\n")
    found, skipped = scan(tmp_path)
    commands = {c.name: c for _, c in found}
    assert sorted(commands) == ["from_yaml", "py_one", "py_two"]
    one = commands["py_one"]
    assert one.pipeline_id == "pipe_py_one" and one.source == "file:flows.py" and one.spec.description == "one"
    assert [n.id for n in one.spec.nodes] == ["second", "first"]
    assert [(e.source, e.target) for e in one.spec.edges] == [("first", "second")]
    assert one.spec.nodes[1].config["callable"] == f"{(tmp_path / 'flows.py').resolve()}:first.run"
    reasons = {s.path.name: s.reason for s in skipped}
    assert set(reasons) == {"cyclic.py", "broken.py"}
    assert "pipeline 'loop'" in reasons["cyclic.py"] and "cycle: a -> b -> a" in reasons["cyclic.py"]
    assert reasons["broken.py"].startswith("importing it failed (line 1): ModuleNotFoundError")
