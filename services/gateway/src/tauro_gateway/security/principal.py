"""Who is calling, and what they may do where."""

from __future__ import annotations

from dataclasses import dataclass

from tauro_contracts.security import ROLE_PERMISSIONS, Grant, Permission

READ = Permission.PROJECTS_READ


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: ``actor`` goes on every command it sends (and so on every event)."""

    actor: str
    grants: tuple[Grant, ...]
    key_id: str | None = None
    method: str = "none"
    """How the caller proved who it is: ``api_key``, ``token``, or ``none`` (authentication off)."""

    def can(self, permission: Permission, project_id: str | None) -> bool:
        """``permission`` on ``project_id`` (None: a platform-wide object, which needs a global grant)."""
        return any(permission in ROLE_PERMISSIONS[g.role] and g.project_id in (None, project_id)
                   for g in self.grants)

    def can_globally(self, permission: Permission) -> bool:
        return self.can(permission, None)

    def can_somewhere(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS[g.role] for g in self.grants)

    def sees(self, project_id: str | None) -> bool:
        """Whether objects of ``project_id`` exist for this caller. Project-less objects (the
        shared pipeline catalog) are visible to anyone who may read some project."""
        return self.can_somewhere(READ) if project_id is None else self.can(READ, project_id)

    def readable_projects(self) -> list[str] | None:
        """The projects this caller reads; None means all of them (a global grant)."""
        if self.can_globally(READ):
            return None
        return sorted({g.project_id for g in self.grants if g.project_id is not None})


ANONYMOUS = Principal(actor="anonymous", grants=(Grant(role="admin"),))
"""The caller when authentication is off (``ENABLE_AUTH=false``): everything is allowed."""


def role_claims(grants: tuple[Grant, ...] | list[Grant]) -> list[str]:
    """Grants as token claims: ``admin`` (global) or ``viewer:proj_abc`` (one project)."""
    return [g.role if g.project_id is None else f"{g.role}:{g.project_id}" for g in grants]


def grants_of(claims: list[str]) -> tuple[Grant, ...]:
    grants = []
    for claim in claims:
        role, _, project = claim.partition(":")
        grants.append(Grant.model_validate({"role": role, "project_id": project or None}))
    return tuple(grants)
