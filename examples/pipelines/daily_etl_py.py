"""The daily ETL of daily_etl.yaml written as Python code: extract the orders from CSV, deduplicate
and normalize them, load them as JSON Lines.

Discovery imports this file (PIPELINES_DIR): keep the top level light and import polars inside
the tasks. Each task becomes a ``python`` node; calling ``transform(extract())`` inside the
``@pipeline`` function makes the edge and hands extract's DataFrame to ``orders``.

Available to every project as pipeline ``daily_etl_py`` (id ``pipe_daily_etl_py``); or register
it in a project: ``tauro pipelines apply examples/pipelines/daily_etl_py.py --project analytics``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tauro_client import pipeline, task

ORDERS_CSV = Path(__file__).resolve().parents[1] / "data" / "orders.csv"


@task(retries=2, timeout_seconds=120)
def extract_orders(log: Any) -> Any:
    import polars as pl

    orders = pl.read_csv(ORDERS_CSV, infer_schema_length=0)  # every column as text, as the source node reads it
    log.info(f"read {orders.height} orders from {ORDERS_CSV.name}")
    return orders


@task
def transform_orders(orders: Any, log: Any) -> Any:
    import polars as pl

    names = [re.sub(r"[^0-9a-z]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", c.strip()).lower()).strip("_")
             for c in orders.columns]
    trimmed = orders.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
        for c, dtype in orders.schema.items() if dtype == pl.String
    )
    clean = trimmed.rename(dict(zip(orders.columns, names, strict=True))).unique(maintain_order=True)
    log.info(f"{orders.height - clean.height} duplicates removed, columns {clean.columns}")
    return clean


@task(timeout_seconds=120)
def load_orders(orders: Any, path: str, log: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    orders.write_ndjson(path)
    log.info(f"wrote {orders.height} orders to {path}")


@pipeline(name="daily_etl_py", id="pipe_daily_etl_py", config={"max_parallelism": 2})
def daily_etl_py() -> None:
    """Extract, transform and load the daily orders (Python-defined)"""
    load_orders(transform_orders(extract_orders()), path="{{ output_dir }}/orders_py_{{ date }}.jsonl")
