"""The embedded platform: every service in one process, on the same ports as the distributed mode."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from tauro_executor.service import ExecutorService
from tauro_gateway.__main__ import start_gateway
from tauro_notifier.service import NotifierService
from tauro_platform.adapters import Adapters
from tauro_platform.settings import Settings
from tauro_runs.service import RunsService, load_pipeline_files
from tauro_scheduler.service import SchedulerService
from tauro_streaming.service import StreamingService

log = logging.getLogger("tauro.embedded")


@dataclass
class EmbeddedPlatform:
    parts: list[Any] = field(default_factory=list)

    async def stop(self) -> None:
        for part in reversed(self.parts):
            await part.stop()


async def start_embedded(adapters: Adapters, settings: Settings) -> EmbeddedPlatform:
    platform = EmbeddedPlatform()
    runs = RunsService(adapters, settings)
    await runs.start()
    platform.parts.append(runs)
    loaded = await load_pipeline_files(runs.host, settings.pipelines_dir)
    executor = ExecutorService(adapters, settings, executor_id="embedded-executor")
    await executor.start()
    platform.parts.append(executor)
    scheduler = SchedulerService(adapters, settings, instance_id="embedded-scheduler")
    await scheduler.start()
    platform.parts.append(scheduler)
    streaming = StreamingService(adapters, settings, replica_id="embedded-streaming")
    await streaming.start()
    platform.parts.append(streaming)
    if settings.notify_enabled:
        notifier = NotifierService(adapters, settings, instance_id="embedded-notifier")
        await notifier.start()
        platform.parts.append(notifier)
    platform.parts.append(await start_gateway(adapters, settings))
    base = f"http://{settings.host}:{settings.port}"
    print(
        f"\nTauro is running (embedded mode, data in {settings.tauro_data_dir}).\n"
        f"  UI:      {base}/ui\n"
        f"  API:     {base}/api/v1\n  Docs:    {base}/docs  (ReDoc: {base}/redoc)\n"
        f"  Health:  {base}/health\n  Pipelines loaded from {settings.pipelines_dir}: {loaded}\n"
        "Press Ctrl+C to stop.\n",
        flush=True,
    )
    return platform
