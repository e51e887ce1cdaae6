"""Helpers of the Tauro UI browser tests: the embedded platform with authentication on (a bootstrap
admin key), a small REST client, and page helpers (console errors, screenshots)."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tauro_platform import apikeys

from tests.browser.support import ROOT, tauro_dev

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
    admin = apikeys.new_key(SECRET).key
    pipelines = tmp / "pipelines"  # the example pipeline definitions (YAML) of examples/pipelines
    pipelines.mkdir()
    for path in (ROOT / "examples" / "pipelines").glob("*.yaml"):
        shutil.copy(path, pipelines / path.name)
    with tauro_dev(tmp, cwd=ROOT, PIPELINES_DIR=str(pipelines), ENABLE_AUTH="true", SECRET_KEY=SECRET,
                   TAURO_ADMIN_API_KEY=admin, RATE_LIMIT_AUTH_FAILURES="100000") as (base, log_path):
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
