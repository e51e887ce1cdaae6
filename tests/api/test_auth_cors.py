"""CORS with authentication on: preflights need no credentials, refusals still carry the CORS
and security headers, and a wildcard origin is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from tauro_platform.settings import Settings

from tests.api.auth_support import auth_settings
from tests.api.conftest import embedded_settings

ORIGIN = "http://localhost:3000"


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path, cors_allow_origins=[ORIGIN], cors_allow_credentials=True)


async def test_preflight_needs_no_credentials_and_refusals_carry_cors_headers(api: httpx.AsyncClient) -> None:
    preflight = await api.options("/api/v1/projects", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-API-Key, Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    refused = await api.get("/api/v1/projects", headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert refused.headers["x-frame-options"] == "DENY" and "default-src 'none'" in refused.headers[
        "content-security-policy"]
    stranger = await api.options("/api/v1/projects", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in stranger.headers


def test_a_wildcard_origin_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="explicit allow-list"):
        embedded_settings(tmp_path, cors_allow_origins=["*"], cors_allow_credentials=True)
