"""The warm worker's helper process: a fork server that starts task attempts in milliseconds.

``python -m tauro_executor.zygote CONTROL_FD LIFELINE_FD EXECUTOR_PID [KINDS]`` is started by
the executor (:mod:`tauro_executor.warm`) with the same cleaned environment as a cold worker
(without the services' secrets: it is a fresh interpreter, not a fork of the executor, so
no secret is in its memory either). It imports the worker runtime, the built-in node kinds
(those of ``KINDS``, comma-separated, or all) and polars (unless the kinds are all ``shell``)
once, freezes the heap (``gc.freeze``), then waits on ``CONTROL_FD`` (a
``SOCK_SEQPACKET`` Unix socket) for ``spawn`` requests: the attempt's spec, environment and
working directory, with the write ends of its stdout and stderr pipes and the read end of
its *gate* attached (``SCM_RIGHTS``). For each it forks a child that

- starts its own session (so its pid is its process group id, as ``start_new_session`` gives a
  cold worker; the helper answers with the pid only once the child has done so);
- takes those pipes as fds 1 and 2 (``/dev/null`` as stdin), the attempt's exact environment
  (``os.environ`` replaced), working directory and ``sys.path`` (``[cwd] + PYTHONPATH +`` the
  interpreter's own entries, as ``python -m`` would build it);
- watches ``LIFELINE_FD``, the read end of a pipe whose only write end the executor holds:
  end of file means the executor is gone (even by SIGKILL), and the child SIGKILLs its whole
  process group at once;
- waits on the gate: the executor forks the attempt while its claim is in flight and writes
  one byte once the claim is accepted; end of file (claim refused, executor gone) means the
  attempt exits at once, having run nothing;
- runs :func:`tauro_executor.worker.main` exactly as a cold worker does and exits with its code.

The helper never imports user code (a forked child does, in its own copy), so one attempt's
modules never reach the next. It reaps its children and reports each exit code. When the
control socket closes (the executor stopped or died) or the executor dies (``PR_SET_PDEATHSIG``
gives the helper SIGTERM), it SIGKILLs its children's process groups and exits. Killed on its
own while the executor lives, it exits and leaves running attempts alone: they are tied to the
executor, not to the helper, and the executor restarts a helper.

The helper stays single-threaded apart from threads polars' native code starts on import; it
runs no polars operation, so a child starts polars' thread pool afresh.
"""

from __future__ import annotations

import array
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import threading
from typing import Any

_PR_SET_PDEATHSIG = 1
_MAX_REQUEST = 1 << 20
_FDS_PER_SPAWN = 3  # stdout, stderr, the gate
POLARS_FREE_KINDS = frozenset({"shell"})


def set_parent_death_signal(sig: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)``: the kernel sends ``sig`` when our parent (thread) dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0)
    except (OSError, AttributeError):  # not Linux
        return False


def preload(kinds: list[str] | None = None) -> None:
    """Import what attempts need, so a forked child pays nothing for it: the worker runtime,
    the node kinds (``kinds``, or all), and polars unless every kind preloaded is ``shell``
    (a shell node never imports it, and a smaller helper forks and exits faster)."""
    import tauro_executor.worker  # noqa: F401  (the runtime: capture, protocol, templating)
    from tauro_executor.nodes import NODE_KINDS

    wanted = list(NODE_KINDS) if kinds is None else kinds
    for kind in wanted:
        importlib.import_module(NODE_KINDS[kind].split(":")[0])
    if set(wanted) <= POLARS_FREE_KINDS:
        return
    import polars

    for name in ("DataFrame", "LazyFrame", "read_parquet", "read_csv", "read_ndjson", "concat", "col", "lit"):
        getattr(polars, name)  # resolve lazily loaded parts; no operation runs (no thread pool yet)


def base_sys_path() -> list[str]:
    """This interpreter's ``sys.path`` without what ``python -m`` put first: the working directory
    and the ``PYTHONPATH`` entries (a child gets its own instead)."""
    entries = [e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e]
    rest = sys.path[1:]
    if rest[: len(entries)] == entries:
        return rest[len(entries) :]
    return [p for p in rest if p not in entries]


def child_sys_path(env: dict[str, str], cwd: str, base: list[str]) -> list[str]:
    """``sys.path`` as ``python -m`` builds it in ``cwd`` with ``env``'s ``PYTHONPATH``."""
    entries = [e for e in env.get("PYTHONPATH", "").split(os.pathsep) if e]
    return [cwd, *entries, *base]


