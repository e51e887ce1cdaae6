"""Issue 4, end to end: schedules on real Kafka and the MongoDB-wire server, with the runs
service, an executor, the gateway and one or two schedulers as separate processes.

One deployment serves the whole module (its start-up is the slow part); each test uses
its own schedules and its own scheduler processes, and disables its schedules before it
checks, so nothing it checks can still change. Waits are bounded polls.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from tauro_scheduler.domain import run_id_for_tick

from tests.e2e.harness import Deployment, Service
from tests.e2e.runs_helpers import make_pipeline, make_project, shell_pipeline, until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
JSON = dict[str, Any]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def deployment(kafka_bootstrap: str, mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    dep = Deployment(kafka_bootstrap, mongo_url, tmp_path_factory.mktemp("scheduling"))
    try:
        dep.start("runs", MAX_CONCURRENT_RUNS="30")
        dep.start("executor")
        dep.start("gateway", ENABLE_AUTH="false", RATE_LIMIT_ENABLED="false")
        yield dep
    finally:
        dep.stop_all()
        with MongoClient(mongo_url) as client:
            client.drop_database(dep.database)


@pytest.fixture
def schedulers(deployment: Deployment) -> Iterator[list[Service]]:
    """Scheduler processes started by the test; all stopped after it."""
    started: list[Service] = []
    yield started
    for service in started:
        service.stop()


def start_scheduler(deployment: Deployment, started: list[Service], name: str) -> Service:
    service = deployment.start("scheduler", instance=name)
    started.append(service)
    return service


@pytest.fixture
def api(deployment: Deployment) -> Iterator[httpx.Client]:
    with deployment.client() as client:
        yield client


@pytest.fixture(scope="module")
def project(deployment: Deployment) -> tuple[str, str]:
    with deployment.client() as client:
        project_id = make_project(client, "scheduling")
        return project_id, make_pipeline(client, project_id, shell_pipeline("tick", {"work": "true"}))


def create_schedule(api: httpx.Client, project: tuple[str, str], **fields: Any) -> JSON:
    body = {"project_id": project[0], "pipeline_id": project[1], "kind": "INTERVAL", "expression": "1s",
            "overlap_policy": "allow_all", "max_concurrency": 10, **fields}
    response = api.post("/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def ticks(api: httpx.Client, sid: str) -> list[JSON]:
    items: list[JSON] = []
    while True:
        response = api.get(f"/schedules/{sid}/ticks", params={"limit": 100, "offset": len(items)})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        if not body["meta"]["has_more"]:
            return sorted(items, key=lambda t: t["nominal_time"])


def runs(api: httpx.Client, sid: str) -> list[JSON]:
    items: list[JSON] = []
    while True:
        body = api.get("/runs", params={"schedule_id": sid, "limit": 100, "offset": len(items)}).json()
        items += body["data"]
        if not body["meta"]["has_more"]:
            return items


def fired(api: httpx.Client, sid: str) -> list[JSON]:
    return [t for t in ticks(api, sid) if t["status"] == "fired"]


def contiguous(items: list[JSON]) -> bool:
    moments = [parse(t["nominal_time"]) for t in items]
    return len(moments) == len(set(moments)) == int((moments[-1] - moments[0]).total_seconds()) + 1


def tick_events(deployment: Deployment, sid: str) -> list[JSON]:
    """The schedule's tick outcomes as recorded in the event store (not the read model)."""
    with MongoClient(deployment.mongo_url) as client:
        events = client[deployment.database]["events"]
        return list(events.find({"stream_id": sid, "type": {"$in": ["TickFired", "TickQueued", "TickSkipped"]}}))


