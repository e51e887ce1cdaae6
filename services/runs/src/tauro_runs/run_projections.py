"""Read models of runs: one document per run (state, timing, progress, tasks and their
attempts; the pure fold is ``tauro_platform.readmodels.runs``, shared with the gateway's
``as_of``) and one document per log line, keyed so the order is the id order."""

from __future__ import annotations

from typing import Any

from tauro_contracts.base import Event
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels import LogLine, collections
from tauro_contracts.readmodels import doc as doc_of
from tauro_contracts.runs import TaskLogged
from tauro_platform.readmodels.runs import RUN_EVENT_TYPES, evolve_run_doc
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.projector import StreamDocProjection
from tauro_platform.timeutil import iso

RUNS = collections.RUNS
RUN_LOGS = collections.RUN_LOGS


class RunLogProjection:
    """One document per log line; ids sort in the order lines were recorded."""

    types = frozenset({TaskLogged.type_name})
    collections: tuple[str, ...] = (RUN_LOGS,)

    async def apply(self, event: EventEnvelope, payload: Event, store: ReadStore) -> None:
        await self.apply_batch([(event, payload)], store)

    async def apply_batch(self, items: list[tuple[EventEnvelope, Event]], store: ReadStore) -> None:
        """Each line also names its run's project and pipeline (``GET /logs`` filters and scopes
        on them): the run documents are projected before the lines in each batch, and a run is
        always created before any of its lines are recorded."""
        run_ids = list({payload.run_id for _, payload in items if isinstance(payload, TaskLogged)})
        found, _ = await store.find(RUNS, {"_id": {"$in": run_ids}})
        owners = {r["_id"]: (r.get("project_id"), r.get("pipeline_id")) for r in found}
        docs = []
        for event, payload in items:
            assert isinstance(payload, TaskLogged)
            project_id, pipeline_id = owners.get(payload.run_id, (None, None))
            for i, line in enumerate(payload.lines):
                line_id = f"{payload.run_id}:{event.stream_version:08d}:{i:04d}"
                docs.append({"_id": line_id, **doc_of(
                    LogLine, id=line_id, run_id=payload.run_id, timestamp=iso(line.ts), level=line.level,
                    message=line.message, node_id=line.node_id, attempt=line.attempt,
                    project_id=project_id, pipeline_id=pipeline_id, seq=f"{event.global_position or 0:016d}:{i:04d}",
                )})
        await store.insert_many_if_absent(RUN_LOGS, docs)


def run_projections() -> list[Any]:
    return [StreamDocProjection(RUNS, RUN_EVENT_TYPES, evolve_run_doc), RunLogProjection()]
