"""The API key aggregate: created once with its grants and HMAC, revoked at most once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tauro_contracts.base import Event
from tauro_contracts.errors import conflict, not_found
from tauro_contracts.security import ApiKeyCreated, ApiKeyRevoked, CreateApiKey, RevokeApiKey


@dataclass(frozen=True)
class ApiKeyState:
    version: int = 0
    exists: bool = False
    revoked: bool = False
    key_hash: str = ""


def evolve_key(state: ApiKeyState, event: Event) -> ApiKeyState:
    if isinstance(event, ApiKeyCreated):
        return ApiKeyState(state.version + 1, True, False, event.key_hash)
    if isinstance(event, ApiKeyRevoked):
        return ApiKeyState(state.version + 1, state.exists, True, state.key_hash)
    return ApiKeyState(state.version + 1, state.exists, state.revoked, state.key_hash)


def fold_key(events: Iterable[Event]) -> ApiKeyState:
    state = ApiKeyState()
    for event in events:
        state = evolve_key(state, event)
    return state


def decide_create(cmd: CreateApiKey, key: ApiKeyState) -> list[Event]:
    """Creating the same key again (same id and hash) records nothing, even once revoked:
    a revoked bootstrap key stays revoked across restarts."""
    if key.exists:
        if key.key_hash == cmd.key_hash:
            return []
        raise conflict(f"API key '{cmd.key_id}' already exists", field="key_id")
    return [ApiKeyCreated(key_id=cmd.key_id, name=cmd.name, grants=cmd.grants, key_hash=cmd.key_hash,
                          expires_at=cmd.expires_at)]


def decide_revoke(cmd: RevokeApiKey, key: ApiKeyState) -> list[Event]:
    if not key.exists:
        raise not_found("API key", cmd.key_id)
    if key.revoked:
        return []
    return [ApiKeyRevoked(key_id=cmd.key_id, reason=cmd.reason)]
