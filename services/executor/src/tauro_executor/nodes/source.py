"""The ``source`` node: read a CSV, JSON Lines or Parquet file into the run's work dir."""

from __future__ import annotations

from pathlib import Path

from tauro_executor.nodes.base import NodeContext, NodeError, NodeResult, require
from tauro_executor.nodes.tables import check_format, read_table, write_table


def run_source(ctx: NodeContext) -> NodeResult:
    """Config: ``format`` (csv | jsonl | parquet), ``path`` (relative to the working directory),
    optional ``columns`` (keep only these, in this order)."""
    fmt = check_format(require(ctx.config, "format", "source"), "source")
    path = Path(str(require(ctx.config, "path", "source"))).expanduser()
    df = read_table(path, fmt)
    columns = ctx.config.get("columns")
    if columns is not None:
        if isinstance(columns, str):
            columns = [columns]
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise NodeError(f"source node: 'columns' must be a list of column names, got {columns!r}")
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise NodeError(f"source node: {path} has no column(s) {missing}; available: {df.columns}")
        df = df.select(columns)
    ctx.log.info(f"read {df.height} rows x {df.width} columns from {path} ({fmt})")
    size = write_table(df, ctx.output_path, "parquet")
    return NodeResult(rows_in=df.height, rows_out=df.height, bytes_out=size, output_path=ctx.output_path)
