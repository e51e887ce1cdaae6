"""Webhook signatures (pure): HMAC-SHA256 over ``<timestamp>.<body>``.

Each POST carries ``X-Tauro-Signature: t=<unix seconds>,v1=<hex digest>``, the digest being
HMAC-SHA256 keyed with the deployment's webhook secret over the timestamp, a dot and the
exact body bytes. A receiver recomputes it with the same secret, compares in constant time
and refuses timestamps older than a few minutes (replays). The secret is
``NOTIFY_WEBHOOK_SECRET``, or else derived from ``SECRET_KEY`` (``derive_secret``; print it
with ``python -m tauro_notifier secret``).
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Tauro-Signature"
DERIVATION_LABEL = b"tauro-webhook-signing-v1"


def derive_secret(secret_key: str) -> str:
    """The webhook signing secret of a deployment whose only secret is ``SECRET_KEY``."""
    return hmac.new(secret_key.encode(), DERIVATION_LABEL, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_seconds: int = 300) -> bool:
    """True when ``header`` is a valid signature of ``body`` made within ``tolerance_seconds``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
