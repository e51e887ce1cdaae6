"""What every node kind receives (:class:`NodeContext`) and returns (:class:`NodeResult`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LogSink = Callable[[str, str, str], None]
"""``sink(level, message, source)``: where a :class:`TaskLog` sends its lines."""


class NodeError(Exception):
    """A node failed for a reason the user can fix (bad config, missing file, non-zero exit)."""


class TaskLog:
    """The log function handed to nodes and user callables.

    Call it as ``log("message")`` or ``log("message", "WARNING")``, or use
    ``log.debug / info / warning / error``.
    """

    def __init__(self, sink: LogSink) -> None:
        self._sink = sink

    def __call__(self, message: object, level: str = "INFO") -> None:
        self._sink(level, str(message), "node")

    def output(self, line: str, level: str, source: str) -> None:
        """A line a child process printed (``source`` is ``stdout`` or ``stderr``)."""
        self._sink(level, line, source)

    def debug(self, message: object) -> None:
        self(message, "DEBUG")

    def info(self, message: object) -> None:
        self(message, "INFO")

    def warning(self, message: object) -> None:
        self(message, "WARNING")

    def error(self, message: object) -> None:
        self(message, "ERROR")


@dataclass(frozen=True)
class NodeContext:
    """One attempt of one node, as the node function sees it."""

    run_id: str
    node_id: str
    attempt: int
    config: dict[str, Any]
    """The node's config with placeholders already rendered."""
    params: dict[str, Any]
    inputs: list[Path]
    """Upstream outputs (Parquet files), in upstream order; upstreams without output are left out."""
    output_path: Path
    """Where this node writes its output table (Parquet), if it produces one."""
    log: TaskLog
    work_dir: Path
    """This run's work directory (``<work_dir>/<run_id>``)."""
    output_dir: Path


@dataclass
class NodeResult:
    """What a node reports; ``None`` metrics are left out of the attempt's metrics."""

    rows_in: int | None = None
    rows_out: int | None = None
    bytes_out: int | None = None
    output_path: Path | None = None
    """The node's output table, when it produced one for downstream nodes."""
    extra: dict[str, float] = field(default_factory=dict)
    """More numeric metrics (metrics travel as ``dict[str, float]``)."""

    def metrics(self) -> dict[str, float]:
        base = {"rows_in": self.rows_in, "rows_out": self.rows_out, "bytes_out": self.bytes_out}
        return {**{k: v for k, v in base.items() if v is not None}, **self.extra}


def require(config: dict[str, Any], key: str, kind: str) -> Any:
    """``config[key]``, or a :class:`NodeError` saying which key the node kind needs."""
    value = config.get(key)
    if value is None or value == "":
        raise NodeError(f"{kind} node: config needs '{key}'")
    return value
