"""A real Prometheus for the tests: promtool, a scrape config derived from the repo's, and a
server started (and stopped) with ``scripts/infra/prometheus.sh``.

The test config is the compose one (``deploy/prometheus/prometheus.yml``: same jobs, same
metric relabelling, same rule files) with static targets on the test's ports in place of the
DNS discovery, and 1 s scrape and evaluation intervals.
"""

from __future__ import annotations

import os
import subprocess
import time
from copy import deepcopy
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "infra" / "prometheus.sh"
DEPLOY = ROOT / "deploy" / "prometheus"
COMPOSE_CONFIG = DEPLOY / "prometheus.yml"
RULES = DEPLOY / "rules"
PROMTOOL = os.environ.get("TAURO_PROMTOOL_BIN", "/usr/bin/promtool")


def ensure_installed() -> str:
    """promtool's path, installing Debian's package through the script when it is missing."""
    if not os.access(PROMTOOL, os.X_OK):
        done = subprocess.run(["bash", str(SCRIPT), "install"], cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            pytest.skip(f"Prometheus cannot be installed here: {done.stderr.strip()[-500:]}")
    return PROMTOOL


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ensure_installed(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def scrape_config_for(targets: dict[str, list[str]], interval: str = "1s") -> dict[str, Any]:
    """The compose scrape config with ``targets`` (job -> host:port list) as static targets; jobs
    without targets are left out."""
    config = yaml.safe_load(COMPOSE_CONFIG.read_text())
    config["global"] = {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval}
    config["rule_files"] = [str(RULES / "*.yml")]
    jobs = []
    for job in config["scrape_configs"]:
        if not targets.get(job["job_name"]):
            continue
        job = deepcopy(job)
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


class Prometheus:
    """One Prometheus of the tests' own (port, data, PID file under ``home``)."""

    def __init__(self, home: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.config_path = home / "prometheus.yml"
        self.env = {**os.environ, "TAURO_INFRA_DIR": str(home / "infra"), "TAURO_PROMETHEUS_PORT": str(port),
                    "TAURO_PROMETHEUS_CONFIG": str(self.config_path)}
        self.write_config({})

    def write_config(self, targets: dict[str, list[str]]) -> None:
        self.config_path.write_text(yaml.safe_dump(scrape_config_for(targets), sort_keys=False))

    def _script(self, action: str) -> None:
        done = subprocess.run(["bash", str(SCRIPT), action], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"prometheus.sh {action} failed:\n{done.stderr[-3000:]}")

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def scrape(self, targets: dict[str, list[str]]) -> None:
        """Scrape these targets from now on (the config is rewritten and reloaded)."""
        self.write_config(targets)
        self._script("reload")

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=promql)["result"]
        return result

    def wait(self, fetch: Any, ok: Any, timeout: float, what: str) -> Any:
        """Poll ``fetch()`` until ``ok(value)``; return the value, or fail with the last one."""
        deadline = time.monotonic() + timeout
        value = fetch()
        while not ok(value):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {value!r})")
            time.sleep(0.5)
            value = fetch()
        return value
