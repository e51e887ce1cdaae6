"""The access rule of every route, keyed by ``(method, path)`` as the OpenAPI document names them.

A rule says who may call a route and where the project it acts on comes from:

- ``public``: no credentials (health, the docs);
- ``authenticated``: any valid key or token;
- ``globally(p)``: permission ``p`` granted for all projects (creating projects, API keys,
  streaming, which has no project);
- ``listed(p)``: ``p`` somewhere; the route reads through a store scoped to the caller's
  projects, so lists and statistics only count those;
- ``on_object(p, collection, param)``: the object named by path parameter ``param`` is
  looked up and ``p`` is needed on its project;
- ``in_body(p, field)``: ``p`` is needed on the project(s) named in the JSON body;
- ``in_body_object(p, collection, field)``: the object whose id is at body ``field`` is looked
  up and ``p`` is needed on its project (``POST /configs`` names its pipeline).

404 or 403: an object of a project the caller cannot read answers 404 NOT_FOUND, exactly
as a missing one would, so ids cannot be probed. Where the caller can see the object but
lacks the permission for the action, or the route is not about one project's object
(``globally``), the answer is 403 FORBIDDEN: nothing is revealed that the caller could
not already read.

A route missing from this table is refused with 403, and fails ``tests/api/test_auth_matrix.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tauro_contracts.security import Permission

READ = Permission.PROJECTS_READ
WRITE = Permission.PROJECTS_WRITE
EXECUTE = Permission.RUNS_EXECUTE
SCHEDULES = Permission.SCHEDULES_MANAGE
KEYS = Permission.KEYS_MANAGE
V1 = "/api/v1"


class Access(Enum):
    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    GLOBAL = "global"
    LISTED = "listed"
    OBJECT = "object"
    BODY = "body"
    BODY_OBJECT = "body_object"


@dataclass(frozen=True)
class Rule:
    access: Access
    permission: Permission | None = None
    collection: str = ""
    param: str = ""
    kind: str = ""
    project_field: str = "project_id"
    body_field: str = ""
    rate_limited: bool = True


def public(*, rate_limited: bool = True) -> Rule:
    return Rule(Access.PUBLIC, rate_limited=rate_limited)


def authenticated() -> Rule:
    return Rule(Access.AUTHENTICATED)


def globally(permission: Permission) -> Rule:
    return Rule(Access.GLOBAL, permission)


def listed(permission: Permission = READ) -> Rule:
    return Rule(Access.LISTED, permission)


def on_object(
    permission: Permission, collection: str, param: str, kind: str, project_field: str = "project_id"
) -> Rule:
    return Rule(Access.OBJECT, permission, collection, param, kind, project_field)


def on_project(permission: Permission) -> Rule:
    return on_object(permission, "projects", "project_id", "project", project_field="id")


def in_body(permission: Permission, field: str = "project_id") -> Rule:
    """``field`` names the project id in the body; ``items[].project_id`` reaches into a list."""
    return Rule(Access.BODY, permission, body_field=field)


def in_body_object(permission: Permission, collection: str, field: str, kind: str) -> Rule:
    """The object whose id is at body ``field`` is looked up and ``permission`` is needed on its project."""
    return Rule(Access.BODY_OBJECT, permission, collection, kind=kind, body_field=field)


def _pipeline(permission: Permission) -> Rule:
    return on_object(permission, "pipelines", "pipeline_id", "pipeline")


def _run(permission: Permission) -> Rule:
    return on_object(permission, "runs", "run_id", "run")


def _schedule(permission: Permission) -> Rule:
    return on_object(permission, "schedules", "schedule_id", "schedule")


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): public(rate_limited=False),
    ("GET", f"{V1}/health"): public(rate_limited=False),
    ("GET", f"{V1}/info"): authenticated(),
    ("GET", f"{V1}/statistics"): listed(),
    # auth
    ("POST", f"{V1}/auth/token"): authenticated(),
    ("GET", f"{V1}/auth/whoami"): authenticated(),
    ("POST", f"{V1}/api-keys"): globally(KEYS),
    ("GET", f"{V1}/api-keys"): globally(KEYS),
    ("GET", f"{V1}/api-keys/{{key_id}}"): globally(KEYS),
    ("DELETE", f"{V1}/api-keys/{{key_id}}"): globally(KEYS),
    ("GET", f"{V1}/dead-letters"): globally(KEYS),
    ("GET", f"{V1}/dead-letters/{{command_id}}"): globally(KEYS),
    # projects
    ("GET", f"{V1}/projects"): listed(),
    ("POST", f"{V1}/projects"): globally(WRITE),
    ("GET", f"{V1}/projects/{{project_id}}"): on_project(READ),
    ("PUT", f"{V1}/projects/{{project_id}}"): on_project(WRITE),
    ("DELETE", f"{V1}/projects/{{project_id}}"): on_project(WRITE),
    ("GET", f"{V1}/projects/{{project_id}}/statistics"): on_project(READ),
    ("GET", f"{V1}/projects/{{project_id}}/stats"): on_project(READ),
    # pipelines and config versions (a pipeline without a project belongs to the shared catalog:
    # readable by every caller, changed only with a global grant)
    ("POST", f"{V1}/pipelines"): in_body(WRITE),
    ("GET", f"{V1}/pipelines"): listed(),
    ("POST", f"{V1}/projects/{{project_id}}/pipelines"): on_project(WRITE),
    ("GET", f"{V1}/projects/{{project_id}}/pipelines"): on_project(READ),
    ("GET", f"{V1}/pipelines/{{pipeline_id}}"): _pipeline(READ),
    ("PUT", f"{V1}/pipelines/{{pipeline_id}}"): _pipeline(WRITE),
    ("DELETE", f"{V1}/pipelines/{{pipeline_id}}"): _pipeline(WRITE),
    ("GET", f"{V1}/pipelines/{{pipeline_id}}/dag"): _pipeline(READ),
    # an unknown pipeline's history is an empty page, so another project's is too (scoped store)
    ("GET", f"{V1}/pipelines/{{pipeline_id}}/versions"): listed(),
    ("GET", f"{V1}/config-versions"): listed(),
    ("GET", f"{V1}/config-versions/{{version_id}}"): on_object(READ, "config_versions", "version_id",
                                                               "config version"),
    # config management: a new config version is a change of its pipeline (named in the body)
    ("GET", f"{V1}/configs"): listed(),
    ("GET", f"{V1}/configs/{{version_id}}"): on_object(READ, "config_versions", "version_id", "config version"),
    ("POST", f"{V1}/configs"): in_body_object(WRITE, "pipelines", "pipeline_id", "pipeline"),
    # runs
    ("POST", f"{V1}/runs"): in_body(EXECUTE),
    ("POST", f"{V1}/runs/batch"): in_body(EXECUTE, "runs[].project_id"),
    ("GET", f"{V1}/runs"): listed(),
    ("GET", f"{V1}/runs/{{run_id}}"): _run(READ),
    ("POST", f"{V1}/runs/{{run_id}}/start"): _run(EXECUTE),
    ("POST", f"{V1}/runs/{{run_id}}/cancel"): _run(EXECUTE),
    ("GET", f"{V1}/runs/{{run_id}}/tasks"): _run(READ),
    ("GET", f"{V1}/runs/{{run_id}}/logs"): _run(READ),
    ("GET", f"{V1}/runs/{{run_id}}/events"): _run(READ),
    ("GET", f"{V1}/runs/{{run_id}}/notifications"): _run(READ),
    # every run's log lines: filtered to the caller's projects by the route (run_logs is GATED)
    ("GET", f"{V1}/logs"): listed(),
    # streaming executions belong to no project: global grants only
    ("POST", f"{V1}/stream/run"): globally(EXECUTE),
    ("GET", f"{V1}/stream/status"): globally(READ),
    ("POST", f"{V1}/stream/stop"): globally(EXECUTE),
    # schedules (spec routes; the rules wait for the router)
    ("POST", f"{V1}/schedules"): in_body(SCHEDULES),
    ("GET", f"{V1}/schedules"): listed(),
    ("GET", f"{V1}/schedules/{{schedule_id}}"): _schedule(READ),
    ("PUT", f"{V1}/schedules/{{schedule_id}}"): _schedule(SCHEDULES),
    ("DELETE", f"{V1}/schedules/{{schedule_id}}"): _schedule(SCHEDULES),
    ("POST", f"{V1}/schedules/{{schedule_id}}/enable"): _schedule(SCHEDULES),
    ("POST", f"{V1}/schedules/{{schedule_id}}/disable"): _schedule(SCHEDULES),
    ("POST", f"{V1}/schedules/{{schedule_id}}/backfill"): _schedule(SCHEDULES),
    ("GET", f"{V1}/schedules/{{schedule_id}}/ticks"): _schedule(READ),
    # observability: platform-wide figures
    ("GET", "/metrics"): globally(READ),
    ("GET", f"{V1}/metrics"): globally(READ),
}

PLANNED = frozenset(key for key in RULES if "/schedules" in key[1] or key[1].endswith("/metrics"))
"""Rules for spec routes whose routers have not landed yet (the table test allows these to be unused)."""

NO_RULE = Rule(Access.GLOBAL)
"""What a route missing from the table gets: credentials required, then 403 (with auth on)."""

DOCS = public()
"""Routes outside the OpenAPI document that FastAPI serves itself (``/docs``, ``/openapi.json``)."""

UI = public(rate_limited=False)
"""Tauro UI's page and static files (``/ui``, ``ui.py``): public and not counted against the rate
limit (a page load fetches a dozen modules); the API calls it makes carry the user's key and count."""


def rule_for(method: str, path: str) -> Rule | None:
    return RULES.get((method.upper(), path))
