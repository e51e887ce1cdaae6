"""The ``sink`` node: write the (combined) upstream inputs to a CSV, JSON Lines or Parquet file."""

from __future__ import annotations

from pathlib import Path

from tauro_executor.nodes.base import NodeContext, NodeError, NodeResult, require
from tauro_executor.nodes.tables import check_format, combine, read_inputs, write_table


def run_sink(ctx: NodeContext) -> NodeResult:
    """Config: ``format``, ``path`` (parent dirs are created; written atomically), ``mode: overwrite``."""
    fmt = check_format(require(ctx.config, "format", "sink"), "sink")
    path = Path(str(require(ctx.config, "path", "sink"))).expanduser()
    mode = ctx.config.get("mode", "overwrite")
    if mode != "overwrite":
        raise NodeError(f"sink node: mode {mode!r} is not supported (only 'overwrite')")
    df = combine(read_inputs(ctx.inputs), "sink")
    size = write_table(df, path, fmt)
    ctx.log.info(f"wrote {df.height} rows ({size} bytes) to {path} ({fmt})")
    return NodeResult(rows_in=df.height, rows_out=df.height, bytes_out=size)
