"""The two ways a notification leaves: e-mail over SMTP and a signed webhook POST.

Each send returns a ``SendResult``: accepted, or failed with ``permanent`` saying whether
trying again could help (an SMTP 5xx refusal, a webhook's 4xx answer, a webhook on a
private address) or not (connection refused, timeouts, 4xx SMTP answers, 5xx/408/429 HTTP
answers). E-mail goes through the stdlib ``smtplib`` in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from tauro_contracts.notification_settings import is_private_address, private_host_problem
from tauro_platform.settings import Settings

from tauro_notifier.domain.delivery import SendResult
from tauro_notifier.domain.signature import HEADER, derive_secret, sign

USER_AGENT = "tauro-notifier/0.1"


def webhook_secret(settings: Settings) -> str:
    """``NOTIFY_WEBHOOK_SECRET``; else derived from ``SECRET_KEY``; else (embedded mode without
    one) a random secret kept in ``TAURO_DATA_DIR/webhook-secret``."""
    if settings.notify_webhook_secret is not None:
        return settings.notify_webhook_secret.get_secret_value()
    if settings.secret_key:
        return derive_secret(settings.secret_key)
    path = Path(settings.tauro_data_dir) / "webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


class EmailChannel:
    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.starttls = settings.smtp_starttls
        self.timeout = settings.notify_send_timeout_seconds

    def _send(self, message: EmailMessage, recipient: str) -> str:
        assert self.host is not None
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message, from_addr=self.sender, to_addrs=[recipient])
        return f"accepted by {self.host}:{self.port}"

    async def send(self, message: EmailMessage, recipient: str) -> SendResult:
        if not self.host:
            return SendResult(False, "SMTP_HOST is not set: e-mail notifications cannot be sent", permanent=True)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout * 2):
                detail = await asyncio.to_thread(self._send, message, recipient)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            return SendResult(False, f"recipient refused: {exc.recipients}", permanent, _elapsed(started))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return SendResult(False, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", exc.smtp_code >= 500,
                              _elapsed(started))
        except (smtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(False, f"SMTP server {self.host}:{self.port}: {type(exc).__name__}: {exc}",
                              False, _elapsed(started))
        return SendResult(True, detail, duration_ms=_elapsed(started))


class WebhookChannel:
    def __init__(self, settings: Settings) -> None:
        self.secret = webhook_secret(settings)
        self.timeout = settings.notify_send_timeout_seconds
        self.allow_private = settings.notify_allow_private_webhooks
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False,
                                         headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        await self._client.aclose()

    async def _private_problem(self, url: str) -> str | None:
        """A private address, on its face or once the name is resolved (SSRF guard)."""
        if self.allow_private:
            return None
        problem = private_host_problem(url)
        if problem:
            return problem
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            return None  # unresolvable: the POST fails and is retried
        for info in infos:
            address = str(info[4][0])
            if is_private_address(address):
                return f"{host} resolves to the private address {address}"
        return None

    async def send(self, url: str, payload: dict[str, object], delivery_id: str) -> SendResult:
        started = time.monotonic()
        problem = await self._private_problem(url)
        if problem:
            return SendResult(False, f"{problem}: refused (NOTIFY_ALLOW_PRIVATE_WEBHOOKS=true allows it)",
                              permanent=True)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json", HEADER: sign(self.secret, int(time.time()), body),
            "X-Tauro-Delivery-Id": delivery_id, "Idempotency-Key": delivery_id,
            "X-Tauro-Event": str(payload.get("type", "")),
        }
        try:
            async with asyncio.timeout(self.timeout * 2):
                response = await self._client.post(url, content=body, headers=headers)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            return SendResult(False, f"POST failed: {type(exc).__name__}: {exc}", False, _elapsed(started))
        status = response.status_code
        detail = f"HTTP {status}"
        if 200 <= status < 300:
            return SendResult(True, detail, duration_ms=_elapsed(started))
        text = response.text[:200]
        if 300 <= status < 400:
            return SendResult(False, f"{detail}: redirects are not followed", True, _elapsed(started))
        transient = status >= 500 or status in (408, 425, 429)
        return SendResult(False, f"{detail}: {text}", not transient, _elapsed(started))
