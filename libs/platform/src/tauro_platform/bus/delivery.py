"""Handler delivery shared by the bus adapters: retry with backoff, never skip silently."""

from __future__ import annotations

import asyncio
import logging

from tauro_platform.bus.port import Handler, Message, retry_delay
from tauro_platform.waiting import wait_event

log = logging.getLogger("tauro.bus")


async def deliver(handler: Handler, message: Message, stopping: asyncio.Event) -> bool:
    """Run ``handler`` until it succeeds; False if the consumer stopped first (no commit then)."""
    attempt = 0
    while not stopping.is_set():
        try:
            await handler(message)
            return True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "handler failed; will retry",
                extra={"topic": message.topic, "partition": message.partition, "offset": message.offset},
            )
            await wait_event(stopping, retry_delay(attempt))
            attempt += 1
    return False
