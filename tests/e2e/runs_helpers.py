"""Helpers for run e2e tests: a started platform, pipelines of shell nodes, waiting for states."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

TERMINAL = {"SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT"}


def shell_pipeline(name: str, commands: dict[str, str], edges: list[tuple[str, str]] = (),  # type: ignore[assignment]
                   max_attempts: int = 1, backoff: float = 0.2, parallelism: int = 4) -> dict[str, Any]:
    return {
        "name": name,
        "nodes": [{"id": node, "type": "shell", "config": {"command": cmd}} for node, cmd in commands.items()],
        "edges": [{"from": a, "to": b} for a, b in edges],
        "config": {"max_parallelism": parallelism,
                   "retry_policy": {"max_attempts": max_attempts, "backoff_seconds": backoff, "jitter": False}},
    }


def make_project(api: httpx.Client, name: str = "e2e") -> str:
    response = api.post("/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def make_pipeline(api: httpx.Client, project_id: str, body: dict[str, Any]) -> str:
    response = api.post(f"/projects/{project_id}/pipelines", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def start_run(api: httpx.Client, project_id: str, pipeline_id: str, **extra: Any) -> str:
    response = api.post("/runs", json={"project_id": project_id, "pipeline_id": pipeline_id, "start": True, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def until(check: Callable[[], Any], within: float = 30.0, what: str = "condition", every: float = 0.25) -> Any:
    """Poll ``check`` every ``every`` seconds until it returns something truthy, and return that;
    fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {within}s")
        time.sleep(every)


def wait_for(api: httpx.Client, run_id: str, states: set[str] = TERMINAL, timeout: float = 60.0,
             task_state: tuple[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = api.get(f"/runs/{run_id}").json()["data"]
        if task_state is not None:
            node, state = task_state
            if any(t["node_id"] == node and t["status"] == state for t in run["tasks"]):
                return run
        elif run["state"] in states:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not reach {states or task_state} in {timeout}s: {run}")


def log_messages(api: httpx.Client, run_id: str, **params: Any) -> list[str]:
    """Every log line's message, page by page (at most 100 lines a page)."""
    messages: list[str] = []
    while True:
        body = api.get(f"/runs/{run_id}/logs", params={"limit": 100, "offset": len(messages), **params}).json()
        messages += [line["message"] for line in body["data"]]
        if not body["meta"]["has_more"]:
            return messages
