"""Pipelines defined through the API: code-running nodes need a global admin, and file paths
cannot leave the executor's folders."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings, issue_key, key_headers, make_project


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


def pipeline(name: str, node: dict[str, object]) -> dict[str, object]:
    return {"name": name, "nodes": [{"id": "n", **node}]}


async def test_code_nodes_need_a_global_admin(api: httpx.AsyncClient, api_settings: Settings) -> None:
    admin = admin_headers(api_settings)
    project = (await make_project(api, admin))["id"]
    project_admin = key_headers((await issue_key(api, admin, ("admin", project)))["key"])
    url = f"/api/v1/projects/{project}/pipelines"
    for node in ({"type": "shell", "config": {"command": "cat /etc/passwd"}},
                 {"type": "python", "config": {"callable": "os:system"}}):
        refused = await api.post(url, json=pipeline(f"code-{node['type']}", node), headers=project_admin)
        assert refused.status_code == 403, refused.text
        accepted = await api.post(url, json=pipeline(f"code-{node['type']}", node), headers=admin)
        assert accepted.status_code == 201, accepted.text
    source = {"type": "source", "config": {"format": "csv", "path": "examples/data/orders.csv"}}
    created = await api.post(url, json=pipeline("plain", source), headers=project_admin)
    assert created.status_code == 201, created.text
    changed = await api.put(f"/api/v1/pipelines/{created.json()['data']['id']}",
                            json=pipeline("plain", {"type": "shell", "config": {"command": "id"}}),
                            headers=project_admin)
    assert changed.status_code == 403


@pytest.mark.parametrize("node", [
    {"type": "source", "config": {"format": "csv", "path": "/etc/passwd"}},
    {"type": "sink", "config": {"format": "csv", "path": "{{ output_dir }}/../../home/x.csv"}},
    {"type": "sink", "config": {"format": "csv", "path": "{{ output_dir }}/{{ where }}.csv"}},
    {"type": "shell", "config": {"command": "true", "cwd": "/"}},
    {"type": "python", "config": {"callable": "../../elsewhere.py:main"}},
])
async def test_paths_leaving_their_folders_are_refused(
    api: httpx.AsyncClient, api_settings: Settings, node: dict[str, object]
) -> None:
    admin = admin_headers(api_settings)
    project = (await make_project(api, admin))["id"]
    response = await api.post("/api/v1/pipelines", json={**pipeline("escape", node), "project_id": project},
                              headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["type"] == "unsafe_path"
