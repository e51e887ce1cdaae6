"""The notifier's pure rules: settings and their precedence, which outcomes notify, what the
messages say, webhook signatures, and the life of one delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from tauro_contracts.notification_settings import NotificationSettings, notification_errors
from tauro_contracts.notifications import (
    NotificationAttemptFailed,
    NotificationAttemptStarted,
    NotificationGaveUp,
    NotificationRequested,
    NotificationSent,
)
from tauro_contracts.pipeline import PipelineConfig, PipelineSpec
from tauro_contracts.runs import CreateRun
from tauro_contracts.schedules import CreateSchedule, ScheduleConfig
from tauro_notifier.domain.delivery import Policy, SendResult, decide_claim, decide_outcome, fold
from tauro_notifier.domain.message import RunOutcome, email_message, text_body, webhook_payload
from tauro_notifier.domain.settings import deliveries, delivery_id, resolve, settings_of
from tauro_notifier.domain.signature import derive_secret, sign, verify

S = NotificationSettings
NOW = datetime(2025, 11, 18, 2, 0, tzinfo=UTC)


# -- settings: validation ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["alerts@company.com", ["a@x.io", "b.c+tag@sub.example.org"], "ops@localhost"])
def test_good_addresses(value: object) -> None:
    assert S(email=value).emails()  # type: ignore[arg-type]


@pytest.mark.parametrize("value, words", [
    ("not-an-email", "not an e-mail address"), ("a@b.com, c@d.com", "as a list"), (["ok@x.com", "bad@"], "[1]"),
    ([f"u{i}@x.com" for i in range(21)], "at most 20"), ("", "non-empty"),
])
def test_bad_addresses_say_why(value: object, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        S(email=value)  # type: ignore[arg-type]
    assert words in str(info.value)


@pytest.mark.parametrize("url, words", [
    ("ftp://hooks.example.com/x", "http:// or https://"), ("hooks.example.com/x", "http:// or https://"),
    ("https:///path", "needs a host"), ("https://example.com:99999/", "valid URL"),
])
def test_bad_webhook_urls_say_why(url: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        S(webhook_url=url)
    assert words in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://localhost/x", "http://10.1.2.3/",
                                 "http://192.168.0.10/", "http://[::1]:80/", "http://169.254.169.254/latest",
                                 "http://db.internal/x", "http://0.0.0.0/"])
def test_private_webhooks_refused_unless_allowed(url: str) -> None:
    command = CreateRun(run_id="run_1", project_id="proj_1", pipeline_id="p", notifications=S(webhook_url=url))
    [error] = notification_errors(command, allow_private_webhooks=False)
    assert error.field == "notifications.webhook_url" and error.type == "private_address"
    assert "NOTIFY_ALLOW_PRIVATE_WEBHOOKS" in error.message
    assert notification_errors(command, allow_private_webhooks=True) == []


def test_policy_reaches_schedule_and_pipeline_settings() -> None:
    bad = S(webhook_url="http://127.0.0.1/h")
    schedule = CreateSchedule(schedule_id="sched_1", project_id="proj_1", pipeline_id="p", kind="CRON",
                              expression="0 2 * * *", config=ScheduleConfig(notifications=bad))
    assert [e.field for e in notification_errors(schedule, False)] == ["config.notifications.webhook_url"]
    public = CreateRun(run_id="run_1", project_id="proj_1", pipeline_id="p",
                       notifications=S(webhook_url="https://hooks.slack.com/services/T/B/x"))
    assert notification_errors(public, False) == []


def test_pipeline_without_notifications_keeps_its_canonical_form() -> None:
    assert "notifications" not in PipelineSpec().to_json()["config"]
    spec = PipelineSpec(config=PipelineConfig(notifications=S(on_failure=True, email="a@x.io")))
    assert spec.to_json()["config"]["notifications"]["email"] == "a@x.io"


# -- precedence ----------------------------------------------------------------------------------

def test_run_over_schedule_over_pipeline_field_by_field() -> None:
    pipeline = S(on_failure=True, email="team@x.io", webhook_url="https://hooks.example.com/p")
    schedule = S(email=["oncall@x.io"], on_success=True)
    run = S(on_failure=False)
    resolved = resolve(run, schedule, pipeline)
    assert resolved.emails == ("oncall@x.io",) and resolved.sources["email"] == "schedule"
    assert resolved.webhook_url == "https://hooks.example.com/p" and resolved.sources["webhook_url"] == "pipeline"
    assert resolved.on_failure is False and resolved.sources["on_failure"] == "run"
    assert resolved.on_success is True


def test_pipeline_is_the_default() -> None:
    resolved = resolve(None, None, S(on_failure=True, email="team@x.io"))
    assert resolved.notifies("FAILED") and resolved.emails == ("team@x.io",)


def test_nothing_configured_notifies_nothing() -> None:
    resolved = resolve(None, S(), None)
    assert not any(resolved.notifies(s) for s in ("SUCCESS", "FAILED", "TIMED_OUT", "CANCELLED"))


# -- which outcomes notify -----------------------------------------------------------------------

@pytest.mark.parametrize("settings, notified", [
    (S(on_failure=True), {"FAILED", "TIMED_OUT"}),
    (S(on_failure=True, on_timeout=False), {"FAILED"}),
    (S(on_success=True), {"SUCCESS"}),
    (S(on_cancel=True), {"CANCELLED"}),
    (S(on_timeout=True), {"TIMED_OUT"}),
    (S(), set()),
])
def test_outcomes(settings: NotificationSettings, notified: set[str]) -> None:
    resolved = resolve(settings.model_copy(update={"email": "a@x.io"}), None, None)
    assert {s for s in ("SUCCESS", "FAILED", "TIMED_OUT", "CANCELLED") if resolved.notifies(s)} == notified
    for state in ("SUCCESS", "FAILED", "TIMED_OUT", "CANCELLED"):
        assert bool(deliveries("run_1", state, resolved)) == (state in notified)


def test_one_delivery_per_recipient_with_stable_ids() -> None:
    resolved = resolve(S(on_failure=True, email=["a@x.io", "b@x.io", "a@x.io"],
                         webhook_url="https://h.example.com/x"), None, None)
    found = deliveries("run_1", "FAILED", resolved)
    assert [(d.channel, d.recipient) for d in found] == [("email", "a@x.io"), ("email", "b@x.io"),
                                                          ("webhook", "https://h.example.com/x")]
    assert found[0].delivery_id == delivery_id("run_1", "FAILED", "email", "A@x.io")
    assert len({d.delivery_id for d in found}) == 3


def test_stored_settings_are_read_back() -> None:
    assert settings_of(None) is None
    old = settings_of({"on_success": False, "on_failure": True, "email": "a@x.io"})
    assert old is not None and old.on_failure and old.emails() == ["a@x.io"]


# -- messages ------------------------------------------------------------------------------------

def outcome(**changes: object) -> RunOutcome:
    values: dict[str, object] = dict(
        run_id="run_abc", state="FAILED", project_id="proj_1", pipeline_id="pipe_1", pipeline_name="daily_etl",
        schedule_id="sched_9", logical_date="2025-11-18", error="task 'load' failed: ValueError: boom",
        failed_task="load", error_lines=("Traceback (most recent call last):", "ValueError: boom"),
        started_at=NOW, finished_at=NOW + timedelta(seconds=75))
    values.update(changes)
    return RunOutcome(**values)  # type: ignore[arg-type]


def test_email_says_what_failed_where_and_links() -> None:
    message = email_message(outcome(), sender="tauro@x.io", recipient="a@x.io", delivery_id="ntf_1",
                            base_url="http://tauro:8000/", now=NOW)
    assert message["Subject"] == "[Tauro] FAILED: daily_etl (run run_abc)"
    assert message["Message-ID"] == "<ntf_1@tauro.notifications>"
    body = message.get_content()
    for words in ("failed at task load", "Schedule:  sched_9", "Duration:  1m 15.0s", "ValueError: boom",
                  "Last error lines of load:", "http://tauro:8000/api/v1/runs/run_abc"):
        assert words in body


def test_success_message_has_no_error() -> None:
    body = text_body(outcome(state="SUCCESS", error=None, failed_task=None, error_lines=()), "http://t")
    assert "succeeded" in body and "Error" not in body


def test_webhook_payload() -> None:
    payload = webhook_payload(outcome(), delivery_id="ntf_1", base_url="http://t")
    assert payload["run_id"] == "run_abc" and payload["state"] == "FAILED" and payload["type"] == "run.failed"
    assert payload["pipeline"] == {"id": "pipe_1", "name": "daily_etl"}
    assert payload["error"]["task"] == "load" and payload["error"]["lines"][-1] == "ValueError: boom"
    assert payload["duration_seconds"] == 75.0
    assert payload["links"]["run"] == "http://t/api/v1/runs/run_abc"
    assert "daily_etl" in payload["text"] and "`load`" in payload["text"]
    json.dumps(payload)


def test_long_lines_are_clipped_and_only_the_last_ten_kept() -> None:
    lines = tuple(f"line {i} " + "x" * 1000 for i in range(30))
    payload = webhook_payload(outcome(error_lines=lines), delivery_id="n", base_url="http://t")
    assert len(payload["error"]["lines"]) == 10 and payload["error"]["lines"][0].startswith("line 20")
    assert all(len(line) <= 500 for line in payload["error"]["lines"])


# -- signatures ----------------------------------------------------------------------------------

def test_signature_verifies_and_detects_tampering() -> None:
    secret = derive_secret("k" * 40)
    body = b'{"run_id":"run_1"}'
    header = sign(secret, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert verify(secret, header, body, now=1_700_000_010)
    assert not verify(secret, header, body + b" ", now=1_700_000_010)
    assert not verify("other", header, body, now=1_700_000_010)
    assert not verify(secret, header, body, now=1_700_000_000 + 3600)  # a replay
    assert not verify(secret, "garbage", body, now=1_700_000_000)
    assert derive_secret("k" * 40) == secret != derive_secret("j" * 40)


# -- one delivery --------------------------------------------------------------------------------

POLICY = Policy(lease_seconds=30, retry_initial_seconds=2, retry_max_seconds=60)


def requested() -> NotificationRequested:
    return NotificationRequested(run_id="run_1", delivery_id="ntf_1", channel="email", recipient="a@x.io",
                                 run_state="FAILED", project_id="proj_1", pipeline_id="p", source="schedule",
                                 give_up_at=NOW + timedelta(minutes=10))


def test_claim_send_record() -> None:
    state = fold([requested()])["ntf_1"]
    claim = decide_claim(state, NOW, "n1", POLICY)
    assert isinstance(claim, NotificationAttemptStarted) and claim.attempt == 1
    assert claim.lease_until == NOW + timedelta(seconds=30)
    state = fold([requested(), claim])["ntf_1"]
    assert decide_claim(state, NOW + timedelta(seconds=5), "n2", POLICY) is None  # claimed, lease running
    sent = decide_outcome(state, 1, SendResult(True, "250 OK"), NOW, POLICY)
    assert isinstance(sent, NotificationSent)
    done = fold([requested(), claim, sent])["ntf_1"]
    assert done.final and decide_claim(done, NOW + timedelta(hours=1), "n2", POLICY) is None
    assert decide_outcome(done, 1, SendResult(True), NOW, POLICY) is None  # never recorded twice


def test_expired_lease_is_claimed_again() -> None:
    claim = decide_claim(fold([requested()])["ntf_1"], NOW, "n1", POLICY)
    assert claim is not None
    state = fold([requested(), claim])["ntf_1"]
    again = decide_claim(state, NOW + timedelta(seconds=31), "n2", POLICY)
    assert isinstance(again, NotificationAttemptStarted) and again.attempt == 2 and again.instance_id == "n2"


def test_transient_failures_back_off_then_give_up_at_the_deadline() -> None:
    events: list = [requested()]
    now = NOW
    delays = []
    while True:
        state = fold(events)["ntf_1"]
        claim = decide_claim(state, now, "n1", POLICY)
        if claim is None:
            break
        events.append(claim)
        if isinstance(claim, NotificationGaveUp):
            break
        outcome_event = decide_outcome(fold(events)["ntf_1"], claim.attempt, SendResult(False, "refused"), now, POLICY)
        events.append(outcome_event)
        if isinstance(outcome_event, NotificationGaveUp):
            break
        assert isinstance(outcome_event, NotificationAttemptFailed)
        delays.append((outcome_event.retry_at - now).total_seconds())
        now = outcome_event.retry_at
    assert delays[:6] == [2, 4, 8, 16, 32, 60]
    assert isinstance(events[-1], NotificationGaveUp) and events[-1].reason == "deadline"
    assert fold(events)["ntf_1"].status == "failed"


def test_permanent_refusal_gives_up_at_once() -> None:
    claim = decide_claim(fold([requested()])["ntf_1"], NOW, "n1", POLICY)
    assert claim is not None
    state = fold([requested(), claim])["ntf_1"]
    gave_up = decide_outcome(state, 1, SendResult(False, "550 no such mailbox", permanent=True), NOW, POLICY)
    assert isinstance(gave_up, NotificationGaveUp) and gave_up.reason == "permanent" and gave_up.attempts == 1
