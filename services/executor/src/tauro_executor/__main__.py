"""``python -m tauro_executor``: the executor service as its own process (distributed mode)."""

from __future__ import annotations

from tauro_platform.adapters import Adapters
from tauro_platform.process import run_service
from tauro_platform.settings import Settings

from tauro_executor.service import ExecutorService


async def _start(adapters: Adapters, settings: Settings) -> ExecutorService:
    service = ExecutorService(adapters, settings)
    await service.start()
    return service


if __name__ == "__main__":
    run_service("executor", _start)
