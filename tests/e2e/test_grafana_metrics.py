"""Issue 17 item 3: every metric a Grafana dashboard (deploy/grafana/dashboards) queries is
exposed by a running distributed deployment.

The gateway, runs, executor, scheduler and streaming services run as separate processes on
the real Kafka and MongoDB-wire server, each service with its own ``METRICS_PORT``. A batch
pipeline runs, an INTERVAL schedule fires, and a streaming pipeline reads records (one of them
malformed, so it is dead-lettered); then the metric names are parsed out of every panel's
PromQL and looked up in what the gateway's ``/metrics`` and the services' endpoints expose
(the union: Prometheus scrapes them all, deploy/prometheus/prometheus.yml). A name must have
samples, except the two counters only a failure moves (command retries and dead-lettered
commands): those must at least be declared (``# TYPE``) by the processes that count them.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Deployment, free_port
from tests.e2e.runs_helpers import make_pipeline, make_project, shell_pipeline, wait_for
from tests.e2e.test_streaming import create_topics, produce
from tests.unit.test_grafana_dashboards import committed, family_of, queried_metrics

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SERVICES = ("runs", "executor", "scheduler", "streaming")
ONLY_ON_FAILURE = {"tauro_command_retries_total", "tauro_commands_dead_lettered_total"}
FAST = {"SERVICE_HEARTBEAT_SECONDS": "1", "METRICS_SAMPLE_SECONDS": "1", "ENABLE_AUTH": "false"}


class Scrape:
    """Sample names (with samples) and declared families, per endpoint and in union."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.samples: dict[str, set[str]] = {}
        self.families: dict[str, set[str]] = {}

    def once(self) -> Scrape:
        for name, url in self.urls.items():
            text = httpx.get(url, timeout=10).text
            families = list(text_string_to_metric_families(text))
            self.families[name] = {f.name for f in families}
            self.samples[name] = {s.name for f in families for s in f.samples}
        return self

    def exposed(self) -> set[str]:
        return set().union(*self.samples.values())

    def declared(self) -> set[str]:
        return set().union(*self.families.values())


def _stream_definition(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "input_topics": [f"{name}.in"],
        "processors": [{"type": "filter", "all": [{"field": "event_type", "op": "in", "value": ["click"]}]},
                       {"type": "map", "compute": {"cents": "amount * 100"}}],
        "output_topic": f"{name}.out",
        "key_field": "user_id",
    }


def _drive_the_platform(deployment: Deployment, api: httpx.Client) -> None:
    """A batch run (runs, tasks, HTTP, appends), an INTERVAL schedule's firings (lateness)
    and a stream with a dead-lettered record (stream records and dead letters)."""
    project = make_project(api, "grafana")
    pipeline = make_pipeline(api, project, shell_pipeline("panels", {"a": "echo one", "b": "echo two"},
                                                          edges=[("a", "b")]))
    created = api.post("/runs", json={"project_id": project, "pipeline_id": pipeline, "start": True})
    assert created.status_code == 201, created.text
    assert wait_for(api, created.json()["data"]["id"])["state"] == "SUCCESS"
    assert api.get("/runs/run_doesnotexist").status_code == 404  # an error answer for the error panels

    schedule = api.post("/schedules", json={"project_id": project, "pipeline_id": pipeline, "kind": "INTERVAL",
                                            "expression": "1s", "overlap_policy": "allow_all",
                                            "max_concurrency": 10})
    assert schedule.status_code == 201, schedule.text
    schedule_id = schedule.json()["data"]["id"]

    create_topics(deployment, "grafana.in", "grafana.out")
    started = api.post("/stream/run", json={"definition": _stream_definition("grafana"), "mode": "async"})
    assert started.status_code == 202, started.text
    execution = started.json()["data"]["execution_id"]
    records: list[Any] = [{"user_id": f"u{i}", "event_type": "click" if i % 2 else "view", "amount": i}
                          for i in range(20)]
    records.append(b"not json")
    produce(deployment, "grafana.in", records)
    deadline = time.monotonic() + 60
    while True:
        data = api.get("/stream/status", params={"execution_id": execution}).json()["data"]
        if data.get("records_out", 0) >= 10 and data.get("dead_lettered", 0) >= 1:
            break
        assert time.monotonic() < deadline, f"the stream did not read its records: {json.dumps(data)[:1500]}"
        time.sleep(0.3)
    deadline = time.monotonic() + 60
    while not api.get(f"/schedules/{schedule_id}/ticks").json()["data"]:
        assert time.monotonic() < deadline, "the schedule never fired"
        time.sleep(0.3)
    assert api.delete(f"/schedules/{schedule_id}").status_code in (200, 204)
    assert api.post("/stream/stop", json={"execution_id": execution, "timeout": 10}).status_code in (200, 202)


def test_every_metric_a_dashboard_queries_is_exposed_by_the_running_services(deployment: Deployment) -> None:
    wanted = queried_metrics(committed())
    assert len(wanted) >= 15
    ports = {name: free_port() for name in SERVICES}
    for name in SERVICES:
        extra = {"STREAMS_DIR": str(deployment.tmp / "streams"), "STREAM_STATS_INTERVAL_SECONDS": "0.5"} \
            if name == "streaming" else {}
        deployment.start(name, METRICS_PORT=str(ports[name]), **FAST, **extra)
    deployment.start("gateway", **FAST)
    with deployment.client() as api:
        _drive_the_platform(deployment, api)

    urls = {"gateway": f"{deployment.url}/metrics",
            **{name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}}
    scrape = Scrape(urls)
    started = time.monotonic()  # gauges are sampled every second; counters are there already
    while True:
        missing = set(wanted) - ONLY_ON_FAILURE - scrape.once().exposed()
        if not missing or time.monotonic() - started > 30:
            break
        time.sleep(1)
    assert not missing, "queried by a panel but exposed by no process: " + "; ".join(
        f"{m} ({sorted(wanted[m])[0]})" for m in sorted(missing))
    for metric in ONLY_ON_FAILURE & set(wanted):
        family = family_of(metric, scrape.declared())
        assert family is not None, f"{metric} is declared by no process"
        assert all(family in scrape.families[name] for name in SERVICES), f"{family}: not declared everywhere"

    # the labelled series the panels group by are there, each from the process that counts it
    assert "tauro_stream_records_total" in scrape.samples["streaming"]
    assert "tauro_stream_dead_letters_total" in scrape.samples["streaming"]
    assert "tauro_schedule_lateness_seconds_bucket" in scrape.samples["scheduler"]
    assert {"tauro_runs_total", "tauro_tasks_total", "tauro_task_duration_seconds_bucket"} <= scrape.samples["runs"]
    assert {"tauro_http_requests_total", "tauro_service_heartbeat_age_seconds"} <= scrape.samples["gateway"]