def settle_and_check(api: httpx.Client, deployment: Deployment, sid: str) -> list[JSON]:
    """Disable the schedule, wait for its runs, then check exactly-once: one outcome per tick in
    the store (a queued tick fires later: both events share the tick), one run per fired tick,
    with the derived run id and the nominal time as its logical_date, and no other runs."""
    assert api.post(f"/schedules/{sid}/disable").status_code == 200

    def settled() -> bool:  # waiting ticks still fire after a disable: wait for them too
        waiting = api.get(f"/schedules/{sid}").json()["data"]["waiting_count"]
        return waiting == 0 and len(runs(api, sid)) == len(fired(api, sid)) > 0

    until(settled, within=90, what="a run for every fired tick")
    events = tick_events(deployment, sid)
    fired_nominals = Counter(e["data"]["nominal"] for e in events if e["type"] == "TickFired")
    assert max(fired_nominals.values()) == 1, fired_nominals
    skipped = {e["data"]["nominal"] for e in events if e["type"] == "TickSkipped"}
    assert not skipped & set(fired_nominals)
    fired_ticks = fired(api, sid)
    by_id = {r["id"]: r for r in runs(api, sid)}
    assert len(by_id) == len(fired_ticks) == len(fired_nominals)
    for tick in fired_ticks:
        nominal = parse(tick["nominal_time"])
        run = by_id[run_id_for_tick(sid, nominal)]
        assert parse(run["params"]["logical_date"]) == nominal == parse(run["logical_date"])
    return fired_ticks


def test_one_second_schedule_creates_runs_at_their_nominal_times(
    deployment: Deployment, schedulers: list[Service], api: httpx.Client, project: tuple[str, str],
) -> None:
    start_scheduler(deployment, schedulers, "scheduler-a")
    schedule = create_schedule(api, project)
    sid = schedule["id"]
    first = parse(schedule["next_run_at"])
    until(lambda: len(fired(api, sid)) >= 5, what="five fired ticks")
    fired_ticks = settle_and_check(api, deployment, sid)
    nominals = [parse(t["nominal_time"]) for t in fired_ticks]
    assert nominals[0] == first and contiguous(fired_ticks)
    assert all(parse(t["fired_at"]) >= parse(t["nominal_time"]) for t in fired_ticks)  # never early
    done = until(lambda: [r for r in runs(api, sid) if r["state"] == "SUCCESS"], what="a finished run")
    assert done[0]["trigger"] == "schedule"


def test_scheduler_down_for_5s_applies_the_catch_up_policies_without_duplicates(
    deployment: Deployment, schedulers: list[Service], api: httpx.Client, project: tuple[str, str],
) -> None:
    first = start_scheduler(deployment, schedulers, "scheduler-a")
    # A tick more than 3 s late counts as missed: the outage (5 s plus a restart) misses at least 5.
    # Overlap skip with one slot keeps the number of runs (the slow part) small.
    ids = {policy: create_schedule(api, project, catch_up_policy=policy, misfire_grace_seconds=3,
                                   overlap_policy="skip", max_concurrency=1)["id"]
           for policy in ("none", "latest", "all")}
    until(lambda: all(len(fired(api, sid)) >= 1 for sid in ids.values()), what="ticks before the outage")
    time.sleep(2)
    first.kill()
    time.sleep(5)
    restarted = time.time()
    start_scheduler(deployment, schedulers, "scheduler-a")
    until(lambda: all(any(parse(t["nominal_time"]).timestamp() > restarted + 2 for t in ticks(api, sid))
                      for sid in ids.values()), what="ticks after the restart")
    fired_by = {policy: settle_and_check(api, deployment, sid) for policy, sid in ids.items()}
    outcomes = {policy: ticks(api, sid) for policy, sid in ids.items()}
    for items in outcomes.values():
        assert contiguous(items), [(t["nominal_time"], t["status"], t["reason"]) for t in items]
    assert sum(1 for t in outcomes["none"] if t["status"] == "missed" and t["reason"] == "missed") >= 3
    assert not any(t["origin"] == "catch_up" for t in fired_by["none"])
    assert sum(1 for t in outcomes["latest"] if t["reason"] == "superseded") >= 3
    assert sum(1 for t in fired_by["latest"] if t["origin"] == "catch_up") <= 1
    assert sum(1 for t in fired_by["all"] if t["origin"] == "catch_up") >= 3
    assert not any(t["status"] == "missed" for t in outcomes["all"])


