"""Pipelines through the API: validation details, DAG layers, versions, discovery."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import create_project

API = "/api/v1"


def pipeline(name: str = "etl", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "nodes": [{"id": "a", "type": "source"}, {"id": "b", "type": "processor"}, {"id": "c", "type": "processor"},
                  {"id": "d", "type": "sink"}],
        "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}, {"from": "b", "to": "d"},
                  {"from": "c", "to": "d"}],
        "config": {"max_parallelism": 2, "retry_policy": {"max_attempts": 3, "backoff_seconds": 1}},
    }
    body.update(changes)
    return body


async def test_create_pipeline_and_dag_layers(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    created = await api.post(f"{API}/projects/{project['id']}/pipelines", json=pipeline())
    assert created.status_code == 201, created.text
    pipe = created.json()["data"]
    assert pipe["version"] == 1 and pipe["project_id"] == project["id"]
    dag = (await api.get(f"{API}/pipelines/{pipe['id']}/dag")).json()["data"]
    assert dag["layers"] == [["a"], ["b", "c"], ["d"]]
    listed = (await api.get(f"{API}/pipelines?project_id={project['id']}")).json()
    assert listed["meta"]["total"] == 1


async def test_invalid_dags_get_field_details_and_change_nothing(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    cases = {
        "cycle": pipeline(edges=[{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]),
        "unknown": pipeline(edges=[{"from": "a", "to": "zzz"}]),
        "duplicate": pipeline(nodes=[{"id": "a", "type": "source"}, {"id": "a", "type": "sink"}], edges=[]),
        "empty": pipeline(nodes=[], edges=[]),
    }
    expected_fields = {"cycle": "edges", "unknown": "edges[0].to", "duplicate": "nodes[1].id", "empty": "nodes"}
    for case, body in cases.items():
        response = await api.post(f"{API}/pipelines", json={**body, "project_id": project["id"]})
        assert response.status_code == 422, (case, response.text)
        fields = [d["field"] for d in response.json()["error"]["details"]]
        assert expected_fields[case] in fields, (case, fields)
    listed = (await api.get(f"{API}/pipelines?project_id={project['id']}")).json()
    assert listed["meta"]["total"] == 0


async def test_unknown_project_and_bad_node_type(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{API}/pipelines", json={**pipeline(), "project_id": "proj_missing"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "project_id"
    bad_type = pipeline(nodes=[{"id": "a", "type": "teleport"}], edges=[])
    response = await api.post(f"{API}/pipelines", json={**bad_type, "project_id": "proj_missing"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "nodes[0].type"


async def test_duplicate_pipeline_name_in_project_is_conflict(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    url = f"{API}/projects/{project['id']}/pipelines"
    assert (await api.post(url, json=pipeline("same"))).status_code == 201
    assert (await api.post(url, json=pipeline("same"))).status_code == 409


async def test_each_change_is_a_config_version(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    pipe = (await api.post(f"{API}/projects/{project['id']}/pipelines", json=pipeline())).json()["data"]
    changed = await api.put(f"{API}/pipelines/{pipe['id']}", json=pipeline(description="v2"))
    assert changed.json()["data"]["version"] == 2
    unchanged = await api.put(f"{API}/pipelines/{pipe['id']}", json=pipeline(description="v2"))
    assert unchanged.json()["data"]["version"] == 2
    versions = (await api.get(f"{API}/config-versions?pipeline_id={pipe['id']}&sort=version")).json()
    assert [v["version"] for v in versions["data"]] == [1, 2]
    one = await api.get(f"{API}/config-versions/{pipe['id']}@v1")
    assert one.status_code == 200 and one.json()["data"]["description"] == ""


async def test_discovered_example_pipeline_is_in_the_catalog(api: httpx.AsyncClient) -> None:
    found = (await api.get(f"{API}/pipelines?name=daily_etl")).json()["data"]
    assert len(found) == 1
    assert found[0]["id"] == "pipe_daily_etl" and found[0]["source"].startswith("file:")


async def test_deleting_a_project_deletes_its_pipelines(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    pipe = (await api.post(f"{API}/projects/{project['id']}/pipelines", json=pipeline())).json()["data"]
    assert (await api.delete(f"{API}/projects/{project['id']}")).status_code == 200
    assert (await api.get(f"{API}/pipelines/{pipe['id']}")).status_code == 404
