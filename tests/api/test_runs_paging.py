"""Cursor paging of ``GET /runs``: the cursor follows the requested sort with the run id as
tie-breaker, so walking every page gives each run once, even while runs are being created."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.api.conftest import create_project

API = "/api/v1"
SORTS = ["-created_at", "created_at", "state", "-state", "started_at", "-started_at", "state,-created_at"]


async def _run(api: httpx.AsyncClient, project_id: str) -> dict[str, Any]:
    response = await api.post(f"{API}/runs", json={"project_id": project_id, "pipeline_id": "daily_etl"})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def _walk(api: httpx.AsyncClient, project_id: str, sort: str, limit: int) -> list[dict[str, Any]]:
    """Every page of the sort, creating a run before each next page (concurrent inserts)."""
    params: dict[str, Any] = {"limit": limit, "sort": sort, "project_id": project_id}
    body = (await api.get(f"{API}/runs", params=params)).json()
    walked = list(body["data"])
    for _ in range(100):
        if "next_cursor" not in body["meta"]:
            return walked
        await _run(api, project_id)
        response = await api.get(f"{API}/runs", params={**params, "cursor": body["meta"]["next_cursor"]})
        assert response.status_code == 200, response.text
        body = response.json()
        walked += body["data"]
    raise AssertionError("the walk did not end")


def _key(run: dict[str, Any], sort: str) -> tuple[Any, ...]:
    """The run's position in ``sort``: nulls first ascending (MongoDB's order), id breaks ties."""
    key: list[Any] = []
    for part in sort.split(","):
        name, desc = (part[1:], True) if part.startswith("-") else (part, False)
        value = run.get(name)
        rank = (0, "") if value is None else (1, value)
        key.append(_Reversed(rank) if desc else rank)
    last_desc = sort.split(",")[-1].startswith("-")
    key.append(_Reversed(run["id"]) if last_desc else run["id"])
    return tuple(key)


class _Reversed:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


async def test_walking_pages_gives_every_run_once_while_runs_are_created(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    runs = [await _run(api, project["id"]) for _ in range(10)]
    for run in runs[:3]:  # different states (and ties within each): PENDING, CANCELLED, queued ones
        assert (await api.post(f"{API}/runs/{run['id']}/cancel")).status_code == 200
    for sort in SORTS:
        before = {r["id"] for r in (await api.get(f"{API}/runs", params={
            "project_id": project["id"], "limit": 100})).json()["data"]}
        walked = await _walk(api, project["id"], sort, limit=3)
        ids = [r["id"] for r in walked]
        assert len(ids) == len(set(ids)), f"{sort}: a run came twice"
        assert before <= set(ids), f"{sort}: skipped {before - set(ids)}"
        old = [r for r in walked if r["id"] in before]
        assert old == sorted(old, key=lambda r: _key(r, sort)), f"{sort}: pages out of order"


async def test_cursor_of_another_sort_or_garbage_is_a_validation_error(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    for _ in range(3):
        await _run(api, project["id"])
    first = (await api.get(f"{API}/runs", params={"limit": 2, "sort": "created_at"})).json()
    cursor = first["meta"]["next_cursor"]
    same = await api.get(f"{API}/runs", params={"limit": 2, "sort": "created_at", "cursor": cursor})
    assert same.status_code == 200 and len(same.json()["data"]) == 1
    assert "next_cursor" not in same.json()["meta"]
    forged = base64.urlsafe_b64encode(json.dumps({"s": [["created_at", 1]], "v": [{"$gt": 1}],
                                                  "id": "run_x"}).encode()).decode()
    for params in ({"sort": "-created_at", "cursor": cursor}, {"cursor": cursor}, {"cursor": "!!!"},
                   {"cursor": base64.urlsafe_b64encode(b"12").decode()}, {"cursor": forged}):
        response = await api.get(f"{API}/runs", params={"limit": 2, **params})
        assert response.status_code == 422, (params, response.text)
        body = response.json()
        assert body["error"]["code"] == "VALIDATION_ERROR" and body["meta"]["request_id"]
        assert body["error"]["details"][0]["field"] == "cursor"


@pytest.mark.parametrize("limit", [1, 4])
async def test_default_sort_walk_is_newest_first(api: httpx.AsyncClient, limit: int) -> None:
    project = await create_project(api)
    ids = [(await _run(api, project["id"]))["id"] for _ in range(5)]
    walked = await _walk(api, project["id"], "-created_at", limit)
    assert [r["id"] for r in walked] == list(reversed(ids))  # runs created during the walk come first, unseen