def test_two_scheduler_processes_create_each_ticks_run_exactly_once(
    deployment: Deployment, schedulers: list[Service], api: httpx.Client, project: tuple[str, str],
) -> None:
    start_scheduler(deployment, schedulers, "scheduler-a")
    start_scheduler(deployment, schedulers, "scheduler-b")
    sid = create_schedule(api, project)["id"]
    until(lambda: len(fired(api, sid)) >= 8, within=60, what="eight fired ticks")
    fired_ticks = settle_and_check(api, deployment, sid)
    assert contiguous(ticks(api, sid))
    assert len(fired_ticks) >= 8


def test_backfill_of_30_gives_30_runs_and_again_gives_no_more(
    deployment: Deployment, schedulers: list[Service], api: httpx.Client, project: tuple[str, str],
) -> None:
    start_scheduler(deployment, schedulers, "scheduler-a")
    sid = create_schedule(api, project, kind="CRON", expression="0 2 * * *", overlap_policy="skip",
                          max_concurrency=30)["id"]
    response = api.post(f"/schedules/{sid}/backfill", json={"count": 30})
    assert response.status_code == 202, response.text
    data = response.json()["data"]
    assert data["queued"] == 30 and len(data["nominal_times"]) == 30
    moments = [parse(t) for t in data["nominal_times"]]
    assert moments == sorted(moments) and len({(m.hour, m.minute) for m in moments}) == 1  # daily at 02:00
    until(lambda: len(runs(api, sid)) == 30, within=120, what="30 backfilled runs")
    created = runs(api, sid)
    assert sorted(parse(r["logical_date"]) for r in created) == moments
    assert {r["id"] for r in created} == {run_id_for_tick(sid, m) for m in moments}

    again = api.post(f"/schedules/{sid}/backfill", json={"count": 30})
    assert again.status_code == 202, again.text
    assert again.json()["data"]["queued"] == 0
    assert {r["status"] for r in again.json()["data"]["runs"]} == {"exists"}
    time.sleep(3)
    assert len(runs(api, sid)) == 30
    assert api.post(f"/schedules/{sid}/disable").status_code == 200


def test_retry_on_failure_retries_each_failed_run_once_with_two_schedulers(
    deployment: Deployment, schedulers: list[Service], api: httpx.Client, project: tuple[str, str],
) -> None:
    start_scheduler(deployment, schedulers, "scheduler-a")
    start_scheduler(deployment, schedulers, "scheduler-b")
    failing = make_pipeline(api, project[0], shell_pipeline("fails", {"work": "exit 3"}))
    sid = create_schedule(api, (project[0], failing), kind="CRON", expression="0 4 * * *", max_concurrency=3,
                          config={"retry_on_failure": True})["id"]
    assert api.post(f"/schedules/{sid}/backfill", json={"count": 3}).status_code == 202

    def all_failed() -> list[JSON]:
        found = runs(api, sid)
        return found if len(found) == 6 and all(r["state"] == "FAILED" for r in found) else []

    found = until(all_failed, within=120, what="3 failed runs and their 3 failed retries")
    originals = {r["id"]: r for r in found if "retry_of" not in r["tags"]}
    retries = [r for r in found if "retry_of" in r["tags"]]
    assert len(originals) == 3 and sorted(r["tags"]["retry_of"] for r in retries) == sorted(originals)
    for retry in retries:
        assert retry["logical_date"] == originals[retry["tags"]["retry_of"]]["logical_date"]
    time.sleep(3)
    assert len(runs(api, sid)) == 6  # the retries' own failures are not retried
    assert api.post(f"/schedules/{sid}/disable").status_code == 200
