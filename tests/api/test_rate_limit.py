"""Rate limits: ``RATE_LIMIT_REQUESTS`` per ``RATE_LIMIT_WINDOW`` seconds per API key (its tokens
included), or per client address when authentication is off; 429 RATE_LIMIT_EXCEEDED with
``Retry-After``, and a fresh budget once the window turns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings, issue_key, key_headers
from tests.api.conftest import embedded_settings

LIMIT, WINDOW = 5, 2
WHOAMI = "/api/v1/auth/whoami"


async def wait_for_window_start() -> None:
    """Start at the beginning of a window, so a test's burst does not straddle two."""
    await asyncio.sleep(WINDOW - time.time() % WINDOW + 0.05)


def assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-request-id"]
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW
    return retry_after


class TestPerKey:
    @pytest.fixture
    def api_settings(self, tmp_path: Path) -> Settings:
        return auth_settings(tmp_path, rate_limit_requests=LIMIT, rate_limit_window=WINDOW)

    async def test_the_request_after_the_limit_gets_429_until_the_window_resets(
        self, api: httpx.AsyncClient, api_settings: Settings
    ) -> None:
        admin = admin_headers(api_settings)
        key = key_headers((await issue_key(api, admin, ("viewer", None)))["key"])
        await wait_for_window_start()
        remaining = []
        for _ in range(LIMIT):
            response = await api.get(WHOAMI, headers=key)
            assert response.status_code == 200, response.text
            remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert remaining == list(range(LIMIT - 1, -1, -1))
        retry_after = assert_limited(await api.get(WHOAMI, headers=key))
        assert (await api.get(WHOAMI, headers=admin)).status_code == 200  # another key has its own budget
        assert (await api.get("/health")).status_code in (200, 503)  # probes are not limited
        await asyncio.sleep(retry_after + 0.05)
        assert (await api.get(WHOAMI, headers=key)).status_code == 200

    async def test_a_keys_tokens_share_its_budget(self, api: httpx.AsyncClient, api_settings: Settings) -> None:
        admin = admin_headers(api_settings)
        key = key_headers((await issue_key(api, admin, ("viewer", None)))["key"])
        await wait_for_window_start()
        token = (await api.post("/api/v1/auth/token", headers=key)).json()["data"]["access_token"]
        for _ in range(LIMIT - 1):
            assert (await api.get(WHOAMI, headers={"Authorization": f"Bearer {token}"})).status_code == 200
        assert_limited(await api.get(WHOAMI, headers=key))


class TestPerAddressWithoutAuth:
    @pytest.fixture
    def api_settings(self, tmp_path: Path) -> Settings:
        return embedded_settings(tmp_path, rate_limit_requests=LIMIT, rate_limit_window=WINDOW)

    async def test_anonymous_callers_are_limited_by_address(self, api: httpx.AsyncClient) -> None:
        await wait_for_window_start()
        for _ in range(LIMIT):
            assert (await api.get("/api/v1/projects")).status_code == 200
        retry_after = assert_limited(await api.get("/api/v1/projects"))
        await asyncio.sleep(retry_after + 0.05)
        assert (await api.get("/api/v1/projects")).status_code == 200


class TestFailedAuthenticationPerAddress:
    """``RATE_LIMIT_AUTH_FAILURES`` refused credentials per ``RATE_LIMIT_AUTH_WINDOW`` seconds per
    client address; beyond that every authenticated request from the address is 429 until the
    window turns, a right key included, so keys cannot be guessed at speed."""

    FAILURES = 3

    @pytest.fixture
    def api_settings(self, tmp_path: Path) -> Settings:
        return auth_settings(tmp_path, rate_limit_auth_failures=self.FAILURES, rate_limit_auth_window=WINDOW)

    async def test_too_many_refused_credentials_from_an_address_get_429(
        self, api: httpx.AsyncClient, api_settings: Settings
    ) -> None:
        admin = admin_headers(api_settings)
        transport = api._transport
        assert isinstance(transport, httpx.ASGITransport)
        elsewhere = httpx.AsyncClient(transport=httpx.ASGITransport(app=transport.app, client=("10.1.2.3", 40000)),
                                      base_url="http://tauro")
        wrong_key = key_headers("tauro_" + "x" * 40)
        await wait_for_window_start()
        for _ in range(5):  # no credentials at all guesses nothing: not counted
            assert (await api.get(WHOAMI)).status_code == 401
        assert (await api.get(WHOAMI, headers=wrong_key)).status_code == 401
        assert (await api.get(WHOAMI, headers={"Authorization": "Bearer not-a-token"})).status_code == 401
        assert (await api.get(WHOAMI, headers=admin)).status_code == 200  # successes do not count either
        assert (await api.post("/api/v1/auth/token", headers=wrong_key)).status_code == 401
        retry_after = assert_limited(await api.get(WHOAMI, headers=wrong_key))
        assert "authentication" in (await api.get(WHOAMI, headers=wrong_key)).json()["error"]["message"]
        assert_limited(await api.get(WHOAMI, headers=admin))  # the right key too: no guessing while blocked
        assert (await api.get("/health")).status_code in (200, 503)  # public routes stay open
        assert (await elsewhere.get(WHOAMI, headers=admin)).status_code == 200  # other addresses are not blocked
        assert (await elsewhere.get(WHOAMI, headers=wrong_key)).status_code == 401
        await elsewhere.aclose()
        await asyncio.sleep(retry_after + 0.05)
        assert (await api.get(WHOAMI, headers=admin)).status_code == 200
