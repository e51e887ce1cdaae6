"""Source, sink, python and shell nodes, run in-process against a NodeContext."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import polars as pl
import pytest
from tauro_executor.nodes import NodeError, run_node, shell
from tauro_executor.nodes.python_node import run_python
from tauro_executor.nodes.shell import param_env, run_shell
from tauro_executor.nodes.sink import run_sink
from tauro_executor.nodes.source import run_source

from .helpers import CALLABLES, context

FRAME = pl.DataFrame({"id": [1, 2, 3], "name": ["a", "b", None], "amount": [1.5, 2.0, 3.25]})


def _write(path: Path, fmt: str) -> Path:
    if fmt == "csv":
        FRAME.write_csv(path)
    elif fmt == "jsonl":
        FRAME.write_ndjson(path)
    else:
        FRAME.write_parquet(path)
    return path


def _read(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "csv":
        return pl.read_csv(path)
    return pl.read_ndjson(path) if fmt == "jsonl" else pl.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_source_reads_each_format_into_the_work_dir(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path / f"in.{fmt}", fmt)
    ctx, logs = context(tmp_path, {"format": fmt, "path": str(path)})
    result = run_source(ctx)
    assert pl.read_parquet(ctx.output_path).equals(FRAME)
    assert (result.rows_in, result.rows_out, result.output_path) == (3, 3, ctx.output_path)
    assert result.bytes_out and result.bytes_out > 0
    assert any("read 3 rows" in message for _, message in logs)


def test_source_relative_path_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    _write(tmp_path / "data" / "in.csv", "csv")
    monkeypatch.chdir(tmp_path)
    ctx, _ = context(tmp_path, {"format": "csv", "path": "data/in.csv", "columns": ["name", "id"]})
    run_source(ctx)
    assert pl.read_parquet(ctx.output_path).columns == ["name", "id"]


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"format": "xml", "path": "x"}, "unsupported format 'xml'"),
        ({"format": "csv"}, "config needs 'path'"),
        ({"path": "x.csv"}, "config needs 'format'"),
        ({"format": "csv", "path": "/nonexistent/file.csv"}, "input file not found: /nonexistent/file.csv"),
    ],
)
def test_source_errors(tmp_path: Path, config: dict[str, object], fragment: str) -> None:
    ctx, _ = context(tmp_path, config)
    with pytest.raises(NodeError) as excinfo:
        run_source(ctx)
    assert fragment in str(excinfo.value)


def test_source_unknown_columns(tmp_path: Path) -> None:
    ctx, _ = context(
        tmp_path, {"format": "csv", "path": str(_write(tmp_path / "in.csv", "csv")), "columns": ["zz"]}
    )
    with pytest.raises(NodeError, match=r"has no column\(s\) \['zz'\]"):
        run_source(ctx)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_sink_writes_each_format_atomically_creating_dirs(tmp_path: Path, fmt: str) -> None:
    upstream = _write(tmp_path / "up.parquet", "parquet")
    target = tmp_path / "deep" / "er" / f"out.{fmt}"
    ctx, _ = context(tmp_path, {"format": fmt, "path": str(target)}, inputs=[upstream])
    result = run_sink(ctx)
    assert _read(target, fmt).equals(FRAME)
    assert result.bytes_out == target.stat().st_size
    assert (result.rows_in, result.rows_out) == (3, 3)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left behind


def test_sink_jsonl_is_one_object_per_line(tmp_path: Path) -> None:
    upstream = _write(tmp_path / "up.parquet", "parquet")
    target = tmp_path / "out.jsonl"
    ctx, _ = context(
        tmp_path, {"format": "jsonl", "path": str(target), "mode": "overwrite"}, inputs=[upstream]
    )
    target.write_text("old content\n")
    run_sink(ctx)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert rows[2] == {"id": 3, "name": None, "amount": 3.25}


def test_sink_rejects_other_modes_and_missing_input(tmp_path: Path) -> None:
    upstream = _write(tmp_path / "up.parquet", "parquet")
    ctx, _ = context(
        tmp_path, {"format": "csv", "path": str(tmp_path / "o.csv"), "mode": "append"}, inputs=[upstream]
    )
    with pytest.raises(NodeError, match="mode 'append' is not supported"):
        run_sink(ctx)
    ctx, _ = context(tmp_path, {"format": "csv", "path": str(tmp_path / "o.csv")})
    with pytest.raises(NodeError, match="sink node has no upstream input"):
        run_sink(ctx)


def test_python_node_output_becomes_the_node_output(tmp_path: Path) -> None:
    upstream = _write(tmp_path / "up.parquet", "parquet")
    ctx, logs = context(
        tmp_path, {"callable": f"{CALLABLES}:double_amounts", "factor": 10}, inputs=[upstream]
    )
    result = run_python(ctx)
    assert pl.read_parquet(ctx.output_path)["amount"].to_list() == [15.0, 20.0, 32.5]
    assert (result.rows_in, result.rows_out) == (3, 3)
    assert ("INFO", "doubling 3 rows") in logs


def test_python_node_by_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(CALLABLES.parent))
    ctx, _ = context(tmp_path, {"callable": "sample_callables:make_rows"}, params={"count": 5})
    result = run_python(ctx)
    assert result.rows_out == 5 and result.rows_in is None


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("no_colon_here", "must look like 'package.module:function'"),
        ("surely_not_a_module_xyz:f", "cannot import module 'surely_not_a_module_xyz'"),
        (f"{CALLABLES}:nope", "has no attribute 'nope'"),
        ("/nonexistent/thing.py:f", "file not found"),
        (f"{CALLABLES}:returns_text", "returned str; expected a polars DataFrame or None"),
        (f"{CALLABLES}:calls_sys_exit", "called sys.exit(4)"),
    ],
)
def test_python_node_errors(tmp_path: Path, target: str, fragment: str) -> None:
    ctx, _ = context(tmp_path, {"callable": target})
    with pytest.raises(NodeError) as excinfo:
        run_python(ctx)
    assert fragment in str(excinfo.value)


def test_param_env_names() -> None:
    assert param_env({"batch-size": 10, "env": "prod", "tags": ["a"]}) == {
        "TAURO_PARAM_BATCH_SIZE": "10",
        "TAURO_PARAM_ENV": "prod",
        "TAURO_PARAM_TAGS": '["a"]',
    }


def test_shell_node_env_cwd_and_levels(tmp_path: Path) -> None:
    config = {
        "command": 'echo "env=$TAURO_PARAM_ENV extra=$EXTRA node=$TAURO_NODE_ID"; pwd; echo warn >&2',
        "env": {"EXTRA": "yes"},
        "cwd": str(tmp_path),
    }
    ctx, logs = context(tmp_path, config, params={"env": "prod"})
    result = run_shell(ctx)
    assert ("INFO", "env=prod extra=yes node=node") in logs
    assert ("INFO", str(tmp_path)) in logs
    assert ("WARNING", "warn") in logs
    assert result.output_path is None


def test_shell_node_argv_list_is_not_split_by_a_shell(tmp_path: Path) -> None:
    ctx, logs = context(tmp_path, {"command": ["printf", "%s\\n", "a b", "$HOME", 3]})
    run_shell(ctx)
    assert logs == [("INFO", "a b"), ("INFO", "$HOME"), ("INFO", "3")]


def test_shell_node_reports_an_output_table_it_wrote(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, {"command": 'printf data > "$TAURO_OUTPUT_PATH"'})
    result = run_shell(ctx)
    assert result.output_path == ctx.output_path and result.bytes_out == 4


def test_shell_node_failure_reports_code_and_stderr_tail(tmp_path: Path) -> None:
    command = "for i in $(seq 1 30); do echo line$i >&2; done; exit 7"
    ctx, logs = context(tmp_path, {"command": command})
    with pytest.raises(NodeError) as excinfo:
        run_shell(ctx)
    message = str(excinfo.value)
    assert "exited with code 7" in message
    assert "line30" in message and "line11" in message and "line10\n" not in message
    assert len([1 for level, _ in logs if level == "WARNING"]) == 30


def test_shell_node_splits_very_long_lines_and_keeps_a_last_partial_one(tmp_path: Path) -> None:
    command = "printf '%070000d\\n' 0; printf 'no newline' >&2"
    ctx, logs = context(tmp_path, {"command": command})
    run_shell(ctx)
    assert [(level, len(message)) for level, message in logs if level == "INFO"] == [("INFO", 65536), ("INFO", 4464)]
    assert ("WARNING", "no newline") in logs


def test_shell_node_does_not_wait_long_for_a_background_child_holding_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shell, "LINGER_SECONDS", 0.5)
    ctx, logs = context(tmp_path, {"command": "sleep 30 & echo started; echo $! > child.pid", "cwd": str(tmp_path)})
    started = time.monotonic()
    try:
        result = run_shell(ctx)
    finally:
        os.kill(int((tmp_path / "child.pid").read_text()), signal.SIGKILL)
    assert time.monotonic() - started < 5 and result.output_path is None
    assert ("INFO", "started") in logs


def test_shell_node_missing_program(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, {"command": ["/definitely/not/a/program"]})
    with pytest.raises(NodeError, match="cannot start '/definitely/not/a/program'"):
        run_shell(ctx)


def test_unknown_node_type(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, {})
    with pytest.raises(NodeError, match="unknown node type 'spark'"):
        run_node("spark", ctx)
