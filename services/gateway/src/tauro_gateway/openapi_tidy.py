"""Parameters in the OpenAPI document as a query string can carry them.

FastAPI documents an optional parameter (``x: str | None = None``) as ``anyOf: [{string},
{null}]``; a path, query or header value cannot be null (an absent parameter is the
``required: false`` of the parameter itself), so the document says ``{string}``. Clients
generated from it get plain optional strings, and schema-driven fuzzers stop generating
"nulls" that a query string cannot send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

NULL = {"type": "null"}


def tidy_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its null alternative (and a null default)."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or NULL not in branches:
        return schema
    rest = [b for b in branches if b != NULL]
    tidy = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    if len(rest) == 1:
        return {**rest[0], **tidy}
    return {**tidy, "anyOf": rest}


def tidy_parameters(app: FastAPI) -> None:
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if isinstance(parameter.get("schema"), dict):
                        parameter["schema"] = tidy_schema(parameter["schema"])
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
