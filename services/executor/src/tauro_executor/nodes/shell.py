"""The ``shell`` node: run a command, streaming its stdout (INFO) and stderr (WARNING/ERROR) as logs.

``command`` is a string (run with ``/bin/sh -c``) or an argv list; ``env`` adds variables;
``cwd`` sets the working directory. The command also sees each run param as
``TAURO_PARAM_<NAME>`` and ``TAURO_RUN_ID``, ``TAURO_NODE_ID``, ``TAURO_ATTEMPT``,
``TAURO_WORK_DIR``, ``TAURO_OUTPUT_DIR``, ``TAURO_OUTPUT_PATH`` (a Parquet file it may
write to give downstream nodes data) and ``TAURO_INPUTS`` (upstream Parquet files,
``os.pathsep``-separated). A non-zero exit fails the node with the code and stderr's tail.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import time
from collections import deque
from typing import IO, Any

from tauro_executor.nodes.base import NodeContext, NodeError, NodeResult, TaskLog, require
from tauro_executor.protocol import stderr_level

STDERR_TAIL_LINES = 20
_READ_LIMIT = 64 * 1024
_POLL_SECONDS = 0.1  # how often to look whether the command exited while its pipes stay open
LINGER_SECONDS = 5.0  # how long a background grandchild may keep the pipes open after the command exited


def param_env(params: dict[str, Any]) -> dict[str, str]:
    """``{"batch-size": 10}`` -> ``{"TAURO_PARAM_BATCH_SIZE": "10"}``; non-strings as JSON."""
    env = {}
    for name, value in params.items():
        key = "TAURO_PARAM_" + re.sub(r"[^A-Za-z0-9]", "_", str(name)).upper()
        env[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return env


def _env(ctx: NodeContext) -> dict[str, str]:
    extra = ctx.config.get("env") or {}
    if not isinstance(extra, dict):
        raise NodeError(f"shell node: 'env' must be a mapping, got {extra!r}")
    return {
        **os.environ,
        **param_env(ctx.params),
        "TAURO_RUN_ID": ctx.run_id,
        "TAURO_NODE_ID": ctx.node_id,
        "TAURO_ATTEMPT": str(ctx.attempt),
        "TAURO_WORK_DIR": str(ctx.work_dir),
        "TAURO_OUTPUT_DIR": str(ctx.output_dir),
        "TAURO_OUTPUT_PATH": str(ctx.output_path),
        "TAURO_INPUTS": os.pathsep.join(str(p) for p in ctx.inputs),
        "PYTHONUNBUFFERED": "1",
        **{str(k): v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()},
    }


def _argv(command: Any) -> list[str]:
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    if isinstance(command, list) and command and all(isinstance(a, str | int | float) for a in command):
        return [str(a) for a in command]
    raise NodeError(f"shell node: 'command' must be a string or a non-empty list of strings, got {command!r}")


class _Lines:
    """One output pipe of the command, split into lines (a line longer than ``_READ_LIMIT``
    bytes comes out in pieces of that size, as ``readline(_READ_LIMIT)`` gives them)."""

    def __init__(self, stream: IO[bytes], source: str, log: TaskLog, tail: deque[str] | None) -> None:
        self.stream, self.source, self.log, self.tail = stream, source, log, tail
        self.pending = b""

    def feed(self, data: bytes) -> None:
        self.pending += data
        while True:
            cut = self.pending.find(b"\n", 0, _READ_LIMIT)
            if cut >= 0:
                self.emit(self.pending[: cut + 1])
                self.pending = self.pending[cut + 1 :]
            elif len(self.pending) >= _READ_LIMIT:
                self.emit(self.pending[:_READ_LIMIT])
                self.pending = self.pending[_READ_LIMIT:]
            else:
                return

    def close(self) -> None:
        if self.pending:
            self.emit(self.pending)
            self.pending = b""
        self.stream.close()

    def emit(self, chunk: bytes) -> None:
        line = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
        self.log.output(line, "INFO" if self.source == "stdout" else stderr_level(line), self.source)
        if self.tail is not None:
            self.tail.append(line)


def _pump(proc: subprocess.Popen[bytes], streams: list[_Lines]) -> int:
    """Emit both pipes' lines as they arrive (in this thread: no reader threads to start and
    join) until both close; once the command has exited, a background grandchild holding a
    pipe open is waited for at most ``LINGER_SECONDS``. Returns the command's exit code."""
    selector = selectors.DefaultSelector()
    for lines in streams:
        selector.register(lines.stream, selectors.EVENT_READ, lines)
    deadline: float | None = None
    try:
        while selector.get_map():
            if deadline is None and proc.poll() is not None:
                deadline = time.monotonic() + LINGER_SECONDS
            if deadline is not None and time.monotonic() >= deadline:
                break
            timeout = _POLL_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
            for key, _ in selector.select(timeout):
                lines = key.data
                data = os.read(key.fd, _READ_LIMIT)
                if data:
                    lines.feed(data)
                else:
                    selector.unregister(key.fileobj)
                    lines.close()
    finally:
        for key in list(selector.get_map().values()):
            key.data.close()
        selector.close()
    return proc.wait()


def run_shell(ctx: NodeContext) -> NodeResult:
    argv = _argv(require(ctx.config, "command", "shell"))
    cwd = ctx.config.get("cwd")
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_env(ctx),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise NodeError(f"shell node: cannot start {argv[0]!r}: {exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    code = _pump(proc, [_Lines(proc.stdout, "stdout", ctx.log, None), _Lines(proc.stderr, "stderr", ctx.log, tail)])
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        stderr = "\n".join(tail)
        raise NodeError(f"shell command {how}" + (f"; stderr tail:\n{stderr}" if stderr else ""))
    if ctx.output_path.is_file():
        return NodeResult(bytes_out=ctx.output_path.stat().st_size, output_path=ctx.output_path)
    return NodeResult()
