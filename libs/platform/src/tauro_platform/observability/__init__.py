"""Seeing inside Tauro: Prometheus metrics, OpenTelemetry traces, log context, heartbeats, health.

Everything here lives in the shared platform so every service gets it by using the
runtime: command processing, command sending, event-store appends and the outbox relay
are traced and counted; ``ServiceHost`` heartbeats and reports its consumer lag.

- ``metrics``: the process's Prometheus collectors and the per-service ``/metrics`` server.
- ``tracing``: SDK set-up from the ``OTEL_*`` settings, W3C context in envelopes and headers.
- ``logcontext``: request id, run id, ... bound to the current task for JSON log lines.
- ``store``: the event store wrapper that traces and counts appends.
- ``heartbeat`` / ``lag``: liveness documents and consumer-lag gauges, per service.
- ``health``: dependency probes with short timeouts and heartbeat freshness.
- ``setup``: what a service process turns on at start-up.
"""
