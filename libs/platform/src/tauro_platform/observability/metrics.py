"""The Prometheus collectors of a Tauro process, on the default registry.

In the distributed mode each service exposes them on its own small HTTP server
(``METRICS_PORT``, loopback by default; 0 turns it off) and the gateway on ``/metrics``;
in the embedded mode everything is in one process, so the gateway's ``/metrics`` shows
all of them. Counters are per process: sum them across replicas; the gauges that read
shared state (active runs, consumer lag) are the same on every replica: take the max.
``tauro_service_heartbeat_age_seconds`` is read from the heartbeat documents by the gateway
(``heartbeat_age.HeartbeatAges``), so a service that is gone keeps a growing age until its
document is pruned; several gateways report the same values: take the max (or the min per
service, as the "service without heartbeat" alert does).
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger("tauro.metrics")

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

RUNS_TOTAL = Counter("tauro_runs", "Pipeline runs that reached a final state", ["state"])
RUN_DURATION = Histogram("tauro_run_duration_seconds", "Pipeline run duration, start to final state",
                         buckets=DURATION_BUCKETS)
ACTIVE_RUNS = Gauge("tauro_active_runs", "Pipeline runs in the RUNNING state (from the runs read model)")

TASKS_TOTAL = Counter("tauro_tasks", "Task attempts that reached a final state (SUCCESS, FAILED, TIMED_OUT, "
                      "CANCELLED; a failed attempt that is retried counts as FAILED)", ["state"])
TASK_DURATION = Histogram("tauro_task_duration_seconds",
                          "Task attempt duration as the executor measured it (attempts lost with their "
                          "executor have none)", buckets=TASK_BUCKETS)

EVENTS_APPENDED = Counter("tauro_events_appended", "Events appended to the event store", ["type"])
APPEND_SECONDS = Histogram("tauro_event_append_duration_seconds", "Event store append latency",
                           buckets=FAST_BUCKETS)
EVENTS_PUBLISHED = Counter("tauro_events_published", "Events published on the bus by the outbox relay", ["topic"])

COMMANDS = Counter("tauro_commands", "Commands processed, by outcome (accepted, rejected, duplicate, failed)",
                   ["type", "outcome"])
COMMAND_SECONDS = Histogram("tauro_command_duration_seconds", "Command processing time", ["type"],
                            buckets=FAST_BUCKETS)
COMMANDS_SENT = Counter("tauro_commands_sent", "Commands sent and waited for, by reply (ok, rejected, timeout)",
                        ["type", "reply"])

COMMANDS_DEAD_LETTERED = Counter("tauro_commands_dead_lettered",
                                 "Commands set aside on the dead-letter topic after a failure no retry can help",
                                 ["service", "type"])
COMMAND_RETRIES = Counter("tauro_command_retries", "Command processing retried after a transient failure",
                          ["service", "type"])

CONSUMER_LAG = Gauge("tauro_consumer_lag", "Messages not yet committed by a consumer group", ["group", "topic"])

SCHEDULE_LATENESS = Histogram("tauro_schedule_lateness_seconds",
                              "How late a schedule fired after its due time", ["kind"],
                              buckets=LATENESS_BUCKETS)

SERVICE_HEARTBEAT_AGE = Gauge("tauro_service_heartbeat_age_seconds",
                              "Seconds since the last heartbeat of each registered service instance "
                              "(from the heartbeat documents, until a document is pruned)",
                              ["service", "instance"])

STREAM_RECORDS = Counter("tauro_stream_records",
                         "Records consumed (direction=in) and written to the output topic (direction=out) by "
                         "streaming pipelines", ["pipeline", "direction"])
STREAM_DEAD_LETTERS = Counter("tauro_stream_dead_letters", "Records a streaming pipeline set aside on its "
                              "dead-letter topic", ["pipeline"])

SERVICE_INFO = Gauge("tauro_service_info", "Services hosted by this process (always 1)",
                     ["service", "version", "mode"])

__all__ = [
    "ACTIVE_RUNS", "APPEND_SECONDS", "COMMANDS", "COMMANDS_DEAD_LETTERED", "COMMANDS_SENT", "COMMAND_RETRIES",
    "COMMAND_SECONDS", "CONSUMER_LAG",
    "CONTENT_TYPE_LATEST", "EVENTS_APPENDED", "EVENTS_PUBLISHED", "RUNS_TOTAL", "RUN_DURATION",
    "SCHEDULE_LATENESS", "SERVICE_HEARTBEAT_AGE", "SERVICE_INFO", "STREAM_DEAD_LETTERS", "STREAM_RECORDS",
    "TASKS_TOTAL", "TASK_DURATION", "MetricsServer", "count_stream_records", "observe_schedule_lateness", "render",
]


def observe_schedule_lateness(seconds: float, kind: str = "cron") -> None:
    """The scheduler's hook: record how late a firing was (negative values count as 0)."""
    SCHEDULE_LATENESS.labels(kind=kind).observe(max(0.0, seconds))


def count_stream_records(pipeline: str, records_in: int, records_out: int, dead_lettered: int) -> None:
    """The streaming worker's hook, once a batch's outputs are written."""
    if records_in:
        STREAM_RECORDS.labels(pipeline=pipeline, direction="in").inc(records_in)
    if records_out:
        STREAM_RECORDS.labels(pipeline=pipeline, direction="out").inc(records_out)
    if dead_lettered:
        STREAM_DEAD_LETTERS.labels(pipeline=pipeline).inc(dead_lettered)


def render() -> bytes:
    """The exposition text of every collector in this process."""
    return generate_latest(REGISTRY)


class MetricsServer:
    """``/metrics`` on its own port for a service process without an HTTP API."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: Any = None

    def start(self) -> None:
        from prometheus_client import start_http_server

        self._server, _thread = start_http_server(self.port, addr=self.host)
        self.port = self._server.server_port
        log.info("metrics served", extra={"metrics_url": f"http://{self.host}:{self.port}/metrics"})

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
