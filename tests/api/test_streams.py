"""Streaming pipelines through the REST API on the embedded platform (issue 5).

Covers ``POST /stream/run`` (config files and inline definitions, async and sync),
``GET /stream/status`` and ``POST /stream/stop``: the spec's envelopes and error codes,
records through filter/map and window pipelines on the embedded bus, dead letters with
their reasons in headers, consumer lag, and one consumer group per running execution.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_platform.bus.port import Bus, Message, Outgoing, Subscription


def platform_bus(api: httpx.AsyncClient) -> Bus:
    """The bus of the in-process platform behind ``api`` (the gateway context holds it)."""
    transport = api._transport
    assert isinstance(transport, httpx.ASGITransport)
    bus: Bus = transport.app.state.ctx.bus  # type: ignore[attr-defined]
    return bus


async def produce(bus: Bus, topic: str, records: list[Any], key_field: str | None = "user_id") -> None:
    messages = []
    for record in records:
        value = record if isinstance(record, bytes) else json.dumps(record).encode()
        key = str(record[key_field]) if key_field and isinstance(record, dict) and key_field in record else None
        messages.append(Outgoing(topic, value, key))
    await bus.publish_many(messages)


class Collector:
    """Everything published on some topics, read through a fresh consumer group."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._subscription: Subscription | None = None

    async def start(self, bus: Bus, topics: list[str]) -> Collector:
        await bus.ensure_topics(topics, 4)
        self._subscription = await bus.subscribe_batches(topics, self._take, group_id=f"collector-{uuid.uuid4().hex}")
        return self

    async def _take(self, batch: list[Message]) -> None:
        self.messages.extend(batch)

    def on(self, topic: str) -> list[Message]:
        return [m for m in self.messages if m.topic == topic]

    def values(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(m.value) for m in self.on(topic)]

    async def wait_for(self, topic: str, count: int, seconds: float = 20.0) -> list[Message]:
        deadline = time.monotonic() + seconds
        while len(self.on(topic)) < count:
            assert time.monotonic() < deadline, f"{topic}: {len(self.on(topic))} of {count} messages"
            await asyncio.sleep(0.05)
        return self.on(topic)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()


