"""What a service process turns on at start-up, from its settings: the process-wide
defaults (instance id, heartbeat and sampling intervals), the tracer provider and
exporter, and the per-service ``/metrics`` server (``METRICS_PORT``, 0 = off)."""

from __future__ import annotations

import logging

from tauro_platform.observability.identity import DEFAULTS, VERSION
from tauro_platform.observability.metrics import MetricsServer
from tauro_platform.observability.tracing import Tracing
from tauro_platform.settings import Settings

log = logging.getLogger("tauro.observability")


class ProcessObservability:
    def __init__(self, tracing: Tracing, metrics: MetricsServer | None) -> None:
        self.tracing = tracing
        self.metrics = metrics

    @classmethod
    def start(cls, service: str, settings: Settings) -> ProcessObservability:
        configure_defaults(settings)
        tracing = Tracing.configure(service, settings, DEFAULTS.instance_id, VERSION)
        metrics = None
        if settings.metrics_port:
            metrics = MetricsServer(settings.metrics_host, settings.metrics_port)
            metrics.start()
        return cls(tracing, metrics)

    def stop(self) -> None:
        if self.metrics is not None:
            self.metrics.stop()
        self.tracing.shutdown()


def configure_defaults(settings: Settings) -> None:
    """The instance id and intervals the heartbeats and lag monitors of this process use."""
    if settings.tauro_instance_id:
        DEFAULTS.instance_id = settings.tauro_instance_id
    DEFAULTS.heartbeat_seconds = settings.service_heartbeat_seconds
    DEFAULTS.sample_seconds = settings.metrics_sample_seconds
    DEFAULTS.mode = settings.tauro_mode
