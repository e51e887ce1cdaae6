"""Every response is an envelope; client mistakes are 4xx with details and change nothing."""

from __future__ import annotations

import httpx

from tests.api.conftest import create_project

API = "/api/v1"


async def _project_count(api: httpx.AsyncClient) -> int:
    return int((await api.get(f"{API}/projects")).json()["meta"]["total"])


async def test_success_envelope_and_request_id_echo(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/projects", json={"name": "p1", "owner": "a@b.c"},
                              headers={"X-Request-ID": "req-abc-123"})
    assert response.status_code == 201
    body = response.json()
    assert body["data"]["id"].startswith("proj_")
    assert body["meta"]["request_id"] == "req-abc-123"
    assert response.headers["x-request-id"] == "req-abc-123"
    assert "timestamp" in body["meta"]


async def test_request_id_generated_when_absent_or_invalid(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/projects", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["x-request-id"].startswith("req_")
    assert response.json()["meta"]["request_id"] == response.headers["x-request-id"]


async def test_unknown_route_and_wrong_method(api: httpx.AsyncClient) -> None:
    missing = await api.get(f"{API}/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = await api.patch(f"{API}/projects")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_malformed_json_is_rejected_without_change(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/projects", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"
    assert error["details"][0]["field"] == "body"
    assert await _project_count(api) == 0


async def test_wrong_types_and_unknown_fields(api: httpx.AsyncClient) -> None:
    wrong = await api.post(f"{API}/projects", json={"name": 42})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["field"] == "name"
    unknown = await api.post(f"{API}/projects", json={"name": "ok", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "colour"
    assert await _project_count(api) == 0


async def test_oversize_body_is_413(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/projects", json={"name": "big", "description": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert await _project_count(api) == 0


async def test_bad_ids_are_validation_errors(api: httpx.AsyncClient) -> None:
    for path in (f"{API}/projects/123", f"{API}/pipelines/x!y", f"{API}/runs/proj_1"):
        response = await api.get(path)
        assert response.status_code == 422, path
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_not_found_envelope(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/projects/proj_doesnotexist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_list_paging_sorting_and_fields(api: httpx.AsyncClient) -> None:
    for i in range(5):
        await create_project(api, f"proj{i}", owner="team-a" if i % 2 else "team-b")
    first = (await api.get(f"{API}/projects?limit=2&offset=0&sort=name")).json()
    assert [p["name"] for p in first["data"]] == ["proj0", "proj1"]
    assert first["meta"] | {"timestamp": None, "request_id": None} == {
        "total": 5, "limit": 2, "offset": 0, "has_more": True, "timestamp": None, "request_id": None,
        "version": first["meta"]["version"],
    }
    last = (await api.get(f"{API}/projects?limit=2&offset=4&sort=-name")).json()
    assert [p["name"] for p in last["data"]] == ["proj0"]
    assert last["meta"]["has_more"] is False
    owned = (await api.get(f"{API}/projects?owner=team-a&fields=name")).json()
    assert owned["meta"]["total"] == 2
    assert all(set(p) == {"id", "name"} for p in owned["data"])
    assert (await api.get(f"{API}/projects?limit=101")).status_code == 422
    bad_sort = await api.get(f"{API}/projects?sort=-password")
    assert bad_sort.status_code == 422
    assert bad_sort.json()["error"]["details"][0]["field"] == "sort"


async def test_health_and_info(api: httpx.AsyncClient) -> None:
    health = await api.get("/health")
    assert health.status_code == 200
    checks = health.json()["checks"]
    assert {name: checks[name]["status"] for name in ("event_store", "read_store", "bus")} == dict.fromkeys(
        ("event_store", "read_store", "bus"), "ok")
    info = (await api.get(f"{API}/info")).json()["data"]
    assert info["mode"] == "embedded"
    assert "secret" not in str(info).lower()
    assert (await api.get("/openapi.json")).status_code == 200
    assert (await api.get("/docs")).status_code == 200