async def status(api: httpx.AsyncClient, execution_id: str) -> dict[str, Any]:
    response = await api.get("/api/v1/stream/status", params={"execution_id": execution_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def wait_status(api: httpx.AsyncClient, execution_id: str, check: Any, seconds: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    current = await status(api, execution_id)
    while not check(current):
        assert time.monotonic() < deadline, f"status never matched: {current}"
        await asyncio.sleep(0.1)
        current = await status(api, execution_id)
    return current


async def start(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/stream/run", json=body)
    assert response.status_code == 202, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def stop(api: httpx.AsyncClient, execution_id: str, drain: float = 10) -> httpx.Response:
    return await api.post("/api/v1/stream/stop", json={"execution_id": execution_id, "timeout": drain})


# -- definitions -------------------------------------------------------------------------------


def clean_events(name: str, **extra: Any) -> dict[str, Any]:
    """Filter + map over ``<name>.in``: keep clicks/purchases, rename, compute, drop."""
    return {
        "name": name,
        "input_topics": [f"{name}.in"],
        "processors": [
            {"type": "filter", "all": [{"field": "event_type", "op": "in", "value": ["click", "purchase"]}]},
            {"type": "map", "rename": {"event_type": "type"}, "compute": {"cents": "amount * 100"},
             "drop": ["debug"]},
        ],
        "output_topic": f"{name}.out",
        "key_field": "user_id",
        **extra,
    }


def windowed(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "input_topics": [f"{name}.in"],
        "processors": [{"type": "window", "key": "user_id", "window_seconds": 10, "time_field": "ts",
                        "aggregations": {"events": {"op": "count"}, "total": {"op": "sum", "field": "amount"}}}],
        "output_topic": f"{name}.out",
        "key_field": "user_id",
    }


def event(i: int) -> dict[str, Any]:
    kinds = ("click", "view", "purchase")
    return {"event_id": i, "user_id": f"U{i % 7}", "event_type": kinds[i % 3], "amount": i % 11,
            "debug": {"i": i}}


def expected_clean(record: dict[str, Any]) -> dict[str, Any] | None:
    if record["event_type"] not in ("click", "purchase"):
        return None
    out = {k: v for k, v in record.items() if k not in ("event_type", "debug")}
    return {**out, "type": record["event_type"], "cents": record["amount"] * 100}


@pytest.fixture
def bus(api: httpx.AsyncClient) -> Bus:
    return platform_bus(api)


@pytest.fixture
async def collector() -> Any:
    made = Collector()
    yield made
    await made.stop()


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["../secrets.yaml", "/etc/passwd", "a/../../b.yaml", "C:\\x.yaml",
                                    "examples/streams/../../pyproject.toml", "examples/streams/../secrets.yaml",
                                    "/tmp/streaming.yaml", "//etc/passwd", "streams/../../x.yaml"])
async def test_config_outside_the_streams_folder_is_a_validation_error(api: httpx.AsyncClient, config: str) -> None:
    response = await api.post("/api/v1/stream/run", json={"config": config, "pipeline": "x"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in body["error"]["details"]] == ["config"]
    assert body["meta"]["request_id"]


async def test_config_path_as_copied_from_the_repo_or_absolute_inside_the_folder(
    api: httpx.AsyncClient, api_settings: Any
) -> None:
    """``examples/streams/streaming.yaml`` (the path in the repository), ``streams/streaming.yaml``
    and an absolute path inside STREAMS_DIR name the same file as ``streaming.yaml``."""
    inside = await asyncio.to_thread(os.path.realpath, os.path.join(api_settings.streams_dir, "streaming.yaml"))
    for config in ("examples/streams/streaming.yaml", "streams/streaming.yaml", "./examples/streams/streaming.yaml",
                   inside):
        started = await start(api, config=config, pipeline="events_processor", mode="async")
        assert started["source"] == "config" and started["pipeline"] == "events_processor", started
        assert (await stop(api, started["execution_id"])).status_code == 200
    response = await api.post("/api/v1/stream/run", json={"config": "examples/streams/nope.yaml", "pipeline": "x"})
    assert response.status_code == 404 and response.json()["error"]["details"][0]["field"] == "config"


async def test_unknown_config_or_pipeline_is_not_found(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/stream/run", json={"config": "nope.yaml", "pipeline": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["details"][0]["field"] == "config"
    response = await api.post("/api/v1/stream/run", json={"config": "streaming.yaml", "pipeline": "nope"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND" and error["details"][0]["field"] == "pipeline"
    assert "events_processor" in error["message"]


async def test_bad_requests_are_validation_errors_never_500(api: httpx.AsyncClient) -> None:
    cases = [
        ({}, "config"),
        ({"config": "streaming.yaml", "pipeline": "events_processor", "definition": clean_events("x")},
         "definition"),
        ({"definition": {**clean_events("x"), "processors": [{"type": "filter", "all": [{"field": "a", "op": "??"}]}]}},
         "definition.processors[0].all[0].op"),
        ({"definition": {**clean_events("x"), "output_topic": "x.in"}}, "definition.output_topic"),
        ({"definition": {**clean_events("x"), "processors": [{"type": "python", "callable": "os:system"}]}},
         "processors[0].callable"),
        ({"config": "streaming.yaml", "mode": "later"}, "mode"),
        ({"config": "streaming.yaml", "pipeline": "events_processor", "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        response = await api.post("/api/v1/stream/run", json=body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert field in [d["field"] for d in error["details"]], (field, error)
    response = await api.post("/api/v1/stream/run", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"


async def test_status_and_stop_of_unknown_executions(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/stream/status", params={"execution_id": "exec_nothing"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    response = await api.get("/api/v1/stream/status", params={"execution_id": "bad id!"})
    assert response.status_code == 422
    response = await api.post("/api/v1/stream/stop", json={"execution_id": "exec_nothing", "timeout": 5})
    assert response.status_code == 404
    response = await api.post("/api/v1/stream/stop", json={"execution_id": "exec_x", "timeout": -1})
    assert response.status_code == 422
    response = await api.get("/api/v1/stream/status", params={"state": "SLEEPING"})
    assert response.status_code == 422


# -- running -----------------------------------------------------------------------------------


async def test_filter_map_stream_writes_exactly_the_transformed_records(
    api: httpx.AsyncClient, bus: Bus, collector: Collector
) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    records = [event(i) for i in range(300)]
    await collector.start(bus, [f"{name}.out", f"{name}.out.dlq"])
    started = await start(api, definition=clean_events(name))
    execution_id = started["execution_id"]
    assert execution_id.startswith("exec_") and started["state"] == "RUNNING"
    assert started["status_url"].endswith(execution_id)
    await produce(bus, f"{name}.in", records)
    expected = [e for e in (expected_clean(r) for r in records) if e is not None]
    got = await collector.wait_for(f"{name}.out", len(expected))
    assert sorted((json.loads(m.value) for m in got), key=lambda r: r["event_id"]) == expected
    assert all(m.key == json.loads(m.value)["user_id"] for m in got)
    view = await wait_status(api, execution_id, lambda s: s["records_in"] == 300 and s["total_lag"] == 0)
    assert view["records_out"] == len(expected) and view["dead_lettered"] == 0
    assert set(view["consumer_lag"][f"{name}.in"]) == {"0", "1", "2", "3"}
    assert view["started_at"] and view["last_error"] is None
    assert view["consumer_group"] == f"tauro.stream.{name}" and view["pipeline"] == name
    assert [r["consuming"] for r in view["replicas"]] == [True]
    stopped = await stop(api, execution_id)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["data"]["state"] == "STOPPED"
    again = await stop(api, execution_id)
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    listed = (await api.get("/api/v1/stream/status")).json()
    assert execution_id in [e["execution_id"] for e in listed["data"]]
    assert listed["meta"]["total"] >= 1
    only_running = (await api.get("/api/v1/stream/status", params={"state": "RUNNING"})).json()["data"]
    assert execution_id not in [e["execution_id"] for e in only_running]


async def test_malformed_and_failing_records_go_to_the_dead_letter_topic_with_reasons(
    api: httpx.AsyncClient, bus: Bus, collector: Collector
) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    await collector.start(bus, [f"{name}.out", f"{name}.out.dlq"])
    execution_id = (await start(api, definition=clean_events(name)))["execution_id"]
    bad = [b"not json", b"[1, 2]", {"user_id": "U1", "event_type": "click"}]  # the last lacks amount
    await produce(bus, f"{name}.in", [event(0), *bad, event(3)])
    dead = await collector.wait_for(f"{name}.out.dlq", 3)
    await collector.wait_for(f"{name}.out", 2)
    by_kind = {m.headers["tauro-dlq-kind"]: m for m in dead}
    assert set(by_kind) == {"malformed", "error"}
    assert sorted(m.value for m in dead if m.headers["tauro-dlq-kind"] == "malformed") == [b"[1, 2]", b"not json"]
    failing = by_kind["error"]
    reason = failing.headers["tauro-dlq-reason"]
    assert "amount" in reason and "processors[1] (map)" in reason
    assert failing.headers["tauro-dlq-processor"] == "1:map"
    assert failing.headers["tauro-dlq-pipeline"] == name
    assert failing.headers["tauro-execution-id"] == execution_id
    assert failing.headers["tauro-dlq-source"].startswith(f"{name}.in:")
    assert json.loads(failing.value) == {"user_id": "U1", "event_type": "click"}
    view = await wait_status(api, execution_id, lambda s: s["dead_lettered"] == 3)
    assert view["records_in"] == 5 and view["records_out"] == 2
    assert view["last_error"].startswith("dead letter:")
    assert (await stop(api, execution_id)).status_code == 200


async def test_a_consumer_group_serves_one_execution_and_the_next_resumes_its_offsets(
    api: httpx.AsyncClient, bus: Bus, collector: Collector
) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    await collector.start(bus, [f"{name}.out"])
    first = (await start(api, definition=clean_events(name)))["execution_id"]
    response = await api.post("/api/v1/stream/run", json={"definition": clean_events(name)})
    assert response.status_code == 409, response.text
    assert first in response.json()["error"]["message"]
    await produce(bus, f"{name}.in", [event(i) for i in range(0, 30, 3)])  # 10 clicks
    await collector.wait_for(f"{name}.out", 10)
    assert (await stop(api, first)).status_code == 200
    await produce(bus, f"{name}.in", [event(i) for i in range(30, 60, 3)])
    second = (await start(api, definition=clean_events(name)))["execution_id"]
    await collector.wait_for(f"{name}.out", 20)
    await wait_status(api, second, lambda s: s["records_in"] == 10 and s["total_lag"] == 0)
    await asyncio.sleep(0.3)
    assert len(collector.on(f"{name}.out")) == 20  # the second execution did not redo the first's records
    assert (await stop(api, second)).status_code == 200


async def test_example_config_pipeline_runs(api: httpx.AsyncClient, bus: Bus, collector: Collector) -> None:
    await collector.start(bus, ["tauro.examples.events.clean", "tauro.examples.events.clean.dlq"])
    started = await start(api, config="streaming.yaml", pipeline="events_processor", mode="async")
    assert started["source"] == "config" and started["config"] == "streaming.yaml"
    await produce(bus, "tauro.examples.events", [
        {"event_id": "e-1", "user_id": "U42", "event_type": "click", "amount": 12.5, "debug": {}},
        {"event_id": "e-2", "user_id": "U42", "event_type": "scroll", "amount": 1},
        {"event_id": "e-3", "user_id": "U7", "event_type": "purchase"},
    ])
    clean = await collector.wait_for("tauro.examples.events.clean", 1)
    assert json.loads(clean[0].value) == {"event_id": "e-1", "user_id": "u42", "type": "click",
                                          "amount": 12.5, "source": "tauro.examples", "amount_cents": 1250.0}
    await collector.wait_for("tauro.examples.events.clean.dlq", 1)
    assert (await stop(api, started["execution_id"])).status_code == 200


async def test_windows_are_emitted_when_they_close_and_flushed_on_stop(
    api: httpx.AsyncClient, bus: Bus, collector: Collector
) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    await collector.start(bus, [f"{name}.out"])
    execution_id = (await start(api, definition=windowed(name)))["execution_id"]
    base = 1_767_225_600  # 2026-01-01T00:00:00Z, a multiple of 10 s
    records = [{"user_id": f"U{i % 3}", "ts": base + i, "amount": i} for i in range(35)]
    await produce(bus, f"{name}.in", records)
    expected: dict[tuple[str, int], list[int]] = {}
    for r in records:
        expected.setdefault((r["user_id"], (r["ts"] - base) // 10), []).append(r["amount"])
    closed = {k for k in expected if k[1] < 3}  # windows 0..2 close; window 3 stays open until the stop
    await collector.wait_for(f"{name}.out", len(closed))
    response = await stop(api, execution_id)
    assert response.status_code == 200 and response.json()["data"]["state"] == "STOPPED"
    got = await collector.wait_for(f"{name}.out", len(expected))
    results = {}
    for r in collector.values(f"{name}.out"):
        start_s = int(datetime.fromisoformat(r["window_start"].replace("Z", "+00:00")).timestamp())
        results[(r["user_id"], (start_s - base) // 10)] = (r["events"], r["total"])
    assert len(got) == len(expected)
    assert results == {k: (len(v), sum(v)) for k, v in expected.items()}


async def test_sync_mode_waits_for_the_end_or_its_time_limit(api: httpx.AsyncClient) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    response = await api.post("/api/v1/stream/run", json={"definition": clean_events(name), "mode": "sync",
                                                          "max_duration_seconds": 1, "timeout": 20})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["completed"] is True and data["state"] == "STOPPED" and data["mode"] == "sync"
    assert 1 <= time.monotonic() - began < 15
    other = f"t{uuid.uuid4().hex[:8]}"
    response = await api.post("/api/v1/stream/run", json={"definition": clean_events(other), "mode": "sync",
                                                          "timeout": 0.5})
    assert response.status_code == 202
    data = response.json()["data"]
    assert data["completed"] is False and data["state"] == "RUNNING"
    assert (await stop(api, data["execution_id"])).status_code == 200


async def test_idempotency_key_names_the_same_execution(api: httpx.AsyncClient) -> None:
    body = {"definition": clean_events(f"t{uuid.uuid4().hex[:8]}")}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    first = await api.post("/api/v1/stream/run", json=body, headers=headers)
    second = await api.post("/api/v1/stream/run", json=body, headers=headers)
    assert first.status_code == second.status_code == 202, second.text
    assert first.json()["data"]["execution_id"] == second.json()["data"]["execution_id"]
    assert (await stop(api, first.json()["data"]["execution_id"])).status_code == 200


async def test_stop_timeout_zero_still_ends_stopped(api: httpx.AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "streams" / "mine.yaml").write_text(json.dumps({"pipelines": {"mine": clean_events("mine")}}))
    execution_id = (await start(api, config="mine.yaml", pipeline="mine"))["execution_id"]
    response = await stop(api, execution_id, drain=0)
    assert response.status_code == 200
    assert response.json()["data"]["state"] == "STOPPED"
