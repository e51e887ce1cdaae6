"""Tauro's Grafana dashboards, built with grafana-foundation-sdk's typed builders.

One function per dashboard; ``DASHBOARDS`` maps each file name under ``dashboards/`` to
its builder. Every query runs on the Prometheus data source provisioned with the fixed
uid ``DATASOURCE_UID`` (``provisioning/datasources/prometheus.yml``) and reads the
metrics of ``tauro_platform.observability.metrics`` and the gateway's HTTP metrics,
aggregated the way deploy/prometheus/prometheus.yml says: counters are per process, so
they are summed over replicas; gauges read from shared state (active runs, consumer lag,
heartbeat ages) are the same on every replica, so they take the max.
``generate.py`` writes them; a test keeps the committed JSON equal to this code and checks
that every metric a panel queries exists on a running deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import prometheus as prometheus_models
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
)

DATASOURCE_UID = "tauro-prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
TAGS = ["tauro"]
RATE_WINDOW = "5m"


@dataclass
class Query:
    """A PromQL expression and the legend of its series."""

    expr: str
    legend: str = ""


@dataclass
class Board:
    """Panel ids in build order, so the generated JSON is stable."""

    builder: dashboard_builders.Dashboard
    next_id: int = field(default=1)

    def row(self, title: str) -> Board:
        self.builder.with_row(dashboard_builders.Row(title).id(self._id()))
        return self

    def panel(self, panel: Any) -> Board:
        self.builder.with_panel(panel.id(self._id()))
        return self

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _board(uid: str, title: str, description: str) -> Board:
    builder = (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
    )
    return Board(builder)


def _targets(queries: list[Query]) -> list[cogbuilder.Builder[variants.Dataquery]]:
    targets: list[cogbuilder.Builder[variants.Dataquery]] = []
    for ref, query in zip("ABCDEFGH", queries, strict=False):
        target = prometheus.Dataquery().expr(query.expr).ref_id(ref).range().datasource(DATASOURCE)
        if query.legend:
            target = target.legend_format(query.legend)
        targets.append(target)
    return targets


def graph(title: str, description: str, queries: list[Query], unit: str = "short", span: int = 12,
          stacked: bool = False, threshold: float | None = None) -> timeseries.Panel:
    """A time series panel: a legend table with mean/max/last, optionally stacked or with a red line."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries))
        .unit(unit)
        .min(0)
        .span(span)
        .height(8)
        .fill_opacity(10)
        .line_width(1)
        .legend(common_builders.VizLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs(["mean", "max", "lastNotNull"]))
        .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
                 .sort(common.SortOrder.DESCENDING))
    )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    if threshold is not None:
        panel = (panel.thresholds(_thresholds(threshold))
                 .thresholds_style(common_builders.GraphThresholdsStyleConfig()
                                   .mode(common.GraphTresholdsStyleMode.LINE)))
    return panel


