"""User callables the python-node tests import (by file path or, with PYTHONPATH, by module)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import polars as pl


def double_amounts(
    inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any
) -> Any:
    factor = config.get("factor", 2)
    log(f"doubling {sum(f.height for f in inputs)} rows")
    frame = pl.concat(inputs, how="diagonal_relaxed")
    return frame.with_columns((pl.col("amount") * factor).alias("amount"))


def make_rows(inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any) -> Any:
    return pl.DataFrame({"n": list(range(int(params.get("count", 3))))})


def noisy(inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    print("printed to stdout")
    print("printed to stderr", file=sys.stderr)
    os.system("echo from a child process")
    log.warning("careful")
    logging.getLogger("user.module").info("via logging")
    return None


def boom(inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    log("about to fail")
    raise ValueError(f"boom: bad input {params.get('what', 'x')}")


def returns_text(inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any) -> str:
    return "not a frame"


def hard_exit(inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    os._exit(3)


def calls_sys_exit(
    inputs: list[pl.DataFrame], config: dict[str, Any], params: dict[str, Any], log: Any
) -> None:
    sys.exit(4)
