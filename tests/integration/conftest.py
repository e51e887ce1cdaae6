"""The ``runs`` fixture: a runs service in the distributed mode on the real Kafka and
MongoDB-wire servers (its own database and topic namespace), and ``run_command`` to put a
command through its command processor as the bus would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient
from tauro_contracts.base import Command
from tauro_platform.adapters import build_adapters
from tauro_platform.runtime.commands import local_envelope
from tauro_platform.settings import Settings
from tauro_runs.service import RunsService


@pytest.fixture
async def runs(kafka_bootstrap: str, mongo_url: str, unique_name: str, tmp_path: Path) -> AsyncIterator[RunsService]:
    settings = Settings(
        _env_file=None, tauro_mode="distributed", secret_key="x" * 40, kafka_bootstrap_servers=kafka_bootstrap,
        mongodb_url=mongo_url, mongodb_database=unique_name, tauro_namespace=f"{unique_name}.", pipelines_dir=None,
        tauro_data_dir=tmp_path,
    )  # type: ignore[call-arg]
    adapters = await build_adapters(settings)
    service = RunsService(adapters, settings)
    service.mongo = AsyncMongoClient(mongo_url)[unique_name]  # type: ignore[attr-defined]
    service.adapters = adapters  # type: ignore[attr-defined]
    await service.host.start()
    yield service
    await service.host.stop()
    await adapters.close()
    await service.mongo.client.close()  # type: ignore[attr-defined]
    with MongoClient(mongo_url) as client:
        client.drop_database(unique_name)


async def _do(service: RunsService, command: Command) -> dict[str, Any]:
    reply = await service.host.processor.process(local_envelope(command, "user:test"))
    assert reply.ok, reply.error
    return reply.result


async def run_command(service: RunsService, command: Command) -> dict[str, Any]:
    reply = await service.host.processor.process(local_envelope(command, "user:test"))
    assert reply.ok, reply.error
    return reply.result
