"""A realistic walkthrough through the in-process platform (authentication on), every response
validated against the schema the OpenAPI document declares for its operation and status."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings
from tests.api.openapi_check import ResponseChecker

API = "/api/v1"
PIPELINE = {
    "name": "tiny", "description": "two shell steps",
    "nodes": [{"id": "a", "type": "shell", "config": {"command": "echo hello"}},
              {"id": "b", "type": "shell", "config": {"command": "echo world"}}],
    "edges": [{"from": "a", "to": "b"}],
}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


async def _until(api: httpx.AsyncClient, path: str, done: Any, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(300):
        data: dict[str, Any] = (await api.get(path, headers=headers)).json()["data"]
        if done(data):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never got there: {data}")


async def test_walkthrough_responses_match_the_declared_schemas(api: httpx.AsyncClient,
                                                                api_settings: Settings) -> None:
    checker = ResponseChecker((await api.get("/openapi.json")).json())
    api.event_hooks["response"].append(_reader(checker))
    h = admin_headers(api_settings)

    await api.get("/health")
    await api.get(f"{API}/info", headers=h)
    project = (await api.post(f"{API}/projects", json={"name": "walk", "owner": "me@x.org"}, headers=h)).json()["data"]
    pid = project["id"]
    await api.get(f"{API}/projects", headers=h)
    await api.get(f"{API}/projects/{pid}", headers=h)
    await api.get(f"{API}/projects/{pid}?fields=name", headers=h)
    await api.put(f"{API}/projects/{pid}", json={"description": "changed"}, headers=h)
    await api.get(f"{API}/projects/proj_missing", headers=h)
    await api.post(f"{API}/projects", json={"name": "walk"}, headers=h)  # 409
    await api.post(f"{API}/projects", content=b"{", headers={**h, "content-type": "application/json"})
    await api.get(f"{API}/projects?sort=-nope", headers=h)
    await api.get(f"{API}/projects")  # 401

    pipe = (await api.post(f"{API}/projects/{pid}/pipelines", json=PIPELINE, headers=h)).json()["data"]
    await api.post(f"{API}/pipelines", json={**PIPELINE, "name": "tiny2", "project_id": pid}, headers=h)
    await api.get(f"{API}/pipelines", headers=h)
    await api.get(f"{API}/projects/{pid}/pipelines", headers=h)
    await api.get(f"{API}/pipelines/{pipe['id']}", headers=h)
    await api.get(f"{API}/pipelines/{pipe['id']}/dag", headers=h)
    await api.put(f"{API}/pipelines/{pipe['id']}", json={**PIPELINE, "description": "v2"}, headers=h)
    await api.get(f"{API}/pipelines/{pipe['id']}/versions", headers=h)
    versions = (await api.get(f"{API}/config-versions", headers=h)).json()["data"]
    await api.get(f"{API}/config-versions/{versions[0]['id']}", headers=h)
    config = (await api.post(f"{API}/configs", json={**PIPELINE, "pipeline_id": pipe["id"], "name": None,
                                                      "description": "v3"}, headers=h)).json()["data"]
    await api.get(f"{API}/configs?pipeline_id={pipe['id']}", headers=h)
    await api.get(f"{API}/configs/{config['id']}", headers=h)
    await api.get(f"{API}/configs/{pipe['id']}@v99", headers=h)  # 404
    await api.post(f"{API}/configs", json={**PIPELINE, "pipeline_id": "pipe_missing"}, headers=h)  # 404

    run = (await api.post(f"{API}/runs", json={"project_id": pid, "pipeline_id": pipe["id"],
                                                "params": {"date": "2025-11-18"}}, headers=h)).json()["data"]
    await api.post(f"{API}/runs/{run['id']}/start", json={"timeout_seconds": 60}, headers=h)
    await _until(api, f"{API}/runs/{run['id']}", lambda r: r["state"] in ("SUCCESS", "FAILED"), h)
    await api.post(f"{API}/runs/{run['id']}/start", headers=h)  # 409
    await api.get(f"{API}/runs/{run['id']}?as_of=2", headers=h)
    await api.get(f"{API}/runs", headers=h)
    await api.get(f"{API}/runs?limit=1&state=success,failed", headers=h)
    await api.get(f"{API}/runs/{run['id']}/tasks", headers=h)
    await api.get(f"{API}/runs/{run['id']}/logs", headers=h)
    await api.get(f"{API}/runs/{run['id']}/events", headers=h)
    await api.get(f"{API}/logs?project_id={pid}&level=INFO", headers=h)
    await api.get(f"{API}/logs?run_id={run['id']}&limit=2&offset=1", headers=h)
    await api.get(f"{API}/logs?limit=500", headers=h)  # 422
    batch = (await api.post(f"{API}/runs/batch", json={"runs": [
        {"project_id": pid, "pipeline_id": pipe["id"]}, {"project_id": pid, "pipeline_id": "tiny2"}]},
        headers=h)).json()["data"]
    await api.post(f"{API}/runs/{batch[0]['id']}/cancel", json={"reason": "walkthrough"}, headers=h)
    await api.get(f"{API}/projects/{pid}/statistics", headers=h)
    await api.get(f"{API}/statistics", headers=h)

    schedule = (await api.post(f"{API}/schedules", json={
        "project_id": pid, "pipeline_id": pipe["id"], "kind": "CRON", "expression": "0 2 * * *",
        "config": {"max_concurrency": 1, "retry_on_failure": True}}, headers=h)).json()["data"]
    sid = schedule["id"]
    await api.get(f"{API}/schedules", headers=h)
    await api.get(f"{API}/schedules/{sid}", headers=h)
    await api.put(f"{API}/schedules/{sid}", json={"expression": "0 3 * * *"}, headers=h)
    await api.post(f"{API}/schedules/{sid}/disable", headers=h)
    await api.post(f"{API}/schedules/{sid}/enable", headers=h)
    await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 2, "dry_run": True}, headers=h)
    await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 2}, headers=h)
    await api.get(f"{API}/schedules/{sid}/ticks", headers=h)
    await api.delete(f"{API}/schedules/{sid}", headers=h)

    stream = (await api.post(f"{API}/stream/run", json={"config": "streaming.yaml", "pipeline": "events_processor"},
                             headers=h)).json()["data"]
    await api.get(f"{API}/stream/status", headers=h)
    await api.get(f"{API}/stream/status?execution_id={stream['execution_id']}", headers=h)
    await api.post(f"{API}/stream/stop", json={"execution_id": stream["execution_id"], "timeout": 5}, headers=h)

    key = (await api.post(f"{API}/api-keys", json={"name": "ci", "grants": [{"role": "viewer", "project_id": pid}]},
                          headers=h)).json()["data"]
    await api.get(f"{API}/api-keys", headers=h)
    await api.get(f"{API}/api-keys/{key['id']}", headers=h)
    await api.post(f"{API}/auth/token", headers=h)
    await api.get(f"{API}/auth/whoami", headers={"X-API-Key": key["key"]})
    await api.delete(f"{API}/projects/{pid}", headers={"X-API-Key": key["key"]})  # 403
    await api.delete(f"{API}/api-keys/{key['id']}", headers=h)
    await api.get(f"{API}/dead-letters", headers=h)
    await api.delete(f"{API}/pipelines/{pipe['id']}", headers=h)
    await api.delete(f"{API}/projects/{pid}", headers=h)

    assert not checker.problems, "\n".join(checker.problems)
    assert len(checker.checked) >= 50, sorted(checker.checked)


def _reader(checker: ResponseChecker) -> Any:
    async def hook(response: httpx.Response) -> None:
        await response.aread()
        checker.check(response)

    return hook
