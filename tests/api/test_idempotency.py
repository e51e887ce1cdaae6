"""``Idempotency-Key`` is scoped to the caller and the route, and bound to the request body.

Same caller, same route, same key, same body: the same resource (as often as it is sent).
Same key with another body: 409 CONFLICT, nothing created. Another caller's use of the same
key is independent of it: it neither returns that caller's resource nor reveals its use.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings, issue_key, key_headers, make_project
from tests.api.test_streams import clean_events

API = "/api/v1"


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


@pytest.fixture
def admin(api_settings: Settings) -> dict[str, str]:
    return admin_headers(api_settings)


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def assert_key_conflict(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"]["code"] == "CONFLICT" and body["meta"]["request_id"]
    assert "Idempotency-Key" in body["error"]["message"]
    assert body["error"]["details"][0]["field"] == "Idempotency-Key"


def ident(data: Any) -> Any:
    """What names the resource an answer is about."""
    if isinstance(data, list):
        return [ident(d) for d in data]
    return next(data[k] for k in ("backfill_id", "execution_id", "id") if k in data)


async def total_runs(api: httpx.AsyncClient, admin: dict[str, str]) -> int:
    return int((await api.get(f"{API}/runs", headers=admin)).json()["meta"]["total"])


async def test_same_key_same_body_same_run_and_another_body_is_a_conflict(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    project = await make_project(api, admin)
    body = {"project_id": project["id"], "pipeline_id": "daily_etl", "params": {"date": "2025-01-02"}}
    headers = with_key(admin, "create-1")
    first = await api.post(f"{API}/runs", json=body, headers=headers)
    again = await api.post(f"{API}/runs", json=dict(reversed(body.items())), headers=headers)  # same body
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    changed = await api.post(f"{API}/runs", json={**body, "params": {"date": "2025-01-03"}}, headers=headers)
    assert_key_conflict(changed)
    assert_key_conflict(await api.post(f"{API}/runs", json={**body, "start": True}, headers=headers))
    assert await total_runs(api, admin) == 1
    assert (await api.post(f"{API}/runs", json=body, headers=headers)).status_code == 201  # still the same
    assert await total_runs(api, admin) == 1


async def test_keys_of_different_callers_are_independent(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    mine = await make_project(api, admin, "mine")
    theirs = await make_project(api, admin, "theirs")
    operator = key_headers((await issue_key(api, admin, ("operator", theirs["id"])))["key"])
    key = f"shared-{uuid.uuid4().hex}"

    theirs_run = await api.post(f"{API}/runs", json={"project_id": theirs["id"], "pipeline_id": "daily_etl"},
                                headers=with_key(operator, key))
    assert theirs_run.status_code == 201, theirs_run.text
    # The admin uses the same key for another project: a run of its own, not the operator's run.
    admin_run = await api.post(f"{API}/runs", json={"project_id": mine["id"], "pipeline_id": "daily_etl"},
                               headers=with_key(admin, key))
    assert admin_run.status_code == 201, admin_run.text
    assert admin_run.json()["data"]["id"] != theirs_run.json()["data"]["id"]
    assert admin_run.json()["data"]["project_id"] == mine["id"]

    # The operator reuses a key the admin used first: its own run, no 404 that reveals the admin's use.
    other_key = f"admin-first-{uuid.uuid4().hex}"
    first = await api.post(f"{API}/runs", json={"project_id": mine["id"], "pipeline_id": "daily_etl"},
                           headers=with_key(admin, other_key))
    assert first.status_code == 201
    second = await api.post(f"{API}/runs", json={"project_id": theirs["id"], "pipeline_id": "daily_etl"},
                            headers=with_key(operator, other_key))
    assert second.status_code == 201, second.text
    assert second.json()["data"]["project_id"] == theirs["id"]
    assert second.json()["data"]["id"] != first.json()["data"]["id"]
    # Each caller's retry still finds its own run.
    again = await api.post(f"{API}/runs", json={"project_id": mine["id"], "pipeline_id": "daily_etl"},
                           headers=with_key(admin, key))
    assert again.status_code == 201 and again.json()["data"]["id"] == admin_run.json()["data"]["id"]
    again = await api.post(f"{API}/runs", json={"project_id": theirs["id"], "pipeline_id": "daily_etl"},
                           headers=with_key(operator, key))
    assert again.status_code == 201 and again.json()["data"]["id"] == theirs_run.json()["data"]["id"]
    assert await total_runs(api, admin) == 4


async def test_the_same_key_on_another_route_is_another_resource(api: httpx.AsyncClient,
                                                                  admin: dict[str, str]) -> None:
    project = await make_project(api, admin)
    key = with_key(admin, "k")
    run = await api.post(f"{API}/runs", json={"project_id": project["id"], "pipeline_id": "daily_etl"}, headers=key)
    schedule = await api.post(f"{API}/schedules", headers=key, json={
        "project_id": project["id"], "pipeline_id": "daily_etl", "kind": "CRON", "expression": "0 2 * * *"})
    assert run.status_code == schedule.status_code == 201, schedule.text


async def test_batch_schedule_project_pipeline_backfill_and_stream_bind_the_key_to_the_body(
    api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    async def twice(path: str, body: dict[str, Any], other: dict[str, Any], ok: int = 201) -> Any:
        headers = with_key(admin, f"{path}-{uuid.uuid4().hex}")
        first = await api.post(f"{API}{path}", json=body, headers=headers)
        again = await api.post(f"{API}{path}", json=body, headers=headers)
        assert first.status_code == again.status_code == ok, again.text
        assert ident(first.json()["data"]) == ident(again.json()["data"])
        assert_key_conflict(await api.post(f"{API}{path}", json=other, headers=headers))
        return first.json()["data"]

    project = await twice("/projects", {"name": "p1"}, {"name": "p2"})
    assert [p["name"] for p in (await api.get(f"{API}/projects", headers=admin)).json()["data"]] == ["p1"]
    pid = project["id"]
    nodes = [{"id": "a", "type": "processor", "config": {"operation": "deduplicate"}}]
    await twice(f"/projects/{pid}/pipelines", {"name": "x", "nodes": nodes}, {"name": "y", "nodes": nodes})
    run = {"project_id": pid, "pipeline_id": "daily_etl"}
    batch = await twice("/runs/batch", {"runs": [run, run]}, {"runs": [run, run, run]})
    assert len(batch) == 2 and await total_runs(api, admin) == 2
    schedule = {"project_id": pid, "pipeline_id": "daily_etl", "kind": "CRON", "expression": "0 2 * * *"}
    created = await twice("/schedules", schedule, {**schedule, "expression": "0 3 * * *"})
    await twice(f"/schedules/{created['id']}/backfill", {"count": 2}, {"count": 3}, ok=202)
    name = f"t{uuid.uuid4().hex[:8]}"
    stream = await twice("/stream/run", {"definition": clean_events(name)},
                         {"definition": clean_events(name, key_field="event_id")}, ok=202)
    assert (await api.post(f"{API}/stream/stop", json={"execution_id": stream["execution_id"]},
                           headers=admin)).status_code == 200
