"""``/api-keys``: issue (the key is shown once), list, get and revoke API keys (global admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_contracts.readmodels import ApiKey, Envelope, IssuedApiKey, ListEnvelope, collections
from tauro_contracts.security import KEY_ID_PATTERN, MAX_GRANTS, CreateApiKey, Grant, RevokeApiKey
from tauro_platform import apikeys
from tauro_platform.settings import MIN_SECRET_LENGTH

from tauro_gateway.context import Ctx
from tauro_gateway.envelopes import ok, page, public
from tauro_gateway.query import ListParams, list_params
from tauro_gateway.responses import BODY, COMMAND, errors, examples, make_router

router = make_router(prefix="/api-keys", tags=["security"])
KeyId = Annotated[str, Path(pattern=KEY_ID_PATTERN, description="An API key id such as key_0123456789abcdef")]
KEYS = collections.API_KEYS


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128, description="What the key is for, e.g. 'ci-deployer'")
    grants: list[Grant] = Field(min_length=1, max_length=MAX_GRANTS,
                                description="Roles (viewer, operator, admin), each for one project or all")
    expires_at: datetime | None = Field(default=None, description="Refused from then on; none: until revoked")


class ApiKeyRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="revoked", max_length=500)


def _invalid(field: str, message: str, kind: str = "value_error") -> DomainError:
    detail = ErrorDetail(field=field, message=message, type=kind)
    return DomainError(ErrorCode.VALIDATION_ERROR, "invalid API key request", [detail])


@router.post("", status_code=201, summary="Issue an API key (its value is in this answer only)",
             response_model=Envelope[IssuedApiKey], responses=errors(*BODY, 409, *COMMAND),
             openapi_extra=examples(("operator", {"name": "ci", "grants": [
                 {"role": "operator", "project_id": "proj_abc123"}], "expires_at": "2030-01-01T00:00:00Z"})))
async def create_api_key(request: Request, ctx: Ctx, body: ApiKeyCreate) -> JSONResponse:
    secret = ctx.settings.secret_key
    if len(secret) < MIN_SECRET_LENGTH:
        raise DomainError(ErrorCode.CONFLICT, f"API keys need a SECRET_KEY of at least {MIN_SECRET_LENGTH} characters")
    expires = body.expires_at
    if expires is not None:
        if expires.tzinfo is None or expires <= datetime.now(UTC):
            raise _invalid("expires_at", "must be a future date-time with a time zone", "not_in_future")
        expires = expires.astimezone(UTC)
    for i, grant in enumerate(body.grants):
        if grant.project_id is not None and await ctx.read_store.get(collections.PROJECTS, grant.project_id) is None:
            raise _invalid(f"grants[{i}].project_id", f"project '{grant.project_id}' not found", "not_found")
    issued = apikeys.new_key(secret)
    command = CreateApiKey(key_id=issued.key_id, name=body.name, grants=body.grants, key_hash=issued.key_hash,
                           expires_at=expires)
    await ctx.send(request, command, key=issued.key_id)
    doc = await ctx.get_live(KEYS, issued.key_id, "API key")
    return ok(request, {**public(doc), "key": issued.key}, status=201)


@router.get("", summary="List API keys (never their values)", response_model=ListEnvelope[ApiKey])
async def list_api_keys(
    request: Request, ctx: Ctx, params: Annotated[ListParams, Depends(list_params(("created_at", "name")))],
    revoked: Annotated[bool | None, Query(description="Only revoked (true) or only active (false) keys")] = None,
) -> JSONResponse:
    where: dict[str, Any] = {} if revoked is None else {"revoked": revoked}
    docs, total = await ctx.read_store.find(KEYS, where, params.sort, params.offset, params.limit)
    return page(request, [public(d, params.fields) for d in docs], total, params.limit, params.offset)


@router.get("/{key_id}", summary="Get an API key's record", response_model=Envelope[ApiKey], responses=errors(404))
async def get_api_key(request: Request, ctx: Ctx, key_id: KeyId) -> JSONResponse:
    return ok(request, public(await ctx.get_live(KEYS, key_id, "API key")))


@router.delete("/{key_id}", summary="Revoke an API key (and every token issued for it)",
               response_model=Envelope[ApiKey], responses=errors(*BODY, 404, 409, *COMMAND))
async def revoke_api_key(request: Request, ctx: Ctx, key_id: KeyId, body: ApiKeyRevoke | None = None) -> JSONResponse:
    await ctx.send(request, RevokeApiKey(key_id=key_id, reason=body.reason if body else "revoked"), key=key_id)
    return ok(request, public(await ctx.get_live(KEYS, key_id, "API key")))
