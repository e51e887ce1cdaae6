"""``python -m tauro_gateway``: the REST gateway as its own process (distributed mode)."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from tauro_platform.adapters import Adapters
from tauro_platform.observability.health import HealthProbes, build_probes
from tauro_platform.observability.heartbeat import Heartbeat
from tauro_platform.observability.heartbeat_age import HeartbeatAges
from tauro_platform.process import run_service
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings

from tauro_gateway.app import create_app
from tauro_gateway.context import GatewayContext


class GatewayServer:
    def __init__(self, server: uvicorn.Server, sender: CommandSender, heartbeat: Heartbeat,
                 probes: HealthProbes, ages: HeartbeatAges) -> None:
        self._server = server
        self._sender = sender
        self._heartbeat = heartbeat
        self._probes = probes
        self._ages = ages
        self._task = asyncio.create_task(server.serve())

    async def listening(self, within_seconds: float = 30.0) -> None:
        """Return once the server accepts connections, so "ready" is never announced early."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_seconds
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the HTTP server stopped during start-up")
            if loop.time() > deadline:
                raise TimeoutError("the HTTP server did not start listening")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task
        await self._ages.stop()
        await self._heartbeat.stop()
        await self._sender.stop()
        await self._probes.close()


async def start_gateway(adapters: Adapters, settings: Settings) -> GatewayServer:
    sender = CommandSender(adapters.bus, settings.tauro_instance_id, settings.command_timeout_seconds)
    await sender.start()
    probes = build_probes(settings, adapters.bus, adapters.store, adapters.read_store)
    ctx = GatewayContext(settings, sender, adapters.read_store, adapters.store, adapters.bus, probes=probes)
    heartbeat = Heartbeat(adapters.read_store, "gateway", settings.tauro_instance_id)
    await heartbeat.start()
    ages = HeartbeatAges(adapters.read_store)  # tauro_service_heartbeat_age_seconds of every service
    ages.start()
    config = uvicorn.Config(create_app(ctx), host=settings.host, port=settings.port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    # the process owns SIGTERM/SIGINT (tauro_platform.process) and stops the server itself
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    gateway = GatewayServer(server, sender, heartbeat, probes, ages)
    await gateway.listening()
    return gateway


if __name__ == "__main__":
    run_service("gateway", start_gateway)
