"""The processor's built-in transformations, each ``(df, args) -> df``.

A step is a bare name (``deduplicate``) or a one-key mapping (``{filter: {...}}``).
Bad arguments raise :class:`NodeError` naming the step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import polars as pl

from tauro_executor.nodes.base import NodeError

Transform = Callable[[pl.DataFrame, Any], pl.DataFrame]


def _columns(args: Any, key: str, name: str, *, required: bool = False) -> list[str] | None:
    """A column list given directly, as a single name, or under ``key`` in a mapping."""
    value = args.get(key) if isinstance(args, dict) else args
    if value is None:
        if required:
            raise NodeError(f"{name}: needs '{key}' (a column or a list of columns)")
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(c, str) for c in value):
        return value
    raise NodeError(f"{name}: '{key}' must be a column name or a non-empty list of columns, got {value!r}")


def _check_exist(df: pl.DataFrame, columns: list[str] | None, name: str) -> None:
    missing = [c for c in columns or [] if c not in df.columns]
    if missing:
        raise NodeError(f"{name}: unknown column(s) {missing}; available: {df.columns}")


def _mapping(args: Any, name: str) -> dict[str, Any]:
    if not isinstance(args, dict) or not args:
        raise NodeError(f"{name}: needs a mapping of arguments, got {args!r}")
    return args


def deduplicate(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    subset = _columns(args, "subset", "deduplicate")
    _check_exist(df, subset, "deduplicate")
    return df.unique(subset=subset, keep="first", maintain_order=True)


def snake_case(name: str) -> str:
    """``Order ID`` -> ``order_id``, ``customerName`` -> ``customer_name``, ``HTTPCode`` -> ``http_code``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name.strip())
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def normalize(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    """Trim strings, turn empty strings into nulls, snake_case the column names."""
    names = [snake_case(c) or f"column_{i}" for i, c in enumerate(df.columns)]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise NodeError(f"normalize: several columns become {clashes} after snake_case: {df.columns}")
    strings = [c for c, dtype in df.schema.items() if dtype == pl.String]
    trimmed = df.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
        for c in strings
    )
    return trimmed.rename(dict(zip(df.columns, names, strict=True)))


def drop_nulls(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    subset = _columns(args, "subset", "drop_nulls")
    _check_exist(df, subset, "drop_nulls")
    return df.drop_nulls(subset=subset)


_COMPARISONS: dict[str, Callable[[pl.Expr, Any], pl.Expr]] = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: c != v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "in": lambda c, v: c.is_in(v),
    "not_null": lambda c, v: c.is_not_null(),
    "is_null": lambda c, v: c.is_null(),
}


