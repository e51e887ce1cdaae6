"""OpenTelemetry traces: SDK set-up from the ``OTEL_*`` settings and W3C context propagation.

A trace starts at the gateway's request span and follows the work through Kafka: the
command sender puts the W3C ``traceparent`` into the command envelope's
``trace_context`` (and the message headers), the command processor continues it, the
events it decides carry the processing span's context, and whoever consumes those
events (the executor's task attempts) continues from there. Work a service starts on its
own for a run (the dispatcher's slots, the reaper's expiries and time-outs) continues the
trace context recorded on the event that queued the run, so a run is one trace, retries
included. The gateway's request span is the only SERVER span of a request: FastAPI's own
request tracing is turned off in ``tauro_gateway.app``.

Export: OTLP over HTTP/protobuf (``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf``, the
default, port 4318) or gRPC (``grpc``, port 4317) to ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_ENDPOINT``. Without an endpoint, or with
``OTEL_TRACES_EXPORTER=none``, nothing is exported and a trace that starts in this process
is not recorded (its spans cost ids and a context, not attributes and a span processor), but
spans still get ids, so contexts propagate and log lines carry trace ids; a sampled trace
continued from another process is still recorded, so the spans of services that do export
stay connected.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("tauro.tracing")

_PROPAGATOR = TraceContextTextMapPropagator()
TRACER = "tauro"
TRACE_HEADERS = ("traceparent", "tracestate")
GRPC_EXTRA_MISSING = (
    "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the OTLP gRPC exporter, an optional extra: install "
    "'tauro-platform[grpc]' (it pulls grpcio), or export over HTTP with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
)

__all__ = ["Span", "SpanKind", "Status", "StatusCode", "Tracing", "current_ids", "extract_context", "inject_context",
           "span"]


def inject_context(context: Context | None = None) -> dict[str, str]:
    """The W3C ``traceparent`` (and ``tracestate``) of the current span, or ``{}`` outside one."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context)
    return carrier


def extract_context(carrier: Mapping[str, str]) -> Context:
    return _PROPAGATOR.extract({k.lower(): v for k, v in carrier.items() if k.lower() in TRACE_HEADERS})


def current_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` in hex of the current span, if there is a recording or remote one."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


@functools.cache
def _tracer() -> trace.Tracer:
    """One tracer for the process (a proxy until a provider is set, which it then follows):
    ``get_tracer`` builds a new one, comparing instrumentation scopes, on every call."""
    return trace.get_tracer(TRACER)


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Mapping[str, str] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span made current for the block. ``parent``: a W3C carrier to continue (an envelope's
    ``trace_context`` or message headers); when empty or absent the current context is the parent.
    An exception leaving the block is recorded and marks the span as an error."""
    context = extract_context(parent) if parent else None
    tracer = _tracer()
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=attrs, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except Exception as exc:
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


class Tracing:
    """The process's tracer provider; ``shutdown`` flushes spans still queued for export."""

    def __init__(self, provider: Any | None, exporter: str) -> None:
        self._provider = provider
        self.exporter = exporter

    @classmethod
    def configure(cls, service: str, settings: Any, instance_id: str, version: str) -> Tracing:
        if settings.otel_sdk_disabled:
            return cls(None, "disabled")
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

        resource = Resource.create({
            "service.name": settings.otel_service_name or f"tauro-{service}",
            "service.namespace": "tauro",
            "service.version": version,
            "service.instance.id": instance_id,
            "deployment.environment.name": settings.tauro_mode,
        })
        exporter, description = _exporter(settings)
        # With an exporter: the sampler of OTEL_TRACES_SAMPLER (parent-based, always on by default).
        provider = TracerProvider(resource=resource, sampler=None if exporter else ParentBased(ALWAYS_OFF))
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        log.info("tracing configured", extra={"exporter": description})
        return cls(provider, description)

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None


def traces_endpoint(settings: Any) -> tuple[str | None, str]:
    """``(endpoint, protocol)`` for trace export, as the OTel specification resolves them."""
    protocol = settings.otel_exporter_otlp_traces_protocol or settings.otel_exporter_otlp_protocol
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint, protocol
    base = settings.otel_exporter_otlp_endpoint
    if not base:
        return None, protocol
    if protocol == "grpc":
        return base, protocol
    return base.rstrip("/") + "/v1/traces", protocol


def _exporter(settings: Any) -> tuple[Any | None, str]:
    choice = (settings.otel_traces_exporter or "otlp").lower()
    if choice == "none":
        return None, "none"
    if choice == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(), "console"
    endpoint, protocol = traces_endpoint(settings)
    if endpoint is None:
        return None, "none (no OTLP endpoint set)"
    if protocol == "grpc":
        try:  # an extra (it pulls grpcio): pip install 'tauro-platform[grpc]'
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
        except ImportError as exc:
            raise RuntimeError(GRPC_EXTRA_MISSING) from exc

        return GrpcExporter(endpoint=endpoint), f"otlp grpc {endpoint}"
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint), f"otlp http/protobuf {endpoint}"
