"""Issue 17, item 2: a real Prometheus scrapes the distributed deployment.

Prometheus (Debian's package, started by ``scripts/infra/prometheus.sh``) runs the repo's
scrape config, with static targets on this test's ports, and the repo's alert rules,
unchanged. Every service is up as a target; PromQL over ``tauro_runs_total`` and
``tauro_tasks_total`` agrees with the runs that ended; and once the executor is killed, the
"service without heartbeat" alert becomes pending (its threshold, 30 s, is waited for).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from tauro_contracts.readmodels.collections import SERVICE_HEARTBEATS as HEARTBEATS

from tests.e2e.harness import Deployment, free_port
from tests.e2e.runs_helpers import make_pipeline, make_project, shell_pipeline, start_run, wait_for
from tests.prometheus_support import Prometheus, ensure_installed

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
SERVICES = ("runs", "executor", "scheduler", "streaming", "notifier", "gateway")
HEARTBEAT_ALERT = "TauroServiceWithoutHeartbeat"
HEARTBEAT_THRESHOLD = 30  # seconds, as in deploy/prometheus/rules/tauro-alerts.yml


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus of the session's own (port, data, PID file), started and stopped by the script."""
    ensure_installed()
    server = Prometheus(tmp_path_factory.mktemp("prometheus"), free_port())
    server.start()
    yield server
    server.stop()


def _by_label(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {series["metric"].get(label, ""): float(series["value"][1]) for series in result}


def _alerts(prometheus: Prometheus, name: str) -> list[dict[str, Any]]:
    return [a for a in prometheus.api("alerts")["alerts"] if a["labels"]["alertname"] == name]


def test_prometheus_scrapes_every_service_counts_the_runs_and_alerts_on_a_silent_executor(
    deployment: Deployment, prometheus: Prometheus, tmp_path: Path
) -> None:
    metrics_ports = {name: free_port() for name in SERVICES if name != "gateway"}
    fast = {"SERVICE_HEARTBEAT_SECONDS": "1", "METRICS_SAMPLE_SECONDS": "1"}
    services = {name: deployment.start(name, METRICS_PORT=str(metrics_ports.get(name, 0)), **fast)
                for name in SERVICES}
    targets = {name: [f"127.0.0.1:{port}"] for name, port in metrics_ports.items()}
    targets["gateway"] = [f"127.0.0.1:{deployment.port}"]  # the gateway's /metrics is on its API port
    prometheus.scrape(targets)

    def health() -> dict[str, str]:
        active = prometheus.api("targets", state="active")["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in active}

    prometheus.wait(health, lambda h: h == dict.fromkeys(targets, "up"), 30, "every target up")

    # N runs to the end: four succeed (two tasks each), one fails (one attempt, no retry)
    with deployment.client() as api:
        project = make_project(api, "prom")
        good = make_pipeline(api, project, shell_pipeline("good", {"a": "true", "b": "true"}, edges=[("a", "b")]))
        bad = make_pipeline(api, project, shell_pipeline("bad", {"x": "exit 3"}))
        run_ids = [start_run(api, project, good) for _ in range(4)] + [start_run(api, project, bad)]
        ended = [wait_for(api, run_id)["state"] for run_id in run_ids]
    assert sorted(ended) == ["FAILED", "SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS"]

    by_state = prometheus.wait(lambda: _by_label(prometheus.query("sum by (state) (tauro_runs_total)"), "state"),
                               lambda v: sum(v.values()) >= len(ended), 30, "the runs counted by Prometheus")
    assert by_state == {"SUCCESS": 4, "FAILED": 1}
    (total,) = prometheus.query("sum(tauro_runs_total)")
    assert float(total["value"][1]) == len(ended)
    tasks = prometheus.wait(lambda: _by_label(prometheus.query("sum by (state) (tauro_tasks_total)"), "state"),
                            lambda v: sum(v.values()) >= 9, 30, "the task attempts counted by Prometheus")
    assert tasks == {"SUCCESS": 8, "FAILED": 1}

    # every service's heartbeat age, reported by the gateway, labelled with the service instance
    ages = prometheus.wait(lambda: prometheus.query("tauro_service_heartbeat_age_seconds"),
                           lambda r: {s["metric"]["service"] for s in r} >= set(SERVICES), 30, "heartbeat ages")
    with MongoClient[dict[str, Any]](deployment.mongo_url) as client:
        beats = list(client[deployment.database][f"rm_{HEARTBEATS}"].find())  # the read store's prefix
    registered = {(beat["service"], beat["instance_id"]) for beat in beats}
    assert {(s["metric"]["service"], s["metric"]["instance"]) for s in ages} == registered, \
        "instance: the service instance whose heartbeat it is, not the scrape target"
    for series in ages:
        assert series["metric"]["job"] == "gateway" and series["metric"]["reported_by"] == targets["gateway"][0]
        assert "exported_instance" not in series["metric"]
        assert 0 <= float(series["value"][1]) < HEARTBEAT_THRESHOLD
    assert not _alerts(prometheus, HEARTBEAT_ALERT), "no alert while every service beats"

    # the executor dies: once its heartbeat is 30 s old the alert is pending (firing after 1 m)
    services["executor"].kill()
    alerts = prometheus.wait(lambda: _alerts(prometheus, HEARTBEAT_ALERT), bool, HEARTBEAT_THRESHOLD + 45,
                             f"{HEARTBEAT_ALERT} for the executor")
    assert [(a["labels"]["service"], a["labels"]["severity"]) for a in alerts] == [("executor", "critical")]
    assert alerts[0]["state"] in ("pending", "firing")
    assert float(alerts[0]["value"]) > HEARTBEAT_THRESHOLD
    (up,) = prometheus.query('up{job="executor"}')
    assert up["value"][1] == "0"
