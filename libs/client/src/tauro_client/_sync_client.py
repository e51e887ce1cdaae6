"""``Tauro``: the sync client, GENERATED from ``_async_client.py`` by ``libs/client/scripts/gen_sync.py``:
do not edit; edit the async client and run the script.

    with Tauro("http://127.0.0.1:8000", api_key="...") as tauro:
        project = tauro.projects.create("analytics")
        run = tauro.runs.create(project.id, "pipe_daily_etl", params={"date": "2025-11-18"}, start=True)
        for line in tauro.runs.follow_logs(run.id):
            print(line.level, line.message)
        print(tauro.runs.wait(run.id).state)
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from tauro_contracts.notifications import NotificationView
from tauro_contracts.readmodels import (
    ApiKey,
    BackfillResult,
    ConfigVersion,
    Dag,
    DeadLetter,
    Deleted,
    Health,
    Info,
    IssuedApiKey,
    LogLine,
    Pipeline,
    PlatformStatistics,
    Project,
    ProjectStatistics,
    ProjectView,
    Run,
    RunStartAccepted,
    Schedule,
    StreamExecution,
    Task,
    TickView,
    Token,
    WhoAmI,
)

from tauro_client._base import (
    API_PREFIX,
    TERMINAL_STATES,
    Page,
    SSEDecoder,
    auth_headers,
    base_url,
    body_of,
    clean,
    idempotency,
    page_of,
    parse,
    unreachable_reason,
)
from tauro_client.errors import NotFound, Unreachable, WaitTimeout, error_from_response
from tauro_client.sources import definitions_from

PAGE_SIZE = 100


class Tauro:
    """The Tauro API from sync code. ``base_url`` defaults to ``TAURO_URL`` (else
    http://127.0.0.1:8000); ``api_key`` to ``TAURO_API_KEY``, ``token`` (a bearer token) to
    ``TAURO_TOKEN``. Pass ``transport`` (e.g. ``httpx.ASGITransport(app)``) or a ready
    ``http_client`` to talk to an in-process gateway."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
        api_key_header: str = "X-API-Key",
    ) -> None:
        self.base_url = _root(base_url, http_client)
        extra = {**auth_headers(api_key, token, api_key_header), **(headers or {})}
        self._owns_http = http_client is None
        if http_client is None:
            http_client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        http_client.headers.update(extra)
        self.http = http_client
        self.projects = Projects(self)
        self.pipelines = Pipelines(self)
        self.config_versions = ConfigVersions(self)
        self.runs = Runs(self)
        self.schedules = Schedules(self)
        self.streams = Streams(self)
        self.api_keys = ApiKeys(self)
        self.auth = Auth(self)
        self.dead_letters = DeadLetters(self)

    def __enter__(self) -> Tauro:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    # --- the plumbing -------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, headers: Mapping[str, str] | None = None,
                      ok: tuple[int, ...] = ()) -> Any:
        """The JSON body of ``method path`` (``path`` under /api/v1 unless it starts with ``/health``);
        raises the ``APIError`` subclass of an error answer, ``Unreachable`` when none came."""
        url = path if path.startswith("/health") else API_PREFIX + path
        try:
            response = self.http.request(method, url, params=clean(dict(params or {})) or None, json=json,
                                               headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, unreachable_reason(exc)) from exc
        return body_of(response, ok)

    def data(self, model: Any, method: str, path: str, **kwargs: Any) -> Any:
        body = self.request(method, path, **kwargs)
        return parse(model, body["data"])

    def page(self, model: Any, path: str, params: Mapping[str, Any] | None = None) -> Page[Any]:
        return page_of(model, self.request("GET", path, params=params))

    def iterate(self, model: Any, path: str, params: Mapping[str, Any] | None = None,
                      page_size: int = PAGE_SIZE) -> Iterator[Any]:
        """Every item of a list, page after page: by ``next_cursor`` when the API gives one, else by offset."""
        query = {**clean(dict(params or {})), "limit": page_size}
        offset = int(query.pop("offset", 0) or 0)
        cursor: str | None = None
        while True:
            paging = {"cursor": cursor} if cursor else {"offset": offset}
            page = self.page(model, path, {**query, **paging})
            yield from page.items
            if not page.meta.has_more or not page.items:
                return
            cursor = page.meta.next_cursor
            offset += len(page.items)

    # --- system -----------------------------------------------------------------------------

    def health(self) -> Health:
        """``GET /health`` (also when it answers 503 unhealthy)."""
        return Health.model_validate(self.request("GET", "/health", ok=(503,)))

    def info(self) -> Info:
        return self.data(Info, "GET", "/info")

    def statistics(self) -> PlatformStatistics:
        return self.data(PlatformStatistics, "GET", "/statistics")


