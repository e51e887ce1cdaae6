"""Schedules through the REST API on the embedded platform (scheduler, runs and executor in-process).

Firing tests use real time with 1-second INTERVAL schedules and bounded waits; the
nominal times they check come from the scheduler domain, so they hold whenever they run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tauro_executor.service import ExecutorService
from tauro_gateway.app import create_app
from tauro_gateway.context import GatewayContext
from tauro_platform.adapters import Adapters, build_adapters
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings
from tauro_platform.timeutil import iso, parse_iso
from tauro_runs.service import RunsService, load_pipeline_files
from tauro_scheduler.domain import ScheduleKind, ScheduleRule, last_n_before, next_after, run_id_for_tick
from tauro_scheduler.domain.retry import retry_run_id
from tauro_scheduler.service import SchedulerService

from tests.api.conftest import create_project, embedded_settings

API = "/api/v1"
JSON = dict[str, Any]


# --------------------------------------------------------------------------- helpers


async def make_pipeline(api: httpx.AsyncClient, project_id: str, name: str = "tick", command: str = "true") -> str:
    body = {"name": name, "nodes": [{"id": "work", "type": "shell", "config": {"command": command}}],
            "config": {"retry_policy": {"max_attempts": 1}}}
    response = await api.post(f"{API}/projects/{project_id}/pipelines", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def make_schedule(api: httpx.AsyncClient, project_id: str, pipeline_id: str, **fields: Any) -> JSON:
    body = {"project_id": project_id, "pipeline_id": pipeline_id, "kind": "CRON", "expression": "0 2 * * *", **fields}
    response = await api.post(f"{API}/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def every_second(api: httpx.AsyncClient, name: str = "tick", command: str = "true", **fields: Any) -> JSON:
    project = (await create_project(api, f"p_{name}"))["id"]
    pipeline = await make_pipeline(api, project, name, command)
    values = {"kind": "INTERVAL", "expression": "1s", "overlap_policy": "allow_all", "max_concurrency": 10, **fields}
    return await make_schedule(api, project, pipeline, **values)


async def ticks(api: httpx.AsyncClient, schedule_id: str, **params: Any) -> list[JSON]:
    response = await api.get(f"{API}/schedules/{schedule_id}/ticks", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda t: t["nominal_time"])


async def runs_of(api: httpx.AsyncClient, schedule_id: str) -> list[JSON]:
    response = await api.get(f"{API}/runs", params={"schedule_id": schedule_id, "limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def until(check: Callable[[], Awaitable[Any]], within: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {within}s")
        await asyncio.sleep(0.25)  # gently: the API rate limit (100 requests a minute) applies


def errors(response: httpx.Response, status: int = 422) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == {422: "VALIDATION_ERROR", 404: "NOT_FOUND", 409: "CONFLICT"}[status]
    return {d["field"]: d["message"] for d in body["error"]["details"]}


def contiguous(items: list[JSON]) -> bool:
    """Every second between the first and the last nominal time has exactly one tick."""
    moments = [parse_iso(t["nominal_time"]) for t in items]
    span = int((moments[-1] - moments[0]).total_seconds()) + 1
    return len(moments) == len(set(moments)) == span


async def check_runs_match_fired_ticks(api: httpx.AsyncClient, schedule_id: str) -> None:
    """Disable the schedule, then: each fired tick has exactly one run, with the derived id and
    its nominal time as logical_date, and there are no other runs."""
    assert (await api.post(f"{API}/schedules/{schedule_id}/disable")).status_code == 200

    async def settled() -> bool:
        fired = [t for t in await ticks(api, schedule_id) if t["status"] == "fired"]
        return bool(fired) and len(await runs_of(api, schedule_id)) == len(fired)

    await until(settled, what="a run for every fired tick")
    fired = [t for t in await ticks(api, schedule_id) if t["status"] == "fired"]
    runs = {r["id"]: r for r in await runs_of(api, schedule_id)}
    for tick in fired:
        nominal = parse_iso(tick["nominal_time"])
        run = runs[run_id_for_tick(schedule_id, nominal)]
        assert parse_iso(run["params"]["logical_date"]) == nominal
        assert run["trigger"] == "schedule" and run["schedule_id"] == schedule_id


# --------------------------------------------------------------------------- a platform whose scheduler can restart


@dataclass
class Platform:
    api: httpx.AsyncClient
    adapters: Adapters
    settings: Settings
    schedulers: list[SchedulerService] = field(default_factory=list)

    async def start_scheduler(self, name: str) -> SchedulerService:
        scheduler = SchedulerService(self.adapters, self.settings, instance_id=name)
        await scheduler.start()
        self.schedulers.append(scheduler)
        return scheduler

    async def stop_scheduler(self, scheduler: SchedulerService) -> None:
        await scheduler.stop()
        self.schedulers.remove(scheduler)


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    settings = embedded_settings(tmp_path)
    adapters = await build_adapters(settings)
    runs = RunsService(adapters, settings)
    await runs.start()
    await load_pipeline_files(runs.host, settings.pipelines_dir)
    executor = ExecutorService(adapters, settings, executor_id="test-executor")
    await executor.start()
    sender = CommandSender(adapters.bus, timeout=10)
    await sender.start()
    app = create_app(GatewayContext(settings, sender, adapters.read_store, adapters.store, adapters.bus))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tauro") as client:
        platform = Platform(client, adapters, settings)
        await platform.start_scheduler("test-scheduler-a")
        yield platform
        for scheduler in list(platform.schedulers):
            await scheduler.stop()
    await sender.stop()
    await executor.stop()
    await runs.stop()
    await adapters.close()


# --------------------------------------------------------------------------- CRUD


async def test_create_get_list_update_enable_disable_delete(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    other = (await create_project(api, "other"))["id"]
    pipeline = await make_pipeline(api, project)
    created = await make_schedule(
        api, project, "tick", expression="30 2 * * 1-5", timezone="Europe/Berlin", params={"mode": "incremental"},
        config={"max_concurrency": 2, "timeout_seconds": 7200, "retry_on_failure": True,
                "notifications": {"on_failure": True, "email": "alerts@example.com"}},
    )
    sid = created["id"]
    assert sid.startswith("sched_") and created["pipeline_id"] == pipeline and created["pipeline_name"] == "tick"
    assert created["max_concurrency"] == 2 and created["timeout_seconds"] == 7200
    assert created["config"]["retry_on_failure"] is True and created["config"]["max_concurrency"] == 2
    assert created["overlap_policy"] == "skip" and created["catch_up_policy"] == "latest"
    assert created["enabled"] is True and created["last_run_at"] is None
    assert created["statistics"] == {"total_runs": 0, "successful_runs": 0, "failed_runs": 0, "cancelled_runs": 0,
                                     "active_runs": 0, "runs_by_state": {}, "success_rate": None}
    rule = ScheduleRule(ScheduleKind.CRON, "30 2 * * 1-5", "Europe/Berlin")
    assert parse_iso(created["next_run_at"]) == next_after(rule, parse_iso(created["created_at"]))

    fetched = (await api.get(f"{API}/schedules/{sid}")).json()["data"]
    assert fetched["params"] == {"mode": "incremental"} and fetched["timezone"] == "Europe/Berlin"
    assert (await api.get(f"{API}/schedules/{sid}", params={"fields": "expression"})).json()["data"] == {
        "id": sid, "expression": "30 2 * * 1-5"}

    second = await make_schedule(api, other, "daily_etl", enabled=False)  # a catalog pipeline, by name
    listed = (await api.get(f"{API}/schedules", params={"limit": 1})).json()
    assert listed["meta"]["total"] == 2 and listed["meta"]["has_more"] is True and len(listed["data"]) == 1
    by_project = (await api.get(f"{API}/schedules", params={"project_id": other})).json()["data"]
    assert [s["id"] for s in by_project] == [second["id"]]
    by_pipeline = (await api.get(f"{API}/schedules", params={"pipeline_id": pipeline})).json()["data"]
    assert [s["id"] for s in by_pipeline] == [sid]
    disabled = (await api.get(f"{API}/schedules", params={"enabled": "false"})).json()["data"]
    assert [s["id"] for s in disabled] == [second["id"]] and disabled[0]["next_run_at"] is None

    response = await api.put(f"{API}/schedules/{sid}", json={"expression": "0 6 * * *", "timezone": "UTC"})
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["expression"] == "0 6 * * *" and updated["params"] == {"mode": "incremental"}
    assert parse_iso(updated["next_run_at"]).hour == 6

    disabled_one = (await api.post(f"{API}/schedules/{sid}/disable")).json()["data"]
    assert disabled_one["enabled"] is False and disabled_one["next_run_at"] is None
    enabled = (await api.post(f"{API}/schedules/{sid}/enable")).json()["data"]
    assert enabled["enabled"] is True and enabled["next_run_at"] is not None
    assert (await api.post(f"{API}/schedules/{sid}/enable")).status_code == 200  # already enabled: no change

    assert (await api.delete(f"{API}/schedules/{sid}")).json()["data"] == {"id": sid, "deleted": True}
    errors(await api.get(f"{API}/schedules/{sid}"), 404)
    errors(await api.delete(f"{API}/schedules/{sid}"), 404)
    errors(await api.post(f"{API}/schedules/{sid}/enable"), 404)
    remaining = (await api.get(f"{API}/schedules")).json()["data"]
    assert [s["id"] for s in remaining] == [second["id"]]


async def test_invalid_input_is_rejected_with_field_details(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    await make_pipeline(api, project)
    base = {"project_id": project, "pipeline_id": "tick", "kind": "CRON", "expression": "0 2 * * *"}

    async def create(**changes: Any) -> httpx.Response:
        return await api.post(f"{API}/schedules", json={**base, **changes})

    assert "expression" in errors(await create(expression="61 * * * *"))
    assert "expression" in errors(await create(expression="0 0 30 2 *"))  # never fires
    assert "expression" in errors(await create(expression="* * * *"))
    assert "timezone" in errors(await create(timezone="Mars/Olympus"))
    assert "expression" in errors(await create(kind="INTERVAL", expression="0s"))
    assert "expression" in errors(await create(kind="INTERVAL", expression="5 minutes"))
    assert "kind" in errors(await create(kind="DAILY"))
    both = errors(await create(expression="bad", timezone="Nowhere/Town"))
    assert {"expression", "timezone"} <= set(both)
    assert errors(await create(project_id="proj_missing")) == {"project_id": "project 'proj_missing' not found"}
    assert "pipeline_id" in errors(await create(pipeline_id="no_such_pipeline"))
    assert "overlap_policy" in errors(await create(overlap_policy="sometimes"))
    assert "catch_up_policy" in errors(await create(catch_up_policy="most"))
    assert "max_concurrency" in errors(await create(max_concurrency=0))
    assert "colour" in errors(await create(colour="red"))
    assert "config.max_concurrency" in errors(await create(max_concurrency=1, config={"max_concurrency": 3}))
    assert (await api.get(f"{API}/schedules")).json()["meta"]["total"] == 0  # nothing was written

    schedule = await make_schedule(api, project, "tick")
    sid = schedule["id"]
    assert "expression" in errors(await api.put(f"{API}/schedules/{sid}", json={"expression": "*/0 * * * *"}))
    assert "pipeline_id" in errors(await api.put(f"{API}/schedules/{sid}", json={"pipeline_id": "nope"}))
    assert (await api.get(f"{API}/schedules/{sid}")).json()["data"]["expression"] == "0 2 * * *"
    assert "schedule_id" in errors(await api.get(f"{API}/schedules/bad id"))
    errors(await api.get(f"{API}/schedules/sched_missing"), 404)
    assert "status" in errors(await api.get(f"{API}/schedules/{sid}/ticks", params={"status": "late"}))


async def test_create_honours_idempotency_key(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    await make_pipeline(api, project)
    body = {"project_id": project, "pipeline_id": "tick", "kind": "CRON", "expression": "0 2 * * *"}
    headers = {"Idempotency-Key": "nightly-1"}
    first = await api.post(f"{API}/schedules", json=body, headers=headers)
    again = await api.post(f"{API}/schedules", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert (await api.get(f"{API}/schedules")).json()["meta"]["total"] == 1


# --------------------------------------------------------------------------- firing


async def test_interval_schedule_fires_runs_at_their_nominal_times(api: httpx.AsyncClient) -> None:
    schedule = await every_second(api, params={"mode": "incremental"})
    sid = schedule["id"]
    first = parse_iso(schedule["next_run_at"])
    assert first == parse_iso(schedule["created_at"]).replace(microsecond=0) + timedelta(seconds=1)

    async def three_fired() -> list[JSON]:
        fired = [t for t in await ticks(api, sid) if t["status"] == "fired"]
        return fired if len(fired) >= 3 else []

    fired = await until(three_fired, what="three fired ticks")
    assert [parse_iso(t["nominal_time"]) for t in fired[:3]] == [first + timedelta(seconds=i) for i in range(3)]
    await check_runs_match_fired_ticks(api, sid)
    run = (await runs_of(api, sid))[-1]
    assert run["params"]["mode"] == "incremental" and run["tags"]["schedule_id"] == sid
    assert run["logical_date"] == run["params"]["logical_date"]

    async def one_succeeded() -> JSON:
        view = (await api.get(f"{API}/schedules/{sid}")).json()["data"]
        return view if view["statistics"]["successful_runs"] >= 1 else {}

    view = await until(one_succeeded, what="a successful run")
    assert view["last_run_at"] is not None and view["tick_counts"]["fired"] >= 3
    assert view["enabled"] is False and view["next_run_at"] is None  # disabled by the check above
    await asyncio.sleep(1.5)
    assert (await api.get(f"{API}/schedules/{sid}")).json()["data"]["tick_counts"] == view["tick_counts"]


async def test_overlap_skip_records_each_skipped_tick_with_its_reason(api: httpx.AsyncClient) -> None:
    schedule = await every_second(api, "slow", command="sleep 3", overlap_policy="skip", max_concurrency=1)
    sid = schedule["id"]

    async def skipped() -> list[JSON]:
        return [t for t in await ticks(api, sid) if t["status"] == "skipped"]

    found = await until(skipped, what="a skipped tick")
    assert found[0]["reason"] == "overlap" and "max_concurrency=1" in found[0]["message"]
    assert contiguous(await ticks(api, sid))
    by_status = await ticks(api, sid, status="skipped")
    assert by_status and all(t["status"] == "skipped" for t in by_status)
    runs = await runs_of(api, sid)
    assert sum(1 for r in runs if r["state"] in ("QUEUED", "RUNNING")) <= 1


async def test_buffer_one_keeps_one_waiting_tick_and_skips_the_rest(api: httpx.AsyncClient) -> None:
    schedule = await every_second(api, "buffered", command="sleep 2", overlap_policy="buffer_one", max_concurrency=1)
    sid = schedule["id"]

    async def buffer_full() -> list[JSON]:
        return [t for t in await ticks(api, sid) if t["reason"] == "buffer_full"]

    await until(buffer_full, what="a tick skipped because the buffer is full")
    statuses = {t["status"] for t in await ticks(api, sid)}
    assert statuses <= {"fired", "waiting", "skipped"}
    view = (await api.get(f"{API}/schedules/{sid}")).json()["data"]
    assert view["waiting_count"] <= 1

    async def waited_then_fired() -> bool:  # a buffered tick fires when the slot frees
        return any(t["status"] == "fired" and t.get("queued_at") for t in await ticks(api, sid))

    await until(waited_then_fired, what="a buffered tick fired", within=15)
    await check_runs_match_fired_ticks(api, sid)


async def test_cancel_running_cancels_the_older_run(api: httpx.AsyncClient) -> None:
    schedule = await every_second(api, "replace", command="sleep 30", overlap_policy="cancel_running",
                                  max_concurrency=1)
    sid = schedule["id"]

    async def cancelled() -> list[JSON]:
        return [r for r in await runs_of(api, sid) if r["state"] == "CANCELLED"]

    found = await until(cancelled, what="a cancelled run")
    assert "cancel_running" in found[0]["error"]

    async def cancelling() -> list[JSON]:
        return [t for t in await ticks(api, sid) if t.get("cancelled_run_ids")]

    fired = await until(cancelling, what="the tick that cancelled it")
    assert fired[0]["cancelled_run_ids"][0] in {r["id"] for r in await runs_of(api, sid)}
    await check_runs_match_fired_ticks(api, sid)


# --------------------------------------------------------------------------- backfill


async def test_backfill_count_dry_run_then_real_then_no_duplicates(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    pipeline = await make_pipeline(api, project)
    schedule = await make_schedule(api, project, pipeline, expression="0 2 * * *", max_concurrency=2)
    sid = schedule["id"]
    now = datetime.now(UTC)
    expected = [iso(t) for t in last_n_before(ScheduleRule(ScheduleKind.CRON, "0 2 * * *"), now, 5)]

    dry = await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 5, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["data"]["nominal_times"] == expected and dry.json()["data"]["dry_run"] is True
    assert {r["status"] for r in dry.json()["data"]["runs"]} == {"would_create"}
    assert dry.json()["data"]["would_create"] == 5 and dry.json()["data"]["queued"] == 0
    assert await runs_of(api, sid) == []

    real = await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 5})
    assert real.status_code == 202, real.text
    data = real.json()["data"]
    assert data["nominal_times"] == expected and data["queued"] == 5 and data["backfill_id"].startswith("bf_")
    assert [r["run_id"] for r in data["runs"]] == [run_id_for_tick(sid, parse_iso(t)) for t in expected]

    assert len(await runs_of(api, sid)) == 5  # created at once, before any of them ran
    peak = 0

    async def all_succeeded() -> bool:
        nonlocal peak
        runs = await runs_of(api, sid)
        peak = max(peak, sum(1 for r in runs if r["state"] == "RUNNING"))
        return len(runs) == 5 and all(r["state"] == "SUCCESS" for r in runs)

    await until(all_succeeded, within=30, what="five backfilled runs succeeded")
    assert peak <= 2  # max_concurrency holds back their start
    assert sorted(parse_iso(r["params"]["logical_date"]) for r in await runs_of(api, sid)) == [
        parse_iso(t) for t in expected]
    backfilled = await ticks(api, sid, origin="backfill")
    assert len(backfilled) == 5 and {t["status"] for t in backfilled} == {"fired"}

    again = (await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 5})).json()["data"]
    assert again["queued"] == 0 and {r["status"] for r in again["runs"]} == {"exists"}
    wider = (await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 7})).json()["data"]
    assert wider["queued"] == 2
    await until(lambda: _count_runs(api, sid, 7), what="seven runs")
    await asyncio.sleep(0.5)
    assert len(await runs_of(api, sid)) == 7


async def test_the_backfill_whose_runs_are_listed_at_once(api: httpx.AsyncClient) -> None:
    """Every run of a backfill exists (QUEUED) when the backfill is accepted; max_concurrency
    limits how many of them run at once, not how many exist."""
    project = (await create_project(api))["id"]
    pipeline = await make_pipeline(api, project, "slow", "sleep 0.6")
    sid = (await make_schedule(api, project, pipeline, max_concurrency=2))["id"]
    response = await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 6})
    assert response.status_code == 202, response.text
    expected = {r["run_id"] for r in response.json()["data"]["runs"]}
    listed = await runs_of(api, sid)
    assert {r["id"] for r in listed} == expected
    assert {r["state"] for r in listed} <= {"QUEUED", "RUNNING"}
    assert all(r["trigger"] == "schedule" and r["schedule_id"] == sid for r in listed)
    assert sum(1 for r in listed if r["state"] == "RUNNING") <= 2
    queued = await api.get(f"{API}/runs", params={"schedule_id": sid, "state": "QUEUED"})
    assert queued.json()["meta"]["total"] >= 4  # held back by max_concurrency, not missing
    peak, started = 0, {}

    async def all_succeeded() -> bool:
        nonlocal peak
        runs = await runs_of(api, sid)
        peak = max(peak, sum(1 for r in runs if r["state"] == "RUNNING"))
        started.update({r["logical_date"]: r["started_at"] for r in runs if r["started_at"]})
        return all(r["state"] == "SUCCESS" for r in runs)

    await until(all_succeeded, within=60, what="six backfilled runs succeeded")
    assert peak <= 2, peak
    assert len(await runs_of(api, sid)) == 6
    assert len(started) == 6


async def test_cancelling_a_backfilled_run_before_it_starts(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    pipeline = await make_pipeline(api, project, "slowish", "sleep 0.5")
    sid = (await make_schedule(api, project, pipeline, max_concurrency=1))["id"]
    data = (await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 3})).json()["data"]
    waiting = [r for r in await runs_of(api, sid) if r["state"] == "QUEUED"]
    assert len(waiting) >= 2  # max_concurrency 1: at most one started yet
    held = waiting[0]["id"]
    cancelled = await api.post(f"{API}/runs/{held}/cancel", json={"reason": "not this day"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["state"] == "CANCELLED"

    async def settled() -> list[JSON]:
        runs = await runs_of(api, sid)
        done = all(r["state"] in ("SUCCESS", "CANCELLED") for r in runs)
        return runs if done else []

    runs = await until(settled, within=30, what="the other two backfilled runs succeeded")
    assert {r["id"]: r["state"] for r in runs} == {
        **{r["run_id"]: "SUCCESS" for r in data["runs"] if r["run_id"] != held}, held: "CANCELLED"}
    assert next(r for r in runs if r["id"] == held)["started_at"] is None  # it never started
    # the schedule's accounting is intact: the cancelled run is not re-created, a wider backfill
    # creates only the new day, and that run gets the slot
    again = (await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 4})).json()["data"]
    assert again["queued"] == 1 and [r["status"] for r in again["runs"]] == ["queued", "exists", "exists", "exists"]
    fresh = again["runs"][0]["run_id"]

    async def fresh_succeeded() -> bool:
        return bool((await api.get(f"{API}/runs/{fresh}")).json()["data"]["state"] == "SUCCESS")

    await until(fresh_succeeded, within=30, what="the fourth day's run succeeded")
    assert len(await runs_of(api, sid)) == 4
    schedule = (await api.get(f"{API}/schedules/{sid}")).json()["data"]
    assert schedule["waiting_count"] == 0 if "waiting_count" in schedule else True


async def _count_runs(api: httpx.AsyncClient, sid: str, n: int) -> bool:
    return len(await runs_of(api, sid)) == n


async def test_backfill_range_and_its_validation(api: httpx.AsyncClient) -> None:
    project = (await create_project(api))["id"]
    pipeline = await make_pipeline(api, project)
    sid = (await make_schedule(api, project, pipeline, expression="0 */6 * * *"))["id"]
    body = {"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z", "dry_run": True}
    response = await api.post(f"{API}/schedules/{sid}/backfill", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["nominal_times"] == [
        "2025-01-01T00:00:00.000000Z", "2025-01-01T06:00:00.000000Z", "2025-01-01T12:00:00.000000Z",
        "2025-01-01T18:00:00.000000Z", "2025-01-02T00:00:00.000000Z"]

    async def backfill(**payload: Any) -> httpx.Response:
        return await api.post(f"{API}/schedules/{sid}/backfill", json=payload)

    assert "count" in errors(await backfill(count=0))
    assert "count" in errors(await backfill(count=1001))
    assert "count" in errors(await backfill())
    assert "start" in errors(await backfill(count=3, start="2025-01-01T00:00:00Z"))
    assert "end" in errors(await backfill(start="2025-01-01T00:00:00Z"))
    assert "end" in errors(await backfill(start="2025-01-02T00:00:00Z", end="2025-01-01T00:00:00Z"))
    assert "end" in errors(await backfill(start="2025-01-01T00:00:00Z", end="2999-01-01T00:00:00Z"))
    assert "start" in errors(await backfill(start="2025-01-01T00:00:00", end="2025-01-02T00:00:00Z"))
    assert "end" in errors(await backfill(start="2000-01-01T00:00:00Z", end="2025-01-01T00:00:00Z"))  # > 1000
    errors(await api.post(f"{API}/schedules/sched_missing/backfill", json={"count": 1}), 404)


async def test_dst_rule_shows_in_backfilled_nominal_times(api: httpx.AsyncClient) -> None:
    """02:30 New York does not exist on 2024-03-10 (fires once at 03:00 EDT); 01:30 happens twice
    on 2024-11-03 (fires once, at the first 01:30, EDT)."""
    project = (await create_project(api))["id"]
    pipeline = await make_pipeline(api, project)

    async def nominal_times(expression: str, start: str, end: str, zone: str) -> list[str]:
        sid = (await make_schedule(api, project, pipeline, expression=expression, timezone=zone))["id"]
        body = {"start": start, "end": end, "dry_run": True}
        data = (await api.post(f"{API}/schedules/{sid}/backfill", json=body)).json()["data"]
        return [r["logical_date"] for r in data["runs"]]

    spring = await nominal_times("30 2 * * *", "2024-03-09T00:00:00Z", "2024-03-12T00:00:00Z", "America/New_York")
    assert spring == ["2024-03-09T02:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"]
    autumn = await nominal_times("30 1 * * *", "2024-11-02T00:00:00Z", "2024-11-05T00:00:00Z", "America/New_York")
    assert autumn == ["2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]
    berlin = await nominal_times("30 2 * * *", "2024-03-30T00:00:00Z", "2024-04-01T00:00:00Z", "Europe/Berlin")
    assert berlin == ["2024-03-30T02:30:00+01:00", "2024-03-31T03:00:00+02:00"]
    hourly = await nominal_times("15 * * * *", "2024-11-03T04:00:00Z", "2024-11-03T07:00:00Z", "America/New_York")
    assert hourly == ["2024-11-03T00:15:00-04:00", "2024-11-03T01:15:00-04:00", "2024-11-03T01:15:00-05:00"]


# --------------------------------------------------------------------------- restarts, repair, replicas


async def test_restart_applies_each_catch_up_policy_without_gaps_or_duplicates(platform: Platform) -> None:
    api = platform.api
    common = {"misfire_grace_seconds": 1}
    none = (await every_second(api, "none", catch_up_policy="none", **common))["id"]
    latest = (await every_second(api, "latest", catch_up_policy="latest", **common))["id"]
    every = (await every_second(api, "all", catch_up_policy="all", **common))["id"]
    await until(lambda: _fired_at_least(api, none, 2), what="ticks before the stop")
    await platform.stop_scheduler(platform.schedulers[0])
    await asyncio.sleep(4.0)
    await platform.start_scheduler("test-scheduler-b")
    await asyncio.sleep(2.5)

    none_ticks, latest_ticks, all_ticks = [await ticks(api, s) for s in (none, latest, every)]
    for items in (none_ticks, latest_ticks, all_ticks):
        assert contiguous(items), [(t["nominal_time"], t["status"]) for t in items]
    assert sum(1 for t in none_ticks if t["status"] == "missed" and t["reason"] == "missed") >= 2
    assert not any(t["origin"] == "catch_up" for t in none_ticks)
    assert sum(1 for t in latest_ticks if t["reason"] == "superseded") >= 2
    assert sum(1 for t in latest_ticks if t["origin"] == "catch_up") <= 1
    assert sum(1 for t in all_ticks if t["origin"] == "catch_up" and t["status"] == "fired") >= 2
    assert not any(t["status"] == "missed" for t in all_ticks)
    for sid in (none, latest, every):
        await check_runs_match_fired_ticks(api, sid)


async def _fired_at_least(api: httpx.AsyncClient, sid: str, n: int) -> bool:
    return sum(1 for t in await ticks(api, sid) if t["status"] == "fired") >= n


async def test_fired_tick_whose_run_was_never_created_is_created_on_restart(platform: Platform) -> None:
    api = platform.api
    first = platform.schedulers[0]
    await first.launcher.stop()  # ticks are recorded, runs never created: as if it died in between
    sid = (await every_second(api, "orphan"))["id"]

    async def orphans() -> list[JSON]:
        return [t for t in await ticks(api, sid) if t["status"] == "fired" and not t["run_created"]]

    await until(lambda: _orphans_at_least(orphans, 2), what="fired ticks without runs")
    assert await runs_of(api, sid) == []
    await platform.stop_scheduler(first)
    second = await platform.start_scheduler("test-scheduler-b")
    await check_runs_match_fired_ticks(api, sid)
    assert await second.loop.repair(immediate=True) == 0  # nothing left to repair

    async def no_orphans() -> bool:
        return not await orphans()

    await until(no_orphans, what="every fired tick marked run_created")


async def _orphans_at_least(orphans: Callable[[], Awaitable[list[JSON]]], n: int) -> bool:
    return len(await orphans()) >= n


async def test_two_scheduler_replicas_fire_each_tick_once(platform: Platform) -> None:
    api = platform.api
    await platform.start_scheduler("test-scheduler-b")
    sid = (await every_second(api, "replicas"))["id"]
    await until(lambda: _fired_at_least(api, sid, 4), what="four fired ticks")
    await check_runs_match_fired_ticks(api, sid)
    events = await platform.adapters.store.read_stream(sid)
    decided = [e.data["nominal"] for e in events if e.type in ("TickFired", "TickSkipped", "TickQueued")]
    assert len(decided) == len(set(decided)) >= 4
    assert contiguous(await ticks(api, sid))


# --------------------------------------------------------------------------- retry on failure


async def test_retry_on_failure_gives_a_failed_tick_one_retry_run(platform: Platform) -> None:
    api = platform.api
    project = (await create_project(api, "retries"))["id"]
    failing = await make_pipeline(api, project, "fails", command="exit 3")
    retried = (await make_schedule(api, project, failing, config={"retry_on_failure": True}))["id"]
    plain = (await make_schedule(api, project, failing, expression="0 3 * * *"))["id"]
    for sid in (retried, plain):
        assert (await api.post(f"{API}/schedules/{sid}/backfill", json={"count": 1})).status_code == 202

    async def ended(sid: str, n: int) -> list[JSON]:
        runs = await runs_of(api, sid)
        return runs if len(runs) == n and all(r["state"] == "FAILED" for r in runs) else []

    runs = await until(lambda: ended(retried, 2), within=30, what="the failed run and its failed retry")
    await until(lambda: ended(plain, 1), within=30, what="the failed run of the schedule without retries")
    first, = [r for r in runs if "retry_of" not in r["tags"]]
    retry, = [r for r in runs if r["tags"].get("retry_of") == first["id"]]
    assert retry["id"] == retry_run_id(first["id"])
    assert retry["params"]["logical_date"] == first["params"]["logical_date"]
    assert retry["trigger"] == "schedule" and retry["schedule_id"] == retried

    # A redelivered outcome creates nothing more; the retry's own failure is not retried.
    retrier = platform.schedulers[0].retrier
    assert await retrier.retry_if_wanted(first["id"], "RunFailed") == retry["id"]
    assert await retrier.retry_if_wanted(retry["id"], "RunFailed") is None
    await asyncio.sleep(1.0)
    assert len(await runs_of(api, retried)) == 2 and len(await runs_of(api, plain)) == 1
    stats = (await api.get(f"{API}/schedules/{retried}")).json()["data"]["statistics"]
    assert stats["total_runs"] == 2 and stats["failed_runs"] == 2
