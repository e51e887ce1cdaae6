"""JSON encoding of envelopes on the bus, with type and trace headers for consumers."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from tauro_contracts.envelope import CommandEnvelope, CommandReply, EventEnvelope

M = TypeVar("M", bound=BaseModel)


def encode(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def decode(cls: type[M], value: bytes) -> M:
    return cls.model_validate_json(value)


def event_headers(event: EventEnvelope) -> dict[str, str]:
    headers = {"tauro-type": event.type, "tauro-schema-version": str(event.schema_version)}
    headers.update(event.trace_context)
    return headers


def command_headers(command: CommandEnvelope) -> dict[str, str]:
    headers = {"tauro-type": command.type}
    headers.update(command.trace_context)
    return headers


__all__ = ["CommandEnvelope", "CommandReply", "EventEnvelope", "decode", "encode", "event_headers"]
