"""Keyed tumbling-window aggregation in event time.

A record with event time ``t`` (epoch ms) and key ``k`` falls in window
``[t - t mod w, t - t mod w + w)`` of key ``k``. Event time comes from ``time_field`` (an
ISO-8601 string, naive meaning UTC, or epoch seconds/milliseconds — ``time_unit: auto`` takes
numbers of magnitude >= 1e11 as milliseconds) or else the record's Kafka timestamp.

The *watermark* is the largest event time seen minus ``allowed_lateness_seconds``. A window is
emitted, once, as soon as the watermark reaches its end; a record whose window has already
been emitted is late and raises :class:`LateRecordError` (dead letter, reason ``late``).
``flush()`` emits every open window and moves the watermark past them, so each (key, window)
is emitted at most once over the life of the state, snapshots included.

Emitted records look like ``{<key>: k, "window_start": iso, "window_end": iso, <aggregates>}``
with timestamp ``window_end - 1 ms``; windows come out by start time, then first-seen key order.
A record is validated completely (time, key, every aggregated field) before any state changes.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tauro_streaming.domain.base import Emitted, Processor
from tauro_streaming.domain.errors import LateRecordError, ProcessorError, StreamStateError
from tauro_streaming.domain.records import MISSING, Record, get_field, is_finite_number, json_type, strict_key
from tauro_streaming.domain.specs import WindowSpec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
MS_THRESHOLD = 1e11  # |n| >= 1e11 is taken as milliseconds (1e11 s is year 5138; 1e11 ms is 1973)
STATE_VERSION = 1


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as ``2025-01-26T10:00:00.000Z``."""
    return (EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_event_time(value: Any, unit: str = "auto") -> int:
    """Epoch milliseconds from an ISO string or an epoch number; ProcessorError if unusable."""
    if is_finite_number(value):
        is_ms = unit == "ms" or (unit == "auto" and abs(value) >= MS_THRESHOLD)
        ms = math.floor(value) if is_ms else round(value * 1000)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ProcessorError(f"event time '{value[:64]}' is not an ISO-8601 timestamp") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        ms = (parsed - EPOCH) // timedelta(milliseconds=1)
    else:
        raise ProcessorError(f"event time must be an ISO-8601 string or epoch number, got {json_type(value)}")
    if not MIN_MS <= ms <= MAX_MS:
        raise ProcessorError(f"event time {value!r} is outside years 1..9999")
    return ms


class _Aggregation:
    """One output field: how to read a record, fold it into an accumulator, and report it."""

    def __init__(self, name: str, op: str, field: str | None) -> None:
        self.name, self.op, self.field = name, op, field

    def extract(self, record: Record) -> Any:
        if self.field is None:
            return 1
        value = get_field(record, self.field)
        if self.op == "count":
            return 0 if value is MISSING or value is None else 1
        if value is MISSING or value is None:
            raise ProcessorError(f"aggregation '{self.name}' ({self.op}): field '{self.field}' is missing")
        if not is_finite_number(value):
            what = f"aggregation '{self.name}' ({self.op})"
            raise ProcessorError(f"{what} needs a number in '{self.field}', got {json_type(value)}")
        return value

    def initial(self) -> Any:
        return {"count": 0, "sum": 0, "min": None, "max": None, "avg": [0, 0]}[self.op]

    def fold(self, acc: Any, value: Any) -> Any:
        if self.op in ("count", "sum"):
            return acc + value
        if self.op == "min":
            return value if acc is None or value < acc else acc
        if self.op == "max":
            return value if acc is None or value > acc else acc
        return [acc[0] + value, acc[1] + 1]

    def result(self, acc: Any) -> Any:
        return acc[0] / acc[1] if self.op == "avg" else acc

    def valid(self, acc: Any) -> bool:
        if self.op == "avg":
            return isinstance(acc, list) and len(acc) == 2 and all(is_finite_number(x) for x in acc)
        return (acc is None and self.op in ("min", "max")) or is_finite_number(acc)


@dataclass
class _Window:
    key: Any
    accs: list[Any]


class WindowProcessor(Processor):
    """Stateful tumbling-window aggregation; see the module docstring for the semantics."""

    kind = "window"

    def __init__(self, index: int, spec: WindowSpec) -> None:
        super().__init__(index)
        self.spec = spec
        self._width = spec.window_ms
        self._lateness = spec.lateness_ms
        self._aggs = [_Aggregation(name, a.op, a.field) for name, a in spec.aggregations.items()]
        self._open: dict[int, dict[tuple[int, Any], _Window]] = {}
        self._starts: list[int] = []  # min-heap of the keys of _open
        self._watermark: int | None = None  # every window ending at or before it has been emitted

    @property
    def watermark_ms(self) -> int | None:
        return self._watermark

    @property
    def open_windows(self) -> int:
        return sum(len(windows) for windows in self._open.values())

    def _key(self, record: Record) -> Any:
        key = get_field(record, self.spec.key)
        if key is MISSING or key is None:
            raise ProcessorError(f"window key field '{self.spec.key}' is missing or null")
        if not (isinstance(key, str | bool) or is_finite_number(key)):
            raise ProcessorError(f"window key '{self.spec.key}' must be a string, number or boolean, "
                                 f"got {json_type(key)}")
        return key

    def _event_time(self, record: Record, timestamp_ms: int) -> int:
        if self.spec.time_field is None:
            return timestamp_ms
        value = get_field(record, self.spec.time_field)
        if value is MISSING or value is None:
            raise ProcessorError(f"time field '{self.spec.time_field}' is missing or null")
        return parse_event_time(value, self.spec.time_unit)

    def apply(self, record: Record, timestamp_ms: int) -> list[Emitted]:
        event_ms = self._event_time(record, timestamp_ms)
        key = self._key(record)
        values = [agg.extract(record) for agg in self._aggs]
        start = event_ms - event_ms % self._width
        end = start + self._width
        if self._watermark is not None and end <= self._watermark:
            raise LateRecordError(
                f"late: event time {iso_ms(event_ms)} falls in window [{iso_ms(start)}, {iso_ms(end)}) "
                f"already emitted (watermark {iso_ms(self._watermark)})"
            )
        windows = self._open.get(start)
        if windows is None:
            windows = self._open[start] = {}
            heapq.heappush(self._starts, start)
        hashed = strict_key(key)
        window = windows.get(hashed)
        if window is None:
            window = windows[hashed] = _Window(key, [agg.initial() for agg in self._aggs])
        window.accs = [agg.fold(acc, v) for agg, acc, v in zip(self._aggs, window.accs, values, strict=True)]
        candidate = event_ms - self._lateness
        if self._watermark is None or candidate > self._watermark:
            self._watermark = candidate
            return self._emit_until(candidate)
        return []

    def _emit_until(self, watermark: int) -> list[Emitted]:
        emitted: list[Emitted] = []
        while self._starts and self._starts[0] + self._width <= watermark:
            start = heapq.heappop(self._starts)
            for window in self._open.pop(start).values():
                emitted.append(self._result(start, window))
        return emitted

    def _result(self, start: int, window: _Window) -> Emitted:
        end = start + self._width
        record: Record = {self.spec.key: window.key, "window_start": iso_ms(start), "window_end": iso_ms(end)}
        for agg, acc in zip(self._aggs, window.accs, strict=True):
            record[agg.name] = agg.result(acc)
        return record, end - 1

    def flush(self) -> list[Emitted]:
        """Emit every open window and close them for good (the watermark moves past them)."""
        if not self._starts:
            return []
        last_end = max(self._starts) + self._width
        emitted = self._emit_until(last_end)
        self._watermark = last_end if self._watermark is None else max(self._watermark, last_end)
        return emitted

    # -- snapshots ---------------------------------------------------------------------------

    def _fingerprint(self) -> dict[str, Any]:
        return {
            "key": self.spec.key,
            "window_ms": self._width,
            "aggregations": [[agg.name, agg.op, agg.field] for agg in self._aggs],
        }

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot: watermark and open windows in emission order."""
        return {
            "version": STATE_VERSION,
            "spec": self._fingerprint(),
            "watermark_ms": self._watermark,
            "windows": [
                {"start_ms": start, "key": window.key, "accs": [list(a) if isinstance(a, list) else a
                                                                 for a in window.accs]}
                for start in sorted(self._open)
                for window in self._open[start].values()
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replace the current state by a snapshot taken from a processor with the same spec."""
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise StreamStateError(f"window state of processor {self.index} has an unknown version")
        if state.get("spec") != self._fingerprint():
            raise StreamStateError(
                f"window state of processor {self.index} was taken with another key, width or aggregations"
            )
        watermark = state.get("watermark_ms")
        if watermark is not None and (not isinstance(watermark, int) or isinstance(watermark, bool)):
            raise StreamStateError("watermark_ms must be an integer or null")
        opened: dict[int, dict[tuple[int, Any], _Window]] = {}
        for entry in state.get("windows", []):
            opened_window = self._restored_window(entry)
            start = entry["start_ms"]
            opened.setdefault(start, {})[strict_key(opened_window.key)] = opened_window
        self._open = opened
        self._starts = list(opened)
        heapq.heapify(self._starts)
        self._watermark = watermark

    def _restored_window(self, entry: Any) -> _Window:
        if not isinstance(entry, dict) or set(entry) != {"start_ms", "key", "accs"}:
            raise StreamStateError(f"malformed window entry {entry!r}")
        start, key, accs = entry["start_ms"], entry["key"], entry["accs"]
        if not isinstance(start, int) or isinstance(start, bool) or start % self._width:
            raise StreamStateError(f"window start {start!r} is not aligned to {self._width} ms")
        if not (isinstance(key, str | bool) or is_finite_number(key)):
            raise StreamStateError(f"window key {key!r} is not a scalar")
        if not isinstance(accs, list) or len(accs) != len(self._aggs) or not all(
            agg.valid(acc) for agg, acc in zip(self._aggs, accs, strict=False)
        ):
            raise StreamStateError(f"window accumulators {accs!r} do not fit the aggregations")
        return _Window(key, [list(a) if isinstance(a, list) else a for a in accs])
