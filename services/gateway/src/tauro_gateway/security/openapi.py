"""The security schemes in the OpenAPI document: each operation lists the credentials its
rule needs (none for public routes), so the docs' "Authorize" button and schema-driven
clients and fuzzers know how to call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tauro_gateway.security.rules import Access, rule_for


def add_security_schemes(app: FastAPI, key_header: str) -> None:
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        doc.setdefault("components", {})["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": key_header},
            "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }
        for path, operations in doc.get("paths", {}).items():
            for method, operation in operations.items():
                rule = rule_for(method, path)
                if rule is None or rule.access is not Access.PUBLIC:
                    operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
