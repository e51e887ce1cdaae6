"""The task spec the executor hands to :func:`tauro_executor.attempt.run_attempt`.

Validated here, in the parent process, with the shared pipeline ``Node`` model; the
worker reads the same JSON back as a plain :class:`~tauro_executor.protocol.WorkerSpec`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.pipeline import NAME_PATTERN, Node


class TaskSpec(BaseModel):
    """Everything one attempt of one node needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str = Field(pattern=NAME_PATTERN)
    node: Node
    attempt: int = Field(default=1, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    upstream: list[str] = Field(default_factory=list, description="upstream node ids, in input order")
    work_dir: str = Field(description="base work dir; this run's data lives in <work_dir>/<run_id>/")
    output_dir: str = Field(description="where sinks are meant to write (the {{ output_dir }} built-in)")
    logical_date: str | None = Field(default=None, description="ISO date or datetime the run is for")
