"""``make migrate`` (python -m tauro_platform.migrations) says at once what to do when there is
no MongoDB to migrate, instead of a 30 s time-out and a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

KEEP = ("PATH", "HOME", "LANG")


def migrate(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    base = {k: v for k, v in os.environ.items() if k in KEEP}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "tauro_platform.migrations", *args], env={**base, **env},
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - started


@pytest.mark.parametrize("action", ["up", "status", "down"])
def test_embedded_mode_says_migrations_apply_to_mongodb(tmp_path: Path, action: str) -> None:
    done, took = migrate(tmp_path, action)
    assert done.returncode == 2
    assert took < 10
    assert "Traceback" not in done.stderr and done.stdout == ""
    message = done.stderr
    assert "nothing to migrate in the embedded mode" in message
    assert "MongoDB" in message and "MONGODB_URL=" in message and "TAURO_MODE=distributed" in message


def test_embedded_mode_with_a_mongodb_url_in_dotenv_is_not_refused_for_the_mode(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"MONGODB_URL=mongodb://127.0.0.1:{closed_port()}/?directConnection=true\n")
    done, _ = migrate(tmp_path, "status")
    assert done.returncode == 1, done.stderr
    assert "cannot reach MongoDB" in done.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_mongodb_is_one_message_after_a_short_probe(tmp_path: Path) -> None:
    url = f"mongodb://admin:hunter2secret@127.0.0.1:{closed_port()}/?directConnection=true"
    done, took = migrate(tmp_path, "up", TAURO_MODE="distributed", MONGODB_URL=url)
    assert done.returncode == 1, done.stderr
    assert took < 20
    assert "Traceback" not in done.stderr
    assert "cannot reach MongoDB at mongodb://***:***@127.0.0.1" in done.stderr
    assert "hunter2secret" not in done.stderr
    assert "MONGODB_URL" in done.stderr


def test_a_bad_url_is_named(tmp_path: Path) -> None:
    done, _ = migrate(tmp_path, "up", TAURO_MODE="distributed", MONGODB_URL="mysql://x")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "MONGODB_URL mysql://x is not usable" in done.stderr
