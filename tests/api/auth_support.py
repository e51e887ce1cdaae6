"""Helpers for API tests with authentication on: settings with a secret and a bootstrap admin
key, and issuing keys through the API.

A test module turns authentication on for its ``api`` fixture by overriding
``api_settings``::

    @pytest.fixture
    def api_settings(tmp_path: Path) -> Settings:
        return auth_settings(tmp_path)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from tauro_platform import apikeys
from tauro_platform.settings import Settings

from tests.api.conftest import embedded_settings

SECRET = "tauro-test-secret-" + "s3cr3t" * 8


def auth_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"enable_auth": True, "secret_key": SECRET,
                              "tauro_admin_api_key": apikeys.new_key(SECRET).key, "rate_limit_requests": 100_000,
                              "rate_limit_auth_failures": 100_000}  # test_rate_limit.py sets small limits
    values.update(overrides)
    settings = embedded_settings(tmp_path, **values)
    settings.check_for_production()
    return settings


def admin_headers(settings: Settings) -> dict[str, str]:
    assert settings.tauro_admin_api_key is not None
    return {"X-API-Key": settings.tauro_admin_api_key.get_secret_value()}


def key_headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def issue_key(api: httpx.AsyncClient, admin: dict[str, str], *grants: tuple[str, str | None],
                    **extra: Any) -> dict[str, Any]:
    """Issue a key with ``(role, project_id)`` grants; returns its record plus ``key``."""
    body = {"name": extra.pop("name", "test-key"),
            "grants": [{"role": role, "project_id": project} for role, project in grants], **extra}
    response = await api.post("/api/v1/api-keys", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def make_project(api: httpx.AsyncClient, headers: dict[str, str], name: str = "analytics") -> dict[str, Any]:
    response = await api.post("/api/v1/projects", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
