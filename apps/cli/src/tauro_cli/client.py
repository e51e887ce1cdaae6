"""The ``tauro`` REST client commands: projects, pipelines, runs, schedules, logs.

Talks to the gateway at ``--url`` (or ``TAURO_URL``, default http://127.0.0.1:8000),
sending ``--api-key`` (or ``TAURO_API_KEY``) when given. Prints tables for people and
``--json`` for scripts; an API error prints its code and message and exits 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx

TERMINAL = ("SUCCESS", "FAILED", "CANCELLED", "TIMED_OUT")


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        error = body.get("error", {})
        super().__init__(f"{status} {error.get('code', 'ERROR')}: {error.get('message', body)}")
        self.details = error.get("details", [])


class Client:
    def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
        base = (url or os.environ.get("TAURO_URL") or "http://127.0.0.1:8000").rstrip("/")
        key = api_key or os.environ.get("TAURO_API_KEY")
        headers = {"X-API-Key": key} if key else {}
        self.base = base
        self.http = httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=30)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        return body.get("data", body)

    def sse(self, path: str, last_event_id: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event, data) pairs of a Server-Sent Events stream."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        with self.http.stream("GET", path, headers=headers, timeout=None) as response:
            event = "message"
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    yield event, json.loads(line[6:])
                    event = "message"


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    values = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(v[i]) for v in values)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in values]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def progress_line(run: dict[str, Any]) -> str:
    progress = run.get("progress", {})
    total = progress.get("total_tasks", 0) or 1
    done = progress.get("completed_tasks", 0)
    filled = int(20 * done / total)
    return (f"[{'#' * filled}{'-' * (20 - filled)}] {done}/{total} tasks "
            f"({progress.get('percent_complete', 0)}%)  {run['state']}")


def follow_run(client: Client, run_id: str, out: Any = sys.stdout) -> str:
    """Print the run's log lines live and its progress as it changes; returns the final state."""
    last_status = ""
    for event, data in client.sse(f"/runs/{run_id}/logs"):
        if event == "end":
            break
        if event == "log":
            node = f"[{data.get('node_id')}] " if data.get("node_id") else ""
            print(f"{data['timestamp'][11:23]} {data['level']:7} {node}{data['message']}", file=out)
        status = progress_line(client.call("GET", f"/runs/{run_id}"))
        if status != last_status:
            print(status, file=out)
            last_status = status
    for _ in range(50):
        run = client.call("GET", f"/runs/{run_id}")
        if run["state"] in TERMINAL:
            break
        time.sleep(0.2)
    print(progress_line(run), file=out)
    return str(run["state"])
