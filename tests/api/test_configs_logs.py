"""``/configs`` (config management) and ``GET /logs`` (log lines of many runs; SSE with
``Last-Event-ID``), on the embedded platform (issue 13, part 4)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings, issue_key, key_headers, make_project

API = "/api/v1"
SHELL = {"nodes": [{"id": "say", "type": "shell", "config": {"command": "echo hello; echo world"}}]}
SOURCE = {"nodes": [{"id": "extract", "type": "source",
                     "config": {"format": "csv", "path": "examples/data/orders.csv"}}]}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


async def _pipeline(api: httpx.AsyncClient, h: dict[str, str], project: str, name: str) -> dict[str, Any]:
    response = await api.post(f"{API}/projects/{project}/pipelines", json={"name": name, **SHELL}, headers=h)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def _finished_run(api: httpx.AsyncClient, h: dict[str, str], project: str, pipeline: str) -> str:
    response = await api.post(f"{API}/runs", json={"project_id": project, "pipeline_id": pipeline, "start": True},
                              headers=h)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["data"]["id"]
    for _ in range(300):
        run = (await api.get(f"{API}/runs/{run_id}", headers=h)).json()["data"]
        if run["state"] in ("SUCCESS", "FAILED"):
            break
        await asyncio.sleep(0.1)
    assert run["state"] == "SUCCESS", run
    return run_id


def _events(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append(fields)
    return events


async def test_configs_list_read_and_create_a_version(api: httpx.AsyncClient, api_settings: Settings) -> None:
    h = admin_headers(api_settings)
    project = (await make_project(api, h))["id"]
    pipeline = await _pipeline(api, h, project, "configured")
    listed = (await api.get(f"{API}/configs", params={"pipeline_id": pipeline["id"]}, headers=h)).json()
    assert [v["id"] for v in listed["data"]] == [f"{pipeline['id']}@v1"] and listed["meta"]["total"] == 1
    changed = {**SHELL, "description": "now twice", "pipeline_id": pipeline["id"]}
    created = await api.post(f"{API}/configs", json=changed, headers=h)
    assert created.status_code == 201, created.text
    version = created.json()["data"]
    assert version["id"] == f"{pipeline['id']}@v2" and version["version"] == 2
    assert version["description"] == "now twice" and version["name"] == "configured"  # name kept
    same = (await api.get(f"{API}/configs/{version['id']}", headers=h)).json()["data"]
    assert same == version
    current = (await api.get(f"{API}/pipelines/{pipeline['id']}", headers=h)).json()["data"]
    assert current["version"] == 2 and current["description"] == "now twice"  # the same as PUT /pipelines/{id}
    newest = (await api.get(f"{API}/configs", params={"project_id": project}, headers=h)).json()["data"]
    assert [v["version"] for v in newest] == [2, 1]
    # errors, in the envelope
    missing = await api.post(f"{API}/configs", json={**SHELL, "pipeline_id": "pipe_nope"}, headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    bad = await api.post(f"{API}/configs", json={"pipeline_id": pipeline["id"], "nodes": "x"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "nodes"
    assert (await api.get(f"{API}/configs/{pipeline['id']}@v9", headers=h)).status_code == 404
    assert (await api.get(f"{API}/configs/not-a-version", headers=h)).status_code == 422


async def test_configs_follow_the_pipeline_project_grants(api: httpx.AsyncClient, api_settings: Settings) -> None:
    h = admin_headers(api_settings)
    a, b = (await make_project(api, h, "a"))["id"], (await make_project(api, h, "b"))["id"]
    mine, theirs = await _pipeline(api, h, a, "mine"), await _pipeline(api, h, b, "theirs")
    viewer = key_headers((await issue_key(api, h, ("viewer", a)))["key"])
    editor = key_headers((await issue_key(api, h, ("admin", a), name="editor"))["key"])
    seen = (await api.get(f"{API}/configs", params={"limit": 100}, headers=viewer)).json()["data"]
    assert mine["id"] in {v["pipeline_id"] for v in seen}
    assert theirs["id"] not in {v["pipeline_id"] for v in seen}  # the shared catalog's are shown too
    assert {v["project_id"] for v in seen} <= {a, None}
    assert (await api.get(f"{API}/configs/{theirs['id']}@v1", headers=viewer)).status_code == 404
    assert (await api.post(f"{API}/configs", json={**SHELL, "pipeline_id": mine["id"]},
                           headers=viewer)).status_code == 403
    assert (await api.post(f"{API}/configs", json={**SHELL, "pipeline_id": theirs["id"]},
                           headers=editor)).status_code == 404
    assert (await api.post(f"{API}/configs", json={**SHELL, "pipeline_id": mine["id"]},
                           headers=editor)).status_code == 403  # shell runs code: a global admin's
    assert (await api.post(f"{API}/configs", json={**SOURCE, "pipeline_id": mine["id"]},
                           headers=editor)).status_code == 201


async def test_logs_of_many_runs_page_filter_stream_and_scope(api: httpx.AsyncClient, api_settings: Settings) -> None:
    h = admin_headers(api_settings)
    a, b = (await make_project(api, h, "a"))["id"], (await make_project(api, h, "b"))["id"]
    pa, pb = await _pipeline(api, h, a, "pa"), await _pipeline(api, h, b, "pb")
    run_a1 = await _finished_run(api, h, a, pa["id"])
    run_a2 = await _finished_run(api, h, a, pa["id"])
    run_b = await _finished_run(api, h, b, pb["id"])
    everything = (await api.get(f"{API}/logs", params={"limit": 100}, headers=h)).json()
    lines = everything["data"]
    assert {line["run_id"] for line in lines} == {run_a1, run_a2, run_b}
    assert everything["meta"]["limit"] == 100 and everything["meta"]["total"] == len(lines)
    assert [line["seq"] for line in lines] == sorted(line["seq"] for line in lines)  # log order, across runs
    assert all(line["project_id"] in (a, b) and line["pipeline_id"] in (pa["id"], pb["id"]) for line in lines)
    default = (await api.get(f"{API}/logs", headers=h)).json()["meta"]
    assert default["limit"] == 50
    assert (await api.get(f"{API}/logs", params={"limit": 101}, headers=h)).status_code == 422
    only_a = (await api.get(f"{API}/logs", params={"project_id": a, "limit": 100}, headers=h)).json()["data"]
    assert {line["run_id"] for line in only_a} == {run_a1, run_a2}
    by_pipeline = (await api.get(f"{API}/logs", params={"pipeline_id": pb["id"]}, headers=h)).json()["data"]
    assert {line["run_id"] for line in by_pipeline} == {run_b}
    by_run = (await api.get(f"{API}/logs", params={"run_id": run_a2, "level": "ERROR"}, headers=h)).json()["data"]
    assert all(line["run_id"] == run_a2 and line["level"] in ("ERROR", "CRITICAL") for line in by_run)
    # a viewer of project A never sees B's lines, filtered or not
    viewer = key_headers((await issue_key(api, h, ("viewer", a)))["key"])
    scoped = (await api.get(f"{API}/logs", params={"limit": 100}, headers=viewer)).json()["data"]
    assert {line["run_id"] for line in scoped} == {run_a1, run_a2}
    assert (await api.get(f"{API}/logs", params={"project_id": b}, headers=viewer)).json()["data"] == []
    assert (await api.get(f"{API}/logs", params={"pipeline_id": pb["id"]}, headers=viewer)).json()["data"] == []
    assert (await api.get(f"{API}/logs", params={"run_id": run_b}, headers=viewer)).status_code == 404
    # SSE: one run's lines then `end`; resumed after Last-Event-ID
    sse = {**viewer, "Accept": "text/event-stream"}
    streamed = await api.get(f"{API}/logs", params={"run_id": run_a1}, headers=sse)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = _events(streamed.text)
    logs = [e for e in events if e["event"] == "log"]
    assert events[-1]["event"] == "end" and json.loads(events[-1]["data"])["state"] == "SUCCESS"
    assert [json.loads(e["data"])["seq"] for e in logs] == [e["id"] for e in logs]
    assert len(logs) == len([x for x in lines if x["run_id"] == run_a1])
    resumed = await api.get(f"{API}/logs", params={"run_id": run_a1}, headers={**sse, "Last-Event-ID": logs[1]["id"]})
    again = [e["id"] for e in _events(resumed.text) if e["event"] == "log"]
    assert again == [e["id"] for e in logs[2:]]
