"""Tauro UI: the web dashboard at ``/ui`` (and ``/`` redirecting there), served with its own assets.

The dashboard is plain ES modules and CSS under ``tauro_gateway/ui/`` that the browser loads
as they are (no Node.js, no build step, nothing from a CDN). It reads and writes only through
the public REST API and its Server-Sent Events, with the user's API key, so it respects the
caller's roles and rate limits like any other client. The page itself only tells the browser
whether authentication is on (so the UI knows to ask for a key before calling the API) and
the name of the key header; the static files are public (``security/rules.py``: ``UI``).
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tauro_gateway import VERSION

UI_URL = "/ui"
ASSETS_URL = "/ui/assets"
UI_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")


def ui_dir() -> Path:
    return Path(__file__).with_name("ui")


def index_page(request: Request) -> HTMLResponse:
    settings = request.app.state.ctx.settings
    root = request.scope.get("root_path", "")
    page = (ui_dir() / "index.html").read_text(encoding="utf-8")
    values = {"{{root}}": html.escape(root), "{{assets}}": html.escape(f"{root}{ASSETS_URL}"),
              "{{auth}}": "on" if settings.enable_auth else "off",
              "{{key_header}}": html.escape(settings.api_key_header), "{{version}}": html.escape(VERSION)}
    for name, value in values.items():
        page = page.replace(name, value)
    response = HTMLResponse(page)
    response.headers["content-security-policy"] = UI_CSP
    response.headers["cache-control"] = "no-store"
    return response


def install_ui(app: FastAPI) -> None:
    """Mount the assets and add the page routes (plain routes, outside the OpenAPI document)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ui_dir()), name="ui-assets")

    async def ui(request: Request) -> Response:
        return index_page(request)

    async def root(request: Request) -> Response:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{UI_URL}/", status_code=307)

    app.add_route(UI_URL, ui, include_in_schema=False)
    app.add_route(f"{UI_URL}/", ui, include_in_schema=False)
    app.add_route("/", root, include_in_schema=False)
