"""Conversion between event envelopes and the flat records adapters store."""

from __future__ import annotations

import json
from typing import Any

from tauro_contracts.envelope import EventEnvelope

from tauro_platform.timeutil import iso, parse_iso


def to_record(event: EventEnvelope) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "type": event.type,
        "schema_version": event.schema_version,
        "occurred_at": iso(event.occurred_at),
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "actor": event.actor,
        "trace_context": event.trace_context,
        "data": event.data,
    }


def from_record(record: dict[str, Any], position: int) -> EventEnvelope:
    fields = {k: record[k] for k in _FIELDS}
    fields["occurred_at"] = parse_iso(record["occurred_at"])
    return EventEnvelope(global_position=position, **fields)


_FIELDS = (
    "event_id",
    "stream_id",
    "stream_version",
    "type",
    "schema_version",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "actor",
    "trace_context",
    "data",
)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
