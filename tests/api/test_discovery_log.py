"""Start-up discovery on the embedded platform (it runs while the ``api`` fixture sets up): a
pipeline file that is skipped (invalid, or rejected by the domain) is logged with its path and
the reason, and the others load."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from tauro_platform.logs import TextFormatter
from tauro_platform.settings import Settings

from tests.api.conftest import embedded_settings

API = "/api/v1"


@pytest.fixture
def api_settings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Settings:
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "ok.yaml").write_text("name: ok\nnodes:\n  - {id: a, type: source}\n")
    (folder / "loop.yaml").write_text(
        "name: loop\nnodes: [{id: a, type: processor}, {id: b, type: processor}]\n"
        "edges: [{from: a, to: b}, {from: b, to: a}]\n")
    (folder / "orphan.yaml").write_text("name: orphan\nproject_id: proj_nowhere\nnodes:\n  - {id: a, type: source}\n")
    caplog.set_level(logging.ERROR, logger="tauro.discovery")
    return embedded_settings(tmp_path, pipelines_dir=folder)


async def test_skipped_pipeline_files_are_logged_with_path_and_reason(
        api: httpx.AsyncClient, api_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    names = {p["name"] for p in (await api.get(f"{API}/pipelines")).json()["data"]}
    assert "ok" in names and not names & {"loop", "orphan"}
    formatter = TextFormatter("%(levelname)s %(name)s: %(message)s%(trace)s")
    lines = [formatter.format(r) for r in caplog.get_records("setup") if r.name == "tauro.discovery"]
    folder = api_settings.pipelines_dir
    assert folder is not None
    loop = [line for line in lines if str(folder / "loop.yaml") in line]
    orphan = [line for line in lines if str(folder / "orphan.yaml") in line]
    assert len(loop) == 1 and "cycle: a -> b -> a" in loop[0]
    assert len(orphan) == 1 and "project 'proj_nowhere' not found" in orphan[0], orphan
    assert len(lines) == 2, lines
