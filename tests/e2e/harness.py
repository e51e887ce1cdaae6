"""Starting Tauro services as separate OS processes against the real Kafka and MongoDB.

Each test gets its own MongoDB database and Kafka namespace (topic/group prefix), so
tests never see each other's data. Processes are started with ``python -m tauro_<svc>``
exactly as ``make up`` does, and stopped (or SIGKILLed) by the PID this harness owns.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    name: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def _marker(self) -> str:
        return f"tauro {self.name}: ready"

    def _log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 60.0) -> Service:
        """Launch the process and wait for its ready line (a new one, after restarts)."""
        seen = self._log_text().count(self._marker)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"tauro_{self.name}"], env=self.env, cwd=ROOT, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while self._log_text().count(self._marker) <= seen:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready in {timeout}s:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self._log_text().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: the crash a service must survive."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> Service:
        self.stop()
        return self.start()


class PrivateMongo:
    """A MongoDB-wire server of a test's own (port, data and PID file under ``tmp``), so
    stopping or killing it touches no one else's server. Its data survives ``stop``/``start``."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.infra = tmp / "infra"
        self.env = {**os.environ, "TAURO_MONGO_PORT": str(self.port), "TAURO_INFRA_DIR": str(self.infra)}
        self.url = f"mongodb://127.0.0.1:{self.port}/?directConnection=true&retryWrites=false"

    def _script(self, action: str) -> None:
        subprocess.run(["bash", str(ROOT / "scripts" / "infra" / "mongo.sh"), action], env=self.env, cwd=ROOT,
                       check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._script("start")

    @property
    def pid(self) -> int:
        return int((self.infra / "mongo" / "mongo.pid").read_text())

    def kill(self) -> None:
        """SIGKILL this server by its PID and wait until it is gone."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then (after 20 s) SIGKILL: ``scripts/infra/mongo.sh stop`` on this server's PID file."""
        self._script("stop")


@dataclass
class Deployment:
    """One isolated Tauro deployment: a namespace, a database, a gateway port, services."""

    kafka: str
    mongo_url: str
    tmp: Path
    namespace: str = field(default_factory=lambda: f"e2e{uuid.uuid4().hex[:8]}.")
    port: int = field(default_factory=free_port)
    services: list[Service] = field(default_factory=list)

    @property
    def database(self) -> str:
        return self.namespace.rstrip(".")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TAURO_", "KAFKA_", "MONGODB_"))}
        env.update({
            "TAURO_MODE": "distributed", "SECRET_KEY": uuid.uuid4().hex * 2, "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "MONGODB_URL": self.mongo_url, "MONGODB_DATABASE": self.database, "TAURO_NAMESPACE": self.namespace,
            "PORT": str(self.port), "TAURO_WORK_DIR": str(self.tmp / "work"),
            "TAURO_OUTPUT_DIR": str(self.tmp / "output"), "PIPELINES_DIR": str(ROOT / "examples" / "pipelines"),
            "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "EXECUTOR_HEARTBEAT_SECONDS": "1",
            "COMMAND_TIMEOUT_SECONDS": "20", "KAFKA_SESSION_TIMEOUT_MS": "3000",
            # the suites drive the API without credentials and poll; tests/e2e/test_auth.py turns these on
            "ENABLE_AUTH": "false", "RATE_LIMIT_ENABLED": "false",
        })
        env.update(extra)
        return env

    def start(self, name: str, instance: str | None = None, **extra: str) -> Service:
        label = instance or name
        service = Service(name, self.env(**extra), self.tmp / f"{label}.log")
        self.services.append(service)
        return service.start()

    def client(self, port: int | None = None) -> httpx.Client:
        """A client of the gateway on ``port`` (a second gateway started with ``PORT=...``), default the first."""
        return httpx.Client(base_url=f"http://127.0.0.1:{port or self.port}/api/v1", timeout=30)

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()
