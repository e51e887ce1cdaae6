"""The ``processor`` node: apply built-in transformations to the (combined) upstream inputs."""

from __future__ import annotations

from tauro_executor.nodes.base import NodeContext, NodeError, NodeResult
from tauro_executor.nodes.tables import combine, read_inputs, write_table
from tauro_executor.nodes.transforms import apply_all


def run_processor(ctx: NodeContext) -> NodeResult:
    """Config: ``transformations``, a list of names or ``{name: args}`` mappings, applied in order."""
    steps = ctx.config.get("transformations", [])
    if isinstance(steps, str | dict):
        steps = [steps]
    if not isinstance(steps, list):
        raise NodeError(f"processor node: 'transformations' must be a list, got {steps!r}")
    df = combine(read_inputs(ctx.inputs), "processor")
    rows_in = df.height
    df = apply_all(df, steps)
    ctx.log.info(f"{len(steps)} transformation(s): {rows_in} rows in, {df.height} rows out")
    size = write_table(df, ctx.output_path, "parquet")
    return NodeResult(rows_in=rows_in, rows_out=df.height, bytes_out=size, output_path=ctx.output_path)
