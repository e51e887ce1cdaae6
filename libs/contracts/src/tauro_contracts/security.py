"""Roles, permissions and the API key commands and events.

A key is granted roles, each globally (``project_id`` None) or for one project. The
roles bundle the permissions of the Tauro API docs:

- ``viewer``: ``projects:read`` (read everything in scope: projects, pipelines, runs, logs,
  schedules, statistics);
- ``operator``: a viewer who also has ``runs:execute`` and ``schedules:manage``;
- ``admin``: an operator who also has ``projects:write`` (projects, pipelines) and
  ``keys:manage`` (API keys; effective only when granted globally).

An API key's stream (id = ``key_id``) holds ``ApiKeyCreated`` and at most one
``ApiKeyRevoked``. Only an HMAC of the key travels in commands and events; the key
itself is shown once, to whoever created it, and is never stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tauro_contracts import topics
from tauro_contracts.base import Command, Event
from tauro_contracts.registry import REGISTRY

Role = Literal["viewer", "operator", "admin"]
KEY_ID_PATTERN = r"^key_[0-9a-f]{16}$"
PROJECT_ID_PATTERN = r"^proj_[A-Za-z0-9_.\-]{1,128}$"
HASH_PATTERN = r"^[0-9a-f]{64}$"
MAX_GRANTS = 50


class Permission(StrEnum):
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    RUNS_EXECUTE = "runs:execute"
    SCHEDULES_MANAGE = "schedules:manage"
    KEYS_MANAGE = "keys:manage"


_VIEWER = frozenset({Permission.PROJECTS_READ})
_OPERATOR = _VIEWER | {Permission.RUNS_EXECUTE, Permission.SCHEDULES_MANAGE}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": _VIEWER,
    "operator": _OPERATOR,
    "admin": _OPERATOR | {Permission.PROJECTS_WRITE, Permission.KEYS_MANAGE},
}


class Grant(BaseModel):
    """One role, for one project or (``project_id`` None) for all of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    project_id: str | None = Field(default=None, pattern=PROJECT_ID_PATTERN)


@REGISTRY.register
class CreateApiKey(Command):
    type_name = "CreateApiKey"
    topic = topics.COMMANDS_RUNS
    key_id: str = Field(pattern=KEY_ID_PATTERN)
    name: str = Field(min_length=1, max_length=128)
    grants: list[Grant] = Field(min_length=1, max_length=MAX_GRANTS)
    key_hash: str = Field(pattern=HASH_PATTERN, description="HMAC-SHA256 of the key under SECRET_KEY")
    expires_at: datetime | None = None


@REGISTRY.register
class RevokeApiKey(Command):
    type_name = "RevokeApiKey"
    topic = topics.COMMANDS_RUNS
    key_id: str = Field(pattern=KEY_ID_PATTERN)
    reason: str = Field(default="revoked", max_length=500)


@REGISTRY.register
class ApiKeyCreated(Event):
    """An API key was issued with these grants (its HMAC, never the key, is recorded)."""

    type_name = "ApiKeyCreated"
    topic = topics.EVENTS_SECURITY
    key_id: str
    name: str
    grants: list[Grant]
    key_hash: str
    expires_at: datetime | None = None


@REGISTRY.register
class ApiKeyRevoked(Event):
    """An API key was revoked; it and the tokens issued for it are refused from now on."""

    type_name = "ApiKeyRevoked"
    topic = topics.EVENTS_SECURITY
    key_id: str
    reason: str = "revoked"
