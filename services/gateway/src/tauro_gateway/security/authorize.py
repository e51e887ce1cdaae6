"""Applying a route's rule to a request: the app-wide dependency every route runs first.

It runs after the middleware has authenticated the caller and before the route's own
parameters are used: it checks the permission on the project the rule names (404 for a
project the caller cannot read, 403 for one it can read but not act on), then gives
the route a read store scoped to the caller's projects.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from fastapi import Request
from tauro_contracts.errors import DomainError, ErrorCode, not_found
from tauro_contracts.security import Permission
from tauro_platform.readstore.port import ReadStore

from tauro_gateway.security.principal import Principal
from tauro_gateway.security.rules import NO_RULE, Access, Rule
from tauro_gateway.security.scoped import ScopedReadStore


def forbidden(permission: Permission | None, project_id: str | None = None) -> DomainError:
    where = f"on project '{project_id}'" if project_id else "for all projects"
    return DomainError(ErrorCode.FORBIDDEN, f"this caller lacks '{permission}' {where}")


async def authorize(request: Request) -> None:
    """The dependency of every route (``FastAPI(dependencies=...)``)."""
    ctx = request.app.state.ctx
    if not ctx.settings.enable_auth:
        return
    principal: Principal | None = getattr(request.state, "principal", None)
    rule: Rule | None = getattr(request.state, "access_rule", None)  # found by the middleware
    if rule is None or rule is NO_RULE:
        raise DomainError(ErrorCode.FORBIDDEN, "this route has no access rule")
    if rule.access is Access.PUBLIC:
        return
    if principal is None:  # the middleware did not run: refuse rather than guess
        raise DomainError(ErrorCode.UNAUTHORIZED, "authentication required")
    await check(rule, principal, request, ctx.read_store)
    projects = principal.readable_projects()
    if projects is not None:
        request.state.ctx = dataclasses.replace(ctx, read_store=ScopedReadStore(ctx.read_store, projects))


async def check(rule: Rule, principal: Principal, request: Request, store: ReadStore) -> None:
    perm = rule.permission
    if rule.access is Access.AUTHENTICATED or perm is None:
        return
    if rule.access is Access.GLOBAL:
        if not principal.can_globally(perm):
            raise forbidden(perm)
    elif rule.access is Access.LISTED:
        if not principal.can_somewhere(perm):
            raise forbidden(perm)
    elif rule.access is Access.OBJECT:
        object_id = request.path_params.get(rule.param, "")
        doc = await store.get(rule.collection, object_id)
        if doc is None or doc.get("deleted"):
            return  # the route answers for a missing object, as it always does
        _check_project(principal, perm, doc.get(rule.project_field), not_found(rule.kind, object_id))
    elif rule.access is Access.BODY:
        for project_id in body_projects(await _json(request), rule.body_field):
            _check_project(principal, perm, project_id, not_found("project", project_id))
    elif rule.access is Access.BODY_OBJECT:
        for object_id in body_projects(await _json(request), rule.body_field):
            doc = await store.get(rule.collection, object_id)
            if doc is not None and not doc.get("deleted"):  # a missing one: the route answers 404
                _check_project(principal, perm, doc.get(rule.project_field), not_found(rule.kind, object_id))


def _check_project(principal: Principal, perm: Permission, project_id: str | None, missing: DomainError) -> None:
    if not principal.sees(project_id):
        raise missing
    if not principal.can(perm, project_id):
        raise forbidden(perm, project_id)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return None  # the route's validation answers 422


def body_projects(body: Any, field: str) -> list[str]:
    """The project ids at ``field`` (``project_id`` or ``runs[].project_id``); non-strings are
    left to the route's validation."""
    items, _, leaf = field.rpartition("[].")
    found: list[Any] = []
    if items:
        listed = body.get(items) if isinstance(body, dict) else None
        found = [item.get(leaf) for item in listed if isinstance(item, dict)] if isinstance(listed, list) else []
    elif isinstance(body, dict):
        found = [body.get(field)]
    return list(dict.fromkeys(p for p in found if isinstance(p, str)))