def _root(url: str | None, http_client: httpx.Client | None) -> str:
    if url is None and http_client is not None and str(http_client.base_url):
        return base_url(str(http_client.base_url))
    return base_url(url)


class _Resource:
    def __init__(self, client: Tauro) -> None:
        self._client = client


class Projects(_Resource):
    def create(self, name: str, description: str = "", *, owner: str | None = None,
                     metadata: dict[str, Any] | None = None, idempotency_key: str | None = None) -> Project:
        body = clean({"name": name, "description": description, "owner": owner, "metadata": metadata})
        return self._client.data(Project, "POST", "/projects", json=body,
                                       headers=idempotency(idempotency_key))

    def get(self, project_id: str) -> ProjectView:
        """The project with its pipelines (id, name) and statistics."""
        return self._client.data(ProjectView, "GET", f"/projects/{project_id}")

    def update(self, project_id: str, *, description: str | None = None, owner: str | None = None,
                     metadata: dict[str, Any] | None = None) -> Project:
        body = clean({"description": description, "owner": owner, "metadata": metadata})
        return self._client.data(Project, "PUT", f"/projects/{project_id}", json=body)

    def delete(self, project_id: str) -> Deleted:
        return self._client.data(Deleted, "DELETE", f"/projects/{project_id}")

    def statistics(self, project_id: str) -> ProjectStatistics:
        return self._client.data(
            ProjectStatistics, "GET", f"/projects/{project_id}/statistics")

    def list(self, *, owner: str | None = None, limit: int = 50, offset: int = 0,
                   sort: str | None = None) -> Page[Project]:
        return self._client.page(Project, "/projects", {"owner": owner, "limit": limit, "offset": offset,
                                                              "sort": sort})

    def iter(self, *, owner: str | None = None, sort: str | None = None) -> Iterator[Project]:
        return self._client.iterate(Project, "/projects", {"owner": owner, "sort": sort})

    def find(self, name_or_id: str) -> Project:
        """A project by id (``proj_...``) or by name; ``NotFound`` if there is none."""
        if name_or_id.startswith("proj_"):
            return self.get(name_or_id)
        for project in self.iter():
            if project.name == name_or_id:
                return project
        raise NotFound(404, "NOT_FOUND", f"project '{name_or_id}' not found")


