"""Projects through the API: create, duplicate names, update, delete, statistics."""

from __future__ import annotations

import httpx

from tests.api.conftest import create_project

API = "/api/v1"


async def test_create_get_update_delete(api: httpx.AsyncClient) -> None:
    project = await create_project(api, "sales", description="d", owner="o@x.io", metadata={"team": "de"})
    got = (await api.get(f"{API}/projects/{project['id']}")).json()["data"]
    assert got["name"] == "sales" and got["metadata"] == {"team": "de"}
    updated = await api.put(f"{API}/projects/{project['id']}", json={"description": "new"})
    assert updated.status_code == 200
    assert updated.json()["data"]["description"] == "new"
    assert (await api.delete(f"{API}/projects/{project['id']}")).status_code == 200
    assert (await api.get(f"{API}/projects/{project['id']}")).status_code == 404
    again = await api.delete(f"{API}/projects/{project['id']}")
    assert again.status_code == 404


async def test_duplicate_name_is_conflict_and_name_is_free_after_delete(api: httpx.AsyncClient) -> None:
    project = await create_project(api, "dup")
    duplicate = await api.post(f"{API}/projects", json={"name": "DUP"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "CONFLICT"
    await api.delete(f"{API}/projects/{project['id']}")
    await create_project(api, "dup")


async def test_idempotency_key_returns_the_same_project(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-once"}
    first = await api.post(f"{API}/projects", json={"name": "once"}, headers=headers)
    second = await api.post(f"{API}/projects", json={"name": "once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    assert (await api.get(f"{API}/projects")).json()["meta"]["total"] == 1


async def test_update_unknown_project_is_404(api: httpx.AsyncClient) -> None:
    response = await api.put(f"{API}/projects/proj_missing", json={"description": "x"})
    assert response.status_code == 404


async def test_statistics_shape(api: httpx.AsyncClient) -> None:
    project = await create_project(api, "stats")
    stats = (await api.get(f"{API}/projects/{project['id']}/statistics")).json()["data"]
    assert stats["total_pipelines"] == 0 and stats["total_runs"] == 0
    platform = (await api.get(f"{API}/statistics")).json()["data"]
    assert platform["total_projects"] == 1
