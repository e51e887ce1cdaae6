"""API keys and bearer tokens on the embedded platform with authentication on: what is
accepted, and everything that must be refused with 401."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from tauro_platform import apikeys
from tauro_platform.settings import Settings

from tests.api.auth_support import SECRET, admin_headers, auth_settings, issue_key, key_headers, make_project

WHOAMI = "/api/v1/auth/whoami"


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


@pytest.fixture
def admin(api_settings: Settings) -> dict[str, str]:
    return admin_headers(api_settings)


def assert_unauthorized(response: httpx.Response, message: str | None = None) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"]["code"] == "UNAUTHORIZED" and body["meta"]["request_id"]
    assert response.headers["www-authenticate"].startswith("Bearer realm=\"tauro\"")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    if message is not None:
        assert message in body["error"]["message"]


async def token_for(api: httpx.AsyncClient, key: str) -> str:
    response = await api.post("/api/v1/auth/token", headers=key_headers(key))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["token_type"] == "bearer" and 0 <= data["expires_in"] <= 900
    return data["access_token"]  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(key_id: str, **changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "iss": f"tauro:{apikeys.deployment_tag(SECRET)}", "aud": "tauro-api", "sub": key_id, "roles": ["admin"],
        "iat": now, "nbf": now, "exp": now + timedelta(minutes=5), "jti": "t"}
    base.update(changes)
    return base


async def test_requests_without_credentials_get_401(api: httpx.AsyncClient) -> None:
    assert_unauthorized(await api.get("/api/v1/projects"), "authentication required")
    assert_unauthorized(await api.post("/api/v1/projects", content=b"{not json"))  # 401 before parsing
    assert_unauthorized(await api.get("/api/v1/no-such-route"))
    assert (await api.get("/health")).status_code in (200, 503)
    assert (await api.get("/openapi.json")).status_code == 200


async def test_bootstrap_admin_key_and_issued_keys(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    me = (await api.get(WHOAMI, headers=admin)).json()["data"]
    assert me["roles"] == ["admin"] and me["method"] == "api_key" and me["actor"].startswith("key:key_")
    project = await make_project(api, admin)
    issued = await issue_key(api, admin, ("viewer", project["id"]), name="dashboards")
    assert issued["key"].startswith(f"tauro_{apikeys.deployment_tag(SECRET)}_")
    listed = (await api.get("/api/v1/api-keys", headers=admin)).json()["data"]
    assert {k["name"] for k in listed} == {"bootstrap-admin", "dashboards"}
    text = str(listed) + (await api.get(f"/api/v1/api-keys/{issued['id']}", headers=admin)).text
    assert issued["key"] not in text and "key_hash" not in text  # shown once, never stored in the clear
    me = (await api.get(WHOAMI, headers=key_headers(issued["key"]))).json()["data"]
    assert me["roles"] == [f"viewer:{project['id']}"]


async def test_bad_and_foreign_keys_are_refused(api: httpx.AsyncClient) -> None:
    assert_unauthorized(await api.get(WHOAMI, headers=key_headers("not-a-key")), "invalid API key")
    forged = apikeys.new_key(SECRET).key  # right format and deployment, never issued
    assert_unauthorized(await api.get(WHOAMI, headers=key_headers(forged)), "invalid API key")
    foreign = apikeys.new_key("another-deployment-secret-" + "x" * 20).key
    assert_unauthorized(await api.get(WHOAMI, headers=key_headers(foreign)), "another Tauro deployment")


async def test_tokens_work_until_refused(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    token = await token_for(api, admin["X-API-Key"])
    me = (await api.get(WHOAMI, headers=bearer(token))).json()["data"]
    assert me["method"] == "token" and me["roles"] == ["admin"]
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience="tauro-api")
    assert decoded["sub"] == me["key_id"] and decoded["exp"] - decoded["iat"] == 900
    refresh = await api.post("/api/v1/auth/token", headers=bearer(token))
    assert refresh.status_code == 403  # a token cannot mint a longer-lived one


@pytest.mark.parametrize("case", ["expired", "wrong_signature", "alg_none", "alg_hs512", "wrong_audience",
                                  "wrong_issuer", "no_exp", "garbage", "basic_scheme", "unknown_key"])
async def test_bad_tokens_are_refused(api: httpx.AsyncClient, admin: dict[str, str], case: str) -> None:
    key_id = (await api.get(WHOAMI, headers=admin)).json()["data"]["key_id"]
    past = datetime.now(UTC) - timedelta(hours=1)
    tokens = {
        "expired": jwt.encode(claims(key_id, iat=past, nbf=past, exp=past + timedelta(minutes=5)), SECRET, "HS256"),
        "wrong_signature": jwt.encode(claims(key_id), "another-secret-" + "y" * 30, "HS256"),
        "alg_none": jwt.encode(claims(key_id), None, algorithm="none"),
        "alg_hs512": jwt.encode(claims(key_id), SECRET, "HS512"),
        "wrong_audience": jwt.encode(claims(key_id, aud="someone-else"), SECRET, "HS256"),
        "wrong_issuer": jwt.encode(claims(key_id, iss="tauro:00000000"), SECRET, "HS256"),
        "no_exp": jwt.encode({k: v for k, v in claims(key_id).items() if k != "exp"}, SECRET, "HS256"),
        "garbage": "abc.def.ghi",
        "unknown_key": jwt.encode(claims("key_0000000000000000"), SECRET, "HS256"),
    }
    headers = {"Authorization": f"Basic {admin['X-API-Key']}"} if case == "basic_scheme" else bearer(tokens[case])
    response = await api.get(WHOAMI, headers=headers)
    assert_unauthorized(response, "token expired" if case == "expired" else None)
    assert "invalid_token" in response.headers["www-authenticate"]


async def test_revoked_key_and_its_tokens_are_refused(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    issued = await issue_key(api, admin, ("operator", None))
    token = await token_for(api, issued["key"])
    assert (await api.get(WHOAMI, headers=bearer(token))).status_code == 200
    revoked = await api.delete(f"/api/v1/api-keys/{issued['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["data"]["revoked"] is True
    assert revoked.json()["data"]["revoked_by"] == (await api.get(WHOAMI, headers=admin)).json()["data"]["actor"]
    assert_unauthorized(await api.get(WHOAMI, headers=key_headers(issued["key"])), "revoked")
    assert_unauthorized(await api.get(WHOAMI, headers=bearer(token)), "revoked")


async def test_expired_key_is_refused(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    issued = await issue_key(api, admin, ("viewer", None), expires_at=soon)
    token = await token_for(api, issued["key"])
    assert jwt.decode(token, options={"verify_signature": False})["exp"] <= datetime.fromisoformat(soon).timestamp()
    await asyncio.sleep(1.7)
    assert_unauthorized(await api.get(WHOAMI, headers=key_headers(issued["key"])), "expired")
    past = await api.post("/api/v1/api-keys", headers=admin, json={
        "name": "x", "grants": [{"role": "viewer"}], "expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422


async def test_key_management_needs_a_global_admin(api: httpx.AsyncClient, admin: dict[str, str]) -> None:
    project = await make_project(api, admin)
    for grants in ((("admin", project["id"]),), (("operator", None),)):
        key = (await issue_key(api, admin, *grants))["key"]
        for method, path in (("GET", "/api/v1/api-keys"), ("POST", "/api/v1/api-keys")):
            response = await api.request(method, path, headers=key_headers(key),
                                         json={"name": "escalate", "grants": [{"role": "admin"}]})
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "FORBIDDEN"
    unknown = await api.post("/api/v1/api-keys", headers=admin,
                             json={"name": "x", "grants": [{"role": "viewer", "project_id": "proj_nope"}]})
    assert unknown.status_code == 422


async def test_the_caller_is_the_actor_of_its_commands_and_events(api: httpx.AsyncClient,
                                                                 admin: dict[str, str]) -> None:
    project = await make_project(api, admin)
    operator = await issue_key(api, admin, ("operator", project["id"]))
    token = await token_for(api, operator["key"])
    run = await api.post("/api/v1/runs", headers=bearer(token),
                         json={"project_id": project["id"], "pipeline_id": "daily_etl"})
    assert run.status_code == 201, run.text
    events = (await api.get(f"/api/v1/runs/{run.json()['data']['id']}/events", headers=admin)).json()["data"]
    assert events and {e["actor"] for e in events if e["type"] == "RunCreated"} == {f"key:{operator['id']}"}
    admin_actor = (await api.get(WHOAMI, headers=admin)).json()["data"]["actor"]
    assert project["created_by"] == admin_actor
