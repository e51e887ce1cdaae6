"""Running one service as a process: settings, logging, observability (traces, the
``/metrics`` server), adapters, graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from tauro_platform.adapters import Adapters, build_adapters
from tauro_platform.logs import configure_logging
from tauro_platform.observability.setup import ProcessObservability
from tauro_platform.settings import Settings, load_settings

log = logging.getLogger("tauro.process")
T = TypeVar("T")


class Stoppable(Protocol):
    async def stop(self) -> None: ...


Starter = Callable[[Adapters, Settings], Awaitable[Stoppable]]


async def serve(name: str, start: Starter, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    observability = ProcessObservability.start(name, settings)
    try:
        adapters = await build_adapters(settings)
        service: Any = None
        try:
            service = await start(adapters, settings)
            freeze_startup_heap()
            log.info("ready", extra={"service": name, "mode": settings.tauro_mode})
            print(f"tauro {name}: ready", flush=True)
            await stop.wait()
        finally:
            if service is not None:
                await service.stop()
            await adapters.close()
    finally:
        observability.stop()


def freeze_startup_heap() -> None:
    """Move what start-up made (modules, schemas, routes, the rebuilt read models) out of the
    garbage collector's reach: a full collection then walks only what came after, so its
    pauses (tens of milliseconds over the start-up heap, on the tail of every latency) stay short."""
    gc.collect()
    gc.freeze()


def run_service(name: str, start: Starter) -> None:
    settings = load_settings()
    configure_logging(name, settings.log_level, settings.log_format)
    run_loop(serve(name, start, settings), settings)


def run_loop(main: Coroutine[Any, Any, T], settings: Settings) -> T:
    """``asyncio.run(main)`` on the event loop ``EVENT_LOOP`` names: uvloop when installed
    (``auto``), or the standard library's."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if settings.event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if settings.event_loop == "uvloop":
                raise
        else:
            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
