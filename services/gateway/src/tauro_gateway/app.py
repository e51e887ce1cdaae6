"""The FastAPI application: routers under ``/api/v1``, envelopes, middleware, docs."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tauro_gateway import VERSION, errors
from tauro_gateway.context import GatewayContext
from tauro_gateway.docs import install_docs
from tauro_gateway.middleware import RequestContextMiddleware
from tauro_gateway.observability import ObservabilityMiddleware
from tauro_gateway.openapi_tidy import tidy_parameters
from tauro_gateway.routes import (
    api_keys,
    auth,
    configs,
    dead_letters,
    logs,
    pipelines,
    projects,
    runs,
    schedules,
    streams,
    system,
)
from tauro_gateway.routes.notifications import router as notifications_router
from tauro_gateway.security.authorize import authorize
from tauro_gateway.security.install import install_security
from tauro_gateway.ui import install_ui

API_PREFIX = "/api/v1"


def create_app(ctx: GatewayContext) -> FastAPI:
    app = FastAPI(
        title="Tauro API",
        version=VERSION,
        description="Data-pipeline orchestration: projects, pipelines, runs, schedules, streams.",
        docs_url=None,  # served with local assets by install_docs (docs.py), not from a CDN
        redoc_url=None,
        dependencies=[Depends(authorize)],  # every route applies its access rule (security/rules.py)
        # One SERVER span per request: ObservabilityMiddleware's (route-named, with the request
        # id, X-Trace-Id). FastAPI's own request span, on by default, would wrap it with a second
        # one of the same name.
        telemetry={"tracing": False},
    )
    app.state.ctx = ctx
    errors.install(app)
    install_docs(app)
    install_ui(app)
    for router in (projects.router, pipelines.router, runs.router, schedules.router, streams.router, system.router):
        app.include_router(router, prefix=API_PREFIX)
    for router in (configs.router, logs.router, api_keys.router, auth.router, dead_letters.router,
                   notifications_router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(system.health_router)
    app.include_router(system.health_router, prefix=API_PREFIX, include_in_schema=False)
    s = ctx.settings
    install_security(app, s)
    tidy_parameters(app)
    if s.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=s.cors_allow_origins,
            allow_methods=s.cors_allow_methods,
            allow_headers=s.cors_allow_headers,
            allow_credentials=s.cors_allow_credentials,
            max_age=s.cors_max_age,
        )
    app.add_middleware(ObservabilityMiddleware)  # inside RequestContextMiddleware: sees its request id
    app.add_middleware(RequestContextMiddleware, max_body_bytes=s.max_body_bytes)
    return app
