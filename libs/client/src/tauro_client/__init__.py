"""Tauro's Python SDK.

``Tauro`` (sync) and ``AsyncTauro`` (async) talk to the API and return the typed read models of
``tauro_contracts.readmodels``; API errors raise the exceptions of ``tauro_client.errors``.
``@pipeline`` and ``@task`` write pipelines as Python code (``tauro_client.dsl``).
Nothing of the server comes with it: httpx, pydantic and tauro-contracts only.
"""

from __future__ import annotations

from tauro_client._async_client import AsyncTauro
from tauro_client._base import Page
from tauro_client._sync_client import Tauro
from tauro_client.dsl import Pipeline, PipelineDefinitionError, TaskFunction, TaskOutput, pipeline, task
from tauro_client.errors import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TauroError,
    Unauthorized,
    Unreachable,
    ValidationFailed,
    WaitTimeout,
)

__all__ = [
    "APIError", "AsyncTauro", "BadRequest", "Conflict", "Forbidden", "NotFound", "Page", "PayloadTooLarge",
    "Pipeline", "PipelineDefinitionError", "RateLimited", "ServerError", "ServiceUnavailable", "TaskFunction",
    "TaskOutput", "Tauro", "TauroError", "Unauthorized", "Unreachable", "ValidationFailed", "WaitTimeout",
    "pipeline", "task",
]
