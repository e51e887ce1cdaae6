"""tauro-client against the in-process platform: every resource through ``AsyncTauro`` (on the
ASGI transport) and the sync ``Tauro`` (through a bridge to the same app), typed models back,
errors as exceptions with code, message and details, pagination followed, logs followed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_client import (
    AsyncTauro,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Tauro,
    Unreachable,
    ValidationFailed,
)
from tauro_client.errors import error_from_response
from tauro_contracts.readmodels import (
    BackfillResult,
    ConfigVersion,
    Dag,
    Health,
    Info,
    LogLine,
    Pipeline,
    PlatformStatistics,
    Project,
    ProjectView,
    Run,
    Schedule,
    StreamExecution,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pipelines" / "daily_etl_py.py"


@pytest.fixture
async def tauro(api: httpx.AsyncClient) -> AsyncIterator[AsyncTauro]:
    async with AsyncTauro(http_client=api) as client:
        yield client


async def test_projects_pipelines_and_config_versions(tauro: AsyncTauro, tmp_path: Path) -> None:
    project = await tauro.projects.create("analytics", "the team's", owner="ana", idempotency_key="k-1")
    assert isinstance(project, Project) and project.id.startswith("proj_")
    again = await tauro.projects.create("analytics", "the team's", owner="ana", idempotency_key="k-1")
    assert again.id == project.id  # the same Idempotency-Key: the same project, not a conflict
    with pytest.raises(Conflict) as conflict:
        await tauro.projects.create("analytics")
    assert conflict.value.code == "CONFLICT" and conflict.value.status == 409
    assert (await tauro.projects.update(project.id, description="new")).description == "new"
    view = await tauro.projects.get(project.id)
    assert isinstance(view, ProjectView) and view.name == "analytics" and view.pipelines == []
    assert (await tauro.projects.statistics(project.id)).total_pipelines == 0
    assert (await tauro.projects.find("analytics")).id == project.id
    for i in range(3):
        await tauro.projects.create(f"other{i}")
    page = await tauro.projects.list(limit=2)
    assert len(page) == 2 and page.meta.total == 4 and page.meta.has_more
    assert len([p async for p in tauro.projects.iter()]) == 4

    nodes = [{"id": "a", "type": "shell", "config": {"command": "echo a"}},
             {"id": "b", "type": "shell", "config": {"command": "echo b"}}]
    pipe = await tauro.pipelines.create(project.id, "two", nodes, edges=[{"from": "a", "to": "b"}])
    assert isinstance(pipe, Pipeline) and pipe.version == 1
    dag = await tauro.pipelines.dag(pipe.id)
    assert isinstance(dag, Dag) and dag.layers == [["a"], ["b"]]
    updated = await tauro.pipelines.update(pipe.id, {"name": "two", "nodes": nodes, "edges": []})
    assert updated.version == 2
    versions = await tauro.pipelines.versions(pipe.id)
    assert [v.version for v in versions] == [2, 1] or [v.version for v in versions] == [1, 2]
    assert all(isinstance(v, ConfigVersion) for v in versions)
    listed = await tauro.config_versions.list(pipeline_id=pipe.id)
    assert listed.meta.total == 2
    assert (await tauro.config_versions.get(f"{pipe.id}@v1")).version == 1
    assert [p.id async for p in tauro.config_versions.iter(pipeline_id=pipe.id)]
    assert [p.id async for p in tauro.pipelines.iter(project_id=project.id)] == [pipe.id]

    applied = await tauro.pipelines.apply(EXAMPLE, project="analytics")
    assert [p.name for p in applied] == ["daily_etl_py"] and applied[0].project_id == project.id
    assert [n.type for n in applied[0].nodes] == ["python"] * 3
    reapplied = await tauro.pipelines.apply(EXAMPLE, project=project.id)
    assert reapplied[0].id == applied[0].id and reapplied[0].version == applied[0].version  # unchanged
    yaml_file = tmp_path / "copy.yaml"
    yaml_file.write_text((ROOT / "examples" / "pipelines" / "daily_etl.yaml").read_text())
    [from_yaml] = await tauro.pipelines.apply(yaml_file, project=project.id)
    assert from_yaml.name == "daily_etl" and from_yaml.project_id == project.id

    with pytest.raises(ValidationFailed) as invalid:
        await tauro.pipelines.create(project.id, "cyclic", nodes, edges=[{"from": "a", "to": "b"},
                                                                          {"from": "b", "to": "a"}])
    assert invalid.value.code == "VALIDATION_ERROR" and invalid.value.details
    assert (await tauro.pipelines.delete(pipe.id)).deleted
    with pytest.raises(NotFound) as missing:
        await tauro.pipelines.get(pipe.id)
    assert missing.value.code == "NOT_FOUND" and "not found" in missing.value.message
    assert (await tauro.projects.delete(project.id)).deleted


async def test_runs_logs_wait_and_the_python_pipeline(tauro: AsyncTauro, tmp_path: Path) -> None:
    project = await tauro.projects.create("etl")
    run = await tauro.runs.create(project.id, "pipe_daily_etl_py", params={"date": "2025-11-18"},
                                  tags={"team": "data"})
    assert isinstance(run, Run) and run.state == "PENDING"
    accepted = await tauro.runs.start(run.id)
    assert accepted.run_id == run.id
    lines = [line async for line in tauro.runs.follow_logs(run.id)]
    assert lines and all(isinstance(line, LogLine) for line in lines)
    assert any("duplicates removed" in line.message for line in lines)
    done = await tauro.runs.wait(run.id, timeout=60, poll_interval=0.2)
    assert done.state == "SUCCESS", done.error
    assert sorted(t.node_id for t in await tauro.runs.tasks(run.id)) == [
        "extract_orders", "load_orders", "transform_orders"]
    assert await tauro.runs.events(run.id)
    assert await tauro.runs.notifications(run.id) == []
    page = await tauro.runs.logs(run.id, limit=2)
    assert len(page) == 2 and page.meta.total == len(lines)
    assert [line.id async for line in tauro.runs.iter_logs(run.id)] == [line.id for line in lines]
    # a follow from the middle (Last-Event-ID) gives the rest, then ends
    rest = [line.id async for line in tauro.runs.follow_logs(run.id, last_event_id=lines[1].id)]
    assert rest == [line.id for line in lines[2:]]

    batch = await tauro.runs.batch([{"project_id": project.id, "pipeline_id": "pipe_daily_etl",
                                     "params": {"date": f"2025-11-0{i}"}} for i in range(1, 4)])
    assert len(batch) == 3
    with pytest.raises(ValidationFailed) as bad:
        await tauro.runs.batch([{"project_id": project.id, "pipeline_id": "pipe_nope"}])
    assert bad.value.details[0].field is not None and bad.value.details[0].field.startswith("runs[0]")
    cancelled = await tauro.runs.cancel(batch[0].id)
    assert cancelled.state == "CANCELLED"
    retried = await tauro.runs.retry(batch[0].id, start=False)
    assert retried.tags["retry_of"] == batch[0].id and retried.params == {"date": "2025-11-01"}
    every = [r.id async for r in tauro.runs.iter(project_id=project.id, page_size=2)]  # cursor paging
    assert len(every) == len(set(every)) == 5
    assert (await tauro.runs.list(project_id=project.id, state="PENDING")).meta.total == 3


async def test_schedules_backfill_and_ticks(tauro: AsyncTauro) -> None:
    project = await tauro.projects.create("sched")
    schedule = await tauro.schedules.create(project.id, "pipe_daily_etl", "CRON", "0 2 * * *", enabled=False,
                                            params={"date": "{{ logical_date }}"})
    assert isinstance(schedule, Schedule) and schedule.enabled is False
    assert (await tauro.schedules.get(schedule.id)).expression == "0 2 * * *"
    assert (await tauro.schedules.update(schedule.id, description="nightly")).description == "nightly"
    assert (await tauro.schedules.enable(schedule.id)).enabled is True
    assert (await tauro.schedules.disable(schedule.id)).enabled is False
    dry = await tauro.schedules.backfill(schedule.id, start="2025-11-01T00:00:00Z", end="2025-11-04T00:00:00Z",
                                         dry_run=True)
    assert isinstance(dry, BackfillResult) and dry.dry_run and dry.queued == 0 and dry.total == 3
    real = await tauro.schedules.backfill(schedule.id, count=2)
    assert real.queued == 2
    ticks = await tauro.schedules.ticks(schedule.id)
    assert ticks.meta.total >= 1
    assert [t.id async for t in tauro.schedules.iter_ticks(schedule.id)]
    assert (await tauro.schedules.list(project_id=project.id)).meta.total == 1
    assert [s.id async for s in tauro.schedules.iter(project_id=project.id)] == [schedule.id]
    assert (await tauro.schedules.delete(schedule.id)).deleted


async def test_streams_system_and_errors(tauro: AsyncTauro) -> None:
    started = await tauro.streams.run(config="streaming.yaml", pipeline="events_processor")
    assert isinstance(started, StreamExecution)
    assert (await tauro.streams.status(started.execution_id)).execution_id == started.execution_id
    assert started.execution_id in [e.execution_id for e in await tauro.streams.list()]
    stopped = await tauro.streams.stop(started.execution_id, timeout=5)
    assert stopped.execution_id == started.execution_id

    assert (await tauro.auth.whoami()).roles is not None
    with pytest.raises(Forbidden) as forbidden:  # authentication is off here: no key to exchange
        await tauro.auth.token()
    assert forbidden.value.code == "FORBIDDEN"

    assert isinstance(await tauro.health(), Health)
    info = await tauro.info()
    assert isinstance(info, Info) and info.api_prefix == "/api/v1"
    assert isinstance(await tauro.statistics(), PlatformStatistics)
    assert (await tauro.dead_letters.list()).meta.total == 0
    assert [d async for d in tauro.dead_letters.iter()] == []
    with pytest.raises(NotFound):
        await tauro.dead_letters.get("cmd_missing")
    with pytest.raises(ValidationFailed) as invalid:
        await tauro.runs.create("nope", "pipe_daily_etl")
    assert [d.field for d in invalid.value.details] == ["project_id"]


def test_rate_limited_carries_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "7"}, json={
        "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down", "details": []},
        "meta": {"request_id": "req_1", "timestamp": "2025-11-18T10:00:00Z", "version": "0.1.0"}})
    error = error_from_response(response)
    assert isinstance(error, RateLimited) and error.retry_after == 7 and error.request_id == "req_1"
    assert str(error) == "429 RATE_LIMIT_EXCEEDED: slow down"


def test_unreachable_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Tauro(f"http://127.0.0.1:{port}") as client, pytest.raises(Unreachable) as exc:
        client.info()
    assert str(exc.value).startswith(f"cannot reach http://127.0.0.1:{port}: ")


def test_base_url_and_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAURO_URL", "http://example.test:9000/api/v1/")
    monkeypatch.setenv("TAURO_TOKEN", "tok")
    monkeypatch.delenv("TAURO_API_KEY", raising=False)
    with Tauro() as client:
        assert client.base_url == "http://example.test:9000"
        assert client.http.headers["authorization"] == "Bearer tok"
    with Tauro(api_key="k") as client:
        assert client.http.headers["x-api-key"] == "k" and "authorization" not in client.http.headers


class LoopBridge(httpx.BaseTransport):
    """A sync transport that runs each request on the event loop of the in-process app."""

    def __init__(self, app_client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = app_client
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def forward() -> httpx.Response:
            response = await self._client.request(request.method, str(request.url), headers=request.headers,
                                                  content=request.read())
            return httpx.Response(response.status_code, headers=response.headers, content=response.content)

        return asyncio.run_coroutine_threadsafe(forward(), self._loop).result(timeout=60)


async def test_the_sync_client_too(api: httpx.AsyncClient) -> None:
    loop = asyncio.get_running_loop()

    def work() -> dict[str, Any]:
        with Tauro("http://tauro", transport=LoopBridge(api, loop)) as client:
            project = client.projects.create("sync")
            [pipe] = client.pipelines.apply(EXAMPLE, project="sync")
            run = client.runs.create(project.id, pipe.id, params={"date": "2025-11-19"}, start=True)
            lines = list(client.runs.follow_logs(run.id))
            final = client.runs.wait(run.id, timeout=60, poll_interval=0.2)
            return {"state": final.state, "lines": len(lines), "projects": [p.name for p in client.projects.iter()]}

    result = await asyncio.to_thread(work)
    assert result["state"] == "SUCCESS" and result["lines"] > 0 and result["projects"] == ["sync"]


async def test_example5_on_the_sdk(tauro: AsyncTauro, capsys: pytest.CaptureFixture[str]) -> None:
    from tauro_client.dsl import load_file

    example = load_file(ROOT / "examples" / "client" / "example5.py")
    final = await example.example(tauro)
    assert final.state == "SUCCESS"
    again = await example.example(tauro)  # the project exists now: reused
    assert again.project_id == final.project_id
    assert "Run completed with state: SUCCESS" in capsys.readouterr().out
