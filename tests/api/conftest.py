"""The whole platform in-process on the embedded adapters, driven through the REST API."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tauro_cli.embedded import EmbeddedPlatform
from tauro_executor.service import ExecutorService
from tauro_gateway.app import create_app
from tauro_gateway.context import GatewayContext
from tauro_notifier.service import NotifierService
from tauro_platform.adapters import build_adapters
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings
from tauro_runs.service import RunsService, load_pipeline_files
from tauro_scheduler.service import SchedulerService
from tauro_streaming.service import StreamingService

from tests.stuck import stop_or_dump

ROOT = Path(__file__).resolve().parents[2]


def embedded_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "tauro_mode": "embedded", "tauro_data_dir": tmp_path / "data", "tauro_work_dir": tmp_path / "work",
        "tauro_output_dir": tmp_path / "output", "pipelines_dir": ROOT / "examples" / "pipelines",
        "max_body_bytes": 64 * 1024, "executor_heartbeat_seconds": 0.5,
        "rate_limit_requests": 100_000,  # tests poll; tests/api/test_rate_limit.py sets small limits
        "streams_dir": tmp_path / "streams", "stream_stats_interval_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Spans of this process, in memory (the global provider can be set once per process)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    """The settings of the ``api`` platform; a test module overrides this fixture to vary them
    (``tests/api/auth_support.py``: authentication on)."""
    return embedded_settings(tmp_path)


@pytest.fixture
async def api(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings
    adapters = await build_adapters(settings)
    platform = EmbeddedPlatform()
    runs = RunsService(adapters, settings)
    await runs.start()
    platform.parts.append(runs)
    await load_pipeline_files(runs.host, settings.pipelines_dir)
    executor = ExecutorService(adapters, settings, executor_id="test-executor")
    await executor.start()
    platform.parts.append(executor)
    scheduler = SchedulerService(adapters, settings, instance_id="test-scheduler")
    await scheduler.start()
    platform.parts.append(scheduler)
    shutil.copytree(ROOT / "examples" / "streams", settings.streams_dir, dirs_exist_ok=True)
    streaming = StreamingService(adapters, settings, replica_id="test-streaming")
    await streaming.start()
    platform.parts.append(streaming)
    if settings.notify_enabled:
        notifier = NotifierService(adapters, settings, instance_id="test-notifier")
        await notifier.start()
        platform.parts.append(notifier)
    sender = CommandSender(adapters.bus, timeout=10)
    await sender.start()
    platform.parts.append(sender)
    app = create_app(GatewayContext(settings, sender, adapters.read_store, adapters.store, adapters.bus))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tauro") as client:
        yield client
    await stop_or_dump(platform.stop(), "the embedded platform")
    await adapters.close()


async def create_project(api: httpx.AsyncClient, name: str = "analytics", **extra: object) -> dict:  # type: ignore[type-arg]
    response = await api.post("/api/v1/projects", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
