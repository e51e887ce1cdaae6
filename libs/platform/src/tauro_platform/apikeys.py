"""API key format and hashing, shared by the gateway (which issues and checks keys) and the
runs service (which registers the bootstrap admin key).

A key reads ``tauro_<deployment>_<id>_<secret>``: ``deployment`` is a tag derived from
``SECRET_KEY`` (so a key of another deployment is recognised and refused before any
lookup), ``id`` names the key's record (``key_<id>``), and ``secret`` is 32 random bytes.

Only ``HMAC-SHA256(SECRET_KEY, key)`` is stored. A slow password hash (argon2, scrypt)
protects low-entropy secrets against guessing; a 256-bit random key cannot be guessed,
and a slow hash would cost tens of milliseconds of CPU on every request (every request
is authenticated), which is itself a denial-of-service lever. The HMAC's key also
means the recorded hashes (in the event log, on Kafka, in the read store) cannot even
be checked against a candidate key without ``SECRET_KEY``. Changing ``SECRET_KEY``
therefore invalidates every key and token: that is the rotation of last resort.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "tauro"
_FORMAT = re.compile(r"^tauro_([0-9a-f]{8})_([0-9a-f]{16})_([A-Za-z0-9_\-]{43})$")


class ForeignKey(ValueError):
    """A well-formed key issued by another deployment (another SECRET_KEY)."""


def deployment_tag(secret_key: str) -> str:
    """Eight hex digits that identify the deployment owning ``secret_key``."""
    return hmac.new(secret_key.encode(), b"tauro-deployment", hashlib.sha256).hexdigest()[:8]


def hash_key(secret_key: str, key: str) -> str:
    return hmac.new(secret_key.encode(), key.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key_id: str
    key: str
    key_hash: str


def new_key(secret_key: str) -> NewKey:
    """A fresh key for this deployment, its record id and its hash."""
    ident = secrets.token_hex(8)
    key = f"{PREFIX}_{deployment_tag(secret_key)}_{ident}_{secrets.token_urlsafe(32)}"
    return NewKey(f"key_{ident}", key, hash_key(secret_key, key))


def key_id_of(secret_key: str, key: str) -> str | None:
    """The record id a key names; None when it is not a Tauro key at all.

    Raises :class:`ForeignKey` for a key of another deployment."""
    match = _FORMAT.match(key)
    if match is None:
        return None
    if not hmac.compare_digest(match.group(1), deployment_tag(secret_key)):
        raise ForeignKey("this API key was issued by another Tauro deployment")
    return f"key_{match.group(2)}"


def matches(secret_key: str, key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(secret_key, key), stored_hash)
