"""The public event contract as documents: a JSON Schema per message and an AsyncAPI 3.0
document for all topics. ``python -m tauro_contracts.asyncapi docs/`` writes them;
a test keeps the committed copies equal to what the code defines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import tauro_contracts.projects
import tauro_contracts.runs
import tauro_contracts.schedules
import tauro_contracts.security
import tauro_contracts.streams  # registers the stream messages
from tauro_contracts.base import Command, Event
from tauro_contracts.envelope import CommandEnvelope, EventEnvelope
from tauro_contracts.registry import REGISTRY

CONTRACT_VERSION = "1.0.0"
_ = (tauro_contracts.projects, tauro_contracts.security)


def message_schemas() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {
        "EventEnvelope": EventEnvelope.model_json_schema(),
        "CommandEnvelope": CommandEnvelope.model_json_schema(),
    }
    classes: list[type[Event] | type[Command]] = [*REGISTRY.events(), *REGISTRY.commands()]
    for cls in sorted(classes, key=lambda c: c.type_name):
        schema = cls.model_json_schema()
        schema["x-tauro-schema-version"] = cls.schema_version
        schema["x-tauro-topic"] = cls.topic
        schemas[cls.type_name] = schema
    return schemas


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for cls in sorted(REGISTRY.events(), key=lambda c: c.type_name):
        channel = cls.topic.replace(".", "_")
        channels.setdefault(channel, {"address": cls.topic, "messages": {}})
        channels[channel]["messages"][cls.type_name] = {"$ref": f"#/components/messages/{cls.type_name}"}
        messages[cls.type_name] = {
            "name": cls.type_name,
            "title": cls.type_name,
            "summary": (cls.__doc__ or cls.type_name).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {
                "tauro-type": {"type": "string", "const": cls.type_name},
                "tauro-schema-version": {"type": "string"},
                "traceparent": {"type": "string", "description": "W3C trace context"},
            }},
            "payload": {"allOf": [
                {"$ref": "./schemas/EventEnvelope.json"},
                {"type": "object", "properties": {"type": {"const": cls.type_name},
                                                  "data": {"$ref": f"./schemas/{cls.type_name}.json"}}},
            ]},
            "x-schema-version": cls.schema_version,
        }
    for channel in channels:
        operations[f"receive_{channel}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{channel}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tauro public events",
            "version": CONTRACT_VERSION,
            "description": "Events Tauro publishes on Kafka for integrations. Messages are JSON event "
                           "envelopes keyed by stream id; delivery is at least once, so consumers deduplicate "
                           "by event_id (or stream_id + stream_version). Topic names carry the major version.",
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def write(folder: Path) -> list[Path]:
    written = []
    (folder / "schemas").mkdir(parents=True, exist_ok=True)
    for name, schema in message_schemas().items():
        path = folder / "schemas" / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    doc = folder / "asyncapi.json"
    doc.write_text(json.dumps(asyncapi(), indent=2, sort_keys=True) + "\n")
    written.append(doc)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/events")):
        print(path)
