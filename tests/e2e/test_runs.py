"""Issue 3, end to end: runs on real Kafka and MongoDB with gateway, runs service and
executors as separate processes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Deployment
from tests.e2e.runs_helpers import (
    log_messages,
    make_pipeline,
    make_project,
    shell_pipeline,
    start_run,
    until,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def platform(deployment: Deployment) -> Deployment:
    deployment.start("runs")
    deployment.start("executor")
    deployment.start("gateway")
    return deployment


def test_example_pipeline_succeeds_and_writes_its_output(platform: Deployment) -> None:
    with platform.client() as api:
        project = make_project(api, "etl_project")
        run_id = start_run(api, project, "daily_etl", params={"date": "2025-11-18"})
        run = wait_for(api, run_id)
        assert run["state"] == "SUCCESS", run
        assert run["progress"]["percent_complete"] == 100.0
        output = platform.tmp / "output" / "orders_2025-11-18.jsonl"
        rows = [json.loads(line) for line in output.read_text().splitlines()]
        assert len(rows) == 27
        assert len({r["order_id"] for r in rows}) == 27
        stats = api.get(f"/projects/{project}/statistics").json()["data"]
        assert stats["total_runs"] == 1 and stats["success_rate"] == 1.0


def test_failing_node_is_retried_then_fails_with_error_in_logs(platform: Deployment) -> None:
    with platform.client() as api:
        project = make_project(api)
        body = shell_pipeline("flaky", {"boom": "echo 'about to fail' && echo 'disk on fire' >&2 && exit 3"},
                              max_attempts=3, backoff=0.2)
        run_id = start_run(api, project, make_pipeline(api, project, body))
        run = wait_for(api, run_id)
        assert run["state"] == "FAILED"
        task = run["tasks"][0]
        assert [a["attempt"] for a in task["attempts"]] == [1, 2, 3]
        assert all(a["status"] == "failed" for a in task["attempts"])
        errors = log_messages(api, run_id, level="ERROR")
        assert any("disk on fire" in m for m in errors), errors
        assert "exit" in run["error"] or "3" in run["error"]


def test_cancel_mid_task_ends_cancelled_quickly_and_kills_the_subprocess(platform: Deployment) -> None:
    pid_file = platform.tmp / "sleeper.pid"
    with platform.client() as api:
        project = make_project(api)
        body = shell_pipeline("long", {"sleeper": f"echo $$ > {pid_file}; exec sleep 300"})
        run_id = start_run(api, project, make_pipeline(api, project, body))
        wait_for(api, run_id, task_state=("sleeper", "RUNNING"), timeout=30)
        deadline = time.monotonic() + 10
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        cancelled_at = time.monotonic()
        response = api.post(f"/runs/{run_id}/cancel", json={"reason": "test"})
        assert response.status_code == 200
        run = wait_for(api, run_id, timeout=10)
        assert run["state"] == "CANCELLED"
        while _alive(pid) and time.monotonic() - cancelled_at < 10:
            time.sleep(0.1)
        assert not _alive(pid), "the task's subprocess survived the cancel"
        assert api.post(f"/runs/{run_id}/cancel").status_code == 409


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


def test_sigkilled_executor_is_replaced_and_the_run_still_succeeds(deployment: Deployment) -> None:
    deployment.start("runs")
    first = deployment.start("executor", instance="executor-a")
    deployment.start("gateway")
    with deployment.client() as api:
        project = make_project(api)
        body = shell_pipeline("slow", {"work": "sleep 4; echo done"}, max_attempts=2)
        run_id = start_run(api, project, make_pipeline(api, project, body))
        wait_for(api, run_id, task_state=("work", "RUNNING"), timeout=30)
        first.kill()
        deployment.start("executor", instance="executor-b")
        run = wait_for(api, run_id, timeout=60)
        assert run["state"] == "SUCCESS", run
        attempts = run["tasks"][0]["attempts"]
        assert [a["status"] for a in attempts] == ["failed", "succeeded"]
        assert "stopped heartbeating" in attempts[0]["error"]
        assert attempts[0]["executor_id"] != attempts[1]["executor_id"]


def test_two_executors_share_runs_and_no_task_runs_twice(deployment: Deployment) -> None:
    ledger = deployment.tmp / "ledger.txt"
    deployment.start("runs", MAX_CONCURRENT_RUNS="20")
    deployment.start("executor", instance="executor-a")
    deployment.start("executor", instance="executor-b")
    deployment.start("gateway")
    with deployment.client() as api:
        project = make_project(api)
        body = shell_pipeline(
            "ledger", {n: f'echo "$TAURO_RUN_ID {n} $TAURO_ATTEMPT" >> {ledger}' for n in ("a", "b", "c")},
            edges=[("a", "b"), ("a", "c")],
        )
        pipeline = make_pipeline(api, project, body)
        run_ids = [start_run(api, project, pipeline) for _ in range(12)]
        runs = [wait_for(api, r, timeout=90) for r in run_ids]
        failed = [(r["state"], r["error"], [(t["node_id"], t["status"]) for t in r["tasks"]])
                  for r in runs if r["state"] != "SUCCESS"]
        assert not failed, failed
        lines = ledger.read_text().splitlines()
        assert len(lines) == 36 and len(set(lines)) == 36
        executors = {a["executor_id"] for r in runs for t in r["tasks"] for a in t["attempts"]}
        assert len(executors) == 2


def test_sse_logs_are_live_and_resume_from_last_event_id(platform: Deployment) -> None:
    with platform.client() as api:
        project = make_project(api)
        script = "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.5; done"
        run_id = start_run(api, project, make_pipeline(api, project, shell_pipeline("talk", {"t": script})))
        events: list[tuple[str, str]] = []
        live_before_end = False
        with httpx.stream("GET", f"{platform.url}/api/v1/runs/{run_id}/logs", timeout=60,
                          headers={"Accept": "text/event-stream"}) as stream:
            current_id = ""
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    current_id = line[4:]
                elif line.startswith("data: ") and current_id:
                    message = json.loads(line[6:])["message"]
                    events.append((current_id, message))
                    if message == "line-1":
                        live_before_end = api.get(f"/runs/{run_id}").json()["data"]["state"] == "RUNNING"
                    current_id = ""
                elif line.startswith("event: end"):
                    break
        messages = [m for _, m in events]
        assert [m for m in messages if m.startswith("line-")] == [f"line-{i}" for i in range(1, 7)]
        assert live_before_end, "lines should arrive while the run is still running"
        resume_after = next(i for i, (_, m) in enumerate(events) if m == "line-3")
        with httpx.stream("GET", f"{platform.url}/api/v1/runs/{run_id}/logs", timeout=30,
                          headers={"Accept": "text/event-stream", "Last-Event-ID": events[resume_after][0]}) as again:
            resumed = [json.loads(line[6:])["message"] for line in again.iter_lines()
                       if line.startswith("data: ") and "message" in line]
        assert resumed == messages[resume_after + 1:]


def test_each_log_line_of_a_run_is_logged_once(platform: Deployment) -> None:
    """A short attempt's lines travel with its outcome; the last one's outcome ends the run,
    whose end cancels the executor's task for it, often before the outcome is answered: its
    lines must still be logged, and only once."""
    nodes = ("a", "b", "c")
    with platform.client() as api:
        project = make_project(api)
        body = shell_pipeline("once", {n: f"echo output of {n}" for n in nodes}, edges=[("a", "b"), ("b", "c")])
        pipeline = make_pipeline(api, project, body)
        runs = [start_run(api, project, pipeline) for _ in range(5)]
        expected = [line for n in nodes for line in (f"output of {n}", f"task {n} attempt 1 succeeded")]
        for run_id in runs:
            assert wait_for(api, run_id)["state"] == "SUCCESS"
            until(lambda run_id=run_id: "task c attempt 1 succeeded" in log_messages(api, run_id),
                  what="the last task's lines")
        time.sleep(1.5)  # a copy would be written right after the original (the buffer flushes every 0.5 s)
        for run_id in runs:
            messages = log_messages(api, run_id)
            assert [m for m in messages if m in expected] == expected, messages
            started = [m for m in messages if " attempt 1 started on " in m]
            assert sorted(m.split(" attempt")[0] for m in started) == [f"task {n}" for n in nodes], messages


def test_same_idempotency_key_gives_one_run(platform: Deployment) -> None:
    with platform.client() as api:
        project = make_project(api)
        headers = {"Idempotency-Key": "nightly-2025-11-18"}
        body = {"project_id": project, "pipeline_id": "daily_etl", "params": {"date": "2025-11-18"}}
        first = api.post("/runs", json=body, headers=headers)
        second = api.post("/runs", json=body, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["data"]["id"] == second.json()["data"]["id"]
        assert api.get(f"/runs?project_id={project}").json()["meta"]["total"] == 1
