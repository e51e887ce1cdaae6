"""API keys in the runs service: command handlers, read models, and the bootstrap admin key.

Two read models: ``api_keys`` (what the API lists: name, grants, expiry, state; no
secret material) and ``api_key_credentials`` (the HMAC and what the gateway needs to
authenticate a request), so a route that shows key records cannot show a hash.
"""

from __future__ import annotations

import logging
from typing import Any

from tauro_contracts.base import Command
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.readmodels import ApiKey, collections
from tauro_contracts.readmodels import doc as doc_of
from tauro_contracts.security import ApiKeyCreated, ApiKeyRevoked, CreateApiKey, Grant, RevokeApiKey
from tauro_platform import apikeys
from tauro_platform.eventstore.port import EventStore
from tauro_platform.readstore.port import Doc
from tauro_platform.runtime.commands import CommandHandler, local_envelope
from tauro_platform.runtime.decision import CommandContext, Decision
from tauro_platform.runtime.host import ServiceHost
from tauro_platform.runtime.projector import Projection, StreamDocProjection
from tauro_platform.runtime.streams import load
from tauro_platform.settings import Settings
from tauro_platform.timeutil import iso

from tauro_runs.domain.api_keys import decide_create, decide_revoke, fold_key

log = logging.getLogger("tauro.runs.api_keys")
API_KEYS = collections.API_KEYS
CREDENTIALS = collections.API_KEY_CREDENTIALS
BOOTSTRAP_NAME = "bootstrap-admin"


class ApiKeyHandlers:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    def table(self) -> dict[str, CommandHandler]:
        return {CreateApiKey.type_name: self.create, RevokeApiKey.type_name: self.revoke}

    async def create(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, CreateApiKey)
        key = await load(self._store, cmd.key_id, fold_key)
        return Decision.of(cmd.key_id, key.version, *decide_create(cmd, key), id=cmd.key_id)

    async def revoke(self, cmd: Command, ctx: CommandContext) -> Decision:
        assert isinstance(cmd, RevokeApiKey)
        key = await load(self._store, cmd.key_id, fold_key)
        return Decision.of(cmd.key_id, key.version, *decide_revoke(cmd, key), id=cmd.key_id)


def _grants(grants: list[Grant]) -> list[dict[str, Any]]:
    return [g.model_dump() for g in grants]


def evolve_key_doc(doc: Doc | None, event: Any, env: EventEnvelope) -> Doc | None:
    at = iso(env.occurred_at)
    if isinstance(event, ApiKeyCreated):
        return doc_of(ApiKey, id=event.key_id, name=event.name, grants=_grants(event.grants),
                      expires_at=iso(event.expires_at) if event.expires_at else None, revoked=False,
                      created_at=at, created_by=env.actor)
    if doc is not None and isinstance(event, ApiKeyRevoked):
        return {**doc, "revoked": True, "revoked_at": at, "revoked_by": env.actor, "revoke_reason": event.reason}
    return None


def evolve_credential_doc(doc: Doc | None, event: Any, env: EventEnvelope) -> Doc | None:
    if isinstance(event, ApiKeyCreated):
        return {"key_hash": event.key_hash, "grants": _grants(event.grants),
                "expires_at": iso(event.expires_at) if event.expires_at else None, "revoked": False}
    if doc is not None and isinstance(event, ApiKeyRevoked):
        return {**doc, "revoked": True}
    return None


def key_projections() -> list[Projection]:
    types = {ApiKeyCreated.type_name, ApiKeyRevoked.type_name}
    return [StreamDocProjection(API_KEYS, types, evolve_key_doc),
            StreamDocProjection(CREDENTIALS, types, evolve_credential_doc)]


async def register_bootstrap_key(host: ServiceHost, settings: Settings) -> bool:
    """Record ``TAURO_ADMIN_API_KEY`` (if set) as a global admin key; idempotent, and a key
    revoked through the API stays revoked. Returns whether a key is configured and valid."""
    configured = settings.tauro_admin_api_key
    if configured is None:
        return False
    key = configured.get_secret_value()
    key_id = apikeys.key_id_of(settings.secret_key, key)
    if key_id is None:  # settings validation checks the format; this guards direct callers
        raise ValueError("TAURO_ADMIN_API_KEY is not a Tauro API key (generate one with `tauro keygen`)")
    command = CreateApiKey(key_id=key_id, name=BOOTSTRAP_NAME, grants=[Grant(role="admin")],
                           key_hash=apikeys.hash_key(settings.secret_key, key))
    reply = await host.processor.process(local_envelope(command, "system:bootstrap"))
    if not reply.ok:
        log.error("bootstrap admin key rejected", extra={"key_id": key_id, "error": reply.error})
    return reply.ok
