"""The authorization matrix: every route of the OpenAPI document x every kind of caller x
(own project, other project), on the embedded platform with authentication on.

Callers: no credentials, ``viewer``/``operator``/``admin`` of project A ("own"), and a
global ``viewer`` and ``admin``. Each route's expected answer follows from its rule in
``tauro_gateway.security.rules``: 401 without credentials; 404 for an object (or a body's
project) in a project the caller cannot read; 403 where it can read but lacks the
permission, or the route needs a global grant; 2xx otherwise, with a real request built
by ``SAMPLES``. Every answer to a caller scoped to project A is also searched for the ids of
project B's objects: lists and statistics must be filtered, not just single objects.

A route without a rule, or without a sample request here, fails this module.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from tauro_contracts.security import Permission
from tauro_gateway.security.principal import Principal
from tauro_gateway.security.rules import PLANNED, RULES, Access, Rule, rule_for
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings, issue_key, key_headers

PIPELINE = {"nodes": [{"id": "extract", "type": "source",
                       "config": {"format": "csv", "path": "examples/data/orders.csv"}}]}
IDS = re.compile(r"\b(?:proj|pipe|run|sched|exec)_[A-Za-z0-9_.\-]+")
_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return auth_settings(tmp_path)


@dataclass
class Call:
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """Projects A (own) and B (other), each with a pipeline, a run and (if routed) a schedule."""

    api: httpx.AsyncClient
    admin: dict[str, str]
    project: dict[str, str] = field(default_factory=dict)
    pipeline: dict[str, str] = field(default_factory=dict)
    run: dict[str, str] = field(default_factory=dict)
    schedule: dict[str, str] = field(default_factory=dict)
    key_id: str = ""
    secret_ids: set[str] = field(default_factory=set)
    """Ids of project B's objects: never shown to a caller scoped to project A."""

    async def post(self, path: str, body: Any, ok: int = 201) -> dict[str, Any]:
        response = await self.api.post(f"/api/v1{path}", json=body, headers=self.admin)
        assert response.status_code == ok, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    async def fresh_project(self) -> str:
        return (await self.post("/projects", {"name": unique("p")}))["id"]

    async def fresh_pipeline(self, target: str) -> str:
        body = {"name": unique("pl"), "project_id": self.project[target], **PIPELINE}
        return (await self.post("/pipelines", body))["id"]

    async def fresh_run(self, target: str) -> str:
        body = {"project_id": self.project[target], "pipeline_id": self.pipeline[target]}
        return (await self.post("/runs", body))["id"]

    async def fresh_schedule(self, target: str) -> str:
        body = {"project_id": self.project[target], "pipeline_id": self.pipeline[target], "kind": "INTERVAL",
                "expression": "1h", "enabled": False}
        return (await self.post("/schedules", body))["id"]

    async def fresh_stream(self) -> str:
        return (await self.post("/stream/run", _stream_body(self, "own"), ok=202))["execution_id"]

    async def fresh_key(self) -> str:
        return (await self.post("/api-keys", {"name": unique("k"), "grants": [{"role": "viewer"}]}))["id"]


async def build_world(api: httpx.AsyncClient, admin: dict[str, str], scheduling: bool) -> World:
    world = World(api, admin)
    for target in ("own", "other"):
        world.project[target] = await world.fresh_project()
        world.pipeline[target] = await world.fresh_pipeline(target)
        world.run[target] = await world.fresh_run(target)
        if scheduling:
            world.schedule[target] = await world.fresh_schedule(target)
    world.key_id = await world.fresh_key()
    world.secret_ids = {world.project["other"], world.pipeline["other"], world.run["other"]}
    world.secret_ids |= {world.schedule["other"]} if scheduling else set()
    return world


Build = Callable[[World, str], Awaitable[Call]]


@dataclass(frozen=True)
class Sample:
    build: Build
    ok: frozenset[int] = frozenset({200, 201, 202})
    fresh_project: bool = False
    """The call consumes the project in its path (deleting it): a fresh one per case, granted as A is."""


def call(**kwargs: Any) -> Build:
    async def build(world: World, target: str) -> Call:
        return Call(**kwargs)
    return build


