"""Definitions: defaults, validation with field paths, YAML loading, and safe ``config`` paths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tauro_contracts.errors import ErrorCode
from tauro_streaming.domain import (
    StreamDefinition,
    StreamDefinitionError,
    load_definition,
    load_definitions,
    parse_definition,
    resolve_config_path,
)

BASE: dict[str, Any] = {"name": "clicks", "input_topics": ["in"], "output_topic": "out"}


def fields(exc: StreamDefinitionError) -> list[str | None]:
    return [d.field for d in exc.details]


def test_defaults() -> None:
    d = parse_definition(BASE)
    assert d.consumer_group == "tauro.stream.clicks"
    assert d.dead_letter_topic == "out.dlq"
    assert d.processors == () and d.key_field is None and d.input_topics == ("in",)


def test_explicit_values_win_and_the_model_is_frozen() -> None:
    d = parse_definition({**BASE, "consumer_group": "g", "dead_letter_topic": "dead", "key_field": "user"})
    assert (d.consumer_group, d.dead_letter_topic, d.key_field) == ("g", "dead", "user")
    with pytest.raises(ValidationError, match="frozen"):
        d.name = "x"


def test_round_trips_through_json() -> None:
    d = parse_definition(
        {
            **BASE,
            "processors": [
                {
                    "type": "filter",
                    "any": [
                        {"field": "a", "op": "eq", "value": 1},
                        {"all": [{"field": "b", "op": "exists"}]},
                    ],
                },
                {"type": "map", "set": {"s": 1}, "compute": {"c": "a + 1"}},
                {"type": "python", "callable": "json:loads"},
                {"type": "window", "key": "k", "window_seconds": 5, "aggregations": {"n": {"op": "count"}}},
            ],
        }
    )
    assert StreamDefinition.model_validate_json(d.model_dump_json()) == d


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input_topics": []}, "input_topics"),
        ({"input_topics": ["a", "a"]}, "input_topics"),
        ({"input_topics": ["bad topic"]}, "input_topics[0]"),
        ({"input_topics": [".."]}, "input_topics"),
        ({"output_topic": "in"}, "output_topic"),
        ({"output_topic": "x" * 250}, "output_topic"),
        ({"dead_letter_topic": "out"}, "dead_letter_topic"),
        ({"name": "has space"}, "name"),
        ({"surprise": 1}, "surprise"),
        ({"processors": [{"type": "sql"}]}, "processors[0]"),
        ({"processors": [{"type": "map"}]}, "processors[0]"),
        ({"processors": [{"type": "map", "compute": {"x": "open('f')"}}]}, "processors[0].compute.x"),
        (
            {"processors": [{"type": "filter", "all": [{"field": "a", "op": "gt", "value": [1]}]}]},
            "processors[0].all[0]",
        ),
        (
            {
                "processors": [
                    {
                        "type": "window",
                        "key": "k",
                        "window_seconds": -1,
                        "aggregations": {"n": {"op": "count"}},
                    }
                ]
            },
            "processors[0].window_seconds",
        ),
        (
            {
                "processors": [
                    {"type": "window", "key": "k", "window_seconds": 1, "aggregations": {"n": {"op": "sum"}}}
                ]
            },
            "processors[0].aggregations.n",
        ),
    ],
)
def test_validation_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(StreamDefinitionError) as info:
        parse_definition({**BASE, **change}, prefix=())
    assert info.value.code == ErrorCode.VALIDATION_ERROR
    assert field in fields(info.value), info.value.to_dict()


def test_prefix_and_name_key() -> None:
    with pytest.raises(StreamDefinitionError) as info:
        parse_definition({"input_topics": [], "output_topic": "o"}, name="n", prefix=("pipelines", "n"))
    assert fields(info.value) == ["pipelines.n.input_topics"]
    with pytest.raises(StreamDefinitionError) as info:
        parse_definition(BASE, name="other", prefix=("pipelines", "other"))
    assert fields(info.value) == ["pipelines.other.name"]
    with pytest.raises(StreamDefinitionError):
        parse_definition(["not", "a", "mapping"])


# -- files ---------------------------------------------------------------------------------------

MULTI = """
pipelines:
  first:
    input_topics: [a]
    output_topic: b
  second:
    input_topics: [a]
    processors:
      - type: filter
        all: [{field: x, op: eq, value: 1}]
    output_topic: c
  broken:
    input_topics: []
    output_topic: d
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    base = tmp_path / "configs"
    (base / "config").mkdir(parents=True)
    (base / "config" / "streaming.yaml").write_text(MULTI)
    (base / "single.yml").write_text("input_topics: [a]\noutput_topic: b\n")
    (base / "named.json").write_text('{"name": "j", "input_topics": ["a"], "output_topic": "b"}')
    return base


