"""The committed public event documents (docs/events) match what the contracts define."""

from __future__ import annotations

import json
from pathlib import Path

from tauro_contracts.asyncapi import asyncapi, message_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_committed_schemas_are_current() -> None:
    for name, schema in message_schemas().items():
        committed = json.loads((DOCS / "schemas" / f"{name}.json").read_text())
        assert committed == json.loads(json.dumps(schema)), f"regenerate: python -m tauro_contracts.asyncapi ({name})"


def test_committed_asyncapi_is_current() -> None:
    committed = json.loads((DOCS / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(asyncapi()))
    assert {c["address"] for c in committed["channels"].values()} >= {
        "tauro.events.projects.v1", "tauro.events.pipelines.v1", "tauro.events.runs.v1"}


def test_asyncapi_says_tauro_sends_on_kafka_keyed_by_stream() -> None:
    """AsyncAPI 3.0: the described application's ``send`` operations are what it publishes."""
    doc = asyncapi()
    assert doc["operations"] and {op["action"] for op in doc["operations"].values()} == {"send"}
    assert {s["protocol"] for s in doc["servers"].values()} == {"kafka"}
    assert all(s["host"] for s in doc["servers"].values())
    for name, channel in doc["channels"].items():
        assert channel["servers"] and all(ref["$ref"].removeprefix("#/servers/") in doc["servers"]
                                          for ref in channel["servers"])
        sent = {ref["$ref"] for op in doc["operations"].values() if op["channel"]["$ref"] == f"#/channels/{name}"
                for ref in op["messages"]}
        assert sent == {f"#/channels/{name}/messages/{m}" for m in channel["messages"]}
    for message in doc["components"]["messages"].values():
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and "stream_id" in key["description"]
