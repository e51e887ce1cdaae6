"""The dead-letter office: commands that failed for a reason no retry can help.

Such a command is answered to its caller with an error at once, published unchanged on
``tauro.commands.dead-letters`` (headers: ``tauro-dead-letter-reason``, ``-error``,
``-service``, ``-source-topic``, ``-partition``, ``-offset``) for replay or inspection,
recorded in the ``dead_letters`` read model (``GET /api/v1/dead-letters``, admins) and
counted in ``tauro_commands_dead_lettered_total``; its partition moves on. ``/health``
reports recent dead letters as ``degraded``.
"""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime
from typing import Any

from tauro_contracts import topics
from tauro_contracts.envelope import CommandEnvelope

from tauro_platform.bus.port import Bus, Message
from tauro_platform.observability.metrics import COMMANDS_DEAD_LETTERED
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.wire import encode
from tauro_platform.timeutil import iso

log = logging.getLogger("tauro.deadletters")
DEAD_LETTERS = "dead_letters"
MAX_REASON = 2000


class DeadLetterOffice:
    def __init__(self, bus: Bus, read_store: ReadStore, service: str) -> None:
        self._bus = bus
        self._read_store = read_store
        self._service = service

    async def send(self, envelope: CommandEnvelope, error: BaseException, source: Message | None = None) -> None:
        """Set ``envelope`` aside with the reason it failed: published first (at least once,
        keyed by command id), then recorded once by command id."""
        reason = f"{type(error).__name__}: {error}"[:MAX_REASON]
        headers = {
            "tauro-dead-letter-reason": reason[:500], "tauro-dead-letter-error": type(error).__name__,
            "tauro-dead-letter-service": self._service,
        }
        if source is not None:
            headers |= {"tauro-dead-letter-source-topic": source.topic,
                        "tauro-dead-letter-partition": str(source.partition),
                        "tauro-dead-letter-offset": str(source.offset)}
        doc: dict[str, Any] = {
            "_id": envelope.command_id, "command_id": envelope.command_id, "type": envelope.type,
            "service": self._service, "reason": reason, "error": type(error).__name__,
            "trace": "".join(traceback.format_exception(error))[-4000:],
            "actor": envelope.actor, "correlation_id": envelope.correlation_id,
            "source_topic": source.topic if source else None, "partition": source.partition if source else None,
            "offset": source.offset if source else None, "dead_lettered_at": iso(datetime.now(UTC)),
            "command": envelope.model_dump(mode="json"),
        }
        await self._bus.publish(topics.DEAD_LETTERS, encode(envelope), key=envelope.command_id, headers=headers)
        if await self._read_store.insert_if_absent(DEAD_LETTERS, doc):
            COMMANDS_DEAD_LETTERED.labels(service=self._service, type=envelope.type).inc()
        log.error("command dead-lettered", extra={"command_id": envelope.command_id, "command_type": envelope.type,
                                                  "reason": reason})
