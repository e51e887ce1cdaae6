"""What a notification says (pure): the e-mail's subject and body, the webhook's JSON.

Both say what ended and how (state, pipeline, schedule, duration), what failed and where
(the failing task, the run's error and the task's last error lines) and link to the run
in the API. The webhook payload has a Slack-compatible ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formatdate
from typing import Any

from tauro_contracts.readmodels.states import RunState

MAX_ERROR_LINES = 10
MAX_LINE = 500
STATE_WORDS: dict[str, str] = {RunState.SUCCESS: "succeeded", RunState.FAILED: "failed",
                               RunState.TIMED_OUT: "timed out", RunState.CANCELLED: "was cancelled"}


@dataclass(frozen=True)
class RunOutcome:
    """The facts about an ended run that a message needs."""

    run_id: str
    state: str
    project_id: str
    pipeline_id: str
    pipeline_name: str
    schedule_id: str | None = None
    logical_date: str | None = None
    error: str | None = None
    failed_task: str | None = None
    error_lines: tuple[str, ...] = ()
    reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round(max(0.0, (self.finished_at - self.started_at).total_seconds()), 3)


def links(base_url: str, run_id: str) -> dict[str, str]:
    api = f"{base_url.rstrip('/')}/api/v1"
    return {"run": f"{api}/runs/{run_id}", "logs": f"{api}/runs/{run_id}/logs",
            "tasks": f"{api}/runs/{run_id}/tasks", "notifications": f"{api}/runs/{run_id}/notifications"}


def _clip(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def error_lines(outcome: RunOutcome) -> list[str]:
    return [_clip(line) for line in outcome.error_lines[-MAX_ERROR_LINES:]]


def headline(outcome: RunOutcome) -> str:
    words = STATE_WORDS.get(outcome.state, outcome.state.lower())
    where = f" at task {outcome.failed_task}" if outcome.failed_task and outcome.state != RunState.SUCCESS else ""
    return f"Tauro: pipeline {outcome.pipeline_name} {words}{where} (run {outcome.run_id})"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m {secs:.1f}s" if minutes else f"{secs:.1f}s"


def text_body(outcome: RunOutcome, base_url: str) -> str:
    link = links(base_url, outcome.run_id)
    rows = [headline(outcome), "",
            f"State:     {outcome.state}",
            f"Pipeline:  {outcome.pipeline_name} ({outcome.pipeline_id})",
            f"Project:   {outcome.project_id}",
            f"Run:       {outcome.run_id}"]
    if outcome.schedule_id:
        rows.append(f"Schedule:  {outcome.schedule_id}" + (f" (logical date {outcome.logical_date})"
                                                            if outcome.logical_date else ""))
    rows.append(f"Duration:  {_duration(outcome.duration_seconds)}")
    if outcome.failed_task:
        rows.append(f"Failed at: task {outcome.failed_task}")
    if outcome.error:
        rows.append(f"Error:     {_clip(outcome.error.strip().splitlines()[-1] if outcome.error.strip() else '')}")
    if outcome.reason:
        rows.append(f"Reason:    {outcome.reason}")
    lines = error_lines(outcome)
    if lines:
        rows += ["", f"Last error lines{f' of {outcome.failed_task}' if outcome.failed_task else ''}:",
                 *(f"  {line}" for line in lines)]
    rows += ["", f"Run:   {link['run']}", f"Logs:  {link['logs']}"]
    return "\n".join(rows) + "\n"


def email_message(outcome: RunOutcome, *, sender: str, recipient: str, delivery_id: str, base_url: str,
                  now: datetime | None = None) -> EmailMessage:
    """The e-mail. Its ``Message-ID`` is derived from the delivery id, the same on every
    attempt, so a mail sent twice (a crash between the server's answer and our record of
    it) is recognisably the same message."""
    message = EmailMessage()
    message["Subject"] = f"[Tauro] {outcome.state}: {outcome.pipeline_name} (run {outcome.run_id})"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now) if now is not None else formatdate(usegmt=True)
    message["Message-ID"] = f"<{delivery_id}@tauro.notifications>"
    message["X-Tauro-Delivery-Id"] = delivery_id
    message["X-Tauro-Run-Id"] = outcome.run_id
    message["X-Tauro-Run-State"] = outcome.state
    message.set_content(text_body(outcome, base_url))
    return message


def slack_text(outcome: RunOutcome, base_url: str) -> str:
    icons: dict[str, str] = {RunState.SUCCESS: ":white_check_mark:", RunState.CANCELLED: ":no_entry_sign:"}
    icon = icons.get(outcome.state, ":x:")
    words = STATE_WORDS.get(outcome.state, outcome.state.lower())
    text = f"{icon} Pipeline *{outcome.pipeline_name}* {words}"
    if outcome.failed_task and outcome.state != RunState.SUCCESS:
        text += f" at task `{outcome.failed_task}`"
    text += f" (run <{links(base_url, outcome.run_id)['run']}|{outcome.run_id}>)"
    if outcome.error:
        text += f"\n> {_clip(outcome.error.strip().splitlines()[-1] if outcome.error.strip() else '')}"
    lines = error_lines(outcome)
    if lines:
        text += "\n```\n" + "\n".join(lines) + "\n```"
    return text


def webhook_payload(outcome: RunOutcome, *, delivery_id: str, base_url: str) -> dict[str, Any]:
    return {
        "text": slack_text(outcome, base_url),
        "type": f"run.{outcome.state.lower()}",
        "delivery_id": delivery_id,
        "run_id": outcome.run_id,
        "state": outcome.state,
        "project_id": outcome.project_id,
        "pipeline": {"id": outcome.pipeline_id, "name": outcome.pipeline_name},
        "schedule_id": outcome.schedule_id,
        "logical_date": outcome.logical_date,
        "error": None if outcome.state == RunState.SUCCESS else {
            "message": outcome.error, "task": outcome.failed_task, "lines": error_lines(outcome),
            "reason": outcome.reason,
        },
        "started_at": outcome.started_at.isoformat() if outcome.started_at else None,
        "finished_at": outcome.finished_at.isoformat() if outcome.finished_at else None,
        "duration_seconds": outcome.duration_seconds,
        "links": links(base_url, outcome.run_id),
    }
