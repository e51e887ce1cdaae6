"""Which OTLP span exporter the settings select: HTTP/protobuf by default (no extra needed),
gRPC only with the ``tauro-platform[grpc]`` extra, and a clear error when it is missing."""

from __future__ import annotations

import sys
from importlib.metadata import requires
from typing import Any

import pytest
from tauro_platform.observability.tracing import GRPC_EXTRA_MISSING, _exporter
from tauro_platform.settings import Settings

GRPC_MODULE = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_default_export_is_otlp_over_http() -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter, description = _exporter(settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4318"))
    assert isinstance(exporter, OTLPSpanExporter)
    assert description == "otlp http/protobuf http://127.0.0.1:4318/v1/traces"
    exporter.shutdown()


def test_grpc_export_uses_the_extra_when_installed() -> None:
    grpc_exporter = pytest.importorskip(GRPC_MODULE, reason="the tauro-platform[grpc] extra is not installed")
    exporter, description = _exporter(settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4317",
                                               otel_exporter_otlp_protocol="grpc"))
    assert isinstance(exporter, grpc_exporter.OTLPSpanExporter)
    assert description == "otlp grpc http://127.0.0.1:4317"
    exporter.shutdown()


def test_grpc_without_the_extra_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, GRPC_MODULE, None)  # makes the import fail as when it is absent
    with pytest.raises(RuntimeError) as raised:
        _exporter(settings(otel_exporter_otlp_endpoint="http://127.0.0.1:4317", otel_exporter_otlp_protocol="grpc"))
    assert str(raised.value) == GRPC_EXTRA_MISSING
    assert "tauro-platform[grpc]" in GRPC_EXTRA_MISSING and "http/protobuf" in GRPC_EXTRA_MISSING


def test_the_grpc_exporter_is_declared_only_under_the_grpc_extra() -> None:
    declared = requires("tauro-platform") or []
    grpc = [line for line in declared if line.startswith("opentelemetry-exporter-otlp-proto-grpc")]
    assert grpc and all(line.replace('"', "'").endswith("extra == 'grpc'") for line in grpc), grpc
    assert any(line.startswith("opentelemetry-exporter-otlp-proto-http") and "extra" not in line for line in declared)
