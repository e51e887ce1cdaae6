"""Command processing: decode, deduplicate, decide, append, publish, project, reply.

Re-delivery is safe: the append of a command's events records the command id in the
same transaction, and an append naming a command already recorded is refused
(``AlreadyApplied``); the command is then answered from the events it caused. A
decision that writes nothing or is refused looks for those events too (a re-delivery
the state already reflects). So a command costs no lookup of its own before deciding. A 2xx reply is only sent after
the append (durable) and after the projections caught up (read-your-writes), except for a command
whose sender never reads the read models (``Command.read_your_writes`` false: the executor's):
then the projector is woken to catch up on its own, off the reply's path.

``on_batch`` takes a consumer batch: the commands of one key in order, different keys
concurrently (as replicas would). With the process's store behind ``GroupCommit`` (as
``build_adapters`` makes it), their appends share transactions, so a busy service pays
a few store transactions a second instead of one per command.

Failures are classified (``faults.is_transient``). A transient one (a dependency briefly
unavailable, a lost race) is retried in place with backoff for up to
``TRANSIENT_RETRY_SECONDS``, then handed back to the bus (nothing was decided, so the
redelivery is safe). Any other failure is answered to the caller as an error at once and
the command goes to the dead-letter office, so its partition moves on. A decision with
no events is a successful no-op (e.g. revoking a revoked key), never an empty write.
``stuck_for`` tells the heartbeat (and so ``/health``) how long a command has been
retrying.

Each command is processed in a span that continues the sender's trace (the envelope's
``trace_context``); the events it decides carry that span's context, is counted in
``tauro_commands_total{type, outcome}``, and its log lines carry its ids.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from tauro_contracts import topics
from tauro_contracts.base import Command
from tauro_contracts.envelope import CommandEnvelope, CommandReply, EventEnvelope
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_contracts.registry import REGISTRY, UnknownType

from tauro_platform.bus.port import Bus, Message, retry_delay
from tauro_platform.eventstore.port import AlreadyApplied, EventStore
from tauro_platform.observability.logcontext import bind as bind_log_fields
from tauro_platform.observability.metrics import COMMAND_RETRIES, COMMAND_SECONDS, COMMANDS
from tauro_platform.observability.tracing import SpanKind, inject_context, span
from tauro_platform.runtime.appending import Contention, Decided, append_decided
from tauro_platform.runtime.deadletters import DeadLetterOffice
from tauro_platform.runtime.decision import CommandContext, Decision, to_writes
from tauro_platform.runtime.faults import is_transient
from tauro_platform.runtime.projector import Projector
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.runtime.wire import decode, encode

log = logging.getLogger("tauro.commands")

CommandHandler = Callable[[Command, CommandContext], Awaitable[Decision]]
AfterAppend = Callable[[list[EventEnvelope]], Awaitable[None]]
MAX_ATTEMPTS = 8
TRANSIENT_RETRY_SECONDS = 30.0


class CommandProcessor:
    def __init__(
        self,
        store: EventStore,
        bus: Bus,
        handlers: Mapping[str, CommandHandler],
        projector: Projector,
        relay: OutboxRelay,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        after_append: AfterAppend | None = None,
        dead_letters: DeadLetterOffice | None = None,
        service: str = "",
    ) -> None:
        self._store = store
        self._bus = bus
        self._handlers = dict(handlers)
        self._projector = projector
        self._relay = relay
        self._clock = clock
        self.after_append = after_append
        self._dead_letters = dead_letters
        self._service = service
        self._retrying: dict[str, float] = {}  # command id -> when its transient failures began

    def stuck_for(self) -> float:
        """Seconds the longest-retrying command has been failing transiently (0: none)."""
        return time.monotonic() - min(self._retrying.values()) if self._retrying else 0.0

    async def on_batch(self, messages: list[Message]) -> None:
        """A consumer batch: in order per key, keys concurrently; raises (so the batch is
        delivered again, its done commands answered from their events) if any failed."""
        chains: dict[str | None, list[Message]] = {}
        for message in messages:
            chains.setdefault(message.key, []).append(message)
        outcomes = await asyncio.gather(*(self._chain(chain) for chain in chains.values()), return_exceptions=True)
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            raise failed

    async def _chain(self, messages: list[Message]) -> None:
        for message in messages:
            await self.on_message(message)

    async def on_message(self, message: Message) -> None:
        try:
            envelope = decode(CommandEnvelope, message.value)
        except ValidationError:
            log.error("dropping undecodable command", extra={"topic": message.topic, "offset": message.offset})
            return
        reply = await self.process(envelope, message)
        if envelope.reply_to:
            await self._bus.publish(
                topics.REPLIES, encode(reply), key=envelope.reply_to, headers={"tauro-reply-to": envelope.reply_to}
            )

    async def process(self, envelope: CommandEnvelope, source: Message | None = None) -> CommandReply:
        """Decide and apply one command, in a span continuing the sender's trace. Raises only
        when transient failures outlast ``TRANSIENT_RETRY_SECONDS`` (or when cancelled)."""
        attributes = {"messaging.operation.type": "process", "tauro.command.type": envelope.type,
                      "tauro.command.id": envelope.command_id, "tauro.run_id": envelope.data.get("run_id")}
        started = time.perf_counter()
        outcome = "failed"
        with (
            span(f"process {envelope.type}", kind=SpanKind.CONSUMER, parent=envelope.trace_context,
                 attributes=attributes) as current,
            bind_log_fields(command_id=envelope.command_id, command_type=envelope.type,
                            correlation_id=envelope.correlation_id, run_id=envelope.data.get("run_id")),
        ):
            try:
                reply = await self._guarded(envelope, source)
                outcome = "accepted" if reply.ok else "rejected"
                current.set_attribute("tauro.command.outcome", outcome)
                if reply.error:
                    current.set_attribute("tauro.error.code", str(reply.error.get("code")))
                return reply
            finally:
                COMMANDS.labels(type=envelope.type, outcome=outcome).inc()
                COMMAND_SECONDS.labels(type=envelope.type).observe(time.perf_counter() - started)

    async def _guarded(self, envelope: CommandEnvelope, source: Message | None) -> CommandReply:
        """``_process``, retried while it fails transiently; any other failure is answered
        with an error and dead-lettered."""
        attempt = 0
        try:
            while True:
                try:
                    return await self._process(envelope)
                except Exception as exc:
                    if not is_transient(exc):
                        return await self._give_up(envelope, exc, source)
                    since = self._retrying.setdefault(envelope.command_id, time.monotonic())
                    if time.monotonic() - since >= TRANSIENT_RETRY_SECONDS:
                        raise
                    COMMAND_RETRIES.labels(service=self._service, type=envelope.type).inc()
                    log.warning("command failed transiently; retrying",
                                extra={"command_id": envelope.command_id, "error": f"{type(exc).__name__}: {exc}"})
                    await asyncio.sleep(retry_delay(attempt))
                    attempt += 1
        finally:
            self._retrying.pop(envelope.command_id, None)

    async def _give_up(self, envelope: CommandEnvelope, error: Exception, source: Message | None) -> CommandReply:
        log.error("command failed; not retrying", exc_info=error, extra={"command_id": envelope.command_id})
        earlier = await self._store.caused_by(envelope.command_id)
        if earlier:  # it failed after its events were committed: it happened
            streams = list(dict.fromkeys(e.stream_id for e in earlier))
            return CommandReply(command_id=envelope.command_id, ok=True, streams=streams, result={"id": streams[0]})
        if self._dead_letters is not None:
            await self._dead_letters.send(envelope, error, source)
        return _rejected(envelope, DomainError(
            ErrorCode.INTERNAL_ERROR,
            f"the command failed and was set aside for the operators (dead letter {envelope.command_id})"))

    async def _process(self, envelope: CommandEnvelope) -> CommandReply:
        try:
            handler = self._handlers[envelope.type]
            command = REGISTRY.decode(envelope.type, envelope.schema_version, envelope.data)
        except (KeyError, UnknownType):
            return _rejected(envelope, DomainError(ErrorCode.VALIDATION_ERROR, f"unknown command {envelope.type}"))
        except ValidationError as exc:
            details = [ErrorDetail(field=".".join(map(str, e["loc"])), message=e["msg"]) for e in exc.errors()]
            return _rejected(envelope, DomainError(ErrorCode.VALIDATION_ERROR, "invalid command", details))
        assert isinstance(command, Command)
        ctx = CommandContext(
            command_id=envelope.command_id,
            correlation_id=envelope.correlation_id or envelope.command_id,
            actor=envelope.actor,
            trace_context=inject_context() or envelope.trace_context,
            now=self._clock(),
        )

        async def decide(attempt: int) -> Decided[tuple[Decision | None, list[EventEnvelope]]]:
            try:
                decision = await handler(command, ctx if attempt == 0 else dataclasses.replace(ctx, attempt=attempt))
            except DomainError:
                # A copy of this command (a re-delivery, or a client's retry racing the
                # original) may have committed: then "already exists" is this command's own
                # outcome, not a rejection.
                earlier = await self._store.caused_by(envelope.command_id)
                if earlier:
                    return Decided((), (None, earlier))
                raise
            writes = tuple(w for w in decision.writes if w.events)  # nothing to record: a no-op
            if not writes:  # ... or a re-delivery the state already reflects: answer from its events
                earlier = await self._store.caused_by(envelope.command_id)
                if earlier:
                    return Decided((), (None, earlier))
            return Decided(to_writes(writes, ctx), (decision, []))

        try:
            done = await append_decided(self._store, self._relay, decide, attempts=MAX_ATTEMPTS, what="command",
                                        commands=[envelope.command_id])
        except AlreadyApplied:  # a copy of this command committed first (or it ran before)
            return await self._accepted(envelope, await self._store.caused_by(envelope.command_id), {})
        except DomainError as exc:
            return _rejected(envelope, exc)
        except Contention:
            return _rejected(envelope, DomainError(ErrorCode.CONFLICT, "too much contention on this resource; retry"))
        decision, earlier = done.value
        if decision is None:
            return await self._accepted(envelope, earlier, {})
        if done.stored and self.after_append is not None:
            await self.after_append(done.stored)
        return await self._accepted(envelope, done.stored, decision.result)

    async def _accepted(
        self, envelope: CommandEnvelope, events: list[EventEnvelope], result: dict[str, Any]
    ) -> CommandReply:
        if _read_your_writes(envelope.type):
            await self._projector.catch_up(until=max((e.global_position or 0 for e in events), default=None))
        else:
            self._projector.poke()
        streams = list(dict.fromkeys(e.stream_id for e in events))
        if not result and events:
            result = {"id": events[0].stream_id}
        return CommandReply(command_id=envelope.command_id, ok=True, streams=streams, result=result)


def _read_your_writes(command_type: str) -> bool:
    try:
        command = REGISTRY.cls(command_type)
    except UnknownType:
        return True
    return not issubclass(command, Command) or command.read_your_writes


def _rejected(envelope: CommandEnvelope, error: DomainError) -> CommandReply:
    return CommandReply(command_id=envelope.command_id, ok=False, error=error.to_dict())


def local_envelope(command: Command, actor: str, trace_context: dict[str, str] | None = None) -> CommandEnvelope:
    """An envelope for a command a service issues to itself (discovery, reaper), not via the bus."""
    return CommandEnvelope(
        command_id=str(uuid.uuid4()), type=command.type_name, schema_version=command.schema_version,
        issued_at=datetime.now(UTC), actor=actor, data=command.model_dump(mode="json"),
        trace_context=trace_context or inject_context(),
    )