def on(kind: str, extra: Callable[[World, str], Any] | None = None, fresh: bool = False) -> Build:
    """A call naming ``kind``'s object of the target project in the path (a fresh one if ``fresh``)."""
    async def build(world: World, target: str) -> Call:
        if kind == "version":
            ident = f"{world.pipeline[target]}@v1"
        elif fresh:
            ident = await getattr(world, f"fresh_{kind}")(target)
        else:
            ident = getattr(world, kind)[target]
        return Call({f"{kind}_id": ident}, extra(world, target) if extra else None)
    return build


def body(make: Callable[[World, str], Any]) -> Build:
    async def build(world: World, target: str) -> Call:
        return Call(json=make(world, target))
    return build


async def _stop_stream(world: World, target: str) -> Call:
    return Call(json={"execution_id": await world.fresh_stream(), "timeout": 1})


async def _key(world: World, target: str, fresh: bool = False) -> Call:
    return Call({"key_id": await world.fresh_key() if fresh else world.key_id})


def _pipeline_body(world: World, target: str) -> dict[str, Any]:
    return {"name": unique("pl"), **PIPELINE}


def _stream_body(world: World, target: str) -> dict[str, Any]:
    name = unique("auth-matrix-")
    return {"definition": {"name": name, "input_topics": [f"{name}.in"], "output_topic": f"{name}.out",
                           "processors": [{"type": "filter", "all": [{"field": "x", "op": "eq", "value": 1}]}]}}


V1 = "/api/v1"
SAMPLES: dict[tuple[str, str], Sample] = {
    ("GET", "/health"): Sample(call(), ok=frozenset({200, 503})),
    ("GET", f"{V1}/info"): Sample(call()),
    ("GET", f"{V1}/statistics"): Sample(call()),
    ("POST", f"{V1}/auth/token"): Sample(call()),
    ("GET", f"{V1}/auth/whoami"): Sample(call()),
    ("POST", f"{V1}/api-keys"): Sample(body(lambda w, t: {"name": unique("k"), "grants": [{"role": "viewer"}]})),
    ("GET", f"{V1}/api-keys"): Sample(call()),
    ("GET", f"{V1}/api-keys/{{key_id}}"): Sample(lambda w, t: _key(w, t)),
    ("DELETE", f"{V1}/api-keys/{{key_id}}"): Sample(lambda w, t: _key(w, t, fresh=True)),
    ("GET", f"{V1}/dead-letters"): Sample(call()),
    ("GET", f"{V1}/dead-letters/{{command_id}}"): Sample(call(params={"command_id": "no-such-command"}),
                                                         ok=frozenset({404})),
    ("GET", f"{V1}/projects"): Sample(call()),
    ("POST", f"{V1}/projects"): Sample(body(lambda w, t: {"name": unique("p")})),
    ("GET", f"{V1}/projects/{{project_id}}"): Sample(on("project")),
    ("PUT", f"{V1}/projects/{{project_id}}"): Sample(on("project", lambda w, t: {"description": unique("d")})),
    ("DELETE", f"{V1}/projects/{{project_id}}"): Sample(call(), fresh_project=True),
    ("GET", f"{V1}/projects/{{project_id}}/statistics"): Sample(on("project")),
    ("POST", f"{V1}/pipelines"): Sample(body(lambda w, t: {**_pipeline_body(w, t), "project_id": w.project[t]})),
    ("GET", f"{V1}/pipelines"): Sample(call()),
    ("POST", f"{V1}/projects/{{project_id}}/pipelines"): Sample(on("project", _pipeline_body)),
    ("GET", f"{V1}/projects/{{project_id}}/pipelines"): Sample(on("project")),
    ("GET", f"{V1}/pipelines/{{pipeline_id}}"): Sample(on("pipeline")),
    ("PUT", f"{V1}/pipelines/{{pipeline_id}}"): Sample(on("pipeline", _pipeline_body)),
    ("DELETE", f"{V1}/pipelines/{{pipeline_id}}"): Sample(on("pipeline", fresh=True)),
    ("GET", f"{V1}/pipelines/{{pipeline_id}}/dag"): Sample(on("pipeline")),
    ("GET", f"{V1}/pipelines/{{pipeline_id}}/versions"): Sample(on("pipeline")),
    ("GET", f"{V1}/config-versions"): Sample(call()),
    ("GET", f"{V1}/config-versions/{{version_id}}"): Sample(on("version")),
    ("GET", f"{V1}/configs"): Sample(call()),
    ("GET", f"{V1}/configs/{{version_id}}"): Sample(on("version")),
    ("POST", f"{V1}/configs"): Sample(body(lambda w, t: {"pipeline_id": w.pipeline[t], **PIPELINE})),
    ("GET", f"{V1}/logs"): Sample(call()),
    ("POST", f"{V1}/runs"): Sample(body(lambda w, t: {"project_id": w.project[t], "pipeline_id": w.pipeline[t]})),
    ("POST", f"{V1}/runs/batch"): Sample(body(
        lambda w, t: {"runs": [{"project_id": w.project[t], "pipeline_id": w.pipeline[t]}]})),
    ("GET", f"{V1}/runs"): Sample(call()),
    ("GET", f"{V1}/runs/{{run_id}}"): Sample(on("run")),
    ("POST", f"{V1}/runs/{{run_id}}/start"): Sample(on("run", fresh=True)),
    ("POST", f"{V1}/runs/{{run_id}}/cancel"): Sample(on("run", fresh=True)),
    ("GET", f"{V1}/runs/{{run_id}}/tasks"): Sample(on("run")),
    ("GET", f"{V1}/runs/{{run_id}}/logs"): Sample(on("run")),
    ("GET", f"{V1}/runs/{{run_id}}/events"): Sample(on("run")),
    ("GET", f"{V1}/runs/{{run_id}}/notifications"): Sample(on("run")),
    ("GET", f"{V1}/schedules"): Sample(call()),
    ("POST", f"{V1}/schedules"): Sample(body(lambda w, t: {
        "project_id": w.project[t], "pipeline_id": w.pipeline[t], "kind": "INTERVAL", "expression": "1h",
        "enabled": False})),
    ("GET", f"{V1}/schedules/{{schedule_id}}"): Sample(on("schedule")),
    ("PUT", f"{V1}/schedules/{{schedule_id}}"): Sample(on("schedule", lambda w, t: {"description": unique("d")})),
    ("DELETE", f"{V1}/schedules/{{schedule_id}}"): Sample(on("schedule", fresh=True)),
    ("POST", f"{V1}/schedules/{{schedule_id}}/enable"): Sample(on("schedule", fresh=True)),
    ("POST", f"{V1}/schedules/{{schedule_id}}/disable"): Sample(on("schedule")),
    ("POST", f"{V1}/schedules/{{schedule_id}}/backfill"): Sample(on("schedule", lambda w, t: {
        "count": 1, "dry_run": True})),
    ("GET", f"{V1}/schedules/{{schedule_id}}/ticks"): Sample(on("schedule")),
    ("POST", f"{V1}/stream/run"): Sample(body(_stream_body)),
    ("GET", f"{V1}/stream/status"): Sample(call()),
    ("POST", f"{V1}/stream/stop"): Sample(_stop_stream),
}

