"""``python -m tauro_gateway``: the REST gateway as its own process (distributed mode)."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from tauro_platform.adapters import Adapters
from tauro_platform.process import run_service
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings

from tauro_gateway.app import create_app
from tauro_gateway.context import GatewayContext


class GatewayServer:
    def __init__(self, server: uvicorn.Server, sender: CommandSender) -> None:
        self._server = server
        self._sender = sender
        self._task = asyncio.create_task(server.serve())

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task
        await self._sender.stop()


async def start_gateway(adapters: Adapters, settings: Settings) -> GatewayServer:
    sender = CommandSender(adapters.bus, settings.tauro_instance_id, settings.command_timeout_seconds)
    await sender.start()
    ctx = GatewayContext(settings, sender, adapters.read_store, adapters.store, adapters.bus)
    config = uvicorn.Config(create_app(ctx), host=settings.host, port=settings.port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    # the process owns SIGTERM/SIGINT (tauro_platform.process) and stops the server itself
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return GatewayServer(server, sender)


if __name__ == "__main__":
    run_service("gateway", start_gateway)
