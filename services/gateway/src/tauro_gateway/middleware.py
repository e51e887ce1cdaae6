"""ASGI middleware: request ids, body size limit, security headers.

Pure ASGI (not BaseHTTPMiddleware) so streamed responses such as SSE pass through.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tauro_gateway import VERSION

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]
# The API docs pages and the UI load their own scripts and styles, so they get a looser policy.
DOCS_PATHS = ("/docs", "/redoc", "/static/docs", "/ui")  # /ui: Tauro UI (ui.py sets its own policy)


class _TooLarge(Exception):
    pass


def error_body(code: str, message: str, request_id: str) -> bytes:
    meta = {"request_id": request_id, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "version": VERSION}
    return json.dumps({"error": {"code": code, "message": message, "details": []}, "meta": meta}).encode()


class RequestContextMiddleware:
    """Accepts or makes ``X-Request-ID``, echoes it, adds security headers, limits body size."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else f"req_{uuid.uuid4().hex[:16]}"
        scope.setdefault("state", {})["request_id"] = request_id
        started = False
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [(b"x-request-id", request_id.encode())]
                if not path.startswith(DOCS_PATHS):
                    extra += SECURITY_HEADERS
                else:
                    extra += SECURITY_HEADERS[:3]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._reject(send_with_headers, request_id)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _TooLarge:
            if not started:
                await self._reject(send_with_headers, request_id)

    async def _reject(self, send: Any, request_id: str) -> None:
        body = error_body("PAYLOAD_TOO_LARGE", f"request body over {self.max_body_bytes} bytes", request_id)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
