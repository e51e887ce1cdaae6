"""Wiring security into the app: the middleware (innermost, inside CORS) and the OpenAPI schemes.

The per-route dependency (:func:`authorize`) is given to ``FastAPI(dependencies=...)`` so
that every route, whoever adds its router, runs it.
"""

from __future__ import annotations

from fastapi import FastAPI
from tauro_platform.settings import Settings

from tauro_gateway.security.middleware import SecurityMiddleware
from tauro_gateway.security.openapi import add_security_schemes


def install_security(app: FastAPI, settings: Settings) -> None:
    """Call before adding the CORS middleware, so CORS wraps this one."""
    app.add_middleware(SecurityMiddleware)
    # declared whether or not authentication is on here: the document describes the API
    # (and docs/openapi.json is the same for every deployment)
    add_security_schemes(app, settings.api_key_header)