class Pipelines(_Resource):
    def create(self, project_id: str, name: str, nodes: Iterable[Mapping[str, Any]], *,
                     edges: Iterable[Mapping[str, Any]] = (), description: str = "",
                     config: Mapping[str, Any] | None = None, idempotency_key: str | None = None) -> Pipeline:
        body = clean({"project_id": project_id, "name": name, "description": description, "nodes": list(nodes),
                      "edges": list(edges), "config": dict(config) if config is not None else None})
        return self._client.data(Pipeline, "POST", "/pipelines", json=body,
                                       headers=idempotency(idempotency_key))

    def get(self, pipeline_id: str) -> Pipeline:
        return self._client.data(Pipeline, "GET", f"/pipelines/{pipeline_id}")

    def update(self, pipeline_id: str, definition: Mapping[str, Any]) -> Pipeline:
        """Replace the definition (``name``, ``description``, ``nodes``, ``edges``, ``config``):
        a new config version."""
        body = {k: v for k, v in definition.items() if k in ("name", "description", "nodes", "edges", "config")}
        return self._client.data(
            Pipeline, "PUT", f"/pipelines/{pipeline_id}", json=body)

    def delete(self, pipeline_id: str) -> Deleted:
        return self._client.data(Deleted, "DELETE", f"/pipelines/{pipeline_id}")

    def dag(self, pipeline_id: str) -> Dag:
        return self._client.data(Dag, "GET", f"/pipelines/{pipeline_id}/dag")

    def versions(self, pipeline_id: str, *, limit: int = 50, offset: int = 0) -> Page[ConfigVersion]:
        return self._client.page(ConfigVersion, f"/pipelines/{pipeline_id}/versions",
                                       {"limit": limit, "offset": offset})

    def list(self, *, project_id: str | None = None, name: str | None = None, limit: int = 50,
                   offset: int = 0, sort: str | None = None) -> Page[Pipeline]:
        return self._client.page(Pipeline, "/pipelines", {"project_id": project_id, "name": name,
                                                                "limit": limit, "offset": offset, "sort": sort})

    def iter(self, *, project_id: str | None = None, name: str | None = None) -> Iterator[Pipeline]:
        return self._client.iterate(Pipeline, "/pipelines", {"project_id": project_id, "name": name})

    def apply(self, source: ModuleType | str | Path | Mapping[str, Any], *, project: str,
                    base_dir: str | Path | None = None) -> builtins.list[Pipeline]:
        """Create or update, in ``project`` (id or name), every pipeline of ``source``: a module or a
        ``.py`` file declaring ``@pipeline``s, a YAML or JSON definition file, or a definition mapping.
        A pipeline of the same name in the project gets a new config version (none if unchanged).
        The tasks of a ``.py`` file are referenced relative to ``base_dir`` (default: the current
        directory), which should be the executors' working directory."""
        definitions = definitions_from(source, Path.cwd() if base_dir is None else base_dir)
        project_id = (self._client.projects.find(project)).id
        applied = []
        for definition in definitions:
            body = {k: v for k, v in definition.items() if k not in ("id", "project_id")}
            existing = [p for p in self.iter(project_id=project_id, name=body["name"])]
            if existing:
                applied.append(self.update(existing[0].id, body))
            else:
                applied.append(self._client.data(Pipeline, "POST", "/pipelines",
                                                       json={**body, "project_id": project_id}))
        return applied


class ConfigVersions(_Resource):
    def get(self, version_id: str) -> ConfigVersion:
        return self._client.data(
            ConfigVersion, "GET", f"/config-versions/{version_id}")

    def list(self, *, pipeline_id: str | None = None, project_id: str | None = None, limit: int = 50,
                   offset: int = 0) -> Page[ConfigVersion]:
        return self._client.page(ConfigVersion, "/config-versions", {
            "pipeline_id": pipeline_id, "project_id": project_id, "limit": limit, "offset": offset})

    def iter(self, *, pipeline_id: str | None = None, project_id: str | None = None) -> Iterator[ConfigVersion]:
        return self._client.iterate(ConfigVersion, "/config-versions",
                                    {"pipeline_id": pipeline_id, "project_id": project_id})


