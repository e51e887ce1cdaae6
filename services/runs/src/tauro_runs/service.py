"""Assembling the runs service from adapters: host, handlers, projections, discovery."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tauro_contracts import topics
from tauro_contracts.envelope import CommandEnvelope
from tauro_platform.adapters import Adapters
from tauro_platform.runtime.host import ServiceHost

from tauro_runs.discovery import discover
from tauro_runs.handlers import RunsHandlers
from tauro_runs.projections import projections

log = logging.getLogger("tauro.runs")


def build_runs_service(adapters: Adapters, partitions: int = 4) -> ServiceHost:
    handlers = RunsHandlers(adapters.store, adapters.read_store)
    return ServiceHost(
        name="runs",
        command_topic=topics.COMMANDS_RUNS,
        store=adapters.store,
        bus=adapters.bus,
        read_store=adapters.read_store,
        handlers=handlers.table(),
        projections=projections(),
        partitions=partitions,
    )


async def load_pipeline_files(host: ServiceHost, folder: Path | None) -> int:
    """Record the pipelines defined in ``folder``; returns how many files were accepted."""
    if folder is None:
        return 0
    accepted = 0
    for command in discover(folder):
        envelope = CommandEnvelope(
            command_id=str(uuid.uuid4()), type=command.type_name, issued_at=datetime.now(UTC),
            actor="system:discovery", data=command.model_dump(mode="json"),
        )
        reply = await host.processor.process(envelope)
        if reply.ok:
            accepted += 1
        else:
            log.error("pipeline file rejected", extra={"pipeline_id": command.pipeline_id, "error": reply.error})
    return accepted
