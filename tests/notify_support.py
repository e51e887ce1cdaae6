"""Real receivers for notification tests: an SMTP server (aiosmtpd, on loopback) and a small
HTTP server that records webhook POSTs. Both run in threads of their own, so the API tests
(one event loop) and the e2e tests (separate processes) use them alike."""

from __future__ import annotations

import asyncio
import email
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.e2e.harness import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        return payload.decode() if isinstance(payload, bytes) else str(payload)


@dataclass
class SmtpSink:
    """An SMTP server that keeps what it accepted. ``stall_next``: the next transaction hangs
    at RCPT TO (before the message is handed over) until ``release`` or the client goes away,
    for killing a sender mid-send. ``stop``/``start``: the server down and back on its port."""

    port: int = field(default_factory=free_port)
    mails: list[Mail] = field(default_factory=list)
    stalled: threading.Event = field(default_factory=threading.Event)
    _stall: bool = False
    _release: threading.Event = field(default_factory=threading.Event)
    _controller: Controller | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if self._stall:
            self._stall = False
            self.stalled.set()
            while not self._release.is_set():
                transport = server.transport
                if transport is None or transport.is_closing():
                    return "421 client gone"
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), email.message_from_bytes(raw)))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def stall_next(self) -> None:
        self._release.clear()
        self.stalled.clear()
        self._stall = True

    def release(self) -> None:
        self._release.set()

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]

    def wait(self, count: int, timeout: float = 30.0, address: str | None = None) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address) if address else list(self.mails)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} mails, not {count}, within {timeout}s")
            time.sleep(0.1)


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class HookReceiver:
    """An HTTP server on loopback recording every POST; answers ``status`` (default 200)."""

    def __init__(self) -> None:
        self.hooks: list[Hook] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hooks.append(Hook(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/tauro"

    def start(self) -> HookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, count: int, timeout: float = 30.0) -> list[Hook]:
        deadline = time.monotonic() + timeout
        while len(self.hooks) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.hooks)} webhook calls, not {count}, within {timeout}s")
            time.sleep(0.1)
        return list(self.hooks)