def test_load_one_pipeline_from_a_multi_pipeline_file(config_dir: Path) -> None:
    d = load_definition(config_dir, "config/streaming.yaml", "second")
    assert d.name == "second" and d.output_topic == "c" and len(d.processors) == 1
    # a broken sibling does not block the others
    assert load_definition(config_dir, "config/streaming.yaml", "first").name == "first"


def test_the_broken_pipeline_reports_its_path(config_dir: Path) -> None:
    with pytest.raises(StreamDefinitionError) as info:
        load_definition(config_dir, "config/streaming.yaml", "broken")
    assert fields(info.value) == ["pipelines.broken.input_topics"]
    assert "config/streaming.yaml" in info.value.message
    with pytest.raises(StreamDefinitionError):
        load_definitions(config_dir / "config" / "streaming.yaml")


def test_single_pipeline_files(config_dir: Path) -> None:
    assert load_definition(config_dir, "single.yml").name == "single"
    assert load_definition(config_dir, "named.json", "j").name == "j"
    assert list(load_definitions(config_dir / "named.json")) == ["j"]


def test_unknown_pipeline_is_not_found(config_dir: Path) -> None:
    with pytest.raises(StreamDefinitionError) as info:
        load_definition(config_dir, "config/streaming.yaml", "kafka_events")
    assert info.value.code == ErrorCode.NOT_FOUND and fields(info.value) == ["pipeline"]
    assert "first" in info.value.message
    with pytest.raises(StreamDefinitionError) as info:
        load_definition(config_dir, "config/streaming.yaml")
    assert fields(info.value) == ["pipeline"]


def test_missing_file_is_not_found(config_dir: Path) -> None:
    with pytest.raises(StreamDefinitionError) as info:
        load_definition(config_dir, "config/absent.yaml", "x")
    assert info.value.code == ErrorCode.NOT_FOUND and fields(info.value) == ["config"]


@pytest.mark.parametrize(
    ("name", "content", "field"),
    [
        ("bad.yaml", "pipelines: [unclosed", "config"),
        ("list.yaml", "- a\n- b\n", "config"),
        ("empty.yaml", "", "config"),
        ("extra.yaml", "pipelines: {a: {input_topics: [x], output_topic: y}}\nversion: 2\n", "version"),
        ("nopipes.yaml", "pipelines: {}\n", "pipelines"),
        ("notes.txt", "hello", "config"),
    ],
)
def test_bad_files_are_validation_errors(config_dir: Path, name: str, content: str, field: str) -> None:
    (config_dir / name).write_text(content)
    with pytest.raises(StreamDefinitionError) as info:
        load_definition(config_dir, name, "a")
    assert info.value.code == ErrorCode.VALIDATION_ERROR and fields(info.value) == [field]


# -- config paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "relative",
    [
        "../x.yaml",
        "config/../../x.yaml",
        "config/../streaming.yaml",
        "..",
        "/etc/passwd",
        "//etc/passwd",
        "\\\\server\\share\\x.yaml",
        "C:\\x.yaml",
        "C:x.yaml",
        "..\\x.yaml",
        "",
        "  ",
        "a\x00b.yaml",
    ],
)
def test_escaping_or_absolute_paths_are_rejected_on_field_config(config_dir: Path, relative: str) -> None:
    with pytest.raises(StreamDefinitionError) as info:
        resolve_config_path(config_dir, relative)
    assert info.value.code == ErrorCode.VALIDATION_ERROR and fields(info.value) == ["config"]


def test_etc_passwd_through_load_definition(config_dir: Path) -> None:
    with pytest.raises(StreamDefinitionError, match="config: must be relative"):
        load_definition(config_dir, "/etc/passwd", "x")


def test_symlinks_leaving_the_folder_are_rejected(config_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("input_topics: [a]\noutput_topic: b\n")
    os.symlink(outside, config_dir / "link.yaml")
    os.symlink(tmp_path, config_dir / "escape_dir")
    for relative in ("link.yaml", "escape_dir/outside.yaml"):
        with pytest.raises(StreamDefinitionError, match="leaves the streaming config folder") as info:
            load_definition(config_dir, relative)
        assert fields(info.value) == ["config"]


def test_symlinks_inside_the_folder_are_fine(config_dir: Path) -> None:
    os.symlink(config_dir / "single.yml", config_dir / "config" / "alias.yml")
    assert resolve_config_path(config_dir, "config/alias.yml") == (config_dir / "single.yml").resolve()
    assert (
        resolve_config_path(config_dir, "./config/streaming.yaml")
        == (config_dir / "config" / "streaming.yaml").resolve()
    )


def test_base_dir_itself_may_be_a_symlink(config_dir: Path, tmp_path: Path) -> None:
    os.symlink(config_dir, tmp_path / "linked")
    assert load_definition(tmp_path / "linked", "single.yml").name == "single"
