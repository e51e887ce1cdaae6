"""Run one task attempt in a child worker process, from asyncio.

:func:`run_attempt` starts a worker in its own session (process group): forked from the
warm worker's helper when one is given and ready (:mod:`tauro_executor.warm`), else
``python -m tauro_executor.worker`` (a cold start); or it takes one :func:`start_worker`
started ahead, while the attempt's claim was in flight, and lets it run. It hands it the
:class:`~tauro_executor.spec.TaskSpec`, forwards its log lines to ``on_log`` as they
arrive, and returns an :class:`AttemptOutcome`. On timeout, on ``cancel`` being set, or
when the calling task is cancelled, the whole process group is killed (SIGTERM, then
SIGKILL after a grace period), so no grandchild survives; the worker is always reaped.
Both kinds of start go through the same code from there on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tauro_platform.childenv import child_environment

from tauro_executor.process_group import kill_group
from tauro_executor.protocol import LogLevel, normalize_level
from tauro_executor.spec import TaskSpec
from tauro_executor.warm import WarmProcess, WarmWorker

AttemptStatus = Literal["succeeded", "failed", "timed_out", "cancelled"]
Worker = asyncio.subprocess.Process | WarmProcess
_LINE_LIMIT = 8 * 1024 * 1024
_STDERR_TAIL = 20
_DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class LogLine:
    """One log line of an attempt, stamped by the worker when it was written.

    ``source``: ``node`` (the node or its ``log``), ``stdout`` / ``stderr`` (printed by user
    code or a shell command), ``logging`` (the :mod:`logging` module), ``worker`` (the worker
    process itself: start-up failures, crashes).
    """

    level: LogLevel
    message: str
    ts: datetime
    source: str = "node"


LogCallback = Callable[[LogLine], Awaitable[None]]


@dataclass(frozen=True)
class AttemptOutcome:
    """How an attempt ended. ``metrics`` holds rows_in / rows_out / bytes_out when meaningful."""

    status: AttemptStatus
    error: str | None
    exit_code: int | None
    metrics: dict[str, Any]
    duration_seconds: float
    started_at: datetime
    finished_at: datetime
    pid: int | None = None
    output_path: str | None = None
    warm: bool = False
    """Forked from the warm worker's helper (else a cold interpreter)."""


@dataclass
class _State:
    result: dict[str, Any] | None = None
    stopped: AttemptStatus | None = None  # set when we killed it: timed_out or cancelled
    fired: bool = False  # the watchdog started killing the process group
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=_STDERR_TAIL))


async def start_worker(
    spec: TaskSpec | Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    warm: WarmWorker | None = None,
) -> Worker:
    """Start the worker of an attempt that may not run yet (its claim is in flight): a warm one
    waits at its gate, a cold one for its spec on stdin. :func:`run_attempt` with ``worker=``
    lets it run; :func:`abandon_worker` ends it having run nothing."""
    task = spec if isinstance(spec, TaskSpec) else TaskSpec.model_validate(spec)
    child_env = child_environment(env)  # without the service's secrets: user code runs in there
    proc: Worker | None = None
    if warm is not None:
        proc = await warm.spawn(task.model_dump_json().encode(), child_env, cwd, limit=_LINE_LIMIT)
    if proc is None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tauro_executor.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=_LINE_LIMIT,
            env=child_env,
            cwd=cwd,
        )
    return proc


async def abandon_worker(proc: Worker) -> None:
    """End a started worker that must not run (its claim was refused, or its task cancelled):
    its gate or stdin closes, its process group is killed, it is reaped."""
    if isinstance(proc, WarmProcess):
        proc.close()
    elif proc.stdin is not None:
        proc.stdin.close()
    await _end(proc, 0.0)


async def _end(proc: Worker, grace_seconds: float) -> None:
    """Kill what is left of the worker's process group (SIGTERM, ``grace_seconds``, SIGKILL)
    and reap the worker."""
    await kill_group(proc.pid, grace_seconds)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def run_attempt(
    spec: TaskSpec | Mapping[str, Any],
    *,
    timeout_seconds: float | None,
    on_log: LogCallback,
    cancel: asyncio.Event | None = None,
    kill_grace_seconds: float = 3.0,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    warm: WarmWorker | None = None,
    worker: Worker | None = None,
) -> AttemptOutcome:
    """Run one attempt of ``spec.node`` in a worker subprocess and report how it ended.

    ``cancel`` set -> the attempt is killed and the outcome is ``cancelled``. Cancelling
    the *calling task* also kills the attempt, then re-raises :class:`asyncio.CancelledError`.
    ``env`` is added to this process's environment for the worker; ``cwd`` is its working
    directory (relative paths in node configs resolve against it). ``warm``: fork the worker
    from this warm worker when it can (else, and without it, start a fresh interpreter).
    ``worker``: one :func:`start_worker` started for this spec already (then ``env``, ``cwd``
    and ``warm`` were given there); the attempt's time starts when it is let run.
    """
    task = spec if isinstance(spec, TaskSpec) else TaskSpec.model_validate(spec)
    payload = task.model_dump_json().encode()
    started_at, started = datetime.now(UTC), time.monotonic()
    proc = worker if worker is not None else await start_worker(task, env=env, cwd=cwd, warm=warm)
    if isinstance(proc, WarmProcess):
        proc.open_gate()  # a cold worker's gate is its spec, written to its stdin below
    state = _State()
    emit = _serialized(on_log)
    watchdog = asyncio.create_task(_watchdog(proc, state, timeout_seconds, cancel, kill_grace_seconds))
    try:
        await _communicate(proc, payload, state, emit)
    finally:
        if state.fired:
            await watchdog  # let it finish the SIGTERM grace period it started
        else:
            watchdog.cancel()
            await asyncio.wait({watchdog})  # unlike suppress(CancelledError), lets a cancel of ours through
        # also reached on cancellation or an on_log error: nothing of the attempt may outlive it
        await _end(proc, kill_grace_seconds)
        if isinstance(proc, WarmProcess):
            proc.close()
    return _outcome(task, proc, state, timeout_seconds, started_at, time.monotonic() - started)


