"""``python -m tauro_runs``: the runs service as its own process (distributed mode)."""

from __future__ import annotations

from tauro_platform.process import run_service

from tauro_runs.service import build_runs_service, load_pipeline_files


async def _start(adapters, settings):  # type: ignore[no-untyped-def]
    host = build_runs_service(adapters, settings.kafka_partitions)
    await host.start()
    await load_pipeline_files(host, settings.pipelines_dir)
    return host


if __name__ == "__main__":
    run_service("runs", _start)
