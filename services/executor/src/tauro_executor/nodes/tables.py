"""Reading and writing tables (CSV, JSON Lines, Parquet) with polars; writes are atomic."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from tauro_executor.nodes.base import NodeError

FORMATS = ("csv", "jsonl", "parquet")
_ALIASES = {"ndjson": "jsonl", "json_lines": "jsonl", "jsonlines": "jsonl", "pq": "parquet"}


def check_format(value: object, kind: str) -> str:
    """The canonical format name, or a clear error."""
    name = str(value or "").strip().lower()
    name = _ALIASES.get(name, name)
    if name not in FORMATS:
        raise NodeError(f"{kind} node: unsupported format {value!r} (expected one of: {', '.join(FORMATS)})")
    return name


def read_table(path: Path, fmt: str) -> pl.DataFrame:
    """Read a whole file into a DataFrame; a missing file is a :class:`NodeError`."""
    if not path.is_file():
        raise NodeError(f"input file not found: {path}")
    try:
        if fmt == "csv":
            return pl.read_csv(path, infer_schema_length=10_000)
        if fmt == "jsonl":
            return pl.read_ndjson(path)
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise NodeError(f"cannot read {fmt} file {path}: {exc}") from exc


def write_table(df: pl.DataFrame, path: Path, fmt: str) -> int:
    """Write ``df`` atomically (temp file in the same directory, fsync, rename); returns bytes written."""
    writers: dict[str, Callable[[Path], None]] = {
        "csv": lambda p: df.write_csv(p),
        "jsonl": lambda p: df.write_ndjson(p),
        "parquet": lambda p: df.write_parquet(p),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writers[fmt](tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def read_inputs(paths: list[Path]) -> list[pl.DataFrame]:
    """Every upstream output, in order."""
    return [read_table(p, "parquet") for p in paths]


def combine(frames: list[pl.DataFrame], kind: str) -> pl.DataFrame:
    """One frame from the upstream inputs (diagonal concat: columns are unioned, missing ones null)."""
    if not frames:
        raise NodeError(f"{kind} node has no upstream input: connect it after a node that produces data")
    if len(frames) == 1:
        return frames[0]
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"{kind} node: cannot combine {len(frames)} inputs: {exc}") from exc
