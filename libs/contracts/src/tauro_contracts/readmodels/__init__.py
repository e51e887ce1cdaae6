"""Read models: every document the API returns, as pydantic models in one place.

The projections that write a read model and the gateway routes that return it both use
these: the projections build documents through them (``doc(...)``), the routes declare
them as ``response_model`` inside the envelopes, and ``docs/openapi.json`` is generated
from them. States and kinds are ``StrEnum``s (the JSON carries the same strings);
collection names are the constants of ``collections``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tauro_contracts.readmodels import collections, ids
from tauro_contracts.readmodels.envelopes import (
    Deleted,
    Envelope,
    ErrorBody,
    ErrorEnvelope,
    ListEnvelope,
    ListMeta,
    Meta,
    Timestamp,
)
from tauro_contracts.readmodels.projects import (
    ConfigVersion,
    Dag,
    Pipeline,
    PipelineRef,
    PlatformStatistics,
    Project,
    ProjectStatistics,
    ProjectView,
    RunStatistics,
)
from tauro_contracts.readmodels.runs import (
    Attempt,
    LogLine,
    Progress,
    Run,
    RunDoc,
    RunMetrics,
    RunStartAccepted,
    Task,
)
from tauro_contracts.readmodels.schedules import (
    BackfillResult,
    BackfillRun,
    Schedule,
    ScheduleDoc,
    ScheduleStatistics,
    Tick,
    TickCounts,
    TickView,
)
from tauro_contracts.readmodels.security import ApiKey, IssuedApiKey, Token, WhoAmI
from tauro_contracts.readmodels.states import (
    ACTIVE_RUN_STATES,
    TERMINAL_RUN_STATES,
    AttemptStatus,
    BackfillRunStatus,
    CheckStatus,
    HealthStatus,
    LogLevel,
    RunState,
    ScheduleKind,
    StreamState,
    TaskState,
    TickOrigin,
    TickStatus,
)
from tauro_contracts.readmodels.streams import StreamExecution, StreamExecutionDoc, StreamReplica
from tauro_contracts.readmodels.system import DeadLetter, Health, HealthChecks, Info


def doc(model: type[BaseModel], **values: Any) -> dict[str, Any]:
    """A read-model document built and checked through its model (JSON-ready: enums as strings)."""
    return model(**values).model_dump(mode="json", by_alias=True, exclude_unset=True)


__all__ = [
    "ACTIVE_RUN_STATES", "TERMINAL_RUN_STATES", "ApiKey", "Attempt", "AttemptStatus", "BackfillResult", "BackfillRun",
    "BackfillRunStatus", "CheckStatus", "ConfigVersion", "Dag", "DeadLetter", "Deleted", "Envelope", "ErrorBody",
    "ErrorEnvelope", "Health", "HealthChecks", "HealthStatus", "Info", "IssuedApiKey", "ListEnvelope", "ListMeta",
    "LogLevel", "LogLine", "Meta", "Pipeline", "PipelineRef", "PlatformStatistics", "Progress", "Project",
    "ProjectStatistics", "ProjectView", "Run", "RunDoc", "RunMetrics", "RunStartAccepted", "RunState",
    "RunStatistics", "Schedule", "ScheduleDoc", "ScheduleKind", "ScheduleStatistics", "StreamExecution",
    "StreamExecutionDoc", "StreamReplica", "StreamState", "Task", "TaskState", "Tick", "TickCounts", "TickOrigin",
    "TickStatus", "TickView", "Timestamp", "Token", "WhoAmI", "collections", "doc", "ids",
]
