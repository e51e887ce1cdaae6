"""Security across processes: the runs service and two gateway replicas on real Kafka and the
MongoDB-wire server, authentication on (the distributed default). A key issued through one
gateway works on the other, a revocation through one is refused by the other at once, a
token from one is honoured by the other, and the rate limit and the budget of failed
authentications per client address are each one budget across both."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from tauro_platform import apikeys

from tests.e2e.harness import Deployment, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
LIMIT, WINDOW = 8, 10
FAILURES = 4


def test_keys_tokens_revocation_and_rate_limits_are_shared_by_gateway_replicas(deployment: Deployment) -> None:
    secret = uuid.uuid4().hex * 2
    admin_key = apikeys.new_key(secret).key
    env = {"SECRET_KEY": secret, "TAURO_ADMIN_API_KEY": admin_key, "ENABLE_AUTH": "true",
           "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS": str(LIMIT), "RATE_LIMIT_WINDOW": str(WINDOW),
           "RATE_LIMIT_AUTH_FAILURES": str(FAILURES), "RATE_LIMIT_AUTH_WINDOW": str(WINDOW)}
    deployment.start("runs", **env)
    deployment.start("gateway", **env)
    second_port = free_port()
    deployment.start("gateway", instance="gateway-2", PORT=str(second_port), **env)
    one = httpx.Client(base_url=f"{deployment.url}/api/v1", timeout=30)
    two = httpx.Client(base_url=f"http://127.0.0.1:{second_port}/api/v1", timeout=30)
    admin = {"X-API-Key": admin_key}
    with one, two:
        for gateway in (one, two):
            refused = gateway.get("/projects")
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
        issued = one.post("/api-keys", headers=admin, json={"name": "ci", "grants": [{"role": "operator"}]})
        assert issued.status_code == 201, issued.text
        key = {"X-API-Key": issued.json()["data"]["key"]}
        assert two.get("/auth/whoami", headers=key).json()["data"]["roles"] == ["operator"]
        token = one.post("/auth/token", headers=key).json()["data"]["access_token"]
        assert two.get("/auth/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200

        # one budget of LIMIT requests per window for the key, counted on both gateways
        time.sleep(WINDOW - time.time() % WINDOW + 0.1)
        answers = [(one if i % 2 else two).get("/auth/whoami", headers=key).status_code for i in range(LIMIT + 2)]
        assert answers == [200] * LIMIT + [429, 429], answers
        limited = one.get("/auth/whoami", headers=key)
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= WINDOW

        revoked = two.delete(f"/api-keys/{issued.json()['data']['id']}", headers=admin)
        assert revoked.status_code == 200, revoked.text
        time.sleep(WINDOW - time.time() % WINDOW + 0.1)
        assert one.get("/auth/whoami", headers=key).status_code == 401
        assert one.get("/auth/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 401

        # refused credentials from this address: one budget of FAILURES on both gateways
        time.sleep(WINDOW - time.time() % WINDOW + 0.1)
        wrong = {"X-API-Key": apikeys.new_key(secret).key}  # well formed, never issued
        answers = [(one if i % 2 else two).get("/auth/whoami", headers=wrong).status_code
                   for i in range(FAILURES + 1)]
        assert answers == [401] * FAILURES + [429], answers
        blocked = one.get("/auth/whoami", headers=admin)  # a right key from the address too
        assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= WINDOW
        assert blocked.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
