"""A stream pipeline: one definition's processors applied to records, one at a time.

Pure and synchronous: the streaming service feeds it decoded Kafka values and produces what
it returns. Every input yields outputs and/or dead letters, never an exception: a record that
fails a processor (missing field, wrong type, callable raising, late, not a JSON object) becomes
a :class:`DeadLetter` and the next record is processed normally. When a record fans out
(python callable returning a list, or a window closing several windows), each derived record
succeeds or dead-letters on its own.

Window state lives in the pipeline; ``state()`` / ``restore()`` snapshot it as JSON-ready data
so a restarted execution resumes its open windows. ``flush()`` (stop / drain) emits them all.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from tauro_streaming.domain.base import Emitted, Processor
from tauro_streaming.domain.definition import StreamDefinition
from tauro_streaming.domain.errors import LateRecordError, ProcessorError, StreamStateError
from tauro_streaming.domain.processors import WindowProcessor, build_processors
from tauro_streaming.domain.records import MISSING, Record, get_field
from tauro_streaming.domain.results import DeadLetter, DeadLetterKind, Output, Result, encode_json

STATE_VERSION = 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class StreamPipeline:
    """Runs one :class:`StreamDefinition`; see the module docstring."""

    def __init__(
        self, definition: StreamDefinition, *, allowed_callable_prefixes: Collection[str] | None = None
    ) -> None:
        """Build the processors; an unusable python callable raises ``StreamDefinitionError``.

        Pass ``allowed_callable_prefixes`` for definitions from untrusted API callers: python
        processors may then only import modules under those prefixes.
        """
        self.definition = definition
        self._processors: list[Processor] = build_processors(
            definition.processors, allowed_callable_prefixes=allowed_callable_prefixes
        )
        self._windows = {p.index: p for p in self._processors if isinstance(p, WindowProcessor)}

    @property
    def stateful(self) -> bool:
        """Whether the pipeline holds window state (and so needs snapshots and a final flush)."""
        return bool(self._windows)

    # -- decoding ----------------------------------------------------------------------------

    def decode(self, value: bytes | None, timestamp_ms: int = 0) -> Record | DeadLetter:
        """A Kafka value as a JSON object, or a ``malformed`` dead letter saying what is wrong."""
        if value is None:
            return self._malformed(value, "decode", "value is null (tombstone)", timestamp_ms)
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._malformed(value, "decode", f"value is not UTF-8: {exc.reason} at byte {exc.start}",
                                   timestamp_ms)
        try:
            decoded = _DECODER.decode(text)
        except (ValueError, RecursionError) as exc:
            return self._malformed(value, "decode", f"value is not valid JSON: {exc}", timestamp_ms)
        if not isinstance(decoded, dict):
            kind = type(decoded).__name__ if decoded is not None else "null"
            return self._malformed(value, "decode", f"value is JSON {kind}, not a JSON object", timestamp_ms)
        return decoded

    def process_value(self, value: bytes | None, timestamp_ms: int) -> list[Result]:
        """``decode`` then ``process``: the one call per consumed Kafka message."""
        decoded = self.decode(value, timestamp_ms)
        if isinstance(decoded, DeadLetter):
            return [decoded]
        return self.process(decoded, timestamp_ms)

    # -- processing --------------------------------------------------------------------------

    def process(self, record: Any, timestamp_ms: int) -> list[Result]:
        """Outputs and dead letters for one input record (a decoded JSON object)."""
        if not isinstance(record, dict):
            return [self._malformed(record, "input", "record is not a JSON object", timestamp_ms)]
        results: list[Result] = []
        self._run(0, [(record, timestamp_ms)], record, results)
        return results

    def flush(self) -> list[Result]:
        """Emit every open window through the rest of the pipeline (stop / drain).

        Mostly outputs; a dead letter when a processor after a window rejects an aggregate.
        """
        results: list[Result] = []
        for processor in self._processors:
            for value, ts in processor.flush():
                self._run(processor.index + 1, [(value, ts)], value, results)
        return results

    def _run(self, start: int, items: list[Emitted], origin: Any, results: list[Result]) -> None:
        for processor in self._processors[start:]:
            passed: list[Emitted] = []
            for value, ts in items:
                try:
                    passed.extend(processor.apply(value, ts))
                except LateRecordError as exc:
                    results.append(self._failed(origin, value, ts, processor, "late", str(exc)))
                except ProcessorError as exc:
                    results.append(self._failed(origin, value, ts, processor, "error", str(exc)))
                except Exception as exc:  # a bug or an odd value must not stop the stream
                    results.append(self._failed(origin, value, ts, processor, "error",
                                                f"{type(exc).__name__}: {exc}"))
            items = passed
            if not items:
                return
        for value, ts in items:
            results.append(self._output(origin, value, ts))

    def _output(self, origin: Any, value: Record, ts: int) -> Result:
        key: str | None = None
        if self.definition.key_field is not None:
            raw = get_field(value, self.definition.key_field)
            if raw is MISSING or raw is None:
                return self._dead(origin, value, ts, len(self._processors), "output", "error",
                                  f"key field '{self.definition.key_field}' is missing or null")
            key = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, ensure_ascii=False)
        try:
            payload = encode_json(value)
        except (TypeError, ValueError, RecursionError) as exc:
            return self._dead(origin, value, ts, len(self._processors), "output", "error",
                              f"output is not JSON-serialisable: {exc}")
        return Output(self.definition.output_topic, value, payload, key, ts)

    # -- dead letters ------------------------------------------------------------------------

    def _failed(
        self, origin: Any, value: Record, ts: int, processor: Processor, kind: DeadLetterKind, error: str
    ) -> DeadLetter:
        return self._dead(origin, value, ts, processor.index, processor.kind, kind, error)

    def _dead(
        self,
        origin: Any,
        value: Any,
        ts: int,
        index: int | None,
        where: str,
        kind: DeadLetterKind,
        error: str,
    ) -> DeadLetter:
        place = where if index is None else f"processors[{index}] ({where})"
        return DeadLetter(
            topic=self.definition.dead_letter_topic, record=origin, reason=f"{place}: {error}", kind=kind,
            error=error, processor_index=index, processor_type=where, timestamp_ms=ts,
            pipeline=self.definition.name, failed_value=None if value is origin else value,
        )

    def _malformed(self, value: Any, where: str, error: str, ts: int) -> DeadLetter:
        return self._dead(value, value, ts, None, where, "malformed", error)

    # -- state -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of every window processor's state."""
        return {
            "version": STATE_VERSION,
            "pipeline": self.definition.name,
            "windows": {str(index): window.state() for index, window in self._windows.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()`` of a pipeline with the same windows; ``StreamStateError`` if not."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise StreamStateError("unknown stream state version")
        windows = state.get("windows")
        if not isinstance(windows, dict) or set(windows) != {str(i) for i in self._windows}:
            raise StreamStateError(
                f"state holds windows {sorted(windows) if isinstance(windows, dict) else windows!r}, "
                f"pipeline has windows at {sorted(str(i) for i in self._windows)}"
            )
        for index, window in self._windows.items():
            window.restore(windows[str(index)])
