"""The warm worker: the executor's side of the fork server (:mod:`tauro_executor.zygote`).

:class:`WarmWorker` keeps one helper process running (``python -m tauro_executor.zygote``,
started with the cleaned child environment) and asks it to fork each attempt:
:meth:`WarmWorker.spawn` hands over the spec, environment and working directory with the
write ends of two fresh pipes (the child's stdout and stderr, read here exactly as a cold
worker's) and the read end of a third, the gate (the child runs nothing until
:meth:`WarmProcess.open_gate`), and returns a :class:`WarmProcess`, which :func:`tauro_executor.attempt.run_attempt`
drives like an ``asyncio.subprocess.Process``: ``pid`` (also its process group id),
``stdout``, ``stderr``, ``wait()``, ``kill()``, ``returncode`` (the helper reaps the child
and reports its exit code).

``spawn`` returns ``None`` whenever a warm start is not possible (the helper is starting,
down or busy restarting; the environment changes what an interpreter fixes at start-up, such
as ``PYTHONHASHSEED`` or the locale; the request does not fit): the caller then starts a
cold worker, so an attempt never fails because of the helper. A helper that exits is started
again (after 0.5 s, doubling up to 30 s while it keeps dying young). Attempts it forked
outlive it: their pipes lead here, their end is then seen by polling their pid (the exit code
is lost; the attempt's result line still says how it went).

The executor holds the only write end of the *lifeline* pipe; every warm attempt watches the
read end and kills its process group when it reads end of file, i.e. when this process is
gone, however it died.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tauro_platform.childenv import child_environment
from tauro_platform.waiting import wait_event

log = logging.getLogger("tauro.executor.warm")

_INTERPRETER_VARIABLES = ("LANG", "LC_ALL", "LC_CTYPE")
_PROC = Path("/proc")


def fixed_at_start(name: str) -> bool:
    """Variables an interpreter reads only when it starts (``PYTHONPATH`` is re-applied per child)."""
    upper = name.upper()
    return (upper.startswith("PYTHON") and upper != "PYTHONPATH") or upper in _INTERPRETER_VARIABLES


def warm_compatible(env: Mapping[str, str], helper_env: Mapping[str, str]) -> bool:
    """Whether a child forked from a helper started with ``helper_env`` behaves as a fresh
    interpreter started with ``env`` would."""
    names = {n for n in (*env, *helper_env) if fixed_at_start(n)}
    return all(env.get(n) == helper_env.get(n) for n in names)


def pid_alive(pid: int) -> bool:
    """A live, non-zombie process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return not _PROC.is_dir()
    return stat[stat.rfind(")") + 2] != "Z"


def spawn_request(request_id: int, spec_json: bytes, env: Mapping[str, str], cwd: str | Path | None) -> bytes:
    """The helper's ``spawn`` message; ``cwd`` absolute (default: ours, as a cold start inherits it)."""
    directory = os.path.abspath(cwd) if cwd is not None else os.getcwd()
    return json.dumps({"op": "spawn", "id": request_id, "spec": spec_json.decode(), "env": dict(env),
                       "cwd": directory}).encode()