CALLERS: list[tuple[str, str, str | None]] = [
    ("anonymous", "", None), ("viewer@A", "viewer", "own"), ("operator@A", "operator", "own"),
    ("admin@A", "admin", "own"), ("viewer", "viewer", None), ("admin", "admin", None)]


def operations(app: Any) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops]


def app_of(api: httpx.AsyncClient) -> Any:
    return api._transport.app  # type: ignore[attr-defined]


# -- the rule table against the routes ------------------------------------------------------------


def test_every_route_has_a_rule_and_every_rule_a_route(api: httpx.AsyncClient) -> None:
    app = app_of(api)
    routed = {(m, rc.path_format) for rc in iter_route_contexts(app.routes)
              if isinstance(rc.original_route, APIRoute) for m in (rc.methods or ())}
    assert set(operations(app)) <= routed
    missing = sorted(op for op in routed if rule_for(*op) is None)
    assert not missing, f"routes without an access rule in tauro_gateway/security/rules.py: {missing}"
    stale = sorted(set(RULES) - routed - PLANNED)
    assert not stale, f"rules for routes that do not exist: {stale}"
    no_sample = sorted(op for op in operations(app) if op not in SAMPLES)
    assert not no_sample, f"routes without a sample request in {__name__}.SAMPLES: {no_sample}"


def test_rules_follow_the_policy() -> None:
    """Reads need projects:read; no write is open to a viewer; keys need a global grant."""
    for (method, path), rule in RULES.items():
        if rule.access in (Access.PUBLIC, Access.AUTHENTICATED):
            assert path.endswith(("/health", "/auth/token", "/auth/whoami", "/info")), path
        elif "/api-keys" in path or "/dead-letters" in path:
            assert rule.access is Access.GLOBAL and rule.permission is Permission.KEYS_MANAGE
        elif method == "GET":
            assert rule.permission is Permission.PROJECTS_READ, path
        else:
            assert rule.permission is not Permission.PROJECTS_READ, path


