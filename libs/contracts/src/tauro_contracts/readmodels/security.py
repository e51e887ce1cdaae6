"""API key records, bearer tokens and the caller, as returned."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tauro_contracts.readmodels.envelopes import SPARSE, Timestamp
from tauro_contracts.security import Grant


class ApiKey(BaseModel):
    """``api_keys``: a key's record, never its value or hash."""

    model_config = SPARSE

    id: str = Field(examples=["key_0123456789abcdef"])
    name: str
    grants: list[Grant]
    expires_at: Timestamp | None = None
    revoked: bool
    created_at: Timestamp
    created_by: str | None = None
    revoked_at: Timestamp | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


class IssuedApiKey(ApiKey):
    key: str = Field(description="The key itself: shown in this answer only")


class Token(BaseModel):
    access_token: str
    token_type: str = Field(examples=["bearer"])
    expires_at: Timestamp
    expires_in: int


class WhoAmI(BaseModel):
    actor: str | None
    key_id: str | None
    method: str | None
    roles: list[str]
