"""Read-model rebuild on the real MongoDB-wire server: after a mixed workload, dropping and
replaying the read models gives byte-identical content (same hash)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from tauro_contracts.projects import CreateProject, DefinePipeline, DeleteProject, UpdateProject
from tauro_contracts.runs import CancelRun, ClaimTask, CreateRun, RecordTaskOutcome
from tauro_platform.adapters import Adapters, build_adapters
from tauro_platform.readstore.indexes import READ_MODEL_INDEXES, missing_indexes
from tauro_platform.rebuild import read_model_hash, rebuild
from tauro_platform.settings import Settings
from tauro_runs.service import RunsService, read_model_projectors
from tauro_scheduler.service import read_model_projectors as scheduler_projectors

from tests.e2e.runs_helpers import shell_pipeline
from tests.integration.conftest import run_command

pytestmark = pytest.mark.integration


async def _mixed_workload(service: RunsService) -> None:
    for i in range(4):
        await run_command(service, CreateProject(project_id=f"proj_{i}", name=f"project-{i}", owner=f"team-{i % 2}"))
    await run_command(service, UpdateProject(project_id="proj_1", description="changed"))
    body = shell_pipeline("work", {"a": "true", "b": "true"}, edges=[("a", "b")], max_attempts=2)
    spec = {k: body[k] for k in ("nodes", "edges", "config")}
    await run_command(service, DefinePipeline(pipeline_id="pipe_w", project_id="proj_0", name="work", spec=spec))
    await run_command(service, DefinePipeline(pipeline_id="pipe_w", project_id="proj_0", name="work",
                                      spec={**spec, "description": "v2"}, mode="update"))
    for n in range(6):
        run_id = f"run_{n}"
        await run_command(service, CreateRun(run_id=run_id, project_id="proj_0", pipeline_id="pipe_w", start=True))
        await service.dispatcher.dispatch()
        if n % 3 == 2:
            await run_command(service, CancelRun(run_id=run_id))
            continue
        for node in ("a", "b"):
            await run_command(service, ClaimTask(run_id=run_id, node_id=node, attempt=1, dispatch=1, executor_id="x"))
            status = "failed" if n % 3 == 1 and node == "b" else "succeeded"
            await run_command(service, RecordTaskOutcome(run_id=run_id, node_id=node, attempt=1, executor_id="x",
                                                 status=status, error="boom" if status == "failed" else None))
    await run_command(service, DeleteProject(project_id="proj_3"))


async def test_rebuild_gives_identical_read_models(runs: RunsService) -> None:
    await _mixed_workload(runs)
    adapters: Adapters = runs.adapters  # type: ignore[attr-defined]
    projectors = read_model_projectors(adapters)
    await runs.host.projector.catch_up()
    live = await read_model_hash(adapters.read_store, projectors[0].collections)
    docs, total = await adapters.read_store.find("runs", {})
    states = {d["_id"]: d["state"] for d in docs}
    assert total == 6
    assert states == {"run_0": "SUCCESS", "run_3": "SUCCESS", "run_1": "RUNNING", "run_4": "RUNNING",
                      "run_2": "CANCELLED", "run_5": "CANCELLED"}, states
    report = await rebuild(adapters.store, adapters.read_store, projectors)
    assert report.hash_before == live
    assert report.identical, "rebuilt read models differ from the live ones"
    assert report.events >= 60


async def test_read_model_indexes_exist_at_start_and_after_a_rebuild(runs: RunsService) -> None:
    """Every declared read-model index exists once the process opened the store (before any
    document), and again after a rebuild dropped the collections (indexes with them)."""
    db = runs.mongo  # type: ignore[attr-defined]
    assert await missing_indexes(db) == []
    await _mixed_workload(runs)
    adapters: Adapters = runs.adapters  # type: ignore[attr-defined]
    projectors = [*read_model_projectors(adapters), *scheduler_projectors(adapters)]
    rebuilt = {c for p in projectors for c in p.collections}
    assert {"runs", "run_logs", "projects", "pipelines", "schedules", "schedule_ticks"} <= rebuilt
    report = await rebuild(adapters.store, adapters.read_store, projectors)
    assert report.identical
    assert await missing_indexes(db) == []
    for collection in set(READ_MODEL_INDEXES) & rebuilt:  # each once, not twice under two names
        assert len(await db[f"rm_{collection}"].index_information()) == 1 + len(READ_MODEL_INDEXES[collection])


async def test_a_process_opening_the_read_store_ensures_its_indexes(kafka_bootstrap: str, mongo_url: str,
                                                                    unique_name: str, tmp_path: Path) -> None:
    """Without migrations (AUTO_MIGRATE=false), opening the adapters creates the read-model indexes."""
    settings = Settings(
        _env_file=None, tauro_mode="distributed", secret_key="x" * 40, kafka_bootstrap_servers=kafka_bootstrap,
        mongodb_url=mongo_url, mongodb_database=unique_name, tauro_namespace=f"{unique_name}.", pipelines_dir=None,
        tauro_data_dir=tmp_path, auto_migrate=False,
    )  # type: ignore[call-arg]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        assert len(await missing_indexes(client[unique_name])) > 0
        adapters = await build_adapters(settings)
        await adapters.close()
        assert await missing_indexes(client[unique_name]) == []
        assert "_migrations" not in await client[unique_name].list_collection_names()
    finally:
        await client.drop_database(unique_name)
        await client.close()
