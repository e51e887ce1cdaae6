"""Every public event, as stored and published, matches its JSON Schema in ``docs/events``.

Real flows through the in-process platform (projects, pipelines with DAG edges, runs that
succeed, fail, are cancelled and time out, API keys, schedules with ticks and a backfill,
a stream started and stopped) write the events; they are read back from the event store
and each envelope is validated against ``EventEnvelope.json`` and its ``data`` against the
schema of its type, with the ``jsonschema`` package. Event types that the flows cannot
reach in a test's time (an outage's missed ticks, a refused tick, a failed stream) are
built from samples and serialised by the same code that writes events. Every registered
event type must be checked one way or the other.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import tauro_contracts.asyncapi  # noqa: F401  (registers every message type)
from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.projects import PipelineDefined
from tauro_contracts.registry import REGISTRY
from tauro_platform.eventstore.port import EventStore
from tauro_platform.runtime.decision import CommandContext, PendingWrite, to_writes
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings
from tests.api.test_streams import clean_events

API = "/api/v1"
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
NOW = "2025-11-18T10:00:00Z"

# Events the flows below do not reach within a test: built from these samples instead.
SAMPLES: dict[str, dict[str, Any]] = {
    "TicksMissed": {"schedule_id": "sched_a", "ticks": [
        {"tick_id": "tick_1", "nominal": NOW, "reason": "missed", "message": "no scheduler was running"}],
        "omitted": 3, "omitted_from": "2025-11-18T07:00:00Z", "omitted_to": "2025-11-18T09:00:00Z"},
    "TickFailed": {"schedule_id": "sched_a", "tick_id": "tick_2", "nominal": NOW, "run_id": "run_x",
                   "error": {"code": "NOT_FOUND", "message": "pipeline 'pipe_gone' not found"}},
    "StreamFailed": {"execution_id": "exec_a", "error": "input topic missing"},
    "TickSkipped": {"schedule_id": "sched_a", "tick_id": "tick_3", "nominal": NOW, "reason": "overlap",
                    "message": "max_concurrency=1 reached"},
    # no longer produced (a backfill fires its ticks at once); kept for the streams that hold it
    "BackfillRequested": {"schedule_id": "sched_a", "backfill_id": "bf_1", "nominals": [NOW], "run_ids": ["run_z"],
                          "count": 1},
    "TickQueued": {"schedule_id": "sched_a", "tick_id": "tick_4", "nominal": NOW, "run_id": "run_y",
                   "reason": "backfill", "message": "waits for a free slot"},
    # the notifier's (tests/api/test_notifications.py drives them through real SMTP and HTTP)
    "NotificationRequested": {"run_id": "run_x", "delivery_id": "ntf_1", "channel": "email", "recipient": "a@x.io",
                              "run_state": "FAILED", "project_id": "proj_a", "pipeline_id": "pipe_a",
                              "schedule_id": "sched_a", "source": "schedule", "give_up_at": NOW},
    "NotificationAttemptStarted": {"run_id": "run_x", "delivery_id": "ntf_1", "attempt": 1, "instance_id": "n1",
                                   "lease_until": NOW},
    "NotificationSent": {"run_id": "run_x", "delivery_id": "ntf_1", "attempt": 1, "detail": "accepted",
                         "duration_ms": 12},
    "NotificationAttemptFailed": {"run_id": "run_x", "delivery_id": "ntf_1", "attempt": 1,
                                  "error": "connection refused", "retry_at": NOW},
    "NotificationGaveUp": {"run_id": "run_x", "delivery_id": "ntf_1", "attempts": 3, "reason": "deadline",
                           "error": "connection refused"},
}
# What the flows must produce themselves (the rest may fall back to SAMPLES).
FROM_FLOWS = {
    "ProjectCreated", "ProjectUpdated", "ProjectDeleted", "NameClaimed", "NameReleased", "PipelineDefined",
    "PipelineDeleted", "RunCreated", "RunQueued", "RunsDispatched", "RunStarted", "TaskScheduled", "TaskStarted",
    "TaskLogged", "TaskSucceeded", "TaskFailed", "TaskSkipped", "RunSucceeded", "RunFailed", "RunCancelled",
    "RunTimedOut", "ApiKeyCreated", "ApiKeyRevoked", "ScheduleCreated", "ScheduleUpdated", "ScheduleDisabled",
    "ScheduleEnabled", "ScheduleDeleted", "TickFired", "StreamStarted", "StreamGroupClaimed",
    "StreamStopRequested", "StreamStopped", "StreamGroupReleased",
}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


def platform_store(api: httpx.AsyncClient) -> EventStore:
    transport = api._transport
    assert isinstance(transport, httpx.ASGITransport)
    store: EventStore = transport.app.state.ctx.store  # type: ignore[attr-defined]
    return store


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)  # type: ignore[no-any-return]


async def until(check: Callable[[], Awaitable[Any]], within: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + within
    while not (result := await check()):
        assert time.monotonic() < deadline, f"{what} not reached in {within}s"
        await asyncio.sleep(0.25)
    return result


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None, status: int = 201) -> Any:
    response = await api.post(f"{API}{path}", json=body)
    assert response.status_code == status, response.text
    return response.json()["data"]


async def pipeline(api: httpx.AsyncClient, project: str, name: str, *commands: str, **extra: Any) -> str:
    nodes = [{"id": f"n{i}", "type": "shell", "config": {"command": c}} for i, c in enumerate(commands)]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(len(commands) - 1)]
    body = {"name": name, "nodes": nodes, "edges": edges, "config": {"retry_policy": {"max_attempts": 1}}, **extra}
    return str((await post(api, f"/projects/{project}/pipelines", body))["id"])


async def run_to_end(api: httpx.AsyncClient, project: str, pipeline_id: str, **extra: Any) -> dict[str, Any]:
    run = await post(api, "/runs", {"project_id": project, "pipeline_id": pipeline_id, "start": True, **extra})

    async def ended() -> dict[str, Any] | None:
        doc = (await api.get(f"{API}/runs/{run['id']}")).json()["data"]
        return doc if doc["state"] in ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT") else None

    return await until(ended, what=f"the end of run {run['id']}")  # type: ignore[no-any-return]


async def real_flows(api: httpx.AsyncClient) -> None:
    project = (await post(api, "/projects", {"name": "events"}))["id"]
    assert (await api.put(f"{API}/projects/{project}", json={"description": "every event"})).status_code == 200
    gone = (await post(api, "/projects", {"name": "gone"}))["id"]
    assert (await api.delete(f"{API}/projects/{gone}")).status_code == 200

    ok = await pipeline(api, project, "ok", "echo hello", "true")
    failing = await pipeline(api, project, "failing", "echo start", "echo broken >&2; exit 3", "true")
    slow = await pipeline(api, project, "slow", "sleep 30")
    response = await api.put(f"{API}/pipelines/{ok}", json={"name": "ok", "description": "two steps", "nodes": [
        {"id": "n0", "type": "shell", "config": {"command": "echo hello"}},
        {"id": "n1", "type": "shell", "config": {"command": "true"}}], "edges": [{"from": "n0", "to": "n1"}]})
    assert response.status_code == 200, response.text
    unused = await pipeline(api, project, "unused", "true")
    assert (await api.delete(f"{API}/pipelines/{unused}")).status_code == 200

    assert (await run_to_end(api, project, ok))["state"] == "SUCCESS"
    assert (await run_to_end(api, project, failing))["state"] == "FAILED"
    assert (await run_to_end(api, project, slow, timeout_seconds=1))["state"] == "TIMED_OUT"
    pending = await post(api, "/runs", {"project_id": project, "pipeline_id": ok})
    await post(api, f"/runs/{pending['id']}/cancel", {"reason": "not needed"}, status=200)

    key = await post(api, "/api-keys", {"name": "ci", "grants": [{"role": "viewer", "project_id": project}]})
    assert (await api.delete(f"{API}/api-keys/{key['id']}")).status_code == 200

    schedule = await post(api, "/schedules", {"project_id": project, "pipeline_id": ok, "kind": "INTERVAL",
                                              "expression": "1s", "overlap_policy": "allow_all",
                                              "max_concurrency": 5})
    sid = schedule["id"]

    async def fired() -> bool:
        ticks = (await api.get(f"{API}/schedules/{sid}/ticks")).json()["data"]
        return any(t["status"] == "fired" for t in ticks)

    await until(fired, what="a fired tick")
    assert (await api.put(f"{API}/schedules/{sid}", json={"description": "hourly", "expression": "1h"})).is_success
    await post(api, f"/schedules/{sid}/disable", status=200)
    await post(api, f"/schedules/{sid}/enable", status=200)
    response = await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 2})
    assert response.status_code in (200, 201, 202), response.text
    assert (await api.delete(f"{API}/schedules/{sid}")).status_code == 200

    stream = await post(api, "/stream/run", {"definition": clean_events(f"t{uuid.uuid4().hex[:8]}")}, status=202)
    await post(api, "/stream/stop", {"execution_id": stream["execution_id"], "timeout": 10}, status=200)


def constructed(type_name: str, data: dict[str, Any]) -> EventEnvelope:
    """A sample event serialised the way the command runtime writes events."""
    cls = REGISTRY.cls(type_name)
    payload = cls.model_validate(data)
    assert isinstance(payload, Event)
    ctx = CommandContext(command_id=str(uuid.uuid4()), correlation_id="corr", actor="user:test",
                         trace_context={}, now=datetime.now(UTC))
    return to_writes((PendingWrite(f"sample-{type_name}", 0, (payload,)),), ctx)[0].events[0]


async def test_every_event_type_matches_its_published_schema(api: httpx.AsyncClient,
                                                             api_settings: Settings) -> None:
    api.headers.update(admin_headers(api_settings))
    await real_flows(api)
    stored = await platform_store(api).read_all(0, 100_000)
    by_type: dict[str, list[EventEnvelope]] = {}
    for envelope in stored:
        by_type.setdefault(envelope.type, []).append(envelope)
    assert FROM_FLOWS <= set(by_type), f"the flows did not produce {sorted(FROM_FLOWS - set(by_type))}"
    for type_name, data in SAMPLES.items():
        by_type.setdefault(type_name, []).append(constructed(type_name, data))
    registered = {c.type_name for c in REGISTRY.events()}
    assert registered <= set(by_type), f"no sample of {sorted(registered - set(by_type))}: add one to SAMPLES"

    envelope_schema = validator("EventEnvelope")
    failures: list[str] = []
    checked = 0
    for type_name, envelopes in sorted(by_type.items()):
        schema = validator(type_name)
        for envelope in envelopes:
            published = json.loads(envelope.model_dump_json())  # what goes on the topic
            for error in [*envelope_schema.iter_errors(published), *schema.iter_errors(published["data"])]:
                failures.append(f"{type_name} {list(error.absolute_path)}: {error.message}")
            checked += 1
    assert not failures, f"{len(failures)} violations in {checked} events:\n" + "\n".join(sorted(set(failures))[:40])


def test_edges_are_written_as_from_to_and_old_events_still_load() -> None:
    data = {"pipeline_id": "pipe_a", "project_id": "proj_a", "name": "a", "version": 1, "checksum": "c",
            "source": "api",
            "spec": {"nodes": [{"id": "x", "type": "shell"}, {"id": "y", "type": "shell"}],
                     "edges": [{"from": "x", "to": "y"}]}}
    written = constructed("PipelineDefined", data).data
    assert written["spec"]["edges"] == [{"from": "x", "to": "y"}]
    old = {**data, "spec": {**data["spec"], "edges": [{"source": "x", "target": "y"}]}}  # stored before the fix
    loaded = REGISTRY.decode("PipelineDefined", 1, old)
    assert isinstance(loaded, PipelineDefined) and loaded.spec.edges[0].source == "x"
    assert REGISTRY.decode("PipelineDefined", 1, written) == loaded
