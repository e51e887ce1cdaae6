"""Helpers of the Tauro UI browser tests: the embedded platform with authentication on (a bootstrap
admin key), a small REST client, and page helpers (console errors, screenshots)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tauro_platform import apikeys

from tests.browser.support import ROOT, _ready, free_port

SECRET = "tauro-ui-browser-tests-" + "k3y" * 12
SCREENSHOTS = ROOT / "docs" / "screenshots"


@dataclass
class Platform:
    base: str
    admin_key: str
    log: Path

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        """A REST call with a key (the admin's by default); the parsed JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}/api/v1{path}", data=data, method=method, headers={
            "X-API-Key": key or self.admin_key, "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()[:500]}") from None


@pytest.fixture(scope="module")
def ui_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """``tauro dev`` with authentication on, started from the repository root (so the example
    pipeline finds ``examples/data/orders.csv``), with a bootstrap admin key."""
    tmp = tmp_path_factory.mktemp("ui")
    port = free_port()
    admin = apikeys.new_key(SECRET).key
    pipelines = tmp / "pipelines"  # the example pipeline definitions (YAML) of examples/pipelines
    pipelines.mkdir()
    for path in (ROOT / "examples" / "pipelines").glob("*.yaml"):
        shutil.copy(path, pipelines / path.name)
    env = {**os.environ, "TAURO_MODE": "embedded", "PORT": str(port), "HOST": "127.0.0.1",
           "TAURO_DATA_DIR": str(tmp / "data"), "TAURO_WORK_DIR": str(tmp / "work"),
           "TAURO_OUTPUT_DIR": str(tmp / "output"), "PIPELINES_DIR": str(pipelines),
           "STREAMS_DIR": str(ROOT / "examples" / "streams"), "LOG_FORMAT": "text",
           "ENABLE_AUTH": "true", "SECRET_KEY": SECRET, "TAURO_ADMIN_API_KEY": admin,
           "RATE_LIMIT_REQUESTS": "100000", "RATE_LIMIT_AUTH_FAILURES": "100000"}
    log_path = tmp / "tauro-dev.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tauro_cli.main", "dev", "--port", str(port)], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _ready(f"{base}/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tauro dev did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        platform = Platform(base, admin, log_path)
        deadline = time.monotonic() + 30  # the runs service registers the bootstrap key at start-up
        while True:
            try:
                platform.call("GET", "/auth/whoami")
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield platform
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def console_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver: Any, name: str) -> Path:
    """Save the page as ``docs/screenshots/<name>.png`` (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); "
                          "document.getElementById('flash')?.replaceChildren()")
    driver.save_screenshot(str(path))
    return path


def full_page(driver: Any, name: str, width: int = 1280, max_height: int = 2200) -> Path:
    """A screenshot of the whole page at ``width`` (the window grows to the page's height)."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max_height, max(700, int(height) + 120)))
    time.sleep(0.2)
    try:
        return screenshot(driver, name)
    finally:
        driver.set_window_size(size["width"], size["height"])
