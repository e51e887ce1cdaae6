"""Notifications on the embedded platform, sent for real: an SMTP server (aiosmtpd) and an HTTP
receiver on loopback. Settings on runs, pipelines and schedules; what is sent, once; retries
while the SMTP server is down; ``GET /runs/{id}/notifications``; validation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_notifier.channels import webhook_secret
from tauro_notifier.domain.signature import HEADER, verify
from tauro_platform.settings import Settings

from tests.api.conftest import embedded_settings
from tests.notify_support import HookReceiver, SmtpSink

API = "/api/v1"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def hooks() -> Iterator[HookReceiver]:
    receiver = HookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def api_settings(tmp_path: Path, smtp: SmtpSink) -> Settings:
    return embedded_settings(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="tauro@example.com",
        notify_allow_private_webhooks=True,  # the receivers are on loopback
        notify_retry_initial_seconds=0.5, notify_retry_max_seconds=1.0, notify_send_timeout_seconds=3,
        tauro_public_url="http://tauro.example.com", secret_key="s" * 40)


async def until(check: Callable[[], Awaitable[Any]], what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while not (result := await check()):
        assert time.monotonic() < deadline, f"{what} not reached in {within}s"
        await asyncio.sleep(0.2)
    return result


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 201) -> Any:
    response = await api.post(f"{API}{path}", json=body)
    assert response.status_code == status, response.text
    return response.json()["data"] if status < 300 else response.json()["error"]


async def project_and_pipelines(api: httpx.AsyncClient, **config: Any) -> tuple[str, str, str]:
    project = (await post(api, "/projects", {"name": "alerts"}))["id"]

    async def pipeline(name: str, command: str) -> str:
        body = {"name": name, "nodes": [{"id": "extract", "type": "shell", "config": {"command": "echo reading"}},
                                        {"id": "load", "type": "shell", "config": {"command": command}}],
                "edges": [{"from": "extract", "to": "load"}],
                "config": {"retry_policy": {"max_attempts": 1}, **config}}
        return str((await post(api, f"/projects/{project}/pipelines", body))["id"])

    failing = await pipeline("failing", "echo 'connecting to warehouse'; echo 'ERROR: table orders is locked' >&2; "
                                        "exit 3")
    fine = await pipeline("fine", "echo done")
    return project, failing, fine


async def run_to_end(api: httpx.AsyncClient, project: str, pipeline: str, **extra: Any) -> dict[str, Any]:
    run = await post(api, "/runs", {"project_id": project, "pipeline_id": pipeline, "start": True, **extra})

    async def ended() -> dict[str, Any] | None:
        doc = (await api.get(f"{API}/runs/{run['id']}")).json()["data"]
        return doc if doc["state"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT") else None

    return await until(ended, f"the end of run {run['id']}")  # type: ignore[no-any-return]


async def notifications(api: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"{API}/runs/{run_id}/notifications")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def settled(api: httpx.AsyncClient, run_id: str, count: int) -> list[dict[str, Any]]:
    async def done() -> list[dict[str, Any]] | None:
        found = await notifications(api, run_id)
        return found if len(found) == count and all(n["status"] in ("sent", "failed") for n in found) else None

    return await until(done, f"{count} settled notifications of {run_id}")  # type: ignore[no-any-return]


async def test_failed_run_mails_and_posts_once_with_a_valid_signature(
        api: httpx.AsyncClient, smtp: SmtpSink, hooks: HookReceiver, api_settings: Settings) -> None:
    project, failing, _ = await project_and_pipelines(api)
    run = await run_to_end(api, project, failing, notifications={
        "on_failure": True, "email": ["oncall@example.com", "team@example.com"], "webhook_url": hooks.url})
    assert run["state"] == "FAILED"
    found = await settled(api, run["id"], 3)
    assert {(n["channel"], n["recipient"], n["status"], n["source"]) for n in found} == {
        ("email", "oncall@example.com", "sent", "run"), ("email", "team@example.com", "sent", "run"),
        ("webhook", hooks.url, "sent", "run")}
    assert all(n["attempts"] == 1 and n["history"][0]["outcome"] == "sent" for n in found)

    assert len(smtp.to("oncall@example.com")) == 1 and len(smtp.to("team@example.com")) == 1
    mail = smtp.to("oncall@example.com")[0]
    assert mail.message["Subject"] == f"[Tauro] FAILED: failing (run {run['id']})"
    assert mail.sender == "tauro@example.com"
    for words in ("failed at task load", "ERROR: table orders is locked",
                  f"http://tauro.example.com/api/v1/runs/{run['id']}"):
        assert words in mail.body, mail.body

    [hook] = hooks.hooks
    assert verify(webhook_secret(api_settings), hook.headers[HEADER.lower()], hook.body, now=int(time.time()))
    payload = hook.json
    assert payload["run_id"] == run["id"] and payload["state"] == "FAILED"
    assert payload["pipeline"] == {"id": failing, "name": "failing"}
    assert payload["error"]["task"] == "load" and "ERROR: table orders is locked" in payload["error"]["lines"]
    assert payload["duration_seconds"] is not None and payload["links"]["run"].endswith(run["id"])
    assert "failing" in payload["text"]
    assert hook.headers["x-tauro-delivery-id"] == next(n["id"] for n in found if n["channel"] == "webhook")

    await asyncio.sleep(2)  # nothing more arrives: each notification once
    assert len(smtp.mails) == 2 and len(hooks.hooks) == 1
    metrics = (await api.get("/metrics")).text
    assert 'tauro_notifications_total{channel="email",outcome="sent"}' in metrics


async def test_success_sends_nothing_unless_on_success(api: httpx.AsyncClient, smtp: SmtpSink) -> None:
    project, _, fine = await project_and_pipelines(api)
    quiet = await run_to_end(api, project, fine, notifications={"on_failure": True, "email": "a@example.com"})
    loud = await run_to_end(api, project, fine, notifications={"on_success": True, "email": "b@example.com"})
    assert quiet["state"] == loud["state"] == "SUCCESS"
    await settled(api, loud["id"], 1)
    assert [m.recipients for m in smtp.mails] == [["b@example.com"]]
    assert "succeeded" in smtp.mails[0].body
    assert await notifications(api, quiet["id"]) == []


async def test_pipeline_settings_are_the_default_and_a_run_overrides_them(
        api: httpx.AsyncClient, smtp: SmtpSink) -> None:
    project, failing, _ = await project_and_pipelines(
        api, notifications={"on_failure": True, "email": "team@example.com"})
    by_pipeline = await run_to_end(api, project, failing)
    silenced = await run_to_end(api, project, failing, notifications={"on_failure": False})
    elsewhere = await run_to_end(api, project, failing, notifications={"email": "me@example.com"})
    assert (await settled(api, by_pipeline["id"], 1))[0]["source"] == "pipeline"
    assert (await settled(api, elsewhere["id"], 1))[0]["recipient"] == "me@example.com"
    await asyncio.sleep(1.5)
    assert await notifications(api, silenced["id"]) == []
    assert sorted(r for m in smtp.mails for r in m.recipients) == ["me@example.com", "team@example.com"]


async def test_schedule_settings(api: httpx.AsyncClient, smtp: SmtpSink) -> None:
    project, failing, _ = await project_and_pipelines(api)
    schedule = await post(api, "/schedules", {
        "project_id": project, "pipeline_id": failing, "kind": "INTERVAL", "expression": "1h", "enabled": True,
        "catch_up_policy": "none",
        "config": {"notifications": {"on_failure": True, "email": "alerts@company.com"}}})
    assert schedule["config"]["notifications"]["email"] == "alerts@company.com"
    backfill = await post(api, f"/schedules/{schedule['id']}/backfill", {"count": 1}, status=202)
    run_id = backfill["runs"][0]["run_id"]

    async def mailed() -> bool:
        return len(smtp.to("alerts@company.com")) >= 1

    await until(mailed, "the schedule's alert", within=60)
    [delivery] = await settled(api, run_id, 1)
    assert delivery["source"] == "schedule" and delivery["schedule_id"] == schedule["id"]


async def test_smtp_down_is_retried_until_it_is_back(api: httpx.AsyncClient, smtp: SmtpSink) -> None:
    project, failing, _ = await project_and_pipelines(api)
    smtp.stop()
    run = await run_to_end(api, project, failing, notifications={"on_failure": True, "email": "a@example.com"})

    async def retried() -> bool:
        found = await notifications(api, run["id"])
        return bool(found) and found[0]["attempts"] >= 2 and found[0]["status"] == "retrying"

    await until(retried, "a retried delivery")
    smtp.start()
    [delivery] = await settled(api, run["id"], 1)
    assert delivery["status"] == "sent" and delivery["attempts"] >= 3
    assert [h["outcome"] for h in delivery["history"]][-1] == "sent"
    assert all(h["outcome"] == "failed" and "Connection refused" in h["error"] for h in delivery["history"][:-1])
    await asyncio.sleep(1.5)
    assert len(smtp.mails) == 1
    metrics = (await api.get("/metrics")).text
    assert 'tauro_notifications_total{channel="email",outcome="retried"}' in metrics


async def test_unknown_run_is_404(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"{API}/runs/run_0123456789abcdef/notifications")).status_code == 404


async def test_settings_are_validated_with_clear_errors(api: httpx.AsyncClient) -> None:
    project, _, fine = await project_and_pipelines(api)
    for notifications_body, field, words in (
        ({"email": "not-an-address"}, "email", "not an e-mail address"),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url", "http:// or https://"),
        ({"on_failure": "sometimes"}, "on_failure", ""),
        ({"emails": "a@example.com"}, "emails", ""),
    ):
        error = await post(api, "/runs", {"project_id": project, "pipeline_id": fine,
                                          "notifications": notifications_body}, status=422)
        assert error["code"] == "VALIDATION_ERROR"
        assert any(field in (d["field"] or "") and words in d["message"] for d in error["details"]), error
    error = await post(api, "/schedules", {"project_id": project, "pipeline_id": fine, "kind": "CRON",
                                           "expression": "0 2 * * *",
                                           "config": {"notifications": {"email": ["ok@example.com", "bad"]}}},
                       status=422)
    assert any("config.notifications.email" in (d["field"] or "") for d in error["details"]), error
