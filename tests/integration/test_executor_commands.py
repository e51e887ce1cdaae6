"""The executor's commands on the real stores (distributed mode): an outcome carries the
attempt's last log lines, logged in the same write as its events and once only; the claim
and the outcome are answered without waiting for the read models, which the projector then
brings up to date on its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tauro_contracts.projects import CreateProject, DefinePipeline
from tauro_contracts.readmodels import collections
from tauro_contracts.runs import ClaimTask, CreateRun, LogLine, RecordTaskOutcome, log_stream
from tauro_platform.runtime.commands import local_envelope
from tauro_runs.service import RunsService

from tests.e2e.runs_helpers import shell_pipeline
from tests.integration.conftest import run_command

pytestmark = pytest.mark.integration


def _lines(*messages: str) -> list[LogLine]:
    return [LogLine(ts=datetime.now(UTC), level="INFO", message=m, node_id="a", attempt=1) for m in messages]


async def _started_run(service: RunsService) -> str:
    await run_command(service, CreateProject(project_id="proj_x", name="x"))
    body = shell_pipeline("work", {"a": "true", "b": "true"}, edges=[("a", "b")])
    spec = {k: body[k] for k in ("nodes", "edges", "config")}
    await run_command(service, DefinePipeline(pipeline_id="pipe_x", project_id="proj_x", name="work", spec=spec))
    await run_command(service, CreateRun(run_id="run_x", project_id="proj_x", pipeline_id="pipe_x", start=True))
    await service.dispatcher.dispatch()
    await run_command(service, ClaimTask(run_id="run_x", node_id="a", attempt=1, dispatch=1, executor_id="x"))
    return "run_x"


async def _logged(service: RunsService, run_id: str) -> list[str]:
    await service.host.projector.catch_up()
    docs, _ = await service.host.read_store.find(collections.RUN_LOGS, {"run_id": run_id}, [("_id", 1)])
    return [d["message"] for d in docs]


async def test_an_outcome_logs_its_lines_in_the_same_write_once(runs: RunsService) -> None:
    run_id = await _started_run(runs)
    outcome = RecordTaskOutcome(run_id=run_id, node_id="a", attempt=1, executor_id="x", status="succeeded",
                                log_lines=_lines("first", "last"))
    envelope = local_envelope(outcome, "executor:x")
    reply = await runs.host.processor.process(envelope)
    assert reply.ok, reply.error
    assert reply.result["changed"] is True
    caused = await runs.host.store.caused_by(envelope.command_id)
    written = [(e.stream_id, e.type) for e in caused]
    assert written[:2] == [(log_stream(run_id), "TaskLogged"), (run_id, "TaskSucceeded")]
    assert await _logged(runs, run_id) == ["first", "last"]

    again = await runs.host.processor.process(envelope)  # a re-delivery: answered, nothing written twice
    assert again.ok and await _logged(runs, run_id) == ["first", "last"]
    assert await runs.host.store.caused_by(envelope.command_id) == caused


async def test_an_outcome_that_changes_nothing_still_logs_its_lines(runs: RunsService) -> None:
    run_id = await _started_run(runs)
    done = RecordTaskOutcome(run_id=run_id, node_id="a", attempt=1, executor_id="x", status="succeeded")
    await run_command(runs, done)
    stale = done.model_copy(update={"status": "failed", "error": "late", "log_lines": _lines("from a late copy")})
    assert (await run_command(runs, stale))["changed"] is False
    assert await _logged(runs, run_id) == ["from a late copy"]
    await runs.host.projector.catch_up()
    run = await runs.host.read_store.get(collections.RUNS, run_id)
    assert run is not None and run["tasks"]["a"]["status"] == "SUCCESS"


async def test_executor_commands_do_not_wait_for_the_read_models(runs: RunsService) -> None:
    """With the projector held, the claim is answered while a client's command waits for it;
    once let go, the projector applies the claim on its own (nobody calls catch_up)."""
    run_id = await _started_run(runs)
    await run_command(runs, RecordTaskOutcome(run_id=run_id, node_id="a", attempt=1, executor_id="x",
                                              status="succeeded"))
    await runs.host.projector.catch_up()
    async with runs.host.projector._lock:  # what a long catch-up holds
        claim = ClaimTask(run_id=run_id, node_id="b", attempt=1, dispatch=1, executor_id="x")
        assert (await asyncio.wait_for(run_command(runs, claim), 30))["changed"] is True
        client = asyncio.create_task(run_command(runs, CreateProject(project_id="proj_y", name="y")))
        done, _ = await asyncio.wait({client}, timeout=0.5)
        assert not done, "a client's command is answered only once the read models have its events"
    await asyncio.wait_for(client, 30)
    for _ in range(100):
        run = await runs.host.read_store.get(collections.RUNS, run_id)
        assert run is not None
        if run["tasks"]["b"]["status"] == "RUNNING":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the projector never applied the claim")
