"""The metrics added for the Prometheus alerts and the Grafana dashboards (issue 17):
task attempts by final state and their durations, streaming records in and out by
pipeline, and each service instance's heartbeat age read from the heartbeat documents."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from tauro_platform.observability.heartbeat import HEARTBEATS
from tauro_platform.observability.heartbeat_age import HeartbeatAges
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.timeutil import iso

from tests.api.conftest import create_project
from tests.api.test_observability import Samples, finished_run, scrape, value
from tests.api.test_streams import clean_events, event, platform_bus, produce, start, wait_status


async def _scrape_until(api: httpx.AsyncClient, done: object, seconds: float = 10.0) -> Samples:
    """Scrape until ``done(samples)`` holds (counters move just after the read model)."""
    samples, _ = await scrape(api)
    for _ in range(int(seconds / 0.1)):
        if done(samples):  # type: ignore[operator]
            break
        await asyncio.sleep(0.1)
        samples, _ = await scrape(api)
    return samples


async def test_task_attempts_are_counted_by_final_state_with_their_durations(api: httpx.AsyncClient) -> None:
    project = await create_project(api)
    before, _ = await scrape(api)
    run, _ = await finished_run(api, project["id"])
    assert run["state"] == "SUCCESS"
    tasks = (await api.get(f"/api/v1/runs/{run['id']}/tasks")).json()["data"]
    assert tasks and all(t["status"] == "SUCCESS" for t in tasks)
    wanted = value(before, "tauro_tasks_total", state="SUCCESS") + len(tasks)
    after = await _scrape_until(api, lambda s: value(s, "tauro_tasks_total", state="SUCCESS") >= wanted)

    assert value(after, "tauro_tasks_total", state="SUCCESS") == wanted
    assert value(after, "tauro_tasks_total", state="FAILED") == value(before, "tauro_tasks_total", state="FAILED")
    observed = value(after, "tauro_task_duration_seconds_count") - value(before, "tauro_task_duration_seconds_count")
    assert observed == len(tasks)
    assert value(after, "tauro_task_duration_seconds_sum") > value(before, "tauro_task_duration_seconds_sum")


async def test_stream_records_in_and_out_are_counted_by_pipeline(api: httpx.AsyncClient) -> None:
    name = f"metered{datetime.now(UTC):%H%M%S%f}"
    execution = await start(api, definition=clean_events(name))
    records: list[object] = [event(i) for i in range(30)]
    kept = sum(1 for r in records if isinstance(r, dict) and r["event_type"] in ("click", "purchase"))
    records += [b"not json", b"[1, 2]"]  # two dead letters
    await produce(platform_bus(api), f"{name}.in", records)
    view = await wait_status(api, execution["execution_id"], lambda s: s["records_in"] == len(records))

    after = await _scrape_until(
        api, lambda s: value(s, "tauro_stream_records_total", pipeline=name, direction="in") >= len(records))
    assert value(after, "tauro_stream_records_total", pipeline=name, direction="in") == len(records)
    assert value(after, "tauro_stream_records_total", pipeline=name, direction="out") == kept == view["records_out"]
    assert value(after, "tauro_stream_dead_letters_total", pipeline=name) == 2 == view["dead_lettered"]


async def test_heartbeat_age_grows_for_a_silent_instance_and_goes_with_its_document() -> None:
    store = MemoryReadStore()
    now = [datetime(2026, 1, 1, tzinfo=UTC).timestamp()]
    seen = iso(datetime.fromtimestamp(now[0], UTC) - timedelta(seconds=3))
    for doc_id, service, instance in (("executor:x1", "executor", "x1"), ("runs:r1", "runs", "r1")):
        await store.put_versioned(HEARTBEATS, {"_id": doc_id, "service": service, "instance_id": instance,
                                               "last_seen": seen, "state": "running", "_v": 1}, None)
    await store.put_versioned(HEARTBEATS, {"_id": "broken", "service": "x", "_v": 1}, None)  # no last_seen: ignored
    ages = HeartbeatAges(store, clock=lambda: now[0])

    assert set(await ages.sample()) == {("executor", "x1"), ("runs", "r1")}
    families, _ = await _render()
    assert families[("executor", "x1")] == 3.0
    now[0] += 40  # no new sample: the age still grows (a killed service, or the store unreachable)
    families, _ = await _render()
    assert families[("executor", "x1")] == 43.0 and families[("runs", "r1")] == 43.0

    await store.drop([HEARTBEATS], [])  # the executor's document pruned, the runs service's kept
    await store.put_versioned(HEARTBEATS, {"_id": "runs:r1", "service": "runs", "instance_id": "r1",
                                           "last_seen": seen, "state": "running", "_v": 1}, None)
    await ages.sample()
    families, _ = await _render()
    assert ("executor", "x1") not in families and families[("runs", "r1")] == 43.0
    await store.drop([HEARTBEATS], [])
    await ages.sample()  # leaves the process's gauge as it found it for the other tests


async def _render() -> tuple[dict[tuple[str, str], float], bytes]:
    from prometheus_client.parser import text_string_to_metric_families
    from tauro_platform.observability.metrics import render

    text = render()
    found = {(s.labels["service"], s.labels["instance"]): s.value
             for family in text_string_to_metric_families(text.decode())
             if family.name == "tauro_service_heartbeat_age_seconds" for s in family.samples}
    return found, text
