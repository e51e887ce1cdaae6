"""What the sync and async clients share and that does no I/O: settings from arguments or the
environment, the page type, envelope parsing, error mapping and the Server-Sent Events decoder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter
from tauro_contracts.readmodels import ListMeta
from tauro_contracts.readmodels.states import TERMINAL_RUN_STATES

from tauro_client.errors import error_from_response

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
TERMINAL_STATES = TERMINAL_RUN_STATES

M = TypeVar("M")


def base_url(url: str | None) -> str:
    """The gateway's root URL: the argument, else ``TAURO_URL``, else http://127.0.0.1:8000 (no ``/api/v1``)."""
    value = (url or os.environ.get("TAURO_URL") or DEFAULT_URL).rstrip("/")
    return value[: -len(API_PREFIX)] if value.endswith(API_PREFIX) else value


def auth_headers(api_key: str | None, token: str | None, api_key_header: str) -> dict[str, str]:
    """``X-API-Key`` from the argument or ``TAURO_API_KEY``; else a bearer token from the argument
    or ``TAURO_TOKEN``."""
    key = api_key if api_key is not None else os.environ.get("TAURO_API_KEY")
    bearer = token if token is not None else os.environ.get("TAURO_TOKEN")
    if key:
        return {api_key_header: key}
    if bearer:
        return {"Authorization": f"Bearer {bearer}"}
    return {}


def idempotency(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key} if key else {}


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """Query parameters or a body without the ``None`` values (the server's defaults apply)."""
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class Page(Generic[M]):
    """One page of a list: ``items`` and the paging ``meta`` (total, limit, offset, has_more, next_cursor)."""

    items: list[M]
    meta: ListMeta

    def __iter__(self) -> Iterator[M]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> M:
        return self.items[index]


@lru_cache(maxsize=256)
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def parse(model: Any, data: Any) -> Any:
    """``data`` validated as ``model`` (a pydantic model class or a type such as ``list[Run]``)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_validate(data)
    return _adapter(model).validate_python(data)


def body_of(response: httpx.Response, ok: tuple[int, ...] = ()) -> Any:
    """The JSON body of a successful answer; the error's exception otherwise."""
    if response.status_code >= 400 and response.status_code not in ok:
        raise error_from_response(response)
    return response.json() if response.content else None


def page_of(model: Any, body: dict[str, Any]) -> Page[Any]:
    return Page([parse(model, item) for item in body["data"]], ListMeta.model_validate(body["meta"]))


def unreachable_reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({text})"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return text


@dataclass
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


@dataclass
class SSEDecoder:
    """Lines in, events out (the WHATWG event-stream format: ``event:``, ``data:``, ``id:``, ``retry:``,
    comments, a blank line ends an event)."""

    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None
    _retry: int | None = None
    last_event_id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data and not self._event and self._retry is None:
                return None
            event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
            self._event, self._data, self._retry = "", [], None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value or None
            self.last_event_id = self._id
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None
