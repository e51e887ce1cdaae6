"""Runtime processors built from their specs: filter, map, python callable and window.

Each processor takes one ``(record, timestamp_ms)`` and returns the records it passes on, as
``(record, timestamp_ms)`` pairs: none (dropped), one, or many. A record that cannot be
processed raises :class:`ProcessorError`; the pipeline turns that into a dead letter.
Processors never mutate their input. Only :class:`~tauro_streaming.domain.windows.WindowProcessor`
holds state (``flush``, ``state``, ``restore``).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Collection
from typing import Any

from tauro_streaming.domain.base import Emitted, Processor
from tauro_streaming.domain.conditions import compile_group
from tauro_streaming.domain.errors import ProcessorError, config_error
from tauro_streaming.domain.expressions import compile_expression
from tauro_streaming.domain.records import Record, json_type
from tauro_streaming.domain.specs import FilterSpec, MapSpec, ProcessorSpec, PythonSpec, WindowSpec
from tauro_streaming.domain.windows import WindowProcessor

__all__ = [
    "Emitted", "FilterProcessor", "MapProcessor", "Processor", "PythonProcessor", "WindowProcessor",
    "build_processors", "import_callable",
]


class FilterProcessor(Processor):
    """Passes the record on unchanged when its conditions hold, else drops it."""

    kind = "filter"

    def __init__(self, index: int, spec: FilterSpec) -> None:
        super().__init__(index)
        self._predicate = compile_group(spec, spec.missing)

    def apply(self, record: Record, timestamp_ms: int) -> list[Emitted]:
        return [(record, timestamp_ms)] if self._predicate(record) else []


class MapProcessor(Processor):
    """rename -> set -> compute -> drop -> keep, on a shallow copy of the record."""

    kind = "map"

    def __init__(self, index: int, spec: MapSpec) -> None:
        super().__init__(index)
        self._rename = dict(spec.rename)
        self._set = dict(spec.set)
        self._compute = [(name, compile_expression(source)) for name, source in spec.compute.items()]
        self._drop = list(spec.drop)
        self._keep = list(spec.keep) if spec.keep is not None else None

    def apply(self, record: Record, timestamp_ms: int) -> list[Emitted]:
        out = dict(record)
        if self._rename:
            absent = [old for old in self._rename if old not in out]
            if absent:
                raise ProcessorError(f"rename: field '{absent[0]}' is missing")
            moved = {new: out.pop(old) for old, new in self._rename.items()}
            out.update(moved)
        if self._set:
            out.update(self._set)
        for name, expression in self._compute:
            try:
                out[name] = expression.evaluate(out)
            except ProcessorError as exc:
                raise ProcessorError(f"compute '{name}': {exc}") from None
        for name in self._drop:
            out.pop(name, None)
        if self._keep is not None:
            out = {name: out[name] for name in self._keep if name in out}
        return [(out, timestamp_ms)]


def import_callable(path: str, allowed_prefixes: Collection[str] | None = None) -> Callable[..., Any]:
    """Resolve ``"pkg.mod:attr.path"``; raise a ValueError that says why it cannot be used.

    With ``allowed_prefixes`` (e.g. ``("tauro_udfs",)``) only modules equal to or under one of
    them may be imported: pass it for definitions that come from untrusted API callers.
    """
    module_name, _, attribute = path.partition(":")
    if allowed_prefixes is not None and not any(
        module_name == prefix or module_name.startswith(prefix + ".") for prefix in allowed_prefixes
    ):
        allowed = sorted(allowed_prefixes)
        raise ValueError(f"module '{module_name}' is not in the allowed callable modules {allowed}")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # an import runs user code; any failure means "unusable"
        raise ValueError(f"cannot import module '{module_name}': {type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        if part.startswith("__") or not hasattr(target, part):
            raise ValueError(f"'{module_name}' has no attribute '{attribute}'")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"'{path}' is not callable")
    return target


class PythonProcessor(Processor):
    """Calls ``fn(record_copy, **params)``: a dict passes on, a list fans out, None drops."""

    kind = "python"

    def __init__(self, index: int, spec: PythonSpec, function: Callable[..., Any]) -> None:
        super().__init__(index)
        self.path = spec.callable
        self._function = function
        self._params = dict(spec.params)

    def apply(self, record: Record, timestamp_ms: int) -> list[Emitted]:
        try:
            result = self._function(copy.deepcopy(record), **self._params)
        except Exception as exc:
            raise ProcessorError(f"{self.path} raised {type(exc).__name__}: {exc}") from exc
        if result is None:
            return []
        if isinstance(result, dict):
            return [(result, timestamp_ms)]
        if isinstance(result, list):
            bad = next((item for item in result if not isinstance(item, dict)), None)
            if bad is None:
                return [(item, timestamp_ms) for item in result]
            raise ProcessorError(f"{self.path} returned a list holding {json_type(bad)}, expected objects")
        raise ProcessorError(f"{self.path} returned {json_type(result)}, expected an object, a list or None")


def build_processors(
    specs: tuple[ProcessorSpec, ...] | list[ProcessorSpec],
    *,
    allowed_callable_prefixes: Collection[str] | None = None,
) -> list[Processor]:
    """Runtime processors for a definition's specs; an unusable callable is a VALIDATION_ERROR."""
    built: list[Processor] = []
    for index, spec in enumerate(specs):
        if isinstance(spec, FilterSpec):
            built.append(FilterProcessor(index, spec))
        elif isinstance(spec, MapSpec):
            built.append(MapProcessor(index, spec))
        elif isinstance(spec, PythonSpec):
            try:
                function = import_callable(spec.callable, allowed_callable_prefixes)
            except ValueError as exc:
                raise config_error(f"processors[{index}].callable", str(exc)) from None
            built.append(PythonProcessor(index, spec, function))
        elif isinstance(spec, WindowSpec):
            built.append(WindowProcessor(index, spec))
        else:  # pragma: no cover - the union is closed
            raise TypeError(f"unknown processor spec {type(spec).__name__}")
    return built