class WarmProcess:
    """An attempt forked by the helper, as :func:`~tauro_executor.attempt.run_attempt` sees it.
    It runs nothing until :meth:`open_gate`; closed without that, it exits having run nothing."""

    stdin = None  # the spec travels with the spawn request

    def __init__(self, pid: int, stdout_fd: int, stderr_fd: int, gate_fd: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None
        self._fds = [stdout_fd, stderr_fd]
        self._gate: int | None = gate_fd
        self._transports: list[asyncio.BaseTransport] = []
        self._done = asyncio.get_running_loop().create_future()
        self._poller: asyncio.Task[None] | None = None

    async def connect(self, limit: int) -> None:
        """Read the child's stdout and stderr through asyncio streams."""
        loop = asyncio.get_running_loop()
        readers = []
        for fd in self._fds:
            reader = asyncio.StreamReader(limit=limit, loop=loop)
            pipe = os.fdopen(fd, "rb", buffering=0)
            try:
                transport, _ = await loop.connect_read_pipe(functools.partial(asyncio.StreamReaderProtocol, reader),
                                                            pipe)
            except BaseException:
                pipe.close()
                raise
            self._transports.append(transport)
            readers.append(reader)
        self._fds = []
        self.stdout, self.stderr = readers

    def open_gate(self) -> None:
        """Let the attempt run."""
        if self._gate is not None:
            with contextlib.suppress(OSError):  # it died meanwhile: its outcome will say so
                os.write(self._gate, b"1")
            self._close_gate()

    def _close_gate(self) -> None:
        if self._gate is not None:
            with contextlib.suppress(OSError):
                os.close(self._gate)
            self._gate = None

    def close(self) -> None:
        """Close the pipes (idempotent): after the attempt, or when it never got connected."""
        self._close_gate()
        for transport in self._transports:
            transport.close()
        self._transports = []
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []

    def exited(self, code: int | None) -> None:
        """The helper reaped it (``code``), or it is gone and nobody can tell how (``None``)."""
        if not self._done.done():
            self.returncode = code
            self._done.set_result(code)

    def orphaned(self) -> None:
        """The helper died: watch the pid until the child is gone."""
        if self._done.done() or self._poller is not None:
            return

        async def poll() -> None:
            while pid_alive(self.pid):  # noqa: ASYNC110 (no event tells of a process that is not our child)
                await asyncio.sleep(0.05)
            self.exited(None)

        self._poller = asyncio.get_running_loop().create_task(poll())

    @property
    def finished(self) -> bool:
        return self._done.done()

    async def wait(self) -> int | None:
        return await asyncio.shield(self._done)

    def kill(self) -> None:
        if not self._done.done():  # once reaped, the pid may belong to someone else
            os.kill(self.pid, signal.SIGKILL)


class WarmWorker:
    """One helper process, restarted when it dies; see the module docstring. An executor keeps
    two: one for ``shell`` nodes (``kinds=("shell",)``: no polars, so it forks and its children
    exit faster) and one for every other kind."""

    def __init__(self, *, start_delay: float = 0.0, ready_timeout: float = 60.0, spawn_timeout: float = 5.0,
                 restart_delay: float = 0.5, max_restart_delay: float = 30.0,
                 kinds: tuple[str, ...] | None = None) -> None:
        self.kinds = kinds  # the node kinds its helper preloads (None: all, and polars)
        self.start_delay = start_delay
        self.ready_timeout = ready_timeout
        self.spawn_timeout = spawn_timeout
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.helper_pid: int | None = None
        self.starts = 0  # helpers started so far (1 + restarts)
        self.warm_spawns = 0
        self._helper: asyncio.subprocess.Process | None = None
        self._helper_env: dict[str, str] = {}
        self._socket: socket.socket | None = None
        self._ready: asyncio.Event = asyncio.Event()
        self._stopping = False
        self._wanted = asyncio.Event()  # an attempt (or wait_ready) asked for the helper: start it now
        self._supervisor: asyncio.Task[None] | None = None
        self._lifeline: tuple[int, int] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[WarmProcess | None], int, int, int]] = {}
        self._children: dict[int, WarmProcess] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the helper in the background, after ``start_delay`` seconds or at the first
        attempt, whichever comes first (a process that never runs a task never pays for the
        helper's imports); attempts start cold until it is ready."""
        if self._supervisor is not None:
            return
        self._lifeline = os.pipe()  # both ends close-on-exec: no other program inherits the write end
        self._supervisor = asyncio.create_task(self._supervise(), name="executor-warm-worker")

    async def wait_ready(self, within: float | None = None) -> bool:
        """Wait until a helper is ready to fork (``False`` after ``within`` seconds)."""
        self._wanted.set()
        try:
            async with asyncio.timeout(within):
                await self._ready.wait()
        except TimeoutError:
            return False
        return True

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def stop(self) -> None:
        """Stop the helper (it kills any child it still has) and close the lifeline."""
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        for child in list(self._children.values()):
            child.orphaned()
        if self._lifeline is not None:
            for fd in self._lifeline:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._lifeline = None

    async def _supervise(self) -> None:
        await wait_event(self._wanted, self.start_delay)
        delay = self.restart_delay
        while not self._stopping:
            began = time.monotonic()
            try:
                await self._run_helper()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("warm worker helper failed; attempts start cold meanwhile")
            if self._stopping:
                return
            delay = self.restart_delay if time.monotonic() - began > self.max_restart_delay else delay
            log.warning("warm worker helper exited; restarting it in %.1f s (attempts start cold meanwhile)",
                        delay)
            await asyncio.sleep(delay)
            delay = min(self.max_restart_delay, delay * 2)

    async def _run_helper(self) -> None:
        assert self._lifeline is not None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        loop = asyncio.get_running_loop()
        self._helper_env = child_environment()
        try:
            helper = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tauro_executor.zygote", str(theirs.fileno()), str(self._lifeline[0]),
                str(os.getpid()), *([",".join(self.kinds)] if self.kinds else []),
                pass_fds=(theirs.fileno(), self._lifeline[0]), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, env=self._helper_env,
            )
        finally:
            theirs.close()
        self._helper, self.helper_pid = helper, helper.pid
        self.starts += 1
        ours.setblocking(False)
        self._socket = ours
        loop.add_reader(ours.fileno(), self._on_message)
        watchdog = asyncio.create_task(self._kill_if_not_ready(helper))
        try:
            await helper.wait()
        finally:
            watchdog.cancel()
            self._ready.clear()
            loop.remove_reader(ours.fileno())
            ours.close()  # the helper (if still alive) reads end of file, kills its children, exits
            self._socket = None
            if helper.returncode is None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    async with asyncio.timeout(2.0):
                        await asyncio.shield(helper.wait())
            if helper.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    helper.kill()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(helper.wait())
            self._helper = None
            for request_id in list(self._pending):
                self._resolve(request_id, None)
            for child in list(self._children.values()):
                child.orphaned()

    async def _kill_if_not_ready(self, helper: asyncio.subprocess.Process) -> None:
        if not await self.wait_ready(self.ready_timeout):
            log.warning("the warm worker helper was not ready within %.0f s; restarting it", self.ready_timeout)
            with contextlib.suppress(ProcessLookupError):
                helper.kill()

    def _on_message(self) -> None:
        sock = self._socket
        while sock is not None:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the helper is gone; _run_helper's wait() cleans up
                self._ready.clear()
                with contextlib.suppress(ValueError, OSError):
                    asyncio.get_running_loop().remove_reader(sock.fileno())
                return
            try:
                message = json.loads(data)
            except ValueError:
                log.warning("unreadable message from the warm worker helper")
                continue
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "ready":
            self._ready.set()
            log.info("warm worker ready (helper pid %s)", message.get("pid"))
        elif op == "spawned":
            self._spawned(int(message["id"]), int(message["pid"]))
        elif op == "failed":
            log.warning("warm start refused: %s", message.get("error"))
            if message.get("id") is not None:
                self._resolve(int(message["id"]), None)
        elif op == "exit":
            child = self._children.pop(int(message["pid"]), None)
            if child is not None:
                child.exited(int(message["code"]))

    def _spawned(self, request_id: int, pid: int) -> None:
        pending = self._pending.pop(request_id, None)
        if pending is None or pending[0].done():  # its caller gave up (cancelled, timed out): kill it
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
            if pending is not None:
                for fd in pending[1:]:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            return
        future, stdout_fd, stderr_fd, gate_fd = pending
        child = WarmProcess(pid, stdout_fd, stderr_fd, gate_fd)
        self._children[pid] = child
        future.set_result(child)

    def _resolve(self, request_id: int, value: None) -> None:
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return
        future, *fds = pending
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        if not future.done():
            future.set_result(value)

    # ------------------------------------------------------------------ starting attempts

    async def spawn(self, spec_json: bytes, env: Mapping[str, str], cwd: str | Path | None,
                    *, limit: int) -> WarmProcess | None:
        """Fork an attempt from the helper, waiting at its gate, or ``None`` (then start it cold)."""
        self._wanted.set()
        sock = self._socket
        if sock is None or not self._ready.is_set() or self._stopping:
            return None
        if not warm_compatible(env, self._helper_env):
            return None
        request_id = next(self._ids)
        request = spawn_request(request_id, spec_json, env, cwd)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        gate_r, gate_w = os.pipe()
        future: asyncio.Future[WarmProcess | None] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (future, out_r, err_r, gate_w)
        try:
            rights = array.array("i", [out_w, err_w, gate_r])
            sock.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
        except OSError as exc:  # too big for one message, helper gone, socket full: start cold
            log.debug("warm start not possible: %s", exc)
            self._resolve(request_id, None)
            return None
        finally:
            for fd in (out_w, err_w, gate_r):  # the helper has its own copies now (or never will)
                os.close(fd)
        try:
            async with asyncio.timeout(self.spawn_timeout):
                child = await future
        except TimeoutError:
            log.warning("the warm worker helper did not answer within %.0f s; starting cold", self.spawn_timeout)
            future.cancel()  # a late answer kills the child it names
            return None
        except asyncio.CancelledError:
            future.cancel()
            raise
        if child is None:
            return None
        try:
            await child.connect(limit)
        except BaseException:
            child.close()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
            raise
        self.warm_spawns += 1
        return child
