"""``python -m tauro_runs``: the runs service as its own process (distributed mode)."""

from __future__ import annotations

from tauro_platform.adapters import Adapters
from tauro_platform.process import run_service
from tauro_platform.settings import Settings

from tauro_runs.service import RunsService, load_pipeline_files


async def _start(adapters: Adapters, settings: Settings) -> RunsService:
    service = RunsService(adapters, settings)
    await service.start()
    await load_pipeline_files(service.host, settings.pipelines_dir)
    return service


if __name__ == "__main__":
    run_service("runs", _start)
