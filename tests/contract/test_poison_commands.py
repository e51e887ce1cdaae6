"""No poison command, on every bus adapter: a command that fails for good is answered with an
error at once and dead-lettered, a decision without events is a no-op, a transient failure
is retried in place, and none of them holds up the commands behind it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tauro_contracts import topics
from tauro_contracts.base import Command
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.projects import CreateProject, ProjectCreated
from tauro_platform.bus.embedded import EmbeddedBus
from tauro_platform.bus.port import Bus, Message
from tauro_platform.eventstore.sqlite import SqliteEventStore
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.runtime.commands import local_envelope
from tauro_platform.runtime.deadletters import DEAD_LETTERS
from tauro_platform.runtime.decision import CommandContext, Decision
from tauro_platform.runtime.host import ServiceHost
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.runtime.streams import load

POISON, FLAKY, NOOP = "poison", "flaky", "noop"


class Handlers:
    """Create a project, except: ``poison`` raises a bug, ``flaky`` fails twice with a connection
    error, ``noop`` decides nothing (like revoking a revoked key)."""

    def __init__(self, store: SqliteEventStore) -> None:
        self.store = store
        self.flaky_failures = 0

    async def create(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CreateProject)
        if cmd.name == POISON:
            raise KeyError("a bug in the handler")
        if cmd.name == FLAKY and self.flaky_failures < 2:
            self.flaky_failures += 1
            raise ConnectionError("database briefly unreachable")
        version = (await load(self.store, cmd.project_id, lambda events: len(list(events))))
        if cmd.name == NOOP:
            return Decision.of(cmd.project_id, version, id=cmd.project_id)
        return Decision.of(cmd.project_id, version, ProjectCreated(project_id=cmd.project_id, name=cmd.name))


@pytest.fixture(params=["embedded", "kafka"])
async def bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bus]:
    if request.param == "embedded":
        bus: Bus = EmbeddedBus(tmp_path / "bus.db", 4)
    else:
        from tauro_platform.bus.kafka import KafkaBus

        kafka = request.getfixturevalue("kafka_bootstrap")
        bus = KafkaBus(kafka, client_id="poison", namespace=f"poison{uuid.uuid4().hex[:8]}.", session_timeout_ms=3000)
    await bus.start()
    await bus.ensure_topics([topics.COMMANDS_RUNS, topics.REPLIES, topics.DEAD_LETTERS], 4)
    yield bus
    await bus.stop()


async def test_poison_is_answered_and_dead_lettered_and_blocks_nothing(bus: Bus, tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.db")
    read_store = MemoryReadStore()
    handlers = Handlers(store)
    host = ServiceHost("runs", topics.COMMANDS_RUNS, store, bus, read_store,
                       {CreateProject.type_name: handlers.create}, projections=[], heartbeat_seconds=0.2)
    dead: list[Message] = []

    async def on_dead(message: Message) -> None:
        dead.append(message)

    tap = await bus.subscribe([topics.DEAD_LETTERS], on_dead, group_id=None)
    await host.start()
    sender = CommandSender(bus, timeout=20)
    await sender.start()
    try:
        async def create(name: str, key: str) -> dict[str, object]:
            return await sender.send(CreateProject(project_id=key, name=name), key=key)

        # the poison and the good commands behind it share keys, partitions and batches
        keys = [f"proj_{i}" for i in range(8)]
        outcomes = await asyncio.gather(create(POISON, keys[0]), *(create(f"good{i}", k) for i, k in
                                                                  enumerate(keys[1:])), return_exceptions=True)
        poison = outcomes[0]
        assert isinstance(poison, DomainError) and poison.code == ErrorCode.INTERNAL_ERROR, poison
        assert "dead letter" in poison.message
        assert all(isinstance(o, dict) for o in outcomes[1:]), outcomes
        assert await create("after-poison", keys[0])  # the poison's own key is not wedged either

        assert await create(NOOP, "proj_noop") == {"streams": [], "id": "proj_noop"}
        assert await store.read_stream("proj_noop") == []

        assert await create(FLAKY, "proj_flaky")  # two transient failures, retried in place
        assert handlers.flaky_failures == 2

        records, total = await read_store.find(DEAD_LETTERS, {})
        assert total == 1 and records[0]["type"] == "CreateProject" and records[0]["error"] == "KeyError"
        assert records[0]["command"]["data"]["name"] == POISON
        for _ in range(100):
            if dead:
                break
            await asyncio.sleep(0.1)
        assert [m.headers["tauro-dead-letter-error"] for m in dead] == ["KeyError"]
    finally:
        await sender.stop()
        await tap.stop()
        await host.stop()
        await store.close()


async def test_a_retry_racing_its_original_is_answered_with_the_original_outcome(tmp_path: Path) -> None:
    """Two copies of one command (a client's retry): the second looks for earlier events before
    the first commits, and its handler reads the state after: its "already exists" is the
    command's own outcome, not a conflict (seen in the long chaos run as 409s to retries)."""
    store = SqliteEventStore(tmp_path / "events.db")
    bus = EmbeddedBus(tmp_path / "bus.db", 4)
    await bus.start()
    await bus.ensure_topics([topics.COMMANDS_RUNS, topics.REPLIES, topics.DEAD_LETTERS], 4)

    async def create_once(cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CreateProject)
        await asyncio.sleep(0.3 if ctx.actor == "late" else 0)  # the retry's handler reads late
        version = await load(store, cmd.project_id, lambda events: len(list(events)))
        if version:
            raise DomainError(ErrorCode.CONFLICT, f"project {cmd.project_id} already exists")
        return Decision.of(cmd.project_id, 0, ProjectCreated(project_id=cmd.project_id, name=cmd.name))

    host = ServiceHost("runs", topics.COMMANDS_RUNS, store, bus, MemoryReadStore(),
                       {CreateProject.type_name: create_once}, projections=[])
    try:
        original = local_envelope(CreateProject(project_id="proj_race", name="race"), "early")
        retry = original.model_copy(update={"actor": "late"})
        first, second = await asyncio.gather(host.processor.process(original), host.processor.process(retry))
        assert first.ok and second.ok, (first.error, second.error)
        assert first.streams == second.streams == ["proj_race"]
        assert len(await store.read_stream("proj_race")) == 1
    finally:
        await bus.stop()
        await store.close()
