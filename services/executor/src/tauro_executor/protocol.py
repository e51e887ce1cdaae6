"""The worker protocol: what one task attempt is given and what it reports back.

A task spec (:class:`tauro_executor.spec.TaskSpec`, read back by the worker as a
:class:`WorkerSpec`) is written as one JSON document to the worker's stdin. The worker
answers on stdout with JSON lines: any number of ``{"kind": "log", ...}`` lines, then
exactly one ``{"kind": "result", ...}`` line. Node outputs live in the run's work
directory as ``<work_dir>/<run_id>/<node_id>.parquet`` (see :func:`node_output_path`).
This module imports neither pydantic nor polars, to keep the worker's start-up fast.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tauro_executor.spec import TaskSpec as TaskSpec

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LEVELS: tuple[LogLevel, ...] = ("DEBUG", "INFO", "WARNING", "ERROR")
_ALIASES: dict[str, LogLevel] = {"WARN": "WARNING", "CRITICAL": "ERROR", "FATAL": "ERROR"}
MAX_MESSAGE_CHARS = 32_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")  # tauro_contracts.pipeline.NAME_PATTERN
_ERROR_LINE = re.compile(
    r"^\s*(\[?(ERROR|CRITICAL|FATAL)\b|Traceback \(most recent call last\)"
    r"|[\w.]*(Error|Exception):|[Ee]rror:)"
)


@dataclass(frozen=True)
class WorkerSpec:
    """The task spec as the worker sees it: plain data, parsed without pydantic.

    The parent validates the full :class:`~tauro_executor.spec.TaskSpec` before starting
    the worker; this light parse keeps the worker's start-up cheap and still refuses
    ids that could escape the work directory.
    """

    run_id: str
    node_id: str
    node_type: str
    config: dict[str, Any]
    attempt: int
    params: dict[str, Any]
    upstream: list[str]
    work_dir: str
    output_dir: str
    logical_date: str | None = None

    @classmethod
    def from_json(cls, raw: bytes | str) -> WorkerSpec:
        """Parse the JSON spec; raises ``ValueError`` naming what is wrong."""
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("node"), dict):
            raise ValueError("expected a JSON object with a 'node' object")
        node = data["node"]
        ids = [("run_id", data.get("run_id")), ("node.id", node.get("id"))]
        ids += [(f"upstream[{i}]", up) for i, up in enumerate(data.get("upstream") or [])]
        for field_name, value in ids:
            if not isinstance(value, str) or not _NAME.match(value):
                raise ValueError(f"{field_name}: {value!r} is not a valid id")
        for key in ("work_dir", "output_dir"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise ValueError(f"{key}: a path is required")
        return cls(
            run_id=data["run_id"],
            node_id=node["id"],
            node_type=str(node.get("type", "")),
            config=dict(node.get("config") or {}),
            attempt=int(data.get("attempt", 1)),
            params=dict(data.get("params") or {}),
            upstream=list(data.get("upstream") or []),
            work_dir=data["work_dir"],
            output_dir=data["output_dir"],
            logical_date=data.get("logical_date"),
        )


def run_dir(work_dir: str | Path, run_id: str) -> Path:
    """The directory holding one run's intermediate node outputs."""
    return Path(work_dir) / run_id


def node_output_path(work_dir: str | Path, run_id: str, node_id: str) -> Path:
    """Where a node's output table (Parquet) is written and where downstream nodes read it."""
    return run_dir(work_dir, run_id) / f"{node_id}.parquet"


def normalize_level(level: str) -> LogLevel:
    """Map any level name (``warn``, ``critical``, ...) onto the four task-log levels."""
    upper = str(level).strip().upper()
    if upper in LEVELS:
        return upper
    return _ALIASES.get(upper, "INFO")


def stderr_level(line: str) -> LogLevel:
    """Level of a line a task wrote to stderr: ERROR when it looks like one, else WARNING."""
    return "ERROR" if _ERROR_LINE.match(line) else "WARNING"


def now_iso() -> str:
    """UTC timestamp with milliseconds, e.g. ``2025-01-31T10:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_message(level: str, message: str, *, source: str = "node") -> str:
    """One ``log`` protocol line (without the newline)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " ...[truncated]"
    level = normalize_level(level)
    return json.dumps({"kind": "log", "level": level, "message": message, "ts": now_iso(), "source": source})


def result_message(
    status: Literal["succeeded", "failed"],
    *,
    error: str | None = None,
    metrics: dict[str, Any] | None = None,
    output_path: str | None = None,
) -> str:
    """The final ``result`` protocol line (without the newline)."""
    return json.dumps(
        {
            "kind": "result",
            "status": status,
            "error": error,
            "metrics": metrics or {},
            "output_path": output_path,
            "ts": now_iso(),
        }
    )


def __getattr__(name: str) -> Any:
    """``protocol.TaskSpec`` still works, imported lazily (it lives in :mod:`tauro_executor.spec`)."""
    if name == "TaskSpec":
        from tauro_executor.spec import TaskSpec

        return TaskSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
