"""The API's envelopes as models: ``{data, meta}``, lists with their paging ``meta``, and
``{error, meta}``. The gateway declares every response with these (``response_model``)."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tauro_contracts.errors import ErrorCode, ErrorDetail

T = TypeVar("T")
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 examples=["2025-11-18T10:00:00Z"])]


def sparse(schema: dict[str, Any]) -> None:
    """For documents a ``fields`` parameter can trim: only ``id`` is sure to be there (as in the
    discovery documents of APIs with partial responses); the models themselves stay strict."""
    if "required" in schema:
        schema["required"] = [name for name in schema["required"] if name == "id"]
        if not schema["required"]:
            del schema["required"]


SPARSE = ConfigDict(json_schema_extra=sparse)


class Meta(BaseModel):
    timestamp: Timestamp
    request_id: str | None = Field(description="X-Request-ID, given or generated", examples=["req_abc123"])
    version: str = Field(description="API version", examples=["0.1.0"])


class ListMeta(Meta):
    total: int = Field(ge=0, description="Items matching the query (from the cursor on, with a cursor)")
    limit: int = Field(ge=0)
    offset: int = Field(ge=0)
    has_more: bool
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page (GET /runs)")


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: Meta


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: ListMeta


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "error": {"code": "VALIDATION_ERROR", "message": "invalid request", "details": [
            {"field": "project_id", "message": "Must start with 'proj_'", "type": "value_error"}]},
        "meta": {"request_id": "req_abc123", "timestamp": "2025-11-18T10:00:00Z", "version": "0.1.0"},
    }]})
    error: ErrorBody
    meta: Meta


class Deleted(BaseModel):
    id: str
    deleted: bool = Field(description="Always true")
