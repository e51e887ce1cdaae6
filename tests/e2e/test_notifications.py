"""Notifications on the distributed deployment: every service its own process on real Kafka and
the MongoDB-wire server, a real SMTP server (aiosmtpd) and a real HTTP receiver on loopback.

One deployment, in order: a failing scheduled run mails the configured address once and
posts the webhook once with a valid signature; a success sends nothing unless ``on_success``;
with the SMTP server down for 20 s the mail arrives once it is back; the notifier SIGKILLed
in the middle of an SMTP conversation and restarted still sends exactly one mail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tauro_notifier.domain.signature import HEADER, verify

from tests.e2e.harness import Deployment, Service
from tests.e2e.runs_helpers import make_pipeline, make_project, shell_pipeline, start_run, wait_for
from tests.notify_support import HookReceiver, SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
SECRET = "e2e-webhook-secret-" + "x" * 20


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


def notifications(api: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/runs/{run_id}/notifications")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def created(api: httpx.Client, run_id: str, timeout: float = 30.0) -> str:
    """Wait until the run exists (a backfilled tick's run is created by the scheduler a moment later)."""
    deadline = time.monotonic() + timeout
    while api.get(f"/runs/{run_id}").status_code != 200:
        assert time.monotonic() < deadline, f"run {run_id} not created in {timeout}s"
        time.sleep(0.2)
    return run_id


def settled(api: httpx.Client, run_id: str, count: int, timeout: float = 40.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = notifications(api, run_id)
        if len(found) == count and all(n["status"] in ("sent", "failed") for n in found):
            return found
        time.sleep(0.3)
    raise AssertionError(f"notifications of {run_id} not settled in {timeout}s: {found}")


def test_notifications_are_sent_once_through_outages_and_crashes(
        deployment: Deployment, smtp: SmtpSink, hooks: HookReceiver) -> None:
    notify_env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_FROM": "tauro@example.com",
                  "NOTIFY_ALLOW_PRIVATE_WEBHOOKS": "true", "NOTIFY_WEBHOOK_SECRET": SECRET,
                  "NOTIFY_SEND_TIMEOUT_SECONDS": "2", "NOTIFY_RETRY_INITIAL_SECONDS": "1",
                  "NOTIFY_RETRY_MAX_SECONDS": "2", "TAURO_PUBLIC_URL": deployment.url}
    for name in ("runs", "executor", "scheduler"):
        deployment.start(name)
    notifier: Service = deployment.start("notifier", **notify_env)
    deployment.start("gateway", NOTIFY_ALLOW_PRIVATE_WEBHOOKS="true")
    api = deployment.client()
    project = make_project(api, "notify")
    failing = make_pipeline(api, project, shell_pipeline(
        "nightly_etl", {"extract": "echo extracting", "load": "echo 'ERROR: warehouse refused the load' >&2; exit 4"},
        [("extract", "load")]))
    fine = make_pipeline(api, project, shell_pipeline("fine", {"only": "echo ok"}))

    # 1. a failing scheduled run: one mail, one signed webhook
    response = api.post("/schedules", json={
        "project_id": project, "pipeline_id": failing, "kind": "CRON", "expression": "0 2 * * *",
        "catch_up_policy": "none", "config": {"notifications": {
            "on_success": False, "on_failure": True, "email": "alerts@company.com", "webhook_url": hooks.url}}})
    assert response.status_code == 201, response.text
    schedule_id = response.json()["data"]["id"]
    response = api.post(f"/schedules/{schedule_id}/backfill", json={"count": 1})
    assert response.status_code == 202, response.text
    scheduled_run = created(api, response.json()["data"]["runs"][0]["run_id"])
    # 2. successes: nothing unless on_success
    quiet = start_run(api, project, fine, notifications={"on_failure": True, "email": "quiet@example.com"})
    loud = start_run(api, project, fine, notifications={"on_success": True, "email": "loud@example.com"})

    assert wait_for(api, scheduled_run)["state"] == "FAILED"
    found = settled(api, scheduled_run, 2)
    assert {(n["channel"], n["status"], n["source"]) for n in found} == {
        ("email", "sent", "schedule"), ("webhook", "sent", "schedule")}
    [mail] = smtp.wait(1, address="alerts@company.com")
    assert "failed at task load" in mail.body and "ERROR: warehouse refused the load" in mail.body
    assert f"{deployment.url}/api/v1/runs/{scheduled_run}" in mail.body
    [hook] = hooks.wait(1)
    assert verify(SECRET, hook.headers[HEADER.lower()], hook.body, now=int(time.time()))
    assert hook.json["run_id"] == scheduled_run and hook.json["state"] == "FAILED"
    assert hook.json["schedule_id"] == schedule_id and hook.json["error"]["task"] == "load"

    assert wait_for(api, quiet)["state"] == "SUCCESS" and wait_for(api, loud)["state"] == "SUCCESS"
    settled(api, loud, 1)
    assert len(smtp.to("loud@example.com")) == 1
    assert notifications(api, quiet) == [] and smtp.to("quiet@example.com") == []

    # 3. the SMTP server down for 20 s, then back: the mail arrives, once
    smtp.stop()
    down_since = time.monotonic()
    outage = start_run(api, project, failing, notifications={"on_failure": True, "email": "outage@example.com"})
    assert wait_for(api, outage)["state"] == "FAILED"
    time.sleep(max(0.0, 20 - (time.monotonic() - down_since)))
    [pending] = notifications(api, outage)
    assert pending["status"] in ("retrying", "sending") and pending["attempts"] >= 3, pending
    smtp.start()
    [delivery] = settled(api, outage, 1)
    assert delivery["status"] == "sent" and [h["outcome"] for h in delivery["history"]][-1] == "sent"
    assert len(smtp.to("outage@example.com")) == 1

    # 4. the notifier SIGKILLed in the middle of the SMTP conversation, then restarted: one mail
    smtp.stall_next()
    crash = start_run(api, project, failing, notifications={"on_failure": True, "email": "crash@example.com"})
    assert smtp.stalled.wait(60), "the notifier never reached the SMTP server"
    notifier.kill()
    notifier.start()
    [delivery] = settled(api, crash, 1, timeout=60)
    assert delivery["status"] == "sent" and delivery["attempts"] == 2
    assert [h["outcome"] for h in delivery["history"]] == ["abandoned", "sent"]
    smtp.wait(1, address="crash@example.com")
    time.sleep(2)  # nothing else arrives: every notification exactly once
    for address in ("alerts@company.com", "loud@example.com", "outage@example.com", "crash@example.com"):
        assert len(smtp.to(address)) == 1, address
    assert len(smtp.mails) == 4 and len(hooks.hooks) == 1
