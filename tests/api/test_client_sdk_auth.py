"""tauro-client with authentication on: API keys, bearer tokens, Unauthorized / Forbidden."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tauro_client import AsyncTauro, Forbidden, Unauthorized
from tauro_contracts.readmodels import ApiKey, IssuedApiKey, Token
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


async def test_keys_tokens_and_auth_errors(api: httpx.AsyncClient, api_settings: Settings) -> None:
    admin_key = admin_headers(api_settings)["X-API-Key"]
    async with AsyncTauro(http_client=api) as anonymous:
        with pytest.raises(Unauthorized) as unauthorized:
            await anonymous.projects.list()
        assert unauthorized.value.code == "UNAUTHORIZED" and unauthorized.value.status == 401

    async with AsyncTauro("http://tauro", api_key=admin_key, transport=api._transport) as admin:
        issued = await admin.api_keys.create("ci", [{"role": "viewer"}], idempotency_key="key-ci")
        assert isinstance(issued, IssuedApiKey) and issued.key
        assert (await admin.api_keys.get(issued.id)).name == "ci"
        assert issued.id in [k.id async for k in admin.api_keys.iter()]
        assert (await admin.api_keys.list(revoked=False)).meta.total >= 1
        token = await admin.auth.token()
        assert isinstance(token, Token) and token.token_type == "bearer"

    async with AsyncTauro("http://tauro", api_key=issued.key, transport=api._transport) as viewer:
        assert (await viewer.auth.whoami()).key_id == issued.id
        with pytest.raises(Forbidden) as forbidden:
            await viewer.projects.create("not-allowed")
        assert forbidden.value.code == "FORBIDDEN"

    async with AsyncTauro("http://tauro", token=token.access_token, transport=api._transport) as bearer:
        whoami = await bearer.auth.whoami()
        assert whoami.method == "bearer" or whoami.method == "token" or whoami.method == "jwt"
        assert (await bearer.projects.create("by-token")).name == "by-token"

    async with AsyncTauro("http://tauro", api_key=admin_key, transport=api._transport) as admin:
        revoked = await admin.api_keys.revoke(issued.id)
        assert isinstance(revoked, ApiKey) and revoked.revoked
