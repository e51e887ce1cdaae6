"""``python -m tauro_streaming``: the streaming service as its own process (distributed mode)."""

from __future__ import annotations

from tauro_platform.adapters import Adapters
from tauro_platform.process import run_service
from tauro_platform.settings import Settings

from tauro_streaming.service import StreamingService


async def _start(adapters: Adapters, settings: Settings) -> StreamingService:
    service = StreamingService(adapters, settings)
    await service.start()
    return service


if __name__ == "__main__":
    run_service("streaming", _start)
