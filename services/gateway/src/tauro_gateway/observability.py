"""Request observability: a server span per request, Prometheus request metrics by route
template and status, log fields (request id, run id) and an access log line.

Pure ASGI, so streamed responses (SSE) pass through. It sits inside
``RequestContextMiddleware`` and reads the request id that one chose. An incoming W3C
``traceparent`` is continued; every response carries ``X-Trace-Id``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from fastapi.routing import iter_route_contexts
from opentelemetry.trace import Status, StatusCode
from prometheus_client import Counter, Histogram
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tauro_platform.observability.logcontext import bind
from tauro_platform.observability.metrics import FAST_BUCKETS
from tauro_platform.observability.tracing import SpanKind, current_ids, span

log = logging.getLogger("tauro.gateway.access")

HTTP_REQUESTS = Counter("tauro_http_requests", "HTTP requests answered by the gateway", ["method", "route", "status"])
HTTP_SECONDS = Histogram("tauro_http_request_duration_seconds", "Time to the end of the gateway's response",
                         ["method", "route"], buckets=FAST_BUCKETS)
QUIET_PATHS = ("/health", "/metrics", "/api/v1/health", "/api/v1/metrics")
_IDS = {"run_id": re.compile(r"/runs/(run_[A-Za-z0-9_.\-]{1,128})"),
        "project_id": re.compile(r"/projects/(proj_[A-Za-z0-9_.\-]{1,128})")}


Templates = dict[int, list[tuple[re.Pattern[str], str]]]


def _templates(app: Any) -> Templates:
    """Each route's full path templates (with the prefixes it was included under), with their
    regexes: a route included twice (``/health`` and ``/api/v1/health``) has two."""
    found: Templates = {}
    for context in iter_route_contexts(getattr(app, "routes", [])):
        if context.path:
            found.setdefault(id(context.original_route), []).append((compile_path(context.path)[0], context.path))
    return found


def _path_ids(path: str) -> dict[str, str]:
    found = {}
    for name, pattern in _IDS.items():
        match = pattern.search(path)
        if match:
            found[name] = match.group(1)
    return found


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: Templates | None = None

    def _route(self, scope: Scope, status: int) -> str:
        """The route template (``/api/v1/runs/{run_id}``), so labels stay few whatever the ids."""
        route = scope.get("route")
        if route is None:
            return "<unmatched>" if status == 404 else "<other>"
        if self._templates is None:
            self._templates = _templates(scope.get("app"))
        for regex, template in self._templates.get(id(route), ()):
            if regex.match(scope.get("path", "")):
                return template
        return str(getattr(route, "path", "<other>"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope.get("path", "")
        request_id = scope.get("state", {}).get("request_id")
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k in (b"traceparent", b"tracestate")}
        status = 500
        started = time.perf_counter()
        attributes: dict[str, Any] = {"http.request.method": method, "url.path": path, "tauro.request_id": request_id}
        with (
            span(method, kind=SpanKind.SERVER, parent=carrier, attributes=attributes) as current,
            bind(request_id=request_id, **_path_ids(path)),
        ):
            ids = current_ids()

            async def send_observed(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if ids is not None:
                        message["headers"] = [*message.get("headers", []), (b"x-trace-id", ids[0].encode())]
                await send(message)

            try:
                await self.app(scope, receive, send_observed)
            finally:
                route = self._route(scope, status)
                elapsed = time.perf_counter() - started
                current.update_name(f"{method} {route}")
                current.set_attribute("http.route", route)
                current.set_attribute("http.response.status_code", status)
                if status >= 500:
                    current.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
                HTTP_SECONDS.labels(method=method, route=route).observe(elapsed)
                level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
                log.log(level, f"{method} {path} {status}", extra={
                    "method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 1)})
