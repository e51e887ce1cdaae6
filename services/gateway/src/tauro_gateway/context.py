"""What the routes need, injected once at start-up: settings, command sender, stores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from tauro_contracts.base import Command
from tauro_contracts.envelope import new_id
from tauro_contracts.errors import not_found
from tauro_platform.eventstore.port import EventStore
from tauro_platform.observability.health import HealthProbes
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings


@dataclass
class GatewayContext:
    settings: Settings
    sender: CommandSender
    read_store: ReadStore
    store: EventStore
    bus: Any
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    probes: HealthProbes | None = None

    async def send(self, request: Request, command: Command, key: str, command_id: str | None = None) -> dict[str, Any]:
        return await self.sender.send(
            command, key=key, command_id=command_id, correlation_id=request.state.request_id,
            actor=getattr(request.state, "actor", None),
        )

    async def get_live(self, collection: str, doc_id: str, kind: str) -> dict[str, Any]:
        doc = await self.read_store.get(collection, doc_id)
        if doc is None or doc.get("deleted"):
            raise not_found(kind, doc_id)
        return doc


def get_context(request: Request) -> GatewayContext:
    """The app's context, or the request's copy whose read store is scoped to the caller's projects."""
    ctx: GatewayContext = getattr(request.state, "ctx", None) or request.app.state.ctx
    return ctx


Ctx = Annotated[GatewayContext, Depends(get_context)]


def creation_ids(request: Request, prefix: str, suffix: str = "") -> tuple[str, str | None]:
    """A new resource id and command id; both derived from ``Idempotency-Key`` when one is sent,
    so a retried request names the same resource and the same command."""
    key = request.headers.get("idempotency-key")
    if not key:
        return new_id(prefix), None
    digest = hashlib.sha256(f"{request.url.path}|{key}{suffix}".encode()).hexdigest()
    return f"{prefix}{digest[:16]}", f"idem-{digest[:32]}"
