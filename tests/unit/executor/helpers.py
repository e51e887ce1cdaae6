"""Shared helpers for the executor tests: specs, contexts, log collection, pid checks."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tauro_executor.attempt import LogLine
from tauro_executor.nodes.base import NodeContext, TaskLog
from tauro_executor.spec import TaskSpec

REPO_ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
CALLABLES = HERE / "sample_callables.py"


def spec(
    tmp_path: Path,
    node_id: str,
    node_type: str,
    config: dict[str, Any],
    *,
    upstream: list[str] | None = None,
    params: dict[str, Any] | None = None,
    run_id: str = "run_test",
) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "run_id": run_id,
            "node": {"id": node_id, "type": node_type, "config": config},
            "params": params or {},
            "upstream": upstream or [],
            "work_dir": str(tmp_path / "work"),
            "output_dir": str(tmp_path / "out"),
        }
    )


@dataclass
class Collected:
    """An ``on_log`` callback that remembers each line and when it arrived."""

    lines: list[LogLine] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    _seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, line: LogLine) -> None:
        self.lines.append(line)
        self.arrived.append(time.monotonic())
        self._seen.set()

    def messages(self, source: str | None = None) -> list[str]:
        return [x.message for x in self.lines if source is None or x.source == source]

    def value(self, prefix: str) -> str | None:
        """The rest of the first message starting with ``prefix``."""
        for message in self.messages():
            if message.startswith(prefix):
                return message[len(prefix) :]
        return None

    async def wait_for(self, prefix: str, within: float = 15.0) -> str:
        deadline = time.monotonic() + within
        while (found := self.value(prefix)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line starting with {prefix!r}; got {self.messages()}")
            self._seen.clear()
            try:
                await asyncio.wait_for(self._seen.wait(), timeout=0.2)
            except TimeoutError:
                pass
        return found


def pid_alive(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie counts as gone: it cannot run any more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


async def wait_gone(pids: list[int], within: float = 5.0) -> list[int]:
    """The pids still alive after ``within`` seconds (empty when all are gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [p for p in pids if pid_alive(p)]
        if not alive:
            return []
        await asyncio.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


def context(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    inputs: list[Path] | None = None,
    params: dict[str, Any] | None = None,
    node_id: str = "node",
) -> tuple[NodeContext, list[tuple[str, str]]]:
    """An in-process node context and the list its log lines go to."""
    logs: list[tuple[str, str]] = []
    work = tmp_path / "work" / "run_test"
    work.mkdir(parents=True, exist_ok=True)
    ctx = NodeContext(
        run_id="run_test",
        node_id=node_id,
        attempt=1,
        config=config,
        params=params or {},
        inputs=inputs or [],
        output_path=work / f"{node_id}.parquet",
        log=TaskLog(lambda level, message, source: logs.append((level, message))),
        work_dir=work,
        output_dir=tmp_path / "out",
    )
    return ctx, logs