class Zygote:
    def __init__(self, control: socket.socket, lifeline: int, executor_pid: int) -> None:
        self.control = control
        self.lifeline = lifeline
        self.executor_pid = executor_pid
        self.children: set[int] = set()
        self.base_path = base_sys_path()
        self.stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._selector = selectors.DefaultSelector()

    # --------------------------------------------------------------- the helper's loop

    def serve(self) -> int:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the executor's to handle
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self._selector.register(self.control, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self.send({"op": "ready", "pid": os.getpid()})
        while not self.stopping:
            for key, _ in self._selector.select():
                if key.fileobj == self._wake_r:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif not self.handle_request():
                    self.stopping = True
                    break
            if os.getppid() != self.executor_pid:
                self.stopping = True  # the executor is gone (our parent death signal may have been missed)
        self.kill_children()
        return 0

    def _on_term(self, signum: int, frame: Any) -> None:
        if os.getppid() != self.executor_pid:
            self.stopping = True  # the parent death signal: take the attempts with us
            return
        raise SystemExit(0)  # killed on its own: attempts stay with the executor that started them

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.control.sendall(json.dumps(message).encode())
        except OSError:
            self.stopping = True

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            self.send({"op": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status)})

    def kill_children(self) -> None:
        for pid in list(self.children):
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def handle_request(self) -> bool:
        """One request; False when the executor closed the socket."""
        try:
            data, ancdata, flags, _ = self.control.recvmsg(_MAX_REQUEST, socket.CMSG_SPACE(_FDS_PER_SPAWN * 4))
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        if not data:
            return False
        fds = array.array("i")
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
        request: dict[str, Any] = {}
        try:
            request = json.loads(data)
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(fds) != _FDS_PER_SPAWN:
                raise ValueError("truncated spawn request")
            self.spawn(request, list(fds))
        except Exception as exc:  # a bad request costs that attempt its warm start, never the helper
            request_id = request.get("id") if isinstance(request, dict) else None
            self.send({"op": "failed", "id": request_id, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        return True

    def spawn(self, request: dict[str, Any], fds: list[int]) -> None:
        sync_r, sync_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            os.close(sync_r)
            os.close(sync_w)
            raise
        if pid == 0:
            code = 70
            try:
                os.close(sync_r)
                code = self.child(request, fds, sync_w)
            except BaseException:  # never return into the helper's loop
                try:
                    import traceback

                    traceback.print_exc()
                    sys.stderr.flush()
                except BaseException:
                    pass
            finally:
                os._exit(code)
        os.close(sync_w)
        self.children.add(pid)
        try:
            os.read(sync_r, 1)  # the child leads its own session now (or died trying)
        finally:
            os.close(sync_r)
        self.send({"op": "spawned", "id": request["id"], "pid": pid})

    # --------------------------------------------------------------- in the forked child

    def child(self, request: dict[str, Any], fds: list[int], sync_w: int) -> int:
        os.setsid()
        os.write(sync_w, b"1")
        os.close(sync_w)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        self._selector.close()
        self.control.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        gate = fds[2]
        for fd in fds[:2]:
            os.close(fd)
        fds.clear()
        go = os.read(gate, 1)
        os.close(gate)
        if go != b"1":
            return 0  # not claimed: run nothing
        env = {str(k): str(v) for k, v in dict(request["env"]).items()}
        os.environ.clear()
        os.environ.update(env)
        cwd = str(request["cwd"])
        os.chdir(cwd)
        sys.path[:] = child_sys_path(env, os.getcwd(), self.base_path)
        from tauro_executor import worker

        sys.argv = [worker.__file__ or "worker"]
        return worker.main(spec_json=str(request["spec"]).encode(), lifeline=self.lifeline)


def main(argv: list[str]) -> int:
    control_fd, lifeline, executor_pid = (int(x) for x in argv[:3])
    kinds = argv[3].split(",") if len(argv) > 3 else None
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != executor_pid:
        return 0  # the executor died before we could ask to hear of it
    os.set_inheritable(lifeline, False)  # attempts keep it; the programs they start do not need it
    control = socket.socket(fileno=control_fd)
    control.set_inheritable(False)
    control.setblocking(True)
    preload(kinds)
    gc.collect()
    gc.freeze()  # forked children share these pages instead of touching them on their first collection
    if threading.active_count() != 1:  # forking copies no thread but their locks: refuse to serve
        print("tauro_executor.zygote: Python threads started during the imports; not forking from here",
              file=sys.stderr)
        return 3
    return Zygote(control, lifeline, executor_pid).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
