"""Service heartbeats: one document per (service, instance) in the read store.

Every service (each ``ServiceHost``, the executor, the gateway) writes
``{service, instance_id, host, pid, version, started_at, last_seen, state}`` to the
``service_heartbeats`` collection every ``SERVICE_HEARTBEAT_SECONDS``; ``/health``
reads the freshest one per service. ``state`` is ``running``, ``stopped``, or what the
owner's ``state_of`` says (a command host reports ``stuck`` while a command keeps failing).
Writes are conditional on the stored version (``put_versioned``), so a restarted
instance with the same id continues its document.

Documents of instances gone for ``RETENTION_SECONDS`` (a day) are deleted by the
writers themselves: each heartbeat prunes when it starts and then every
``PRUNE_EVERY_SECONDS`` (an explicit delete, not a TTL index: ``last_seen`` is an ISO
string and a MongoDB-wire server need not run a TTL monitor).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tauro_contracts.readmodels import collections

from tauro_platform.observability.identity import DEFAULTS, VERSION
from tauro_platform.observability.metrics import SERVICE_INFO
from tauro_platform.readstore.port import ReadStore
from tauro_platform.timeutil import iso
from tauro_platform.waiting import within

log = logging.getLogger("tauro.heartbeat")
HEARTBEATS = collections.SERVICE_HEARTBEATS
STOP_TIMEOUT = 2.0
RETENTION_SECONDS = 86400.0
PRUNE_EVERY_SECONDS = 3600.0


async def prune_stale(read_store: ReadStore, older_than: float = RETENTION_SECONDS,
                      now: datetime | None = None) -> int:
    """Delete the heartbeat documents not written for ``older_than`` seconds; how many went."""
    cutoff = iso((now or datetime.now(UTC)) - timedelta(seconds=older_than))
    return await read_store.delete_where(HEARTBEATS, {"last_seen": {"$lt": cutoff}})


class Heartbeat:
    def __init__(
        self, read_store: ReadStore, service: str, instance_id: str | None = None, interval: float | None = None,
    ) -> None:
        self.read_store = read_store
        self.service = service
        self.instance_id = instance_id or DEFAULTS.instance_id
        self.interval = interval or DEFAULTS.heartbeat_seconds
        self.doc_id = f"{service}:{self.instance_id}"
        self.started_at = iso(datetime.now(UTC))
        self._version: int | None = None
        self._known = False
        self._task: asyncio.Task[None] | None = None
        self._pruned_at: float | None = None
        self.retention = RETENTION_SECONDS
        self.state_of: Callable[[], str] = lambda: "running"

    def _doc(self, state: str) -> dict[str, Any]:
        return {
            "_id": self.doc_id, "service": self.service, "instance_id": self.instance_id,
            "host": socket.gethostname(), "pid": os.getpid(), "version": VERSION, "mode": DEFAULTS.mode,
            "started_at": self.started_at, "last_seen": iso(datetime.now(UTC)), "state": state,
            "interval_seconds": self.interval,
        }

    async def beat(self, state: str = "running") -> None:
        for _ in range(5):
            if not self._known:
                current = await self.read_store.get(HEARTBEATS, self.doc_id)
                self._version = int(current["_v"]) if current else None
                self._known = True
            new_version = (self._version or 0) + 1
            if await self.read_store.put_versioned(HEARTBEATS, {**self._doc(state), "_v": new_version}, self._version):
                self._version = new_version
                return
            self._known = False  # someone else wrote it (a restart with the same id): read again
        raise RuntimeError(f"could not write the heartbeat {self.doc_id}")

    async def start(self) -> None:
        SERVICE_INFO.labels(service=self.service, version=VERSION, mode=DEFAULTS.mode).set(1)
        try:
            await self.beat()
        except Exception:
            log.exception("first heartbeat failed; will retry", extra={"service": self.service})
        await self._prune_when_due()
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-heartbeat")

    async def _prune_when_due(self) -> None:
        """Remove documents of instances gone for ``retention``: at start, then every
        ``PRUNE_EVERY_SECONDS`` (every instance prunes; deleting twice is harmless)."""
        if self._pruned_at is not None and time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        try:
            removed = await prune_stale(self.read_store, self.retention)
        except Exception as exc:
            log.warning("stale heartbeats not pruned", extra={"service": self.service, "error": type(exc).__name__})
            return
        if removed:
            log.info("stale heartbeats pruned", extra={"service": self.service, "count": removed})

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.beat(self.state_of())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("heartbeat failed", extra={"service": self.service, "error": type(exc).__name__})
            await self._prune_when_due()

    async def stop(self) -> None:
        """Stop beating and mark the instance stopped (best effort: the store may be gone)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await within(self.beat("stopped"), STOP_TIMEOUT)
        except Exception:  # shutting down: a store that cannot be reached is not worth waiting for
            log.debug("final heartbeat not written", extra={"service": self.service})
