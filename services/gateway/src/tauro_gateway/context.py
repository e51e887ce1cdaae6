"""What the routes need, injected once at start-up: settings, command sender, stores."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel
from tauro_contracts.base import Command
from tauro_contracts.envelope import new_id
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail, not_found
from tauro_contracts.notification_settings import notification_errors
from tauro_platform.eventstore.port import EventStore
from tauro_platform.observability.health import HealthProbes
from tauro_platform.readstore.port import ReadStore
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.settings import Settings

IDEMPOTENCY_HEADER = "idempotency-key"
IDEMPOTENT_COMMAND = "idem-"
InUse = Callable[[], Awaitable[bool]]


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
        problems = notification_errors(command, self.settings.notify_allow_private_webhooks)
        if problems:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid notification settings", problems)
        return await self.sender.send(
            command, key=key, command_id=command_id, correlation_id=request.state.request_id,
            actor=getattr(request.state, "actor", None),
        )

    async def create(self, request: Request, command: Command, key: str, resource_id: str,
                     command_id: str | None, in_use: InUse | None = None) -> dict[str, Any]:
        """Send a command that creates ``resource_id`` (ids from ``creation_ids``). With an
        ``Idempotency-Key``: a request seen before is answered from its events as usual; a
        key already in use (``in_use``, default: the resource's stream exists) with another
        body is a 409 CONFLICT, also when two such requests race."""
        if command_id is None:
            return await self.send(request, command, key=key)
        used = in_use or (lambda: self.stream_exists(resource_id))
        if not await self.store.caused_by(command_id) and await used():
            raise key_reused(request)
        try:
            return await self.send(request, command, key=key, command_id=command_id)
        except DomainError as exc:
            if exc.code == ErrorCode.CONFLICT and await used():
                raise key_reused(request) from None
            raise

    async def check_key_unused(self, request: Request, resource_id: str, command_id: str | None) -> None:
        """For a request that creates several resources: refuse it before it creates any."""
        if command_id is not None and not await self.store.caused_by(command_id) \
                and await self.stream_exists(resource_id):
            raise key_reused(request)

    async def stream_exists(self, stream_id: str) -> bool:
        return await self.store.stream_version(stream_id) > 0

    async def get_live(self, collection: str, doc_id: str, kind: str) -> dict[str, Any]:
        doc = await self.read_store.get(collection, doc_id)
        if doc is None or doc.get("deleted"):
            raise not_found(kind, doc_id)
        return doc


async def get_context(request: Request) -> GatewayContext:
    """The app's context, or the request's copy whose read store is scoped to the caller's projects
    (``async``: FastAPI would run a plain function in its thread pool, a thread hop per request)."""
    ctx: GatewayContext = getattr(request.state, "ctx", None) or request.app.state.ctx
    return ctx


Ctx = Annotated[GatewayContext, Depends(get_context)]


def caller_scope(request: Request) -> str:
    """Whose ``Idempotency-Key`` namespace a request is in: its API key (also behind a bearer
    token), else its actor (``anonymous`` when authentication is off)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        return "unauthenticated"
    return f"key:{principal.key_id}" if principal.key_id else str(principal.actor)


def fingerprint(body: BaseModel | None) -> str:
    """The request body as validated (defaults filled in, key order and spacing ignored), hashed."""
    data = body.model_dump(mode="json") if body is not None else None
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def creation_ids(request: Request, prefix: str, body: BaseModel | None, suffix: str = "") -> tuple[str, str | None]:
    """A new resource id and command id. With an ``Idempotency-Key``, the resource id is derived
    from (caller, method and path, key), so each caller's keys are its own and a retry names the
    same resource; the command id also from the body's fingerprint, so the same request is
    answered from the events it caused while another body under the same key is a new command,
    which ``GatewayContext.create`` refuses (the key is bound to the body it was first used with)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if not key:
        return new_id(prefix), None
    scope = f"{caller_scope(request)}|{request.method} {request.url.path}|{key}{suffix}"
    resource = hashlib.sha256(scope.encode()).hexdigest()
    command = hashlib.sha256(f"{resource}|{fingerprint(body)}".encode()).hexdigest()
    return f"{prefix}{resource[:16]}", f"{IDEMPOTENT_COMMAND}{command[:32]}"


def key_reused(request: Request) -> DomainError:
    return DomainError(
        ErrorCode.CONFLICT,
        f"Idempotency-Key '{request.headers.get(IDEMPOTENCY_HEADER)}' was already used with a different request "
        "body; send the same body to get the same result, or use a new key",
        [ErrorDetail(field="Idempotency-Key", message="already used with a different request body",
                     type="idempotency_key_reused")],
    )
