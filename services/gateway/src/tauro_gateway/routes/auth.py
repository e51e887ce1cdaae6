"""``/auth``: exchange an API key for a short-lived bearer token; who am I."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import JSONResponse
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.readmodels import Envelope, Token, WhoAmI
from tauro_platform.timeutil import iso, parse_iso

from tauro_gateway.context import Ctx
from tauro_gateway.envelopes import ok
from tauro_gateway.responses import make_router
from tauro_gateway.security.authn import CREDENTIALS
from tauro_gateway.security.principal import ANONYMOUS, Principal, role_claims
from tauro_gateway.security.tokens import issue

router = make_router(prefix="/auth", tags=["security"])


def _principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal or ANONYMOUS


@router.post("/token", summary="Exchange the API key in X-API-Key for a bearer token (JWT, HS256)",
             response_model=Envelope[Token])
async def create_token(request: Request, ctx: Ctx) -> JSONResponse:
    principal = _principal(request)
    if principal.method != "api_key" or principal.key_id is None:
        raise DomainError(ErrorCode.FORBIDDEN, "tokens are issued for API keys: send one in "
                          f"{ctx.settings.api_key_header}, not a token (and authentication must be on)")
    record = await ctx.read_store.get(CREDENTIALS, principal.key_id) or {}
    key_expires = parse_iso(record["expires_at"]) if record.get("expires_at") else None
    value, expires = issue(ctx.settings, principal.key_id, role_claims(principal.grants), key_expires)
    return ok(request, {"access_token": value, "token_type": "bearer", "expires_at": iso(expires),
                        "expires_in": max(0, int((expires - datetime.now(UTC)).total_seconds()))})


@router.get("/whoami", summary="The caller: its key, roles and how it authenticated", response_model=Envelope[WhoAmI])
async def whoami(request: Request) -> JSONResponse:
    principal = _principal(request)
    return ok(request, {"actor": principal.actor, "key_id": principal.key_id, "method": principal.method,
                        "roles": role_claims(principal.grants)})
