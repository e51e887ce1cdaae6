"""Authentication: an API key (``X-API-Key``) or a bearer token, checked against the key records.

Every check reads the key's credential record, so a revoked or expired key, and every
token issued for it, is refused from the next request on, on every gateway replica.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from tauro_contracts.readmodels import collections
from tauro_contracts.security import Grant
from tauro_platform import apikeys
from tauro_platform.readstore.port import ReadStore
from tauro_platform.settings import Settings
from tauro_platform.timeutil import parse_iso

from tauro_gateway.security import tokens
from tauro_gateway.security.principal import Principal, grants_of

CREDENTIALS = collections.API_KEY_CREDENTIALS


class AuthError(Exception):
    """Missing or bad credentials (401); ``token`` says whether a bearer token was offered,
    ``offered`` whether any credential was (only refused ones count as failed attempts)."""

    def __init__(self, message: str, token: bool = False, offered: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.offered = offered


class Authenticator:
    def __init__(self, settings: Settings, read_store: ReadStore) -> None:
        self._settings = settings
        self._read = read_store
        self._key_header = settings.api_key_header.lower().encode()

    async def authenticate(self, headers: Mapping[bytes, bytes]) -> Principal:
        authorization = headers.get(b"authorization")
        if authorization is not None:
            scheme, _, token = authorization.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("use 'Authorization: Bearer <token>'", token=True)
            return await self._token(token.strip())
        key = headers.get(self._key_header)
        if key is not None:
            return await self._key(key.decode("latin-1").strip())
        raise AuthError(f"authentication required: send an API key in {self._settings.api_key_header} "
                        "or 'Authorization: Bearer <token>'", offered=False)

    async def _key(self, key: str) -> Principal:
        secret = self._settings.secret_key
        try:
            key_id = apikeys.key_id_of(secret, key)
        except apikeys.ForeignKey as exc:
            raise AuthError(str(exc)) from None
        record = await self._read.get(CREDENTIALS, key_id) if key_id else None
        if key_id is None or record is None or not apikeys.matches(secret, key, record["key_hash"]):
            raise AuthError("invalid API key")
        self._check_active(record)
        return Principal(f"key:{key_id}", grants_of_record(record), key_id, method="api_key")

    async def _token(self, token: str) -> Principal:
        try:
            claims = tokens.verify(self._settings, token)
            grants = grants_of(claims["roles"])
        except tokens.TokenError as exc:
            raise AuthError(str(exc), token=True) from None
        except (ValidationError, TypeError):
            raise AuthError("invalid token", token=True) from None
        key_id = claims["sub"]
        record = await self._read.get(CREDENTIALS, key_id)
        if record is None:
            raise AuthError("invalid token", token=True)
        self._check_active(record, token=True)
        return Principal(f"key:{key_id}", grants, key_id, method="token")

    @staticmethod
    def _check_active(record: dict[str, Any], token: bool = False) -> None:
        if record.get("revoked"):
            raise AuthError("API key revoked", token=token)
        expires = record.get("expires_at")
        if expires is not None and parse_iso(expires) <= datetime.now(UTC):
            raise AuthError("API key expired", token=token)


def grants_of_record(record: dict[str, Any]) -> tuple[Grant, ...]:
    return tuple(Grant.model_validate(g) for g in record["grants"])


def challenge(settings: Settings, error: AuthError) -> str:
    """The ``WWW-Authenticate`` header of a 401."""
    if error.token:
        return f'Bearer realm="tauro", error="invalid_token", error_description="{error.message}"'
    return f'Bearer realm="tauro", ApiKey realm="tauro", header="{settings.api_key_header}"'