class Runs(_Resource):
    def create(self, project_id: str, pipeline_id: str, *, params: Mapping[str, Any] | None = None,
                     tags: Mapping[str, str] | None = None, start: bool = False, timeout_seconds: int | None = None,
                     idempotency_key: str | None = None, **extra: Any) -> Run:
        """A new run (PENDING; QUEUED at once with ``start=True``)."""
        body = clean({"project_id": project_id, "pipeline_id": pipeline_id, "params": dict(params or {}),
                      "tags": dict(tags or {}), "start": start, "timeout_seconds": timeout_seconds, **extra})
        return self._client.data(Run, "POST", "/runs", json=body,
                                       headers=idempotency(idempotency_key))

    def batch(self, runs: Iterable[Mapping[str, Any]], *,
                    idempotency_key: str | None = None) -> builtins.list[Run]:
        """Several runs, all or none (an invalid item is a ``ValidationFailed`` naming ``runs[i].field``)."""
        return self._client.data(list[Run], "POST", "/runs/batch",
                                       json={"runs": [dict(r) for r in runs]}, headers=idempotency(idempotency_key))

    def get(self, run_id: str, *, as_of: str | None = None) -> Run:
        return self._client.data(Run, "GET", f"/runs/{run_id}",
                                       params={"as_of": as_of})

    def start(self, run_id: str) -> RunStartAccepted:
        return self._client.data(
            RunStartAccepted, "POST", f"/runs/{run_id}/start")

    def cancel(self, run_id: str) -> Run:
        return self._client.data(Run, "POST", f"/runs/{run_id}/cancel")

    def retry(self, run_id: str, *, start: bool = True) -> Run:
        """A new run of the same pipeline with the same params and tags (tagged ``retry_of``)."""
        old = self.get(run_id)
        return self.create(old.project_id, old.pipeline_id, params=old.params,
                                 tags={**old.tags, "retry_of": old.id}, start=start)

    def list(self, *, project_id: str | None = None, pipeline_id: str | None = None,
                   state: str | None = None, tag: str | None = None, schedule_id: str | None = None,
                   created_after: str | None = None, created_before: str | None = None, cursor: str | None = None,
                   limit: int = 50, offset: int = 0, sort: str | None = None) -> Page[Run]:
        return self._client.page(Run, "/runs", {
            "project_id": project_id, "pipeline_id": pipeline_id, "state": state, "tag": tag,
            "schedule_id": schedule_id, "created_after": created_after, "created_before": created_before,
            "cursor": cursor, "limit": limit, "offset": None if cursor else offset, "sort": sort})

    def iter(self, *, project_id: str | None = None, pipeline_id: str | None = None, state: str | None = None,
             tag: str | None = None, schedule_id: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[Run]:
        """Every matching run, following ``next_cursor``."""
        return self._client.iterate(Run, "/runs", {"project_id": project_id, "pipeline_id": pipeline_id,
                                                   "state": state, "tag": tag, "schedule_id": schedule_id},
                                    page_size=page_size)

    def tasks(self, run_id: str) -> builtins.list[Task]:
        return (self._client.page(Task, f"/runs/{run_id}/tasks")).items

    def events(self, run_id: str) -> builtins.list[dict[str, Any]]:
        """The run's full event history (event envelopes as JSON)."""
        return (self._client.page(dict[str, Any], f"/runs/{run_id}/events")).items

    def notifications(self, run_id: str) -> builtins.list[NotificationView]:
        return (self._client.page(NotificationView, f"/runs/{run_id}/notifications")).items

    def logs(self, run_id: str, *, level: str | None = None, node_id: str | None = None, limit: int = 50,
                   offset: int = 0) -> Page[LogLine]:
        return self._client.page(LogLine, f"/runs/{run_id}/logs", {
            "level": level, "node_id": node_id, "limit": limit, "offset": offset})

    def iter_logs(self, run_id: str, *, level: str | None = None, node_id: str | None = None) -> Iterator[LogLine]:
        """Every log line recorded so far, page after page."""
        return self._client.iterate(LogLine, f"/runs/{run_id}/logs", {"level": level, "node_id": node_id})

    def follow_logs(self, run_id: str, *, level: str | None = None, node_id: str | None = None,
                          last_event_id: str | None = None, max_reconnects: int = 20) -> Iterator[LogLine]:
        """The run's log lines live (Server-Sent Events), ending when the run is over and every line
        was sent. A dropped connection is resumed with ``Last-Event-ID``: no line lost or repeated.
        ``max_reconnects`` failed reconnections in a row raise ``Unreachable``."""
        last_id = last_event_id
        failures = 0
        delay = 1.0
        params = clean({"level": level, "node_id": node_id})
        while True:
            headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
            try:
                with self._client.http.stream(
                    "GET", f"{API_PREFIX}/runs/{run_id}/logs", params=params, headers=headers,
                    timeout=httpx.Timeout(30.0, read=None),
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise error_from_response(response)
                    decoder = SSEDecoder()
                    for line in response.iter_lines():
                        event = decoder.feed(line)
                        if event is None:
                            continue
                        if event.retry is not None:
                            delay = event.retry / 1000
                        if event.event == "log":
                            failures = 0
                            last_id = event.id or last_id
                            yield LogLine.model_validate_json(event.data)
                        elif event.event == "end":
                            return
            except httpx.TransportError as exc:
                failures += 1
                if failures > max_reconnects:
                    raise Unreachable(self._client.base_url, unreachable_reason(exc)) from exc
            time.sleep(min(delay, 5.0))

    def wait(self, run_id: str, *, timeout: float | None = None, poll_interval: float = 1.0) -> Run:
        """The run once it is in a terminal state (SUCCESS, FAILED, CANCELLED, TIMED_OUT);
        ``WaitTimeout`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if run.state in TERMINAL_STATES:
                return run
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(run_id, run.state, timeout or 0)
            time.sleep(poll_interval)


class Schedules(_Resource):
    def create(self, project_id: str, pipeline_id: str, kind: str, expression: str, *,
                     timezone: str | None = None, enabled: bool = True, idempotency_key: str | None = None,
                     **fields: Any) -> Schedule:
        """``kind`` is CRON or INTERVAL; ``fields``: description, params, max_concurrency,
        timeout_seconds, overlap_policy, catch_up_policy, catch_up_window_seconds, misfire_grace_seconds, config."""
        body = clean({"project_id": project_id, "pipeline_id": pipeline_id, "kind": kind, "expression": expression,
                      "timezone": timezone, "enabled": enabled, **fields})
        return self._client.data(Schedule, "POST", "/schedules", json=body,
                                       headers=idempotency(idempotency_key))

    def get(self, schedule_id: str) -> Schedule:
        return self._client.data(Schedule, "GET", f"/schedules/{schedule_id}")

    def update(self, schedule_id: str, **fields: Any) -> Schedule:
        return self._client.data(
            Schedule, "PUT", f"/schedules/{schedule_id}", json=clean(fields))

    def delete(self, schedule_id: str) -> Deleted:
        return self._client.data(Deleted, "DELETE", f"/schedules/{schedule_id}")

    def enable(self, schedule_id: str) -> Schedule:
        return self._client.data(
            Schedule, "POST", f"/schedules/{schedule_id}/enable")

    def disable(self, schedule_id: str) -> Schedule:
        return self._client.data(
            Schedule, "POST", f"/schedules/{schedule_id}/disable")

    def backfill(self, schedule_id: str, *, start: str | None = None, end: str | None = None,
                       count: int | None = None, dry_run: bool = False, **fields: Any) -> BackfillResult:
        """Runs for past nominal times, between ``start`` and ``end`` or the last ``count``;
        ``dry_run`` only says what it would create."""
        body = clean({"start": start, "end": end, "count": count, "dry_run": dry_run, **fields})
        return self._client.data(
            BackfillResult, "POST", f"/schedules/{schedule_id}/backfill", json=body)

    def ticks(self, schedule_id: str, *, status: str | None = None, origin: str | None = None,
                    limit: int = 50, offset: int = 0) -> Page[TickView]:
        return self._client.page(TickView, f"/schedules/{schedule_id}/ticks", {
            "status": status, "origin": origin, "limit": limit, "offset": offset})

    def iter_ticks(self, schedule_id: str, *, status: str | None = None) -> Iterator[TickView]:
        return self._client.iterate(TickView, f"/schedules/{schedule_id}/ticks", {"status": status})

    def list(self, *, project_id: str | None = None, pipeline_id: str | None = None,
                   enabled: bool | None = None, limit: int = 50, offset: int = 0) -> Page[Schedule]:
        return self._client.page(Schedule, "/schedules", {
            "project_id": project_id, "pipeline_id": pipeline_id, "enabled": enabled, "limit": limit,
            "offset": offset})

    def iter(self, *, project_id: str | None = None, pipeline_id: str | None = None) -> Iterator[Schedule]:
        return self._client.iterate(Schedule, "/schedules", {"project_id": project_id, "pipeline_id": pipeline_id})


class Streams(_Resource):
    def run(self, *, config: str | None = None, pipeline: str | None = None,
                  definition: Mapping[str, Any] | None = None, mode: str = "async", timeout: float | None = None,
                  max_duration_seconds: float | None = None) -> StreamExecution:
        """Start a streaming pipeline: a config file of the streams folder (and a ``pipeline`` of it),
        or a ``definition``."""
        body = clean({"config": config, "pipeline": pipeline, "definition": dict(definition) if definition else None,
                      "mode": mode, "timeout": timeout, "max_duration_seconds": max_duration_seconds})
        return self._client.data(StreamExecution, "POST", "/stream/run", json=body)

    def status(self, execution_id: str) -> StreamExecution:
        return self._client.data(
            StreamExecution, "GET", "/stream/status", params={"execution_id": execution_id})

    def list(self, *, state: str | None = None, limit: int = 50, offset: int = 0) -> Page[StreamExecution]:
        return self._client.page(StreamExecution, "/stream/status",
                                       {"state": state, "limit": limit, "offset": offset})

    def stop(self, execution_id: str, *, timeout: float | None = None,
                   reason: str | None = None) -> StreamExecution:
        body = clean({"execution_id": execution_id, "timeout": timeout, "reason": reason})
        return self._client.data(StreamExecution, "POST", "/stream/stop", json=body)


class ApiKeys(_Resource):
    def create(self, name: str, grants: Iterable[Mapping[str, Any]], *, expires_at: str | None = None,
                     idempotency_key: str | None = None) -> IssuedApiKey:
        """A new key; ``key`` (its value) is in this answer only. A grant: ``{"role": "admin"}``,
        ``{"role": "viewer", "project_id": "proj_..."}``."""
        body = clean({"name": name, "grants": [dict(g) for g in grants], "expires_at": expires_at})
        return self._client.data(IssuedApiKey, "POST", "/api-keys", json=body,
                                       headers=idempotency(idempotency_key))

    def get(self, key_id: str) -> ApiKey:
        return self._client.data(ApiKey, "GET", f"/api-keys/{key_id}")

    def revoke(self, key_id: str) -> ApiKey:
        return self._client.data(ApiKey, "DELETE", f"/api-keys/{key_id}")

    def list(self, *, revoked: bool | None = None, limit: int = 50, offset: int = 0) -> Page[ApiKey]:
        return self._client.page(ApiKey, "/api-keys", {"revoked": revoked, "limit": limit, "offset": offset})

    def iter(self, *, revoked: bool | None = None) -> Iterator[ApiKey]:
        return self._client.iterate(ApiKey, "/api-keys", {"revoked": revoked})


class Auth(_Resource):
    def token(self) -> Token:
        """A bearer token for the API key this client sends."""
        return self._client.data(Token, "POST", "/auth/token")

    def whoami(self) -> WhoAmI:
        return self._client.data(WhoAmI, "GET", "/auth/whoami")


class DeadLetters(_Resource):
    def get(self, command_id: str) -> DeadLetter:
        return self._client.data(DeadLetter, "GET", f"/dead-letters/{command_id}")

    def list(self, *, service: str | None = None, type: str | None = None, limit: int = 50,
                   offset: int = 0) -> Page[DeadLetter]:
        return self._client.page(DeadLetter, "/dead-letters", {
            "service": service, "type": type, "limit": limit, "offset": offset})

    def iter(self, *, service: str | None = None, type: str | None = None) -> Iterator[DeadLetter]:
        return self._client.iterate(DeadLetter, "/dead-letters", {"service": service, "type": type})
