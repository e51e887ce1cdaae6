"""Real headless browser tests: fixtures and helpers (``tests/browser/conftest.py`` registers the
fixtures for every test under ``tests/browser``; another folder's conftest can import them too).

- ``browser``: a headless Chromium driven by Selenium, the system's Chromium and chromedriver
  (Debian's packages, installed by ``scripts/infra/browser.sh``, which ``scripts/test.sh``
  runs; run here too when the paths are not given). Its DNS resolves nothing but the
  loopback, so a page that needs the internet fails here as it would offline. Where no
  browser can be installed the tests skip and say why.
- ``live_platform``: the embedded platform (``tauro dev``, what ``make run`` starts) in its
  own process on a free port with fresh data; its base URL.
- ``wait_for(driver, condition)`` and ``resources_outside(driver, base)`` help the tests.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def browser_paths() -> tuple[str, str]:
    """(chromium, chromedriver), from the environment or ``scripts/infra/browser.sh``;
    ``pytest.skip`` with the reason when there is none."""
    if reason := os.environ.get("TAURO_BROWSER_SKIP"):
        pytest.skip(f"no headless browser: {reason}")
    chromium, driver = os.environ.get("TAURO_CHROMIUM"), os.environ.get("TAURO_CHROMEDRIVER")
    if not (chromium and driver):
        found = subprocess.run(["bash", str(ROOT / "scripts/infra/browser.sh")], capture_output=True, text=True,
                               check=False, timeout=900)
        values = dict(line.split("=", 1) for line in found.stdout.splitlines() if line.startswith("TAURO_"))
        if "TAURO_BROWSER_SKIP" in values:
            pytest.skip(f"no headless browser: {values['TAURO_BROWSER_SKIP']}")
        chromium, driver = values.get("TAURO_CHROMIUM"), values.get("TAURO_CHROMEDRIVER")
        if not (chromium and driver):
            pytest.skip(f"no headless browser: scripts/infra/browser.sh said: {found.stderr.strip()[-500:]}")
    return chromium, driver


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (selenium ``WebDriver``), shared by the session's browser tests."""
    chromium, driver_path = browser_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:  # pragma: no cover - selenium is in the dev group
        pytest.skip(f"no headless browser: selenium is not installed ({exc})")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                # offline: any host but the loopback fails to resolve
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def tauro_dev(tmp: Path, cwd: Path, **settings: str) -> Iterator[tuple[str, Path]]:
    """``tauro dev`` (the embedded platform) on 127.0.0.1 and a free port, with its data under
    ``tmp`` and ``settings`` as environment: its base URL and log file, once ``/health`` answers."""
    port = free_port()
    env = {**os.environ, "TAURO_MODE": "embedded", "PORT": str(port), "HOST": "127.0.0.1",
           "TAURO_DATA_DIR": str(tmp / "data"), "TAURO_WORK_DIR": str(tmp / "work"),
           "TAURO_OUTPUT_DIR": str(tmp / "output"), "STREAMS_DIR": str(ROOT / "examples" / "streams"),
           "LOG_FORMAT": "text", "RATE_LIMIT_REQUESTS": "100000", **settings}
    log_path = tmp / "tauro-dev.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tauro_cli.main", "dev", "--port", str(port)], cwd=cwd,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not _ready(f"{base}/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tauro dev did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def live_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tauro dev`` on a free port with the example pipelines: its base URL."""
    tmp = tmp_path_factory.mktemp("live")
    with tauro_dev(tmp, cwd=tmp, PIPELINES_DIR=str(ROOT / "examples" / "pipelines")) as (base, _):
        yield base


def wait_for(driver: Any, condition: Callable[[Any], T], timeout: float = 30, what: str = "") -> T:
    """Poll ``condition(driver)`` until it is truthy (exceptions count as not yet)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)  # type: ignore[no-any-return]
    except TimeoutException:
        logs = "\n".join(str(entry) for entry in driver.get_log("browser"))
        raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}; "
                             f"page {driver.current_url}; browser console:\n{logs}") from None


def resources_outside(driver: Any, base: str) -> list[str]:
    """URLs the page loaded (or tried to) from anywhere but ``base``."""
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [n for n in names if not n.startswith((base, "data:", "blob:"))]
