"""e2e fixtures: an isolated deployment per test on the session's real Kafka and MongoDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.e2e.harness import Deployment


@pytest.fixture
def deployment(kafka_bootstrap: str, mongo_url: str, tmp_path: Path) -> Iterator[Deployment]:
    dep = Deployment(kafka_bootstrap, mongo_url, tmp_path)
    yield dep
    dep.stop_all()
    with MongoClient(mongo_url) as client:
        client.drop_database(dep.database)
