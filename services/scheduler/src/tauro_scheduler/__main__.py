"""``python -m tauro_scheduler``: the scheduler service as its own process (distributed mode)."""

from __future__ import annotations

from tauro_platform.adapters import Adapters
from tauro_platform.process import run_service
from tauro_platform.settings import Settings

from tauro_scheduler.service import SchedulerService


async def _start(adapters: Adapters, settings: Settings) -> SchedulerService:
    service = SchedulerService(adapters, settings, settings.tauro_instance_id)
    await service.start()
    return service


if __name__ == "__main__":
    run_service("scheduler", _start)
