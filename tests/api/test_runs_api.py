"""Runs through the API on the embedded platform: validation, listing, paging, time travel."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.conftest import create_project

API = "/api/v1"


async def _run(api: httpx.AsyncClient, project_id: str, **extra: object) -> dict:  # type: ignore[type-arg]
    response = await api.post(f"{API}/runs", json={"project_id": project_id, "pipeline_id": "daily_etl", **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_create_run_validation(api: httpx.AsyncClient) -> None:
    unknown_project = await api.post(f"{API}/runs", json={"project_id": "proj_nope", "pipeline_id": "daily_etl"})
    assert unknown_project.status_code == 422
    assert unknown_project.json()["error"]["details"][0] == {
        "field": "project_id", "message": "Project not found", "type": "not_found"}
    project = await create_project(api)
    unknown_pipeline = await api.post(f"{API}/runs", json={"project_id": project["id"], "pipeline_id": "nope"})
    assert unknown_pipeline.status_code == 422
    assert unknown_pipeline.json()["error"]["details"][0]["field"] == "pipeline_id"
    assert (await api.get(f"{API}/runs")).json()["meta"]["total"] == 0


async def test_run_document_and_illegal_transitions(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    run = await _run(api, project["id"], params={"date": "2025-01-02"}, tags={"env": "test"})
    assert run["state"] == "PENDING" and run["pipeline_id"] == "pipe_daily_etl"
    assert run["progress"] == {"total_tasks": 3, "completed_tasks": 0, "running_tasks": 0, "failed_tasks": 0,
                               "percent_complete": 0.0}
    cancelled = await api.post(f"{API}/runs/{run['id']}/cancel", json={"reason": "not needed"})
    assert cancelled.json()["data"]["state"] == "CANCELLED"
    assert (await api.post(f"{API}/runs/{run['id']}/start")).status_code == 409
    assert (await api.post(f"{API}/runs/{run['id']}/cancel")).status_code == 409
    assert (await api.post(f"{API}/runs/run_missing/start")).status_code == 404
    events = (await api.get(f"{API}/runs/{run['id']}/events")).json()["data"]
    assert [e["type"] for e in events] == ["RunCreated", "RunCancelled"]


async def test_time_travel_by_version_and_time(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    run = await _run(api, project["id"])
    await asyncio.sleep(0.05)
    cancelled = (await api.post(f"{API}/runs/{run['id']}/cancel")).json()["data"]
    by_version = (await api.get(f"{API}/runs/{run['id']}?as_of=1")).json()["data"]
    assert by_version["state"] == "PENDING" and by_version["version"] == 1
    by_time = (await api.get(f"{API}/runs/{run['id']}", params={"as_of": run["created_at"]})).json()["data"]
    assert by_time["state"] == "PENDING"
    now = (await api.get(f"{API}/runs/{run['id']}", params={"as_of": cancelled["updated_at"]})).json()["data"]
    assert now["state"] == "CANCELLED"
    before = await api.get(f"{API}/runs/{run['id']}", params={"as_of": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404
    assert (await api.get(f"{API}/runs/{run['id']}?as_of=yesterday")).status_code == 422


async def test_list_filters_and_cursor_paging(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    ids = [(await _run(api, project["id"], tags={"batch": "a" if i % 2 else "b"}))["id"] for i in range(5)]
    tagged = (await api.get(f"{API}/runs", params={"tag": "batch:a"})).json()
    assert tagged["meta"]["total"] == 2
    pending = (await api.get(f"{API}/runs", params={"state": "PENDING,RUNNING"})).json()
    assert pending["meta"]["total"] == 5
    assert (await api.get(f"{API}/runs", params={"state": "BOGUS"})).status_code == 422
    seen: list[str] = []
    page = (await api.get(f"{API}/runs", params={"limit": 2})).json()
    seen += [r["id"] for r in page["data"]]
    while "next_cursor" in page["meta"]:
        page = (await api.get(f"{API}/runs", params={"limit": 2, "cursor": page["meta"]["next_cursor"]})).json()
        seen += [r["id"] for r in page["data"]]
    assert seen == list(reversed(ids))
    assert (await api.get(f"{API}/runs", params={"cursor": "!!!"})).status_code == 422


async def test_batch_is_all_or_nothing_on_bad_input(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    bad = await api.post(f"{API}/runs/batch", json={"runs": [
        {"project_id": project["id"], "pipeline_id": "daily_etl"},
        {"project_id": "proj_missing", "pipeline_id": "daily_etl"}]})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "runs[1].project_id"
    assert (await api.get(f"{API}/runs")).json()["meta"]["total"] == 0
    good = await api.post(f"{API}/runs/batch", json={"runs": [
        {"project_id": project["id"], "pipeline_id": "daily_etl"}] * 3})
    assert good.status_code == 201 and len(good.json()["data"]) == 3


async def test_example_run_succeeds_and_statistics_agree(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    run = await _run(api, project["id"], params={"date": "2025-02-03"}, start=True)
    for _ in range(300):
        state = (await api.get(f"{API}/runs/{run['id']}")).json()["data"]["state"]
        if state in ("SUCCESS", "FAILED"):
            break
        await asyncio.sleep(0.1)
    assert state == "SUCCESS"
    logs = (await api.get(f"{API}/runs/{run['id']}/logs", params={"level": "INFO"})).json()
    assert logs["meta"]["total"] > 5
    stats = (await api.get(f"{API}/projects/{project['id']}/statistics")).json()["data"]
    assert stats["total_runs"] == 1 and stats["runs_by_state"] == {"SUCCESS": 1} and stats["success_rate"] == 1.0
