"""Base classes for every command and event payload."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """A frozen, strict payload. Subclasses set ``type_name`` and ``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        """The payload as the ``data`` of its envelope, in the shape its published JSON Schema
        gives (``docs/events/schemas``): field aliases included, e.g. a DAG edge's ``from``/``to``.
        Loading accepts the field names too (``populate_by_name``), so data written before
        aliases were used still decodes."""
        return self.model_dump(mode="json", by_alias=True)


class Command(Payload):
    """An intention sent to one service's command topic; ``topic`` names that topic.

    ``read_your_writes``: the reply waits until the service's read models reflect the
    command's events (what an API client expects of a 2xx). ``False`` for commands whose
    sender never reads those models (the executor's claim and outcome): their reply goes out
    once the events are committed and published, and the projector applies them at once,
    off the reply's path."""

    topic: ClassVar[str] = ""
    read_your_writes: ClassVar[bool] = True


class Event(Payload):
    """A fact appended to a stream in the event store and published on ``topic``."""

    topic: ClassVar[str] = ""
