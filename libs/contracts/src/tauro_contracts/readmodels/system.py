"""Health, info and dead letters, as returned."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tauro_contracts.readmodels.envelopes import SPARSE, Timestamp
from tauro_contracts.readmodels.states import CheckStatus, HealthStatus


class DependencyCheck(BaseModel):
    status: CheckStatus
    latency_ms: float | None = None
    error: str | None = None
    kind: str | None = None
    detail: str | None = None


class ServiceCheck(BaseModel):
    status: CheckStatus
    required: bool
    instances: int | None = None
    last_seen: Timestamp | None = None
    instance_id: str | None = None
    version: str | None = None
    age_seconds: float | None = None
    error: str | None = None


class DeadLetterCheck(BaseModel):
    status: CheckStatus
    recent: int | None
    window_seconds: int


class HealthChecks(BaseModel):
    database: DependencyCheck = Field(description="The MongoDB (or embedded) event and read stores together")
    scheduler: ServiceCheck = Field(description="The scheduler service's heartbeat")
    bus: DependencyCheck
    event_store: DependencyCheck
    read_store: DependencyCheck
    services: dict[str, ServiceCheck]
    dead_letters: DeadLetterCheck


class Health(BaseModel):
    """``GET /health``: not in an envelope (load balancers read it as is); 503 when unhealthy."""

    status: HealthStatus
    version: str
    mode: str
    timestamp: Timestamp
    checks: HealthChecks
    failing: list[str] = Field(description="The checks that make it unhealthy")


class Info(BaseModel):
    """Version and configuration facts; never secrets or credentials."""

    name: str
    version: str
    mode: str
    instance_id: str
    started_at: Timestamp
    python: str
    api_prefix: str
    docs: dict[str, str]
    auth_enabled: bool
    rate_limit: dict[str, Any]
    limits: dict[str, Any]
    retries: dict[str, Any]
    scheduler: dict[str, Any]
    pipelines_dir: str | None
    observability: dict[str, Any]
    kafka: dict[str, Any] | None = None
    mongodb: dict[str, Any] | None = None
    data_dir: str | None = None


class DeadLetter(BaseModel):
    """``dead_letters``: a command set aside after a failure no retry could help."""

    model_config = SPARSE

    command_id: str
    type: str
    service: str
    reason: str
    error: str
    trace: str
    actor: str | None = None
    correlation_id: str | None = None
    source_topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    dead_lettered_at: Timestamp
    command: dict[str, Any]
