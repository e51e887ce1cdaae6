"""Health: dependency probes with short timeouts, and the freshness of service heartbeats.

``check_health`` pings the bus, the event store and the read store concurrently and
reads the heartbeats, each bounded by ``HEALTH_CHECK_TIMEOUT_SECONDS``, so an answer
comes in a few seconds even when a server is gone. In the distributed mode the
probes use their own MongoDB client with short server-selection and socket timeouts
(the services' clients wait ``MONGODB_TIMEOUT`` seconds, 30 by default, for a
server). A required service (``HEALTH_REQUIRED_SERVICES``) whose freshest heartbeat
is older than ``HEALTH_HEARTBEAT_MAX_AGE_SECONDS``, or that reports itself ``stuck`` (a
command failing for a while), makes the whole answer unhealthy. Commands dead-lettered
within ``DEAD_LETTER_WINDOW_SECONDS`` make it ``degraded`` (still 200: the system works,
but an operator should look at ``GET /api/v1/dead-letters``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tauro_platform.bus.port import Bus
from tauro_platform.observability.heartbeat import HEARTBEATS
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.deadletters import DEAD_LETTERS
from tauro_platform.timeutil import iso, parse_iso

MAX_HEARTBEAT_DOCS = 500
DEAD_LETTER_WINDOW_SECONDS = 3600


@dataclass
class HealthProbes:
    """What ``/health`` talks to, and what kind of server each one is."""

    bus: Bus
    event_store: Any
    read_store: ReadStore
    kinds: dict[str, str] = field(default_factory=dict)
    _close: Callable[[], Awaitable[None]] | None = None

    async def close(self) -> None:
        if self._close is not None:
            await self._close()


def build_probes(
    settings: Any, bus: Bus, event_store: Any, read_store: ReadStore, own_client: bool = True
) -> HealthProbes:
    """Short-timeout probes: a MongoDB client of their own in the distributed mode (unless
    ``own_client`` is False: then the given stores, bounded by the probe timeout only), the
    process's own (in-process) stores in the embedded mode. ``close`` them when done."""
    if settings.tauro_mode != "distributed":
        kinds = {"bus": "embedded", "event_store": "sqlite", "read_store": "memory"}
        return HealthProbes(bus, event_store, read_store, kinds)
    kinds = {"bus": "kafka", "event_store": "mongodb", "read_store": "mongodb"}
    if not own_client:
        return HealthProbes(bus, event_store, read_store, kinds)
    from pymongo import AsyncMongoClient

    from tauro_platform.eventstore.mongo import MongoEventStore
    from tauro_platform.readstore.mongo import MongoReadStore

    timeout_ms = int(settings.health_check_timeout_seconds * 1000)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongodb_url, maxPoolSize=4, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms, tz_aware=True, appname="tauro-health",
    )
    return HealthProbes(bus, MongoEventStore(client, settings.mongodb_database),
                        MongoReadStore(client, settings.mongodb_database), kinds, client.close)


async def _timed(probe: Callable[[], Awaitable[Any]], limit: float) -> tuple[dict[str, Any], Any]:
    """Run ``probe`` for at most ``limit`` seconds. A probe still running then is cancelled
    but not waited for: a driver slow to honour the cancel cannot hold the answer up."""
    started = time.perf_counter()
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=limit)
    if not done:
        task.cancel()
        task.add_done_callback(_consume)
        return {"status": "down", "error": "timeout"}, None
    if task.exception() is not None:
        return {"status": "down", "error": type(task.exception()).__name__}, None
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}, task.result()


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


def _services(docs: list[dict[str, Any]], required: list[str], max_age: float, now: datetime) -> dict[str, Any]:
    fresh_since = iso(now - timedelta(seconds=max_age))
    report: dict[str, Any] = {}
    for name in dict.fromkeys([*required, *sorted({d.get("service", "") for d in docs} - {""})]):
        mine = sorted((d for d in docs if d.get("service") == name), key=lambda d: d.get("last_seen", ""),
                      reverse=True)
        live = [d for d in mine if d.get("state") != "stopped" and d.get("last_seen", "") >= fresh_since]
        entry: dict[str, Any] = {"required": name in required, "instances": len(live)}
        if not mine:
            entry["status"] = "missing"
        else:
            newest = live[0] if live else mine[0]
            stuck = [d for d in live if d.get("state") == "stuck"]
            entry.update(
                status=("stuck" if stuck else "ok") if live else (
                    "stopped" if newest.get("state") == "stopped" else "stale"),
                last_seen=newest.get("last_seen"), instance_id=newest.get("instance_id"),
                version=newest.get("version"),
                age_seconds=round((now - parse_iso(newest["last_seen"])).total_seconds(), 1),
            )
        report[name] = entry
    return report


async def check_health(probes: HealthProbes, settings: Any) -> tuple[bool, dict[str, Any], list[str]]:
    """``(healthy, checks, failing)``: each dependency's and each service's state."""
    timeout = settings.health_check_timeout_seconds
    now = datetime.now(UTC)
    recent = {"dead_lettered_at": {"$gte": iso(now - timedelta(seconds=DEAD_LETTER_WINDOW_SECONDS))}}
    (bus, _), (events, _), (reads, _), (beats, found), (_, dead) = await asyncio.gather(
        _timed(probes.bus.ping, timeout),
        _timed(probes.event_store.ping, timeout),
        _timed(probes.read_store.ping, timeout),
        _timed(lambda: probes.read_store.find(HEARTBEATS, {}, sort=[("last_seen", -1)], limit=MAX_HEARTBEAT_DOCS),
               timeout),
        _timed(lambda: probes.read_store.find(DEAD_LETTERS, recent, limit=1), timeout),
    )
    checks: dict[str, Any] = {
        "bus": {**bus, "kind": probes.kinds.get("bus")},
        "event_store": {**events, "kind": probes.kinds.get("event_store")},
        "read_store": {**reads, "kind": probes.kinds.get("read_store")},
    }
    required = list(settings.health_required_services)
    if found is None:
        checks["services"] = {name: {"status": "unknown", "required": True, "error": beats.get("error")}
                              for name in required}
    else:
        docs, _ = found
        checks["services"] = _services(docs, required, settings.health_heartbeat_max_age_seconds, now)
    count = dead[1] if dead is not None else None
    checks["dead_letters"] = {"status": "unknown" if count is None else ("degraded" if count else "ok"),
                              "recent": count, "window_seconds": DEAD_LETTER_WINDOW_SECONDS}
    failing = [name for name in ("bus", "event_store", "read_store") if checks[name]["status"] != "ok"]
    failing += [f"services.{name}" for name, entry in checks["services"].items()
                if entry["required"] and entry["status"] != "ok"]
    return not failing, checks, failing
