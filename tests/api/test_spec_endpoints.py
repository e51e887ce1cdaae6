"""Endpoints as the spec shows them (issue 13, part 4): batch all-or-nothing, the project
object with its pipelines and statistics, a backfill dry run's would_create, run log paging,
the health checks the spec names, and 400 BAD_REQUEST for an unreadable body."""

from __future__ import annotations

import httpx

from tests.api.conftest import create_project

API = "/api/v1"


async def _runs_total(api: httpx.AsyncClient) -> int:
    return int((await api.get(f"{API}/runs")).json()["meta"]["total"])


async def test_batch_with_one_invalid_item_creates_nothing_and_names_it(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    good = {"project_id": project, "pipeline_id": "daily_etl"}
    response = await api.post(f"{API}/runs/batch", json={"runs": [
        good, {"project_id": project, "pipeline_id": "no_such_pipeline"}, good]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in error["details"]] == ["runs[1].pipeline_id"]
    assert await _runs_total(api) == 0
    wrong_type = await api.post(f"{API}/runs/batch", json={"runs": [good, {**good, "params": "x"}]})
    assert wrong_type.status_code == 422
    assert [d["field"] for d in wrong_type.json()["error"]["details"]] == ["runs[1].params"]
    assert await _runs_total(api) == 0
    created = await api.post(f"{API}/runs/batch", json={"runs": [good, good]})
    assert created.status_code == 201 and len(created.json()["data"]) == 2
    assert await _runs_total(api) == 2


async def test_project_shows_its_pipelines_and_statistics(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    pipeline = {"name": "mine", "nodes": [{"id": "a", "type": "shell", "config": {"command": "true"}}]}
    made = (await api.post(f"{API}/projects/{project}/pipelines", json=pipeline)).json()["data"]
    await api.post(f"{API}/runs", json={"project_id": project, "pipeline_id": made["id"]})
    data = (await api.get(f"{API}/projects/{project}")).json()["data"]
    assert data["pipelines"] == [{"id": made["id"], "name": "mine"}]
    assert data["statistics"]["total_pipelines"] == 1 and data["statistics"]["total_runs"] == 1
    assert data["statistics"]["runs_by_state"] == {"PENDING": 1}
    only = (await api.get(f"{API}/projects/{project}", params={"fields": "name"})).json()["data"]
    assert set(only) == {"id", "name"}


async def test_backfill_dry_run_says_would_create(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    schedule = (await api.post(f"{API}/schedules", json={
        "project_id": project, "pipeline_id": "daily_etl", "kind": "CRON", "expression": "0 2 * * *",
        "enabled": False})).json()["data"]
    dry = (await api.post(f"{API}/schedules/{schedule['id']}/backfill",
                          json={"count": 3, "dry_run": True})).json()["data"]
    assert dry["dry_run"] is True and dry["would_create"] == 3 and dry["queued"] == 0
    assert {r["status"] for r in dry["runs"]} == {"would_create"}


async def test_run_logs_page_default_50_max_100(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    run = (await api.post(f"{API}/runs", json={"project_id": project, "pipeline_id": "daily_etl"})).json()["data"]
    page = (await api.get(f"{API}/runs/{run['id']}/logs")).json()
    assert page["meta"]["limit"] == 50
    assert (await api.get(f"{API}/runs/{run['id']}/logs", params={"limit": 100})).status_code == 200
    too_many = await api.get(f"{API}/runs/{run['id']}/logs", params={"limit": 101})
    assert too_many.status_code == 422 and too_many.json()["error"]["details"][0]["field"] == "limit"


async def test_health_reports_database_and_scheduler(api: httpx.AsyncClient) -> None:
    checks = (await api.get("/health")).json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["scheduler"]["status"] in ("ok", "missing")
    assert {"bus", "event_store", "read_store", "services", "dead_letters"} <= set(checks)


async def test_unreadable_body_is_400_bad_request(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/runs", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST" and error["details"][0]["field"] == "body"
    invalid = await api.post(f"{API}/runs", json={"project_id": 3})
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "VALIDATION_ERROR"
