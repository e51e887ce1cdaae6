"""Request/reply over the bus: how the gateway turns a REST write into a command and
waits for the deciding service's answer (accepted, or a domain rejection).

Each send is a producer span; its W3C context goes into the envelope's ``trace_context``
(and so the message headers) for the deciding service to continue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from tauro_contracts import topics
from tauro_contracts.base import Command
from tauro_contracts.envelope import CommandEnvelope, CommandReply
from tauro_contracts.errors import DomainError, ErrorCode

from tauro_platform.bus.port import Bus, Message, Subscription
from tauro_platform.observability.metrics import COMMANDS_SENT
from tauro_platform.observability.tracing import SpanKind, inject_context, span
from tauro_platform.runtime.wire import command_headers, decode, encode
from tauro_platform.waiting import within


class CommandSender:
    def __init__(self, bus: Bus, instance_id: str | None = None, timeout: float = 10.0) -> None:
        self._bus = bus
        self.instance_id = instance_id or f"gw-{uuid.uuid4().hex[:12]}"
        self._timeout = timeout
        self._pending: dict[str, asyncio.Future[CommandReply]] = {}
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe([topics.REPLIES], self._on_reply, group_id=None)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()

    async def _on_reply(self, message: Message) -> None:
        if message.headers.get("tauro-reply-to") != self.instance_id:
            return
        reply = decode(CommandReply, message.value)
        future = self._pending.get(reply.command_id)
        if future is not None and not future.done():
            future.set_result(reply)

    async def send(
        self,
        command: Command,
        *,
        key: str,
        command_id: str | None = None,
        correlation_id: str | None = None,
        actor: str | None = None,
        trace_context: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send ``command`` to its service and return the accepted result, or raise its DomainError."""
        attributes = {"messaging.system": "kafka", "messaging.destination.name": command.topic,
                      "messaging.operation.type": "send", "tauro.command.type": command.type_name}
        with span(f"send {command.type_name}", kind=SpanKind.PRODUCER, parent=trace_context,
                  attributes=attributes) as current:
            reply = "failed"
            try:
                result = await self._send(command, key, command_id, correlation_id, actor,
                                          inject_context() or trace_context or {})
                reply = "ok"
                return result
            except DomainError as exc:
                reply = "timeout" if exc.code == ErrorCode.TIMEOUT else "rejected"
                current.set_attribute("tauro.error.code", exc.code.value)
                raise
            finally:
                current.set_attribute("tauro.command.reply", reply)
                COMMANDS_SENT.labels(type=command.type_name, reply=reply).inc()

    async def _send(
        self, command: Command, key: str, command_id: str | None, correlation_id: str | None, actor: str | None,
        trace_context: dict[str, str],
    ) -> dict[str, Any]:
        envelope = CommandEnvelope(
            command_id=command_id or str(uuid.uuid4()),
            type=command.type_name,
            schema_version=command.schema_version,
            issued_at=datetime.now(UTC),
            correlation_id=correlation_id,
            actor=actor,
            trace_context=trace_context,
            reply_to=self.instance_id,
            data=command.to_data(),
        )
        future: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()
        self._pending[envelope.command_id] = future
        try:
            await self._bus.publish(command.topic, encode(envelope), key=key, headers=command_headers(envelope))
            reply = await within(future, self._timeout)
        except TimeoutError:
            raise DomainError(
                ErrorCode.TIMEOUT,
                "the command was sent but no answer came in time; it may still be applied. "
                "Retry with the same Idempotency-Key to be safe.",
            ) from None
        finally:
            self._pending.pop(envelope.command_id, None)
        if not reply.ok:
            raise DomainError.from_dict(reply.error or {"code": "INTERNAL_ERROR", "message": "rejected"})
        return {"streams": reply.streams, **reply.result}
