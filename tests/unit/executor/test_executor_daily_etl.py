"""The example pipeline, run node by node through real worker subprocesses over the bundled data."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from tauro_contracts.pipeline import PipelineSpec, topological_layers, upstream
from tauro_executor.attempt import run_attempt
from tauro_executor.spec import TaskSpec
from tauro_executor.warm import WarmWorker
from tauro_runs.domain.runs import retry_policy

from .helpers import REPO_ROOT, Collected

PIPELINE = REPO_ROOT / "examples" / "pipelines" / "daily_etl.yaml"
EXPECTED_ROWS = 27  # 30 data rows in examples/data/orders.csv, 3 of them exact duplicates
COLUMNS = [
    "order_id", "order_date", "customer_name", "email", "product",
    "quantity", "unit_price", "currency", "status", "country",
]  # fmt: skip


def load_pipeline() -> PipelineSpec:
    raw = yaml.safe_load(PIPELINE.read_text())
    return PipelineSpec.model_validate({k: raw[k] for k in ("description", "nodes", "edges", "config")})


async def test_daily_etl_extracts_transforms_and_loads(tmp_path: Path, warm: WarmWorker | None) -> None:
    pipeline = load_pipeline()
    deps = upstream(pipeline)
    nodes = {n.id: n for n in pipeline.nodes}
    logs = Collected()
    metrics = {}
    for layer in topological_layers(pipeline):
        for node_id in layer:
            task = TaskSpec(
                run_id="run_daily",
                node=nodes[node_id],
                params={"date": "2025-01-15"},
                upstream=deps[node_id],
                work_dir=str(tmp_path / "work"),
                output_dir=str(tmp_path / "output"),
            )
            # relative paths in the example (examples/data/orders.csv) are relative to the repo root
            outcome = await run_attempt(task, timeout_seconds=60, on_log=logs, cwd=REPO_ROOT, warm=warm)
            assert outcome.status == "succeeded", (node_id, outcome.error, logs.messages())
            assert outcome.warm is (warm is not None)  # polars works in a child forked from the helper
            metrics[node_id] = outcome.metrics
            assert retry_policy(pipeline, node_id).max_attempts == 3

    assert metrics["extract_orders"]["rows_out"] == 30
    assert (metrics["transform_orders"]["rows_in"], metrics["transform_orders"]["rows_out"]) == (
        30,
        EXPECTED_ROWS,
    )
    assert metrics["load_orders"]["rows_out"] == EXPECTED_ROWS

    output = tmp_path / "output" / "orders_2025-01-15.jsonl"
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == EXPECTED_ROWS
    assert metrics["load_orders"]["bytes_out"] == output.stat().st_size
    assert list(rows[0]) == COLUMNS
    assert len({r["order_id"] for r in rows}) == EXPECTED_ROWS
    assert rows[0]["customer_name"] == "Alice Martin"  # was "  Alice Martin "
    for row in rows:
        for value in row.values():
            assert not isinstance(value, str) or (value == value.strip() and value != "")
    assert sum(1 for r in rows if r["email"] is None) == 2  # one empty, one blank
    assert sum(1 for r in rows if r["country"] is None) == 1
    assert isinstance(rows[0]["quantity"], int) and isinstance(rows[0]["unit_price"], float)
    assert any("orders_2025-01-15.jsonl" in m for m in logs.messages())
