"""The Prometheus files in deploy/prometheus, checked by Prometheus's own promtool: the alert
rules are valid and do what their unit tests say, the scrape configs (compose, local, and the
one the e2e test derives) are valid, and every Tauro service is scraped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.prometheus_support import COMPOSE_CONFIG, DEPLOY, RULES, promtool, scrape_config_for

SERVICES = {"gateway", "runs", "scheduler", "executor", "streaming", "notifier"}
REQUIRED_ALERTS = {"TauroServiceWithoutHeartbeat", "TauroRunsFailing", "TauroConsumerLagGrowing",
                   "TauroScheduleLate", "TauroEventStoreAppendSlow"}


def _ok(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"


def test_promtool_checks_the_rule_files() -> None:
    files = sorted(str(p) for p in RULES.glob("*.yml"))
    assert files
    done = promtool("check", "rules", *files)
    _ok(done)
    assert "SUCCESS" in done.stdout


def test_the_alerts_fire_on_their_series_and_stay_quiet_otherwise() -> None:
    """``promtool test rules``: synthetic series for each alert (deploy/prometheus/tests)."""
    tests = sorted(str(p) for p in (DEPLOY / "tests").glob("*.yml"))
    assert tests
    done = promtool("test", "rules", *tests)
    _ok(done)
    tested = {line.split("alertname:")[1].split()[0] for line in Path(tests[0]).read_text().splitlines()
              if "alertname:" in line}
    assert REQUIRED_ALERTS <= tested


def test_every_alert_has_a_severity_and_a_summary_and_description() -> None:
    rules = [rule for path in RULES.glob("*.yml") for group in yaml.safe_load(path.read_text())["groups"]
             for rule in group["rules"]]
    assert REQUIRED_ALERTS <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_promtool_checks_the_compose_and_local_configs() -> None:
    """(``check config`` does not resolve the DNS names; it finds the rules beside the file.)"""
    for config in (COMPOSE_CONFIG, DEPLOY / "prometheus.local.yml"):
        done = promtool("check", "config", str(config))
        _ok(done)
        assert "SUCCESS: 1 rule files found" in done.stdout


def test_the_compose_config_scrapes_every_service_and_every_replica() -> None:
    jobs = {job["job_name"]: job for job in yaml.safe_load(COMPOSE_CONFIG.read_text())["scrape_configs"]}
    assert set(jobs) == SERVICES
    for name, job in jobs.items():
        (sd,) = job["dns_sd_configs"]  # DNS type A: one target per replica of a scaled service
        assert sd["names"] == [name] and sd["type"] == "A"
        assert sd["port"] == (8000 if name == "gateway" else 9464)


def test_the_derived_test_config_is_valid(tmp_path: Path) -> None:
    config = scrape_config_for({"gateway": ["127.0.0.1:8000"], "runs": ["127.0.0.1:9464"]})
    assert [job["job_name"] for job in config["scrape_configs"]] == ["gateway", "runs"]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    done = promtool("check", "config", str(path))
    _ok(done)
    assert "SUCCESS: 1 rule files found" in done.stdout
