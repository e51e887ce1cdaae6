"""The processor's built-in transformations, one by one, and the processor node itself."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from tauro_executor.nodes.base import NodeError
from tauro_executor.nodes.processor import run_processor
from tauro_executor.nodes.transforms import TRANSFORMS, apply_all, snake_case

from .helpers import context


@pytest.fixture
def orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 2, 3, 4],
            "customer": ["ann", "bob", "bob", None, "dan"],
            "amount": [10.0, 25.5, 25.5, 7.0, None],
            "status": ["new", "paid", "paid", "paid", "void"],
        }
    )


def test_deduplicate_whole_rows_keeps_first_in_order(orders: pl.DataFrame) -> None:
    out = apply_all(orders, ["deduplicate"])
    assert out["id"].to_list() == [1, 2, 3, 4]


def test_deduplicate_subset(orders: pl.DataFrame) -> None:
    out = apply_all(orders, [{"deduplicate": {"subset": ["status"]}}])
    assert out["id"].to_list() == [1, 2, 4]
    assert apply_all(orders, [{"deduplicate": "status"}]).height == 3


def test_normalize_trims_nulls_empty_strings_and_snake_cases_names() -> None:
    df = pl.DataFrame(
        {
            " Order ID ": [1, 2],
            "customerName": ["  Ann ", "   "],
            "EMAIL": ["", "b@x.io "],
            "HTTPCode": [200, 404],
        }
    )
    out = apply_all(df, ["normalize"])
    assert out.columns == ["order_id", "customer_name", "email", "http_code"]
    assert out["customer_name"].to_list() == ["Ann", None]
    assert out["email"].to_list() == [None, "b@x.io"]
    assert out["order_id"].dtype == pl.Int64


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Order ID", "order_id"),
        (" Customer Name ", "customer_name"),
        ("orderDate", "order_date"),
        ("UnitPrice", "unit_price"),
        ("HTTPStatusCode", "http_status_code"),
        ("already_snake", "already_snake"),
        ("Price (EUR)", "price_eur"),
        ("col-2", "col_2"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_normalize_refuses_colliding_names() -> None:
    with pytest.raises(NodeError, match="several columns become"):
        apply_all(pl.DataFrame({"Order ID": [1], "order_id": [2]}), ["normalize"])


def test_drop_nulls(orders: pl.DataFrame) -> None:
    assert apply_all(orders, ["drop_nulls"])["id"].to_list() == [1, 2, 2]
    assert apply_all(orders, [{"drop_nulls": {"subset": ["customer"]}}])["id"].to_list() == [1, 2, 2, 4]


@pytest.mark.parametrize(
    ("op", "value", "ids"),
    [
        ("eq", "paid", [2, 2, 3]),
        ("ne", "paid", [1, 4]),
        ("in", ["new", "void"], [1, 4]),
    ],
)
def test_filter_on_strings(orders: pl.DataFrame, op: str, value: object, ids: list[int]) -> None:
    out = apply_all(orders, [{"filter": {"column": "status", "op": op, "value": value}}])
    assert out["id"].to_list() == ids


@pytest.mark.parametrize(
    ("op", "value", "ids"),
    [
        ("gt", 10, [2, 2]),
        ("gte", 10, [1, 2, 2]),
        ("lt", 10, [3]),
        ("lte", 10, [1, 3]),
        ("not_null", None, [1, 2, 2, 3]),
    ],
)
def test_filter_on_numbers(orders: pl.DataFrame, op: str, value: object, ids: list[int]) -> None:
    out = apply_all(orders, [{"filter": {"column": "amount", "op": op, "value": value}}])
    assert out["id"].to_list() == ids


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"column": "nope", "op": "eq", "value": 1}, "unknown column(s) ['nope']"),
        ({"column": "amount", "op": "like", "value": 1}, "unknown op 'like'"),
        ({"column": "amount", "op": "in", "value": 3}, "needs a list"),
        ({"column": "amount", "op": "gt"}, "needs a 'value'"),
        ({"op": "gt", "value": 1}, "needs 'column'"),
        ({"column": "amount", "op": "gt", "value": "abc"}, "cannot compare 'amount'"),
    ],
)
def test_filter_errors(orders: pl.DataFrame, args: dict[str, object], fragment: str) -> None:
    with pytest.raises(NodeError) as excinfo:
        apply_all(orders, [{"filter": args}])
    assert "transformations[0] filter" in str(excinfo.value)
    assert fragment in str(excinfo.value)


def test_select_and_rename(orders: pl.DataFrame) -> None:
    out = apply_all(orders, [{"select": ["id", "amount"]}, {"rename": {"amount": "total"}}])
    assert out.columns == ["id", "total"]
    assert apply_all(orders, [{"select": {"columns": "id"}}]).columns == ["id"]
    with pytest.raises(NodeError, match=r"select: unknown column\(s\) \['missing'\]"):
        apply_all(orders, [{"select": ["id", "missing"]}])
    with pytest.raises(NodeError, match="rename: unknown column"):
        apply_all(orders, [{"rename": {"missing": "x"}}])


def test_cast(orders: pl.DataFrame) -> None:
    df = orders.with_columns(pl.lit("2025-01-31").alias("day"), pl.col("id").cast(pl.String).alias("sid"))
    out = apply_all(df, [{"cast": {"amount": "int", "day": "date", "sid": "int64", "id": "string"}}])
    assert out.schema["amount"] == pl.Int64
    assert out["day"][0] == date(2025, 1, 31)
    assert out["sid"].to_list() == [1, 2, 2, 3, 4]
    assert out["id"].dtype == pl.String
    with pytest.raises(NodeError, match="unknown dtype 'decimal128'"):
        apply_all(df, [{"cast": {"amount": "decimal128"}}])
    with pytest.raises(NodeError, match="cast:"):
        apply_all(df, [{"cast": {"customer": "int"}}])


def test_sort(orders: pl.DataFrame) -> None:
    assert apply_all(orders, [{"sort": {"by": "amount", "descending": True}}])["id"].to_list() == [
        2,
        2,
        1,
        3,
        4,
    ]
    assert apply_all(orders, [{"sort": ["status", "id"]}])["id"].to_list() == [1, 2, 2, 3, 4]
    with pytest.raises(NodeError, match="sort: needs 'by'"):
        apply_all(orders, [{"sort": {"descending": True}}])


def test_add_column_and_limit(orders: pl.DataFrame) -> None:
    out = apply_all(orders, [{"add_column": {"name": "source", "value": "crm"}}, {"limit": 2}])
    assert out["source"].to_list() == ["crm", "crm"]
    assert apply_all(orders, [{"limit": {"n": 0}}]).height == 0
    with pytest.raises(NodeError, match="limit: needs a non-negative integer"):
        apply_all(orders, [{"limit": -1}])
    with pytest.raises(NodeError, match="add_column: needs 'value'"):
        apply_all(orders, [{"add_column": {"name": "x"}}])


def test_unknown_transformation_is_named(orders: pl.DataFrame) -> None:
    with pytest.raises(NodeError) as excinfo:
        apply_all(orders, ["deduplicate", {"pivot": {}}])
    message = str(excinfo.value)
    assert "transformations[1]" in message and "unknown transformation 'pivot'" in message
    for known in TRANSFORMS:
        assert known in message


def test_malformed_step(orders: pl.DataFrame) -> None:
    with pytest.raises(NodeError, match="one-key mapping"):
        apply_all(orders, [{"limit": 1, "select": ["id"]}])


def test_steps_apply_in_order(orders: pl.DataFrame) -> None:
    first = apply_all(orders, [{"limit": 2}, {"sort": {"by": "id", "descending": True}}])
    assert first["id"].to_list() == [2, 1]


def test_processor_concatenates_several_inputs_diagonally(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pl.DataFrame({"id": [1, 2], "x": ["p", "q"]}).write_parquet(a)
    pl.DataFrame({"id": [2, 3], "y": [1.5, 2.5]}).write_parquet(b)
    ctx, logs = context(tmp_path, {"transformations": [{"sort": "id"}]}, inputs=[a, b])
    result = run_processor(ctx)
    out = pl.read_parquet(ctx.output_path)
    assert out.columns == ["id", "x", "y"]
    assert out["id"].to_list() == [1, 2, 2, 3]
    assert (result.rows_in, result.rows_out) == (4, 4)
    assert result.bytes_out == ctx.output_path.stat().st_size
    assert any("rows in" in message for _, message in logs)


def test_processor_without_input_fails_clearly(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, {"transformations": ["deduplicate"]})
    with pytest.raises(NodeError, match="processor node has no upstream input"):
        run_processor(ctx)
