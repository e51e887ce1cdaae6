"""The task worker: ``python -m tauro_executor.worker`` runs ONE attempt of one node.

It reads the task spec (JSON, see :class:`~tauro_executor.protocol.WorkerSpec`) from stdin, renders the
node's config, runs the node, and reports on stdout as JSON lines: ``log`` lines while
it runs and one final ``result`` line, written after the captured user output has been
drained (see :mod:`tauro_executor.capture`). Exit code 0 = succeeded, 1 = failed,
2 = unreadable spec.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tauro_executor.capture import OutputCapture, ProtocolLogHandler, ProtocolWriter
from tauro_executor.nodes import NodeContext, NodeError, TaskLog, run_node
from tauro_executor.protocol import WorkerSpec, node_output_path, run_dir
from tauro_executor.templating import TemplateError, builtins, render


@dataclass
class Report:
    """What the final ``result`` line will say."""

    status: Literal["succeeded", "failed"]
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    output_path: str | None = None


def build_context(spec: WorkerSpec, log: TaskLog) -> NodeContext:
    """Render the config and locate the inputs/output of this attempt."""
    workdir = run_dir(spec.work_dir, spec.run_id).resolve()
    namespace = builtins(
        run_id=spec.run_id,
        node_id=spec.node_id,
        output_dir=spec.output_dir,
        work_dir=str(workdir),
        logical_date=spec.logical_date,
        params=spec.params,
    )
    config = render(spec.config, namespace)
    workdir.mkdir(parents=True, exist_ok=True)
    output_path = node_output_path(spec.work_dir, spec.run_id, spec.node_id).resolve()
    output_path.unlink(missing_ok=True)  # never let a downstream node read a previous attempt's output
    inputs = []
    for up in spec.upstream:
        path = node_output_path(spec.work_dir, spec.run_id, up).resolve()
        if path.is_file():
            inputs.append(path)
        else:
            log.debug(f"upstream node {up!r} produced no output table")
    return NodeContext(
        run_id=spec.run_id,
        node_id=spec.node_id,
        attempt=spec.attempt,
        config=config,
        params=dict(spec.params),
        inputs=inputs,
        output_path=output_path,
        log=log,
        work_dir=workdir,
        output_dir=Path(spec.output_dir),
    )


def execute(spec: WorkerSpec, log: TaskLog) -> Report:
    """Run the node described by ``spec``; never raises (failures become a failed report)."""
    started = time.monotonic()
    try:
        ctx = build_context(spec, log)
        log.info(
            f"attempt {spec.attempt} of {spec.node_type} node {spec.node_id!r} started (pid {os.getpid()})"
        )
        result = run_node(spec.node_type, ctx)
    except (NodeError, TemplateError) as exc:
        error = str(exc)
    except BaseException as exc:  # user code: anything, including SystemExit and KeyboardInterrupt
        log.error(_user_traceback(exc))
        error = f"{type(exc).__name__}: {exc}"
    else:
        metrics = {**result.metrics(), "node_seconds": round(time.monotonic() - started, 3)}
        log.info(f"node {spec.node_id!r} succeeded: {metrics}")
        output = str(result.output_path) if result.output_path else None
        return Report("succeeded", metrics=metrics, output_path=output)
    log.error(error)
    return Report("failed", error=error, metrics={"node_seconds": round(time.monotonic() - started, 3)})


def _user_traceback(exc: BaseException) -> str:
    """The traceback without the worker's own leading frames."""
    package = str(Path(__file__).resolve().parent)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(package):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def die_with_parent(interval: float = 0.5) -> None:
    """If the executor dies (even by SIGKILL), kill this attempt's whole process group.

    Only when the worker leads its own group (``start_new_session``), so running it by
    hand from a shell can never kill the shell.
    """
    parent = os.getppid()
    if os.getpgid(0) != os.getpid():
        return

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os.killpg(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="tauro-parent-watch", daemon=True).start()


def die_with_executor(lifeline: int) -> None:
    """Warm attempts (forked by :mod:`tauro_executor.zygote`, whose child this is, not the
    executor's): ``lifeline`` is the read end of a pipe only the executor can write to, so
    end of file means the executor is gone, even by SIGKILL. Then this attempt's whole
    process group is killed at once."""

    def watch() -> None:
        try:
            while os.read(lifeline, 64):
                pass
        except OSError:
            pass
        os.killpg(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="tauro-executor-watch", daemon=True).start()


def main(spec_json: bytes | None = None, lifeline: int | None = None) -> int:
    """Run one attempt; returns the process exit code.

    A cold worker reads its spec from stdin and watches its parent; a warm one (forked by the
    helper) is given the spec and the executor's lifeline.
    """
    if lifeline is None:
        die_with_parent()
    else:
        die_with_executor(lifeline)
    writer = ProtocolWriter(os.dup(1))
    faulthandler.enable(file=os.fdopen(os.dup(2), "w"))  # hard crashes still reach the parent
    try:
        spec = WorkerSpec.from_json(sys.stdin.buffer.read() if spec_json is None else spec_json)
    except (ValueError, TypeError) as exc:
        writer.result("failed", error=f"invalid task spec: {exc}")
        return 2
    capture = OutputCapture(writer)
    capture.start()
    root = logging.getLogger()
    root.handlers[:] = [ProtocolLogHandler(writer)]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        report = execute(spec, TaskLog(writer.log))
    finally:
        root.handlers.clear()
        capture.stop()
    writer.result(report.status, error=report.error, metrics=report.metrics, output_path=report.output_path)
    return 0 if report.status == "succeeded" else 1


if __name__ == "__main__":
    os._exit(main())  # don't wait for stray non-daemon threads user code may have started
