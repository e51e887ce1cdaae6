"""Read models of stream executions.

``stream_executions`` has one document per execution, projected from its events: state,
definition, topics, timing, the stop request and the error of a failed execution.

``stream_replicas`` (written by the replicas themselves, not projected) has one document
per execution and streaming replica: records in / out / dead-lettered, last error,
whether the replica is consuming, and a heartbeat. Status sums them.
``stream_window_state`` holds window snapshots per consumer group and partition.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels import collections
from tauro_contracts.streams import EXECUTION_EVENTS, StreamFailed, StreamStarted, StreamStopped, StreamStopRequested
from tauro_platform.readstore.port import Doc
from tauro_platform.runtime.projector import Projection, StreamDocProjection
from tauro_platform.timeutil import iso, parse_iso

from tauro_streaming.lifecycle import FAILED, RUNNING, STOPPED, STOPPING

STREAM_EXECUTIONS = collections.STREAM_EXECUTIONS
STREAM_REPLICAS = collections.STREAM_REPLICAS
STREAM_WINDOW_STATE = collections.STREAM_WINDOW_STATE


def _started(event: StreamStarted, env: EventEnvelope) -> Doc:
    at = iso(env.occurred_at)
    definition = event.definition
    run_until = None
    if event.max_duration_seconds is not None:
        run_until = iso(env.occurred_at + timedelta(seconds=event.max_duration_seconds))
    return {
        "id": event.execution_id, "execution_id": event.execution_id, "position": env.global_position,
        "pipeline": event.pipeline, "description": definition.get("description", ""), "source": event.source,
        "config": event.config, "mode": event.mode, "state": RUNNING, "definition": definition,
        "consumer_group": event.consumer_group, "input_topics": list(definition.get("input_topics", [])),
        "output_topic": definition.get("output_topic"), "dead_letter_topic": definition.get("dead_letter_topic"),
        "max_duration_seconds": event.max_duration_seconds, "run_until": run_until,
        "created_at": at, "started_at": at, "updated_at": at, "created_by": env.actor,
        "stop_requested_at": None, "stop_deadline": None, "stop_timeout": None, "stop_reason": None,
        "stopped_at": None, "forced_stop": None, "stop_detail": None, "duration_seconds": None, "error": None,
    }


def _ended(doc: Doc, state: str, at: str, **fields: Any) -> Doc:
    duration = (parse_iso(at) - parse_iso(doc["started_at"])).total_seconds()
    return {**doc, **fields, "state": state, "stopped_at": at, "duration_seconds": duration, "updated_at": at}


def evolve_execution_doc(doc: Doc | None, event: Any, env: EventEnvelope) -> Doc | None:
    if isinstance(event, StreamStarted):
        return _started(event, env)
    if doc is None:
        return None
    at = iso(env.occurred_at)
    match event:
        case StreamStopRequested():
            return {**doc, "state": STOPPING, "stop_requested_at": at, "stop_deadline": iso(event.deadline),
                    "stop_timeout": event.timeout, "stop_reason": event.reason, "updated_at": at}
        case StreamStopped():
            return _ended(doc, STOPPED, at, forced_stop=event.forced, stop_detail=event.detail or None)
        case StreamFailed():
            return _ended(doc, FAILED, at, error=event.error)
    return None


def stream_projections() -> list[Projection]:
    return [StreamDocProjection(STREAM_EXECUTIONS, {c.type_name for c in EXECUTION_EVENTS}, evolve_execution_doc)]
