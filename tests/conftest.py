"""Test infrastructure: the real Kafka and MongoDB-wire server for integration and e2e tests.

Resolution order for each server:
1. ``TAURO_TEST_KAFKA`` / ``TAURO_TEST_MONGODB_URL`` set (``make test`` sets them after
   starting the servers with ``scripts/infra``): use them.
2. A Docker engine answers: start containers with testcontainers.
3. Otherwise start them with ``scripts/infra/*.sh`` and stop them at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "scripts" / "infra"


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0


def _script(name: str, action: str) -> None:
    subprocess.run(["bash", str(INFRA / name), action], check=True, cwd=ROOT)


def _started_by_script(name: str) -> bool:
    running = subprocess.run(["bash", str(INFRA / name), "status"], cwd=ROOT, capture_output=True).returncode == 0
    if not running:
        _script(name, "start")
    return not running


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    if os.environ.get("TAURO_TEST_KAFKA"):
        yield os.environ["TAURO_TEST_KAFKA"]
        return
    if _docker_engine():
        from testcontainers.kafka import KafkaContainer

        container = KafkaContainer("apache/kafka:3.9.1").with_kraft()
        container.with_env("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")  # the e2e services use 3 s sessions
        with container as kafka:
            yield kafka.get_bootstrap_server()
        return
    started = _started_by_script("kafka.sh")
    yield f"127.0.0.1:{os.environ.get('TAURO_KAFKA_PORT', '19092')}"
    if started:
        _script("kafka.sh", "stop")


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    if os.environ.get("TAURO_TEST_MONGODB_URL"):
        yield os.environ["TAURO_TEST_MONGODB_URL"]
        return
    if _docker_engine():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7").with_command("--replSet rs0 --bind_ip_all") as mongo:
            url = mongo.get_connection_url()
            from pymongo import MongoClient

            with MongoClient(url, directConnection=True) as client:
                client.admin.command("replSetInitiate")
            yield url + "/?directConnection=true"
        return
    started = _started_by_script("mongo.sh")
    yield f"mongodb://127.0.0.1:{os.environ.get('TAURO_MONGO_PORT', '27018')}/?directConnection=true&retryWrites=false"
    if started:
        _script("mongo.sh", "stop")


@pytest.fixture
def unique_name() -> str:
    """A fresh name for a database, topic prefix or group, so tests never share state."""
    return f"t{uuid.uuid4().hex[:10]}"
