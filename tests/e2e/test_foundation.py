"""Issue 2, end to end: gateway and runs service as separate processes on real Kafka and
the MongoDB-wire server. Commands travel on Kafka, events land in MongoDB, reads come
back through the API, and a SIGKILLed runs service loses nothing and applies nothing twice."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiokafka import AIOKafkaConsumer
from pymongo import MongoClient

from tests.e2e.harness import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _messages(dep: Deployment, topic: str, timeout: float = 10.0) -> list[dict]:  # type: ignore[type-arg]
    async def read() -> list[dict]:  # type: ignore[type-arg]
        consumer = AIOKafkaConsumer(dep.namespace + topic, bootstrap_servers=dep.kafka,
                                    auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
        await consumer.start()
        found: list[dict] = []  # type: ignore[type-arg]
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                if not batch and found:
                    break
                for records in batch.values():
                    found += [json.loads(r.value) for r in records]
        finally:
            await consumer.stop()
        return found

    return asyncio.run(read())


def _events(dep: Deployment, stream_id: str) -> list[dict]:  # type: ignore[type-arg]
    with MongoClient(dep.mongo_url) as client:
        return list(client[dep.database]["events"].find({"stream_id": stream_id}).sort("stream_version", 1))


def test_project_round_trip_through_kafka_and_mongo(deployment: Deployment) -> None:
    deployment.start("runs")
    deployment.start("gateway")
    with deployment.client() as api:
        created = api.post("/projects", json={"name": "analytics", "owner": "me@example.com"})
        assert created.status_code == 201, created.text
        project_id = created.json()["data"]["id"]

        commands = _messages(deployment, "tauro.commands.runs")
        assert any(c["type"] == "CreateProject" and c["data"]["project_id"] == project_id for c in commands)
        stored = _events(deployment, project_id)
        assert [e["type"] for e in stored] == ["ProjectCreated"]
        published = _messages(deployment, "tauro.events.projects.v1")
        assert any(e["stream_id"] == project_id and e["type"] == "ProjectCreated" for e in published)

        got = api.get(f"/projects/{project_id}")
        assert got.status_code == 200 and got.json()["data"]["owner"] == "me@example.com"
        duplicate = api.post("/projects", json={"name": "analytics"})
        assert duplicate.status_code == 409
        assert duplicate.json()["error"]["code"] == "CONFLICT"
        assert "meta" in duplicate.json()


def test_sigkill_after_accepted_write_loses_nothing_and_applies_nothing_twice(deployment: Deployment) -> None:
    runs = deployment.start("runs")
    deployment.start("gateway")
    with deployment.client() as api:
        accepted = []
        for i in range(5):
            response = api.post("/projects", json={"name": f"p{i}"}, headers={"Idempotency-Key": f"k{i}"})
            assert response.status_code == 201
            accepted.append(response.json()["data"]["id"])
        runs.kill()
        runs.start()
        # the same requests again (a client retrying after the crash) change nothing
        for i in range(5):
            again = api.post("/projects", json={"name": f"p{i}"}, headers={"Idempotency-Key": f"k{i}"})
            assert again.status_code == 201 and again.json()["data"]["id"] == accepted[i]
        listed = api.get("/projects?limit=100").json()
        assert sorted(p["id"] for p in listed["data"]) == sorted(accepted)
        for project_id in accepted:
            assert [e["type"] for e in _events(deployment, project_id)] == ["ProjectCreated"]
        after = api.post("/projects", json={"name": "after-restart"})
        assert after.status_code == 201
    with MongoClient(deployment.mongo_url) as client:
        unpublished = client[deployment.database]["events"].count_documents({"published": False})
    deadline = time.monotonic() + 15
    while unpublished and time.monotonic() < deadline:
        time.sleep(0.5)
        with MongoClient(deployment.mongo_url) as client:
            unpublished = client[deployment.database]["events"].count_documents({"published": False})
    assert unpublished == 0
