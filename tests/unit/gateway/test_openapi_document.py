"""The committed OpenAPI document (docs/openapi.json) is the app's, and it is complete."""

from __future__ import annotations

import json
from pathlib import Path

from tauro_gateway.openapi import document

DOC = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
ERRORS = "#/components/schemas/ErrorEnvelope"


def test_committed_openapi_is_current() -> None:
    committed = json.loads(DOC.read_text())
    assert committed == json.loads(json.dumps(document())), \
        "regenerate: python3 -m uv run python -m tauro_gateway.openapi docs/openapi.json"


def test_every_operation_is_typed_named_and_documents_its_errors() -> None:
    doc = document()
    ids = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            label = f"{method.upper()} {path}"
            ids.append(op["operationId"])
            assert op.get("tags"), label
            success = [s for s in op["responses"] if s.startswith("2")]
            assert success, label
            for status in success:
                assert op["responses"][status]["content"]["application/json"]["schema"], (label, status)
            for status, response in op["responses"].items():
                if status.startswith("4") or status == "504":
                    assert response["content"]["application/json"]["schema"] == {"$ref": ERRORS}, (label, status)
            if path != "/health":
                assert {"401", "403", "422", "429"} <= set(op["responses"]), label
                assert op["security"] == [{"ApiKey": []}, {"Bearer": []}], label
            if "{" in path and path != "/api/v1/pipelines/{pipeline_id}/versions":
                assert "404" in op["responses"], label
                for param in op.get("parameters", []):
                    if param["in"] == "path":
                        assert param["schema"].get("pattern"), (label, param["name"])
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), label
    assert len(ids) == len(set(ids))
    assert {"create_run", "list_runs", "get_run", "create_project", "list_projects"} <= set(ids)
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
