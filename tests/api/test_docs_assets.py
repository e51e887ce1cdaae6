"""The docs pages name only the gateway's own assets (no CDN), which it serves; with auth on
they stay public. The pages themselves are tested in a browser in tests/browser."""

from __future__ import annotations

import re

import httpx
import pytest
from tauro_gateway.docs import ASSET_FILES, ASSETS_URL

from tests.api.auth_support import auth_settings


@pytest.fixture
def api_settings(tmp_path):  # type: ignore[no-untyped-def]
    return auth_settings(tmp_path)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_use_local_assets_only(api: httpx.AsyncClient, page: str) -> None:
    response = await api.get(page)  # no credentials, auth on
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", response.text)
    urls += re.findall(r"""(?:url|spec-url)\s*:\s*["']([^"']+)""", response.text)
    assert urls
    outside = [u for u in urls if "//" in u]
    assert outside == [], f"{page} names assets outside the gateway: {outside}"
    assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_docs_assets_are_served(api: httpx.AsyncClient) -> None:
    for name in ASSET_FILES:
        response = await api.get(f"{ASSETS_URL}/{name}")
        assert response.status_code == 200, name
        assert len(response.content) > 1000, name
    assert (await api.get(f"{ASSETS_URL}/missing.js")).status_code == 404
