"""Inside the worker: keep the protocol channel clean while capturing everything else.

:class:`ProtocolWriter` owns a private duplicate of the original stdout and writes the
JSON protocol lines to it (thread-safe). :class:`OutputCapture` points the real file
descriptors 1 and 2 at pipes, so whatever user code, C extensions or child processes
print arrives as log lines (stdout -> INFO, stderr -> WARNING or ERROR) instead of
corrupting the protocol.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from tauro_executor.protocol import log_message, result_message, stderr_level

_READ_LIMIT = 64 * 1024


class ProtocolWriter:
    """Writes protocol lines to ``fd`` (a dup of the original stdout), one at a time."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", encoding="utf-8", errors="replace")
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except (BrokenPipeError, ValueError):
                pass  # the parent went away; nothing left to tell

    def log(self, level: str, message: str, source: str = "node") -> None:
        self.write(log_message(level, message, source=source))

    def result(
        self,
        status: Literal["succeeded", "failed"],
        *,
        error: str | None = None,
        metrics: dict[str, Any] | None = None,
        output_path: str | None = None,
    ) -> None:
        self.write(result_message(status, error=error, metrics=metrics, output_path=output_path))


class OutputCapture:
    """Redirect fds 1 and 2 to pipes read by daemon threads that emit log lines."""

    def __init__(self, writer: ProtocolWriter) -> None:
        self._writer = writer
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        _flush_std()
        streams: tuple[tuple[int, Callable[[str], str], str], ...] = (
            (1, lambda _line: "INFO", "stdout"),
            (2, stderr_level, "stderr"),
        )
        for fd, level_of, source in streams:
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)  # inheritable: child processes write into the capture too
            os.close(write_end)
            thread = threading.Thread(target=self._pump, args=(read_end, level_of, source), daemon=True)
            thread.start()
            self._threads.append(thread)
        for stream in (sys.stdout, sys.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(line_buffering=True)

    def stop(self, timeout: float = 2.0) -> None:
        """Close our ends of fds 1/2 and wait (at most ``timeout`` in all) for the readers to drain."""
        _flush_std()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))  # a background child may hold a pipe open

    def _pump(self, fd: int, level_of: Callable[[str], str], source: str) -> None:
        with os.fdopen(fd, "rb") as stream:
            while chunk := stream.readline(_READ_LIMIT):
                line = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
                self._writer.log(level_of(line), line, source=source)


class ProtocolLogHandler(logging.Handler):
    """Sends :mod:`logging` records from user code to the protocol with their own level."""

    def __init__(self, writer: ProtocolWriter) -> None:
        super().__init__(level=logging.INFO)
        self._writer = writer
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._writer.log(record.levelname, self.format(record), source="logging")
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
