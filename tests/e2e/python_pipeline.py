"""A Python-defined pipeline the e2e suite registers with `tauro pipelines apply` (not discovered:
it is not in PIPELINES_DIR). Data passed by calls, and an ordering-only dependency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tauro_client import pipeline, task


@task
def numbers(params: Any) -> Any:
    import polars as pl

    return pl.DataFrame({"n": list(range(int(params.get("count", 10))))})


@task(retries=1)
def squares(rows: Any) -> Any:
    import polars as pl

    return rows.with_columns((pl.col("n") * pl.col("n")).alias("square"))


@task
def total(rows: Any, path: str, log: Any) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(str(int(rows["square"].sum())))
    log.info(f"sum of squares written to {path}")


@task(depends_on=["total"])
def announce(log: Any) -> None:
    log.info("all done")


@pipeline(name="sum_of_squares", description="squares summed", config={"max_parallelism": 2})
def sum_of_squares() -> None:
    total(squares(numbers()), path="{{ output_dir }}/squares_{{ run_id }}.txt")
    announce()