def single(title: str, description: str, query: Query, unit: str = "short", warn_at: float | None = None,
           span: int = 6) -> stat.Panel:
    """A stat panel: the last value, red from ``warn_at`` on."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([query]))
        .unit(unit)
        .span(span)
        .height(4)
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .thresholds(_thresholds(warn_at))
    )


def _thresholds(red_from: float | None) -> dashboard_builders.ThresholdsConfig:
    steps = [Threshold(value=None, color="green")]
    if red_from is not None:
        steps.append(Threshold(value=red_from, color="red"))
    return dashboard_builders.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)


def _rate(metric: str, by: str = "") -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}[{RATE_WINDOW}]))"


def _quantile(q: float, histogram: str, by: str = "") -> str:
    keep = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({keep}) (rate({histogram}_bucket[{RATE_WINDOW}])))"


def _quantiles(histogram: str, by: str = "", legend: str = "") -> list[Query]:
    prefix = f"{legend} " if legend else ""
    return [Query(_quantile(q, histogram, by), f"{prefix}p{int(q * 100)}") for q in (0.5, 0.95, 0.99)]


# -- the dashboards ----------------------------------------------------------------------------


def runs_and_tasks() -> dashboard_builders.Dashboard:
    board = _board("tauro-runs-tasks", "Tauro / Runs and tasks",
                   "Pipeline runs and their tasks: outcomes, durations, runs in flight.")
    board.row("Runs")
    board.panel(single("Active runs", "Runs in the RUNNING state (runs read model; max over replicas).",
                       Query("max(tauro_active_runs)")))
    board.panel(single("Runs finished / min", "Runs that reached a final state, per minute.",
                       Query("sum(rate(tauro_runs_total[5m])) * 60"), unit="short"))
    board.panel(single("Failed runs (5m)", "Share of the runs that ended FAILED or TIMED_OUT over 5 minutes.",
                       Query('sum(rate(tauro_runs_total{state=~"FAILED|TIMED_OUT"}[5m])) '
                             "/ clamp_min(sum(rate(tauro_runs_total[5m])), 1e-9)"),
                       unit="percentunit", warn_at=0.1))
    board.panel(single("Tasks finished / min", "Tasks that succeeded or failed, per minute.",
                       Query("sum(rate(tauro_tasks_total[5m])) * 60")))
    board.panel(graph("Runs finished by state", "Runs reaching each final state, per second.",
                      [Query(_rate("tauro_runs_total", "state"), "{{state}}")], unit="ops", stacked=True))
    board.panel(graph("Run duration", "Start to final state: quantiles over 5 minutes.",
                      _quantiles("tauro_run_duration_seconds"), unit="s"))
    board.panel(graph("Active runs", "Runs in the RUNNING state.", [Query("max(tauro_active_runs)", "running")]))
    board.row("Tasks")
    board.panel(graph("Tasks finished by state", "Task outcomes recorded by the runs service, per second.",
                      [Query(_rate("tauro_tasks_total", "state"), "{{state}}")], unit="ops", stacked=True))
    board.panel(graph("Task duration", "Claim to outcome: quantiles over 5 minutes.",
                      _quantiles("tauro_task_duration_seconds"), unit="s"))
    board.row("Services")
    board.panel(graph("Heartbeat age by instance",
                      "Seconds since each service instance wrote its heartbeat (a service gone keeps growing "
                      "until its document is pruned after a day). The alert fires above 30 s.",
                      [Query("max by (service, instance) (tauro_service_heartbeat_age_seconds)",
                             "{{service}} {{instance}}")], unit="s", threshold=30))
    board.panel(table.Panel().title("Service processes")
                .description("tauro_service_info: the services each scraped process hosts, with version and mode.")
                .datasource(DATASOURCE)
                .targets([prometheus.Dataquery().expr("max by (service, version, mode, job) (tauro_service_info)")
                          .ref_id("A").instant().format(prometheus_models.PromQueryFormat.TABLE).datasource(DATASOURCE)])
                .show_header(True).span(12).height(8))
    return board.builder


def api() -> dashboard_builders.Dashboard:
    board = _board("tauro-api", "Tauro / API latency and errors",
                   "The gateway's REST API by route: traffic, errors and latency; commands it sends.")
    board.row("Overview")
    board.panel(single("Requests / s", "All routes.", Query(_rate("tauro_http_requests_total")), unit="reqps"))
    board.panel(single("5xx share", "Server errors over all answers, 5 minutes.",
                       Query('sum(rate(tauro_http_requests_total{status=~"5.."}[5m])) '
                             "/ clamp_min(sum(rate(tauro_http_requests_total[5m])), 1e-9)"),
                       unit="percentunit", warn_at=0.01))
    board.panel(single("4xx share", "Client errors over all answers, 5 minutes.",
                       Query('sum(rate(tauro_http_requests_total{status=~"4.."}[5m])) '
                             "/ clamp_min(sum(rate(tauro_http_requests_total[5m])), 1e-9)"),
                       unit="percentunit", warn_at=0.25))
    board.panel(single("p99 latency", "All routes, 5 minutes.",
                       Query(_quantile(0.99, "tauro_http_request_duration_seconds")), unit="s", warn_at=1))
    board.row("By route")
    board.panel(graph("Requests by route", "Answers per second by method and route template.",
                      [Query(_rate("tauro_http_requests_total", "method, route"), "{{method}} {{route}}")],
                      unit="reqps"))
    board.panel(graph("Errors by route", "4xx and 5xx answers per second by route and status.",
                      [Query('sum by (method, route, status) (rate(tauro_http_requests_total{status=~"[45].."}[5m]))',
                             "{{method}} {{route}} {{status}}")], unit="reqps"))
    board.panel(graph("p95 latency by route", "Time to the end of the response, 95th percentile.",
                      [Query(_quantile(0.95, "tauro_http_request_duration_seconds", "method, route"),
                             "{{method}} {{route}}")], unit="s"))
    board.panel(graph("p99 latency by route", "Time to the end of the response, 99th percentile.",
                      [Query(_quantile(0.99, "tauro_http_request_duration_seconds", "method, route"),
                             "{{method}} {{route}}")], unit="s"))
    board.row("Commands sent")
    board.panel(graph("Commands sent by reply", "Commands the gateway (and services) sent and waited for: "
                      "ok, rejected (a domain answer) or timeout.",
                      [Query(_rate("tauro_commands_sent_total", "type, reply"), "{{type}} {{reply}}")],
                      unit="ops", span=24))
    return board.builder


def kafka() -> dashboard_builders.Dashboard:
    board = _board("tauro-kafka", "Tauro / Kafka consumer lag and commands",
                   "Messages not yet committed by each consumer group, events published, commands processed.")
    board.row("Consumer lag")
    board.panel(single("Max consumer lag", "The largest lag of any group on any topic.",
                       Query("max(tauro_consumer_lag)"), warn_at=1000))
    board.panel(single("Events published / s", "By the outbox relays, all topics.",
                       Query(_rate("tauro_events_published_total")), unit="ops"))
    board.panel(single("Commands / s", "Processed by the services, all outcomes.",
                       Query(_rate("tauro_commands_total")), unit="ops"))
    board.panel(single("Command retries (5m)", "Transient failures retried over 5 minutes.",
                       Query("sum(increase(tauro_command_retries_total[5m]))"), warn_at=1))
    board.panel(graph("Consumer lag by group and topic", "Messages not yet committed (max over replicas: "
                      "every member of a group reports the group's lag).",
                      [Query("max by (group, topic) (tauro_consumer_lag)", "{{group}} {{topic}}")], span=24))
    board.panel(graph("Lag growth by group", "Change of the lag over 5 minutes: above 0 for long, "
                      "a group falls behind.",
                      [Query("max by (group) (deriv(tauro_consumer_lag[5m]))", "{{group}}")]))
    board.panel(graph("Events published by topic", "Outbox relay publishes per second.",
                      [Query(_rate("tauro_events_published_total", "topic"), "{{topic}}")], unit="ops"))
    board.row("Commands")
    board.panel(graph("Commands by type and outcome", "accepted, rejected, duplicate or failed, per second.",
                      [Query(_rate("tauro_commands_total", "type, outcome"), "{{type}} {{outcome}}")], unit="ops"))
    board.panel(graph("Command processing p95 by type", "Time to decide and append, 95th percentile.",
                      [Query(_quantile(0.95, "tauro_command_duration_seconds", "type"), "{{type}}")], unit="s"))
    board.panel(graph("Command retries by service", "Transient failures retried, per second.",
                      [Query(_rate("tauro_command_retries_total", "service, type"), "{{service}} {{type}}")],
                      unit="ops"))
    board.panel(graph("Commands dead-lettered by service", "Commands set aside on the dead-letter topic.",
                      [Query(_rate("tauro_commands_dead_lettered_total", "service, type"), "{{service}} {{type}}")],
                      unit="ops"))
    return board.builder


def scheduler() -> dashboard_builders.Dashboard:
    board = _board("tauro-scheduler", "Tauro / Scheduler lateness",
                   "How late schedules fire after their due time (the alert fires when p99 is over 5 s).")
    board.row("Lateness")
    board.panel(single("Lateness p99 (5m)", "All kinds.",
                       Query(_quantile(0.99, "tauro_schedule_lateness_seconds")), unit="s", warn_at=5))
    board.panel(single("Firings / min", "Schedule firings, per minute.",
                       Query("sum(rate(tauro_schedule_lateness_seconds_count[5m])) * 60")))
    board.panel(single("Mean lateness (5m)", "All kinds.",
                       Query("sum(rate(tauro_schedule_lateness_seconds_sum[5m])) "
                             "/ clamp_min(sum(rate(tauro_schedule_lateness_seconds_count[5m])), 1e-9)"),
                       unit="s", warn_at=1))
    board.panel(single("Active runs", "Runs in flight, for context.", Query("max(tauro_active_runs)")))
    board.panel(graph("Lateness quantiles", "After the due time, over 5 minutes; the red line is the 5 s alert.",
                      _quantiles("tauro_schedule_lateness_seconds"), unit="s", threshold=5))
    board.panel(graph("Lateness p99 by kind", "cron and interval firings (backfills are not due, so not late).",
                      [Query(_quantile(0.99, "tauro_schedule_lateness_seconds", "kind"), "{{kind}}")], unit="s"))
    board.panel(graph("Firings by kind", "Per second.",
                      [Query(_rate("tauro_schedule_lateness_seconds_count", "kind"), "{{kind}}")], unit="ops"))
    board.panel(graph("Scheduler command lag", "Commands waiting for the scheduler service's consumer group.",
                      [Query('max by (group, topic) (tauro_consumer_lag{group=~"tauro-scheduler.*"})',
                             "{{group}} {{topic}}")]))
    return board.builder


def event_store() -> dashboard_builders.Dashboard:
    board = _board("tauro-event-store", "Tauro / Event store",
                   "Appends to the MongoDB event store: latency and events appended, and what the relays publish.")
    board.row("Appends")
    board.panel(single("Append p99 (5m)", "All services.",
                       Query(_quantile(0.99, "tauro_event_append_duration_seconds")), unit="s", warn_at=0.25))
    board.panel(single("Appends / s", "Append calls (one may hold many events).",
                       Query("sum(rate(tauro_event_append_duration_seconds_count[5m]))"), unit="ops"))
    board.panel(single("Events appended / s", "All types.", Query(_rate("tauro_events_appended_total")), unit="ops"))
    board.panel(single("Unpublished backlog growth / s", "Appended minus published: above 0 for long, the "
                       "relays fall behind.",
                       Query(f"{_rate('tauro_events_appended_total')} - {_rate('tauro_events_published_total')}"),
                       unit="ops", warn_at=10))
    board.panel(graph("Append latency", "One append (one or more streams, one write), quantiles over 5 minutes.",
                      _quantiles("tauro_event_append_duration_seconds"), unit="s"))
    board.panel(graph("Mean append latency by job", "Per scraped service.",
                      [Query("sum by (job) (rate(tauro_event_append_duration_seconds_sum[5m])) / clamp_min("
                             "sum by (job) (rate(tauro_event_append_duration_seconds_count[5m])), 1e-9)",
                             "{{job}}")], unit="s"))
    board.row("Events")
    board.panel(graph("Events appended by type", "Per second.",
                      [Query(_rate("tauro_events_appended_total", "type"), "{{type}}")], unit="ops", stacked=True))
    board.panel(graph("Appended vs published", "Events appended to the store and published by the relays.",
                      [Query(_rate("tauro_events_appended_total"), "appended"),
                       Query(_rate("tauro_events_published_total"), "published")], unit="ops"))
    return board.builder


def streaming() -> dashboard_builders.Dashboard:
    board = _board("tauro-streaming", "Tauro / Streaming throughput and dead letters",
                   "Kafka-native stream pipelines: records in and out, records and commands set aside.")
    board.row("Throughput")
    board.panel(single("Records in / s", "All pipelines.",
                       Query('sum(rate(tauro_stream_records_total{direction="in"}[5m]))'), unit="ops"))
    board.panel(single("Records out / s", "All pipelines.",
                       Query('sum(rate(tauro_stream_records_total{direction="out"}[5m]))'), unit="ops"))
    board.panel(single("Stream dead letters (5m)", "Records set aside on the pipelines' dead-letter topics.",
                       Query("sum(increase(tauro_stream_dead_letters_total[5m]))"), warn_at=1))
    board.panel(single("Commands dead-lettered (5m)", "Commands no retry can help, all services.",
                       Query("sum(increase(tauro_commands_dead_lettered_total[5m]))"), warn_at=1))
    board.panel(graph("Records by pipeline and direction", "Consumed (in) and written to the output (out).",
                      [Query(_rate("tauro_stream_records_total", "pipeline, direction"), "{{pipeline}} {{direction}}")],
                      unit="ops"))
    board.panel(graph("Kept share by pipeline", "Records out over records in (filters and windows keep fewer).",
                      [Query('sum by (pipeline) (rate(tauro_stream_records_total{direction="out"}[5m])) / clamp_min('
                             'sum by (pipeline) (rate(tauro_stream_records_total{direction="in"}[5m])), 1e-9)',
                             "{{pipeline}}")], unit="percentunit"))
    board.row("Dead letters and lag")
    board.panel(graph("Stream dead letters by pipeline", "Records set aside, per second (reasons in the "
                      "dead-letter records' headers).",
                      [Query(_rate("tauro_stream_dead_letters_total", "pipeline"), "{{pipeline}}")], unit="ops"))
    board.panel(graph("Commands dead-lettered", "By service and command type, per second "
                      "(GET /api/v1/dead-letters lists them).",
                      [Query(_rate("tauro_commands_dead_lettered_total", "service, type"), "{{service}} {{type}}")],
                      unit="ops"))
    board.panel(graph("Streaming service command lag", "Commands waiting for the streaming service's consumer "
                      "group (a pipeline's own lag is in GET /api/v1/stream/status).",
                      [Query('max by (group, topic) (tauro_consumer_lag{group=~"tauro-streaming.*"})',
                             "{{group}} {{topic}}")], span=24))
    return board.builder


DASHBOARDS: dict[str, Callable[[], dashboard_builders.Dashboard]] = {
    "tauro-runs-tasks.json": runs_and_tasks,
    "tauro-api.json": api,
    "tauro-kafka.json": kafka,
    "tauro-scheduler.json": scheduler,
    "tauro-event-store.json": event_store,
    "tauro-streaming.json": streaming,
}
