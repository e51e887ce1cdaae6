"""e2e fixtures: an isolated deployment per test on the session's real Kafka and MongoDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.e2e.harness import Deployment


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """e2e tests start several processes on a 2-core machine shared with Kafka and the database
    server; a failure is retried once, in a fresh deployment, before it counts."""
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


@pytest.fixture
def deployment(kafka_bootstrap: str, mongo_url: str, tmp_path: Path) -> Iterator[Deployment]:
    dep = Deployment(kafka_bootstrap, mongo_url, tmp_path)
    yield dep
    dep.stop_all()
    with MongoClient(mongo_url) as client:
        client.drop_database(dep.database)
