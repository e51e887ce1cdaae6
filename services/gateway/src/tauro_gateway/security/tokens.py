"""Short-lived bearer tokens (JWT, HS256 signed with ``SECRET_KEY``) issued for API keys.

Claims: ``iss`` (this deployment), ``aud`` (the Tauro API), ``sub`` (the key id),
``roles`` (``admin``, ``viewer:proj_abc``, ...), ``iat``/``nbf``/``exp`` and ``jti``.
Verification pins the algorithm to HS256, so ``alg: none`` and any other algorithm are
refused, and requires every claim above with the expected issuer and audience.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from tauro_platform import apikeys
from tauro_platform.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "tauro-api"
LEEWAY_SECONDS = 5


class TokenError(ValueError):
    """A token that must be refused; the message says why, without secrets."""


def issuer(settings: Settings) -> str:
    return f"tauro:{apikeys.deployment_tag(settings.secret_key)}"


def issue(settings: Settings, key_id: str, roles: list[str], key_expires_at: datetime | None) -> tuple[str, datetime]:
    """A token for ``key_id`` and when it expires (never after the key itself does)."""
    now = datetime.now(UTC).replace(microsecond=0)
    expires = now + timedelta(seconds=settings.auth_token_ttl_seconds)
    if key_expires_at is not None:
        expires = min(expires, key_expires_at)
    claims = {"iss": issuer(settings), "aud": AUDIENCE, "sub": key_id, "roles": roles, "iat": now, "nbf": now,
              "exp": expires, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM), expires


def verify(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.secret_key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=issuer(settings),
            leeway=LEEWAY_SECONDS, options={"require": ["iss", "aud", "sub", "exp", "iat", "roles"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if not isinstance(claims.get("roles"), list) or not isinstance(claims.get("sub"), str):
        raise TokenError("invalid token")
    return claims
