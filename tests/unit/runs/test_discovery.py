"""Pipeline discovery names each skipped file and why, readable in the text log format too."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tauro_platform.logs import TextFormatter
from tauro_runs.discovery import discover, scan

GOOD = """
name: good
nodes:
  - {id: a, type: source}
  - {id: b, type: sink}
edges:
  - {from: a, to: b}
"""
CYCLE = """
name: loop
nodes:
  - {id: a, type: processor}
  - {id: b, type: processor}
edges:
  - {from: a, to: b}
  - {from: b, to: a}
"""
YAML_ERROR = "name: broken\nnodes: [\n  - id: a\n"
UNKNOWN_FIELD = """
name: typo
colour: red
nodes:
  - {id: a, type: source, retries: 3}
"""
BAD_TYPE = '{"name": "badtype", "nodes": [{"id": "a", "type": "teleport"}]}'
BAD_JSON = '{"name": "x", "nodes": [}'

FILES = {
    "good.yaml": (GOOD, None),
    "loop.yaml": (CYCLE, "invalid DAG: edges: cycle: a -> b -> a"),
    "broken.yml": (YAML_ERROR, "YAML error at line 3, column 3"),
    "typo.yaml": (UNKNOWN_FIELD, "unknown field 'nodes[0].retries'; unknown field 'colour'"),
    "badtype.json": (BAD_TYPE, "nodes[0].type: Input should be"),
    "bad.json": (BAD_JSON, "JSON error at line 1, column 25"),
    "list.yaml": ("- a\n- b\n", "a pipeline file must hold a mapping, not list"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "nested").mkdir()
    for name, (text, _) in FILES.items():
        (tmp_path / ("nested" if name == "badtype.json" else "") / name).write_text(text)
    (tmp_path / "README.md").write_text("not a pipeline")
    return tmp_path


def test_scan_keeps_valid_files_and_says_why_it_skips_the_others(folder: Path) -> None:
    found, skipped = scan(folder)
    assert [(path.name, command.name) for path, command in found] == [("good.yaml", "good")]
    reasons = {item.path.name: item.reason for item in skipped}
    assert set(reasons) == {name for name, (_, why) in FILES.items() if why}
    for name, (_, why) in FILES.items():
        if why:
            assert why in reasons[name], (name, reasons[name])


def test_skipped_files_are_logged_with_path_and_reason_in_text_format(
        folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="tauro.discovery"):
        commands = discover(folder)
    assert [c.name for c in commands] == ["good"]
    formatter = TextFormatter("%(levelname)s %(name)s: %(message)s%(trace)s")
    lines = [formatter.format(record) for record in caplog.records]
    assert len(lines) == len(FILES) - 1
    for name, (_, why) in FILES.items():
        if why:
            path = next(p for p in folder.rglob(name))
            line = next(line for line in lines if str(path) in line)
            assert line.startswith("ERROR tauro.discovery: skipping pipeline file")
            assert why in line, line
    assert all(r.path and r.reason for r in caplog.records)  # and as fields of the JSON format


def test_missing_folder_is_empty(tmp_path: Path) -> None:
    assert discover(tmp_path / "nope") == []
