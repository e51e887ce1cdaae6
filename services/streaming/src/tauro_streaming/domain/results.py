"""What a pipeline hands back for each input: records to produce, and dead letters.

Both carry the topic they go to and a ready ``payload`` so the Kafka adapter only has to send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from tauro_streaming.domain.records import Record

DeadLetterKind = Literal["malformed", "error", "late"]
MAX_HEADER_CHARS = 2000


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; raises TypeError/ValueError for values JSON cannot hold (NaN, objects)."""
    return _ENCODER.encode(value).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Output:
    """A record for the output topic: ``payload`` is ``value`` as JSON, ``key`` from ``key_field``."""

    topic: str
    value: Record
    payload: bytes
    key: str | None
    timestamp_ms: int

    @property
    def key_bytes(self) -> bytes | None:
        return None if self.key is None else self.key.encode("utf-8")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that could not be processed, with why and where.

    ``record`` is the original input: the raw bytes when it could not be decoded, else the
    decoded value (for windows emitted by ``flush`` it is the emitted aggregate). ``kind`` is
    ``malformed`` (not a JSON object), ``late`` (its window was already emitted) or ``error``.
    ``reason`` is the full message, e.g. ``processors[1] (map): compute 'x': field 'y' is missing``.
    ``processor_type`` is ``decode``/``input``/``output`` for failures outside the processors.
    ``failed_value`` is what the failing step received when that differs from ``record``.
    """

    topic: str
    record: Any
    reason: str
    kind: DeadLetterKind
    error: str
    processor_index: int | None
    processor_type: str
    timestamp_ms: int
    pipeline: str = ""
    failed_value: Any = field(default=None, compare=False)

    @property
    def payload(self) -> bytes:
        """The original bytes when there were some, else the record as JSON (lossy ``repr`` fallback)."""
        if isinstance(self.record, bytes | bytearray):
            return bytes(self.record)
        text = json.dumps(self.record, ensure_ascii=False, separators=(",", ":"), default=repr)
        return text.encode("utf-8")

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers stating why the record is on the dead-letter topic."""
        where = self.processor_type
        if self.processor_index is not None:
            where = f"{self.processor_index}:{where}"
        return [
            ("tauro-dlq-kind", self.kind.encode()),
            ("tauro-dlq-reason", self.reason[:MAX_HEADER_CHARS].encode("utf-8", "replace")),
            ("tauro-dlq-processor", where.encode()),
            ("tauro-dlq-pipeline", self.pipeline.encode("utf-8")),
        ]


Result = Output | DeadLetter
