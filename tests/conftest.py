"""Test infrastructure: the real Kafka and MongoDB-wire server for integration and e2e tests.

Resolution order for each server:
1. ``TAURO_TEST_KAFKA`` / ``TAURO_TEST_MONGODB_URL`` set (``make test`` sets them after
   starting the servers with ``scripts/infra``): use them.
2. A Docker engine answers: start containers with testcontainers (tests/infra_containers.py:
   ``apache/kafka`` in KRaft mode, ``mongo`` as a one-member replica set), both awaited ready.
3. Otherwise start them with ``scripts/infra/*.sh`` and stop them at the end.

The run ends with one line saying which path each server took ("infrastructure: ...").
On a broker the run did not get from testcontainers (it may be a developer's ``make up``
broker, kept across runs), the topics the run created are deleted at its end, so test runs
do not pile up partitions there (the platform's own ``tauro.*`` topics are left alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import infra_containers

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "scripts" / "infra"
INFRASTRUCTURE: dict[str, str] = {}  # server -> where this run's tests found it


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line saying which path the servers took (nothing when no test needed them)."""
    if INFRASTRUCTURE:
        terminalreporter.write_line(
            "infrastructure: " + ", ".join(f"{name} {where}" for name, where in sorted(INFRASTRUCTURE.items())))


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


def _kafka_topics(bootstrap: str, delete: set[str] | None = None) -> set[str]:
    """The broker's topics; with ``delete``, delete those first (in batches)."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60_000)
        await admin.start()
        try:
            names = sorted(delete or ())
            for start in range(0, len(names), 200):
                await admin.delete_topics(names[start:start + 200])
            return set(await admin.list_topics())
        finally:
            await admin.close()

    return asyncio.run(run())


@contextlib.contextmanager
def _topics_deleted_after(bootstrap: str) -> Iterator[None]:
    """Delete at the end the topics created meanwhile, except the platform's own and Kafka's."""
    try:
        before = _kafka_topics(bootstrap)
    except Exception:  # the broker is not up yet (the tests will say so): nothing to tidy
        before = None
    yield
    if before is None:
        return
    with contextlib.suppress(Exception):  # tidying up must not fail the run
        created = _kafka_topics(bootstrap) - before
        _kafka_topics(bootstrap, {t for t in created if not t.startswith(("tauro.", "__"))})


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    if os.environ.get("TAURO_TEST_KAFKA"):
        INFRASTRUCTURE["Kafka"] = f"{os.environ['TAURO_TEST_KAFKA']} (TAURO_TEST_KAFKA)"
        with _topics_deleted_after(os.environ["TAURO_TEST_KAFKA"]):
            yield os.environ["TAURO_TEST_KAFKA"]
        return
    if _docker_engine():
        with infra_containers.kafka_container() as bootstrap:
            INFRASTRUCTURE["Kafka"] = f"{bootstrap} (testcontainers, {infra_containers.KAFKA_IMAGE})"
            yield bootstrap
        return
    started = _started_by_script("kafka.sh")
    bootstrap = f"127.0.0.1:{os.environ.get('TAURO_KAFKA_PORT', '19092')}"
    INFRASTRUCTURE["Kafka"] = f"{bootstrap} (scripts/infra/kafka.sh)"
    with _topics_deleted_after(bootstrap):
        yield bootstrap
    if started:
        _script("kafka.sh", "stop")


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    if os.environ.get("TAURO_TEST_MONGODB_URL"):
        INFRASTRUCTURE["MongoDB"] = f"{os.environ['TAURO_TEST_MONGODB_URL']} (TAURO_TEST_MONGODB_URL)"
        yield os.environ["TAURO_TEST_MONGODB_URL"]
        return
    if _docker_engine():
        with infra_containers.mongo_container() as url:
            INFRASTRUCTURE["MongoDB"] = f"{url} (testcontainers, {infra_containers.MONGO_IMAGE} replica set)"
            yield url
        return
    started = _started_by_script("mongo.sh")
    url = f"mongodb://127.0.0.1:{os.environ.get('TAURO_MONGO_PORT', '27018')}/?directConnection=true&retryWrites=false"
    INFRASTRUCTURE["MongoDB"] = f"{url} (scripts/infra/mongo.sh: SecantusDB)"
    yield url
    if started:
        _script("mongo.sh", "stop")


@pytest.fixture
def unique_name() -> str:
    """A fresh name for a database, topic prefix or group, so tests never share state."""
    return f"t{uuid.uuid4().hex[:10]}"
