"""Issue 15 end to end: a Python-defined pipeline discovered from PIPELINES_DIR and another
registered with `tauro pipelines apply` both run to SUCCESS on Kafka + MongoDB-wire, driven
through tauro-client (runs service, executor and gateway as separate processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tauro_client import Tauro

from tests.e2e.harness import ROOT, Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def tauro_cli(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAURO_URL": deployment.url}
    env.pop("TAURO_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "tauro_cli.main", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_discovered_and_applied_python_pipelines_succeed(deployment: Deployment, tmp_path: Path) -> None:
    deployment.start("runs")
    deployment.start("executor")
    deployment.start("gateway")
    with Tauro(deployment.url) as tauro:
        project = tauro.projects.create("python_pipelines")
        discovered = tauro.pipelines.get("pipe_daily_etl_py")
        assert discovered.source == "file:daily_etl_py.py" and [n.type for n in discovered.nodes] == ["python"] * 3

        applied = tauro_cli(deployment, "pipelines", "apply", "tests/e2e/python_pipeline.py", "--project",
                            "python_pipelines", "--json")
        assert applied.returncode == 0, applied.stderr
        [pipe] = tauro.pipelines.list(project_id=project.id, name="sum_of_squares")
        assert pipe.nodes[0].config["callable"] == "tests/e2e/python_pipeline.py:numbers.run"

        etl = tauro.runs.create(project.id, discovered.id, params={"date": "2025-11-18"}, start=True)
        squares = tauro.runs.create(project.id, pipe.id, params={"count": "5"}, start=True)
        lines = [line.message for line in tauro.runs.follow_logs(squares.id)]
        assert "all done" in lines
        for run_id in (etl.id, squares.id):
            run = tauro.runs.wait(run_id, timeout=180, poll_interval=0.5)
            assert run.state == "SUCCESS", (run.error, [t.error for t in run.tasks])
        output = tmp_path / "output"
        assert (output / f"squares_{squares.id}.txt").read_text() == "30"  # 0 + 1 + 4 + 9 + 16
        assert (output / "orders_py_2025-11-18.jsonl").read_text().count("\n") > 10

        # the CLI on the same deployment: follow exits 0 on SUCCESS, 1 for an unknown run
        followed = tauro_cli(deployment, "runs", "follow", squares.id)
        assert followed.returncode == 0, followed.stderr
        assert "all done" in followed.stdout
        missing = tauro_cli(deployment, "runs", "get", "run_missing")
        assert missing.returncode == 1 and missing.stderr.startswith("tauro: 404 NOT_FOUND")
        project_view = tauro_cli(deployment, "projects", "get", "python_pipelines")
        assert project_view.returncode == 0 and "sum_of_squares" in project_view.stdout
