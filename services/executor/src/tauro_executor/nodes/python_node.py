"""The ``python`` node: import a user callable and call it with the upstream DataFrames.

``callable`` is ``"package.module:function"`` (imported from ``sys.path``, which includes
the working directory) or ``"path/to/file.py:function"``. The function is called as
``function(inputs, config, params, log)`` and may return a DataFrame (a LazyFrame is
collected), which becomes the node's output, or ``None``.

polars is imported only when needed: to read inputs, or to write a frame the callable
returned (it imported polars to make one). A callable without inputs that returns ``None``
never pays for it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from tauro_executor.nodes.base import NodeContext, NodeError, NodeResult, require


def load_callable(target: str) -> Callable[..., Any]:
    """Resolve ``module:function`` or ``file.py:function``; errors say what was not found."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise NodeError(f"python node: 'callable' must look like 'package.module:function', got {target!r}")
    module = _load_file(module_name) if module_name.endswith(".py") else _import(module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise NodeError(f"python node: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise NodeError(f"python node: {target!r} is not callable")
    return obj


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise NodeError(f"python node: cannot import module {name!r}: {exc}") from exc
        raise


def _load_file(filename: str) -> ModuleType:
    path = Path(filename).expanduser().resolve()
    if not path.is_file():
        raise NodeError(f"python node: file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"tauro_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise NodeError(f"python node: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses, pickling etc. look their module up here
    spec.loader.exec_module(module)
    return module


def run_python(ctx: NodeContext) -> NodeResult:
    func = load_callable(str(require(ctx.config, "callable", "python")))
    frames: list[Any] = []
    if ctx.inputs:
        from tauro_executor.nodes.tables import read_inputs

        frames = read_inputs(ctx.inputs)
    rows_in = sum(f.height for f in frames)
    try:
        returned = func(frames, ctx.config, ctx.params, ctx.log)
    except SystemExit as exc:
        raise NodeError(f"python node: the callable called sys.exit({exc.code!r})") from exc
    if returned is None:
        return NodeResult(rows_in=rows_in if frames else None)
    pl = sys.modules.get("polars")  # a frame was made with polars, so it is imported already
    if pl is not None and isinstance(returned, pl.LazyFrame):
        returned = returned.collect()
    if pl is None or not isinstance(returned, pl.DataFrame):
        kind = type(returned).__name__
        raise NodeError(f"python node: the callable returned {kind}; expected a polars DataFrame or None")
    from tauro_executor.nodes.tables import write_table

    size = write_table(returned, ctx.output_path, "parquet")
    return NodeResult(
        rows_in=rows_in if frames else None,
        rows_out=returned.height,
        bytes_out=size,
        output_path=ctx.output_path,
    )