async def _communicate(proc: Worker, payload: bytes, state: _State, emit: LogCallback) -> None:
    """Feed the spec (a cold worker reads it from stdin; a warm one was given it), pump both
    output pipes until the worker exits; an ``on_log`` error aborts."""
    assert proc.stdout is not None and proc.stderr is not None
    exited = asyncio.create_task(proc.wait())
    tasks = {
        exited,
        asyncio.create_task(_read_protocol(proc.stdout, state, emit)),
        asyncio.create_task(_read_stderr(proc.stderr, state, emit)),
    }
    loop = asyncio.get_running_loop()
    try:
        if proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(payload)
                await proc.stdin.drain()
            proc.stdin.close()
        pending, deadline = set(tasks), None
        while pending:
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                finished.result()  # re-raises an on_log error
            if exited.done() and deadline is None:
                # the protocol pipe is private to the worker, so EOF follows its exit; bound it anyway
                deadline = loop.time() + _DRAIN_SECONDS
            elif deadline is not None and loop.time() >= deadline:
                break
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _read_protocol(stream: asyncio.StreamReader, state: _State, emit: LogCallback) -> None:
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line over the limit: skip it, keep the protocol going
            await emit(LogLine("WARNING", "dropped an oversized log line", _now(), "worker"))
            continue
        if not raw:
            return
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            message = json.loads(text)
            kind = message.get("kind") if isinstance(message, dict) else None
        except ValueError:
            message, kind = None, None
        if kind == "result":
            state.result = message
        elif kind == "log" and isinstance(message, dict):
            await emit(
                LogLine(
                    normalize_level(message.get("level", "INFO")),
                    str(message.get("message", "")),
                    _parse_ts(message.get("ts")),
                    str(message.get("source", "node")),
                )
            )
        elif text:
            await emit(LogLine("INFO", text, _now(), "worker"))


async def _read_stderr(stream: asyncio.StreamReader, state: _State, emit: LogCallback) -> None:
    """The worker's own stderr: start-up failures and hard crashes (user output never lands here)."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:
            continue
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        state.stderr_tail.append(line)
        await emit(LogLine("ERROR", line, _now(), "worker"))


async def _watchdog(
    proc: Worker,
    state: _State,
    timeout_seconds: float | None,
    cancel: asyncio.Event | None,
    grace: float,
) -> None:
    """Wait for the time limit or the cancel event, then kill the attempt's process group."""
    waits: dict[asyncio.Task[Any], AttemptStatus] = {}
    if timeout_seconds is not None:
        waits[asyncio.create_task(asyncio.sleep(timeout_seconds))] = "timed_out"
    if cancel is not None:
        waits[asyncio.create_task(cancel.wait())] = "cancelled"
    if not waits:
        return
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
    if state.result is None and proc.returncode is None:
        state.stopped = waits[next(iter(done))]
    state.fired = True
    await kill_group(proc.pid, grace)


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_ts(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return _now()


def _serialized(on_log: LogCallback) -> LogCallback:
    """``on_log`` is never called concurrently (stdout and stderr are read in parallel)."""
    lock = asyncio.Lock()

    async def emit(line: LogLine) -> None:
        async with lock:
            await on_log(line)

    return emit


def _outcome(
    task: TaskSpec,
    proc: Worker,
    state: _State,
    timeout_seconds: float | None,
    started_at: datetime,
    duration: float,
) -> AttemptOutcome:
    code = proc.returncode
    result = state.result or {}
    metrics = dict(result.get("metrics") or {})
    status: AttemptStatus
    if state.stopped == "timed_out":
        status, error = "timed_out", f"node {task.node.id!r} timed out after {timeout_seconds:g} s"
    elif state.stopped == "cancelled":
        status, error = "cancelled", f"node {task.node.id!r} was cancelled"
    elif state.result is None:
        status = "failed"
        if code is None:  # a warm worker whose helper died before reaping it
            how = "ended (exit status unknown)"
        elif code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        tail = "\n".join(state.stderr_tail)
        error = f"worker {how} without reporting a result" + (f":\n{tail}" if tail else "")
    elif result.get("status") == "succeeded" and code in (0, None):
        status, error = "succeeded", None
    else:
        status = "failed"
        error = str(result.get("error") or f"worker exited with code {code}")
    return AttemptOutcome(
        status=status,
        error=error,
        exit_code=code,
        metrics=metrics,
        duration_seconds=round(duration, 3),
        started_at=started_at,
        finished_at=datetime.now(UTC),
        pid=proc.pid,
        output_path=result.get("output_path") if status == "succeeded" else None,
        warm=isinstance(proc, WarmProcess),
    )