def test_openapi_declares_the_credentials(api: httpx.AsyncClient) -> None:
    doc = app_of(api).openapi()
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            public = rule_for(method, path).access is Access.PUBLIC  # type: ignore[union-attr]
            assert ("security" in op) is not public, (method, path)


# -- the matrix ---------------------------------------------------------------------------------


def expected(rule: Rule, principal: Principal | None, project_id: str | None) -> str:
    """``ok``, ``401``, ``403`` or ``404`` for this caller on this route and project."""
    if rule.access is Access.PUBLIC:
        return "ok"
    if principal is None:
        return "401"
    perm = rule.permission
    if rule.access is Access.AUTHENTICATED or perm is None:
        return "ok"
    if rule.access is Access.GLOBAL:
        return "ok" if principal.can_globally(perm) else "403"
    if rule.access is Access.LISTED:
        return "ok" if principal.can_somewhere(perm) else "403"
    if not principal.sees(project_id):
        return "404"
    return "ok" if principal.can(perm, project_id) else "403"


async def test_role_x_route_x_project_matrix(api: httpx.AsyncClient, api_settings: Settings) -> None:
    app = app_of(api)
    ops = [op for op in operations(app) if op in SAMPLES]
    admin = admin_headers(api_settings)
    world = await build_world(api, admin, scheduling=any("/schedules" in path for _, path in ops))
    keys: dict[str, dict[str, str]] = {}
    principals: dict[str, Principal | None] = {}
    for name, role, scope in CALLERS:
        if not role:
            keys[name], principals[name] = {}, None
            continue
        issued = await issue_key(api, admin, (role, world.project[scope] if scope else None), name=name)
        keys[name] = key_headers(issued["key"])
        principals[name] = await principal_of(api, keys[name])
    failures: list[str] = []
    cases = 0
    for method, path in ops:
        rule, sample = rule_for(method, path), SAMPLES[(method, path)]
        assert rule is not None
        targets = ("own", "other") if rule.access in (Access.OBJECT, Access.BODY) else ("own",)
        for (name, role, scope), target in itertools.product(CALLERS, targets):
            headers, principal = keys[name], principals[name]
            project_id: str | None = world.project[target]
            if sample.fresh_project:
                project_id = await world.fresh_project()
                built = Call({"project_id": project_id})
                if scope is not None and target == "own":  # granted on the fresh project as on A
                    headers = key_headers((await issue_key(api, admin, (role, project_id)))["key"])
                    principal = await principal_of(api, headers)
            else:
                built = await sample.build(world, target)
            want = expected(rule, principal, project_id)
            url = path.format(**built.params)
            response = await api.request(method, url, json=built.json, params=built.query, headers=headers)
            cases += 1
            got = response.status_code
            label = f"{name} {method} {url} ({target}): want {want}, got {got}"
            if (want == "ok" and got not in sample.ok) or (want != "ok" and str(got) != want):
                failures.append(f"{label}: {response.text[:200]}")
            elif got >= 500:
                failures.append(f"{label}: server error {response.text[:200]}")
            elif scope is not None and got < 300 and (leaked := world.secret_ids & set(IDS.findall(response.text))):
                failures.append(f"{label}: shows another project's objects {sorted(leaked)}")
    assert not failures, f"{len(failures)} of {cases} cases wrong:\n" + "\n".join(failures)
    assert cases >= len(ops) * len(CALLERS)
    print(f"authorization matrix: {cases} cases over {len(ops)} operations and {len(CALLERS)} callers")


async def principal_of(api: httpx.AsyncClient, headers: dict[str, str]) -> Principal:
    from tauro_gateway.security.principal import grants_of

    me = (await api.get("/api/v1/auth/whoami", headers=headers)).json()["data"]
    return Principal(me["actor"], grants_of(me["roles"]), me["key_id"], me["method"])


def test_matrix_ids_pattern_sees_ids_in_json() -> None:
    text = json.dumps({"data": [{"id": "run_abc", "project_id": "proj_x"}]})
    assert set(IDS.findall(text)) == {"run_abc", "proj_x"}
