"""One SERVER span per HTTP request (issue 17): the gateway's own request span
(``ObservabilityMiddleware``), not also FastAPI's native request span of the same name
around it, which the locked FastAPI turns on by default."""

from __future__ import annotations

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

API = "/api/v1"


def _of_trace(spans: InMemorySpanExporter, response: httpx.Response) -> list[ReadableSpan]:
    trace_id = response.headers["x-trace-id"]
    return [s for s in spans.get_finished_spans()
            if s.context is not None and format(s.context.trace_id, "032x") == trace_id]


async def test_each_request_has_exactly_one_server_span(api: httpx.AsyncClient, spans: InMemorySpanExporter) -> None:
    spans.clear()
    created = await api.post(f"{API}/projects", json={"name": "one-server-span"})
    assert created.status_code == 201, created.text
    listed = await api.get(f"{API}/projects/{created.json()['data']['id']}")
    assert listed.status_code == 200, listed.text
    missing = await api.get(f"{API}/projects/proj_nope")
    assert missing.status_code == 404

    for response, name, route in ((created, "POST /api/v1/projects", "/api/v1/projects"),
                                  (listed, "GET /api/v1/projects/{project_id}", "/api/v1/projects/{project_id}"),
                                  (missing, "GET /api/v1/projects/{project_id}", "/api/v1/projects/{project_id}")):
        mine = _of_trace(spans, response)
        servers = [s for s in mine if s.kind == SpanKind.SERVER]
        assert [s.name for s in servers] == [name], [(s.name, s.instrumentation_scope) for s in mine]
        (server,) = servers
        assert server.attributes is not None and server.attributes["http.route"] == route
        assert server.attributes["http.response.status_code"] == response.status_code
        assert server.parent is None, "the request's span is the root of its trace"
        assert not [s.name for s in mine if s.name.startswith("fastapi.")], "no FastAPI operation spans either"
