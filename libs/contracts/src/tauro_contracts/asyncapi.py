"""The public event contract as documents: a JSON Schema per message and an AsyncAPI 3.0
document for all topics. ``python -m tauro_contracts.asyncapi docs/events`` writes them;
a test keeps the committed copies equal to what the code defines.

The AsyncAPI document describes Tauro as the application: its operations ``send`` the
events (AsyncAPI 3.0: ``send`` is what the described application produces). It declares
the Kafka servers (the compose network's broker and the host listener) and, per message,
the Kafka key: the event's ``stream_id`` (the outbox relay publishes every event keyed by
its stream, so a stream's events share a partition and keep their order)."""

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
from tauro_contracts import topics
from tauro_contracts.base import Command, Event
from tauro_contracts.envelope import CommandEnvelope, EventEnvelope
from tauro_contracts.registry import REGISTRY
from tauro_contracts.runs import DISPATCHER_STREAM

CONTRACT_VERSION = "1.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SERVERS: dict[str, Any] = {
    "compose": {"host": "kafka:9092", "protocol": "kafka", "protocolVersion": "3.9.1",
                "description": "The broker on the docker compose network (compose.yaml)"},
    "local": {"host": "127.0.0.1:19092", "protocol": "kafka", "protocolVersion": "3.9.1",
              "description": "The same broker's host listener (docker compose, make up, the tests)"},
}
# What the key (the event's stream_id) is on each topic, and for the messages that differ.
KEY_OF_TOPIC = {
    topics.EVENTS_PROJECTS: "the project id",
    topics.EVENTS_PIPELINES: "the pipeline id",
    topics.EVENTS_RUNS: "the run id (a run's task events are in its stream)",
    topics.EVENTS_SCHEDULES: "the schedule id",
    topics.EVENTS_STREAMS: "the stream execution id",
    topics.EVENTS_NAMES: "name:<scope>:<lower-case name>, the stream that records who holds a name",
    topics.EVENTS_LOGS: "logs:<run id>",
    topics.EVENTS_SECURITY: "the API key id (key_id)",
    topics.EVENTS_NOTIFICATIONS: "notifications:<run id>",
}
KEY_OF_MESSAGE = {
    "RunsDispatched": f"{DISPATCHER_STREAM}, the dispatcher's own stream",
    "StreamGroupClaimed": "stream-group:<consumer group>, the stream that records which execution holds a group",
    "StreamGroupReleased": "stream-group:<consumer group>, the stream that records which execution holds a group",
}
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
            "bindings": {"kafka": {"key": _key_schema(cls.type_name, cls.topic),
                                   "bindingVersion": KAFKA_BINDING_VERSION}},
            "x-schema-version": cls.schema_version,
        }
    for channel, spec in channels.items():
        spec["servers"] = [{"$ref": f"#/servers/{name}"} for name in SERVERS]
        spec["bindings"] = {"kafka": {"topic": spec["address"], "bindingVersion": KAFKA_BINDING_VERSION}}
        operations[f"send_{channel}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Tauro publishes these events on {spec['address']}",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in spec["messages"]],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tauro public events",
            "version": CONTRACT_VERSION,
            "description": "Events Tauro publishes on Kafka for integrations. Messages are JSON event "
                           "envelopes keyed by stream id; delivery is at least once, so consumers deduplicate "
                           "by event_id (or stream_id + stream_version). Topic names carry the major version.",
        },
        "defaultContentType": "application/json",
        "servers": SERVERS,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _key_schema(type_name: str, topic: str) -> dict[str, Any]:
    what = KEY_OF_MESSAGE.get(type_name) or KEY_OF_TOPIC.get(topic, "the aggregate's id")
    return {"type": "string", "description": f"The event's stream_id (UTF-8): {what}"}


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
