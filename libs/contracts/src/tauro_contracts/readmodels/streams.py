"""Stream executions as stored and as ``/stream/status`` shows them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tauro_contracts.readmodels.envelopes import SPARSE, Timestamp
from tauro_contracts.readmodels.states import StreamState


class StreamExecutionDoc(BaseModel):
    """``stream_executions``: one document per execution, projected from its events."""

    model_config = SPARSE

    id: str = Field(examples=["exec_123"])
    execution_id: str
    pipeline: str | None = None
    description: str = ""
    source: str | None = None
    config: str | None = None
    mode: str
    state: StreamState
    definition: dict[str, Any]
    consumer_group: str
    input_topics: list[str]
    output_topic: str | None = None
    dead_letter_topic: str | None = None
    max_duration_seconds: float | None = None
    run_until: Timestamp | None = None
    created_at: Timestamp
    started_at: Timestamp
    updated_at: Timestamp
    created_by: str | None = None
    stop_requested_at: Timestamp | None = None
    stop_deadline: Timestamp | None = None
    stop_timeout: float | None = None
    stop_reason: str | None = None
    stopped_at: Timestamp | None = None
    forced_stop: bool | None = None
    stop_detail: str | None = None
    duration_seconds: float | None = None
    error: str | None = None


class StreamReplica(BaseModel):
    replica_id: str
    consuming: bool
    records_in: int
    records_out: int
    dead_lettered: int
    last_error: str | None = None
    updated_at: Timestamp


class StreamExecution(StreamExecutionDoc):
    """An execution with its counters summed over the replicas and its consumer lag. ``POST
    /stream/run`` adds ``status`` and ``status_url`` (and ``completed`` in sync mode)."""

    records_in: int
    records_out: int
    dead_lettered: int
    last_error: str | None = None
    last_error_at: Timestamp | None = None
    replicas: list[StreamReplica]
    consumer_lag: dict[str, dict[str, int]] | None = Field(description="topic -> partition -> lag")
    total_lag: int | None = None
    status: str | None = None
    status_url: str | None = None
    completed: bool | None = None
