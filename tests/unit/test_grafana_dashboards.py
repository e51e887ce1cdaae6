"""The Grafana dashboards as code (deploy/grafana): the committed JSON is what the generator
writes, it reads back through grafana-foundation-sdk's typed models unchanged, every panel
queries the provisioned Prometheus data source, and every metric a panel names is one that
Tauro's code declares. (tests/e2e/test_grafana_metrics.py checks them on a running deployment.)"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog import plugins, runtime
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import prometheus
from grafana_foundation_sdk.models.dashboard import Dashboard, Panel, RowPanel

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
METRIC = re.compile(r"\btauro_[a-z0-9_]+\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def load_generator() -> ModuleType:
    """``deploy/grafana/generate.py`` (a script folder, not a package)."""
    if str(GRAFANA) not in sys.path:
        sys.path.insert(0, str(GRAFANA))
    return importlib.import_module("generate")


def load_dashboards() -> ModuleType:
    """``deploy/grafana/tauro_dashboards.py``, the definitions."""
    load_generator()
    return importlib.import_module("tauro_dashboards")


def committed() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted((GRAFANA / "dashboards").glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every non-row panel, including those inside (collapsed) rows."""
    found = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            found += panel.get("panels", [])
        else:
            found.append(panel)
    return found


def queried_metrics(dashboards: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Metric name (as exposed: counters with _total, histogram series with their suffix) -> panels."""
    found: dict[str, set[str]] = {}
    for name, dashboard in dashboards.items():
        for panel in panels(dashboard):
            for target in panel["targets"]:
                for metric in METRIC.findall(target["expr"]):
                    found.setdefault(metric, set()).add(f"{name}: {panel['title']}")
    return found


def family_of(sample_name: str, families: set[str]) -> str | None:
    """The declared family a sample name belongs to (``tauro_runs_total`` -> ``tauro_runs``)."""
    if sample_name in families:
        return sample_name
    for suffix in ("_total", *HISTOGRAM_SUFFIXES):
        if sample_name.endswith(suffix) and sample_name.removesuffix(suffix) in families:
            return sample_name.removesuffix(suffix)
    return None


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    generator = load_generator()
    assert generator.drifted() == [], "regenerate: python3 -m uv run python deploy/grafana/generate.py"
    assert set(committed()) == set(generator.render()) == {
        "tauro-runs-tasks.json", "tauro-api.json", "tauro-kafka.json", "tauro-scheduler.json",
        "tauro-event-store.json", "tauro-streaming.json"}


def test_generate_check_reports_a_drifted_file(tmp_path: Path) -> None:
    generator = load_generator()
    generator.write(tmp_path)
    assert generator.drifted(tmp_path) == []
    (tmp_path / "tauro-api.json").write_text("{}\n")
    (tmp_path / "stale.json").write_text("{}\n")
    assert generator.drifted(tmp_path) == ["stale.json", "tauro-api.json"]


@pytest.mark.parametrize("name", sorted(committed()))
def test_each_dashboard_reads_back_through_the_sdk_models_unchanged(name: str) -> None:
    """With the SDK's panel and data-query plugins registered, ``from_json`` decodes panels'
    options and targets into their typed models; a field the schema does not know is dropped
    on the way, so the round trip would differ."""
    plugins.register_default_plugins()
    data = committed()[name]
    model = Dashboard.from_json(data)
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == data
    known_panels = set(runtime.Runtime().panelcfg_variants)
    assert model.panels
    for panel in model.panels:
        assert isinstance(panel, Panel | RowPanel)
        inner = panel.panels if isinstance(panel, RowPanel) else [panel]
        for leaf in inner:
            assert isinstance(leaf, Panel) and leaf.type_val in known_panels
            assert leaf.targets and all(isinstance(t, prometheus.Dataquery) for t in leaf.targets), leaf.title


@pytest.mark.parametrize("name", sorted(committed()))
def test_each_dashboard_has_the_required_fields_and_a_sane_layout(name: str) -> None:
    definitions = load_dashboards()
    dashboard = committed()[name]
    uid = definitions.DASHBOARDS[name]().build().uid
    assert dashboard["uid"] == uid == name.removesuffix(".json") and len(uid) <= 40
    assert dashboard["title"].startswith("Tauro / ") and "tauro" in dashboard["tags"]
    assert isinstance(dashboard["schemaVersion"], int)
    ids = [p["id"] for p in dashboard["panels"]] + [p["id"] for p in panels(dashboard) if p not in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["h"] > 0 and 0 <= pos["x"] and pos["x"] + pos["w"] <= 24
        mine = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    for panel in panels(dashboard):
        assert panel["title"] and panel["description"], panel
        assert panel["datasource"] == {"type": "prometheus", "uid": definitions.DATASOURCE_UID}
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == definitions.DATASOURCE_UID
            expr = target["expr"]
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
            assert METRIC.search(expr), f"{panel['title']}: no Tauro metric in {expr}"


def test_dashboard_uids_are_unique() -> None:
    uids = [d["uid"] for d in committed().values()]
    assert len(uids) == len(set(uids))


def test_every_queried_metric_is_declared_by_tauro() -> None:
    """Against the collectors the code declares (the running check is the e2e test)."""
    import tauro_gateway.observability  # noqa: F401  (declares the HTTP metrics)
    import tauro_platform.observability.metrics  # noqa: F401
    from prometheus_client import REGISTRY

    declared = {m.name: m.type for m in REGISTRY.collect() if m.name.startswith("tauro_")}
    for metric, where in queried_metrics(committed()).items():
        family = family_of(metric, set(declared))
        assert family is not None, f"{metric} (in {sorted(where)}) is not a Tauro metric"
        if metric.endswith(HISTOGRAM_SUFFIXES):
            assert declared[family] == "histogram", metric
        elif declared[family] == "counter":
            assert metric.endswith("_total"), f"{metric}: counters are exposed as <name>_total"
        else:
            assert declared[family] == "gauge" and metric == family, metric


def test_the_dashboards_cover_the_operator_topics() -> None:
    metrics = set(queried_metrics(committed()))
    assert {
        "tauro_runs_total", "tauro_run_duration_seconds_bucket", "tauro_active_runs", "tauro_tasks_total",
        "tauro_task_duration_seconds_bucket", "tauro_service_heartbeat_age_seconds",
        "tauro_http_requests_total", "tauro_http_request_duration_seconds_bucket", "tauro_consumer_lag",
        "tauro_schedule_lateness_seconds_bucket", "tauro_event_append_duration_seconds_bucket",
        "tauro_events_appended_total", "tauro_events_published_total", "tauro_stream_records_total",
        "tauro_stream_dead_letters_total", "tauro_commands_dead_lettered_total",
    } <= metrics


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards() -> None:
    definitions = load_dashboards()
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = sources["datasources"]
    assert source["uid"] == definitions.DATASOURCE_UID and source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090" and source["access"] == "proxy"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "tauro.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/tauro"