def filter_rows(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    """Keep rows where ``column op value``; comparisons with null never match (SQL semantics)."""
    spec = _mapping(args, "filter")
    column, op = spec.get("column"), str(spec.get("op", "eq"))
    if not isinstance(column, str):
        raise NodeError("filter: needs 'column'")
    _check_exist(df, [column], "filter")
    if op not in _COMPARISONS:
        raise NodeError(f"filter: unknown op {op!r} (expected one of: {', '.join(_COMPARISONS)})")
    value = spec.get("value")
    if op in {"in"} and not isinstance(value, list):
        raise NodeError(f"filter: op 'in' needs a list 'value', got {value!r}")
    if op not in {"not_null", "is_null"} and "value" not in spec:
        raise NodeError(f"filter: op {op!r} needs a 'value'")
    try:
        return df.filter(_COMPARISONS[op](pl.col(column), value))
    except pl.exceptions.PolarsError as exc:
        dtype = df.schema[column]
        raise NodeError(f"filter: cannot compare {column!r} ({dtype}) {op} {value!r}: {exc}") from exc


def select(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    columns = _columns(args, "columns", "select", required=True)
    _check_exist(df, columns, "select")
    return df.select(columns)


def rename(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    mapping = _mapping(args, "rename")
    _check_exist(df, list(mapping), "rename")
    if not all(isinstance(v, str) and v for v in mapping.values()):
        raise NodeError(f"rename: new names must be non-empty strings, got {mapping!r}")
    try:
        return df.rename(mapping)
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"rename: {exc}") from exc


_DTYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "int": pl.Int64, "int64": pl.Int64, "integer": pl.Int64, "int32": pl.Int32,
    "float": pl.Float64, "float64": pl.Float64, "double": pl.Float64, "float32": pl.Float32,
    "str": pl.String, "string": pl.String, "utf8": pl.String, "text": pl.String,
    "bool": pl.Boolean, "boolean": pl.Boolean,
    "date": pl.Date, "datetime": pl.Datetime("us"),
}  # fmt: skip


def cast(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    """``{column: dtype}``; strings become dates/datetimes by ISO parsing. Values that don't fit fail."""
    mapping = _mapping(args, "cast")
    _check_exist(df, list(mapping), "cast")
    exprs = []
    for column, name in mapping.items():
        dtype = _DTYPES.get(str(name).strip().lower())
        if dtype is None:
            known = ", ".join(_DTYPES)
            raise NodeError(f"cast: unknown dtype {name!r} for {column!r} (expected one of: {known})")
        col = pl.col(column)
        if df.schema[column] == pl.String and dtype == pl.Date:
            exprs.append(col.str.to_date().alias(column))
        elif df.schema[column] == pl.String and isinstance(dtype, pl.Datetime):
            exprs.append(col.str.to_datetime(time_unit="us").alias(column))
        else:
            exprs.append(col.cast(dtype, strict=True).alias(column))
    try:
        return df.with_columns(exprs)
    except pl.exceptions.PolarsError as exc:
        raise NodeError(f"cast: {mapping!r} failed: {exc}") from exc


def sort(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    by = _columns(args, "by", "sort", required=True)
    _check_exist(df, by, "sort")
    descending = args.get("descending", False) if isinstance(args, dict) else False
    nulls_last = bool(args.get("nulls_last", True)) if isinstance(args, dict) else True
    if not isinstance(descending, bool) and not (
        isinstance(descending, list) and all(isinstance(d, bool) for d in descending)
    ):
        raise NodeError(f"sort: 'descending' must be true/false or a list of them, got {descending!r}")
    try:
        return df.sort(by, descending=descending, nulls_last=nulls_last, maintain_order=True)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise NodeError(f"sort: {exc}") from exc


def add_column(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    spec = _mapping(args, "add_column")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise NodeError("add_column: needs 'name'")
    if "value" not in spec:
        raise NodeError("add_column: needs 'value' (a constant)")
    return df.with_columns(pl.lit(spec["value"]).alias(name))


def limit(df: pl.DataFrame, args: Any) -> pl.DataFrame:
    n = args.get("n") if isinstance(args, dict) else args
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise NodeError(f"limit: needs a non-negative integer, got {n!r}")
    return df.head(n)


TRANSFORMS: dict[str, Transform] = {
    "deduplicate": deduplicate,
    "normalize": normalize,
    "drop_nulls": drop_nulls,
    "filter": filter_rows,
    "select": select,
    "rename": rename,
    "cast": cast,
    "sort": sort,
    "add_column": add_column,
    "limit": limit,
}


def parse_step(step: Any, index: int) -> tuple[str, Any]:
    """``"name"`` or ``{name: args}`` -> ``(name, args)``; anything else is a clear error."""
    if isinstance(step, str):
        name, args = step, None
    elif isinstance(step, dict) and len(step) == 1:
        name, args = next(iter(step.items()))
    else:
        raise NodeError(
            f"transformations[{index}]: expected a name or a one-key mapping {{name: args}}, got {step!r}"
        )
    if name not in TRANSFORMS:
        raise NodeError(
            f"transformations[{index}]: unknown transformation {name!r} (known: {', '.join(TRANSFORMS)})"
        )
    return str(name), args


def apply_all(df: pl.DataFrame, steps: list[Any]) -> pl.DataFrame:
    """Apply every step in order; errors name the step's position and name."""
    parsed = [parse_step(step, i) for i, step in enumerate(steps)]
    for index, (name, args) in enumerate(parsed):
        try:
            df = TRANSFORMS[name](df, args)
        except NodeError as exc:
            raise NodeError(f"transformations[{index}] {exc}") from exc
        except pl.exceptions.PolarsError as exc:
            raise NodeError(f"transformations[{index}] {name}: {exc}") from exc
    return df
