"""Placeholder rendering in node configs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tauro_executor.templating import TemplateError, builtins, render, render_string


def ns(**params: object) -> dict[str, object]:
    return builtins(run_id="run_1", node_id="n1", output_dir="/out", work_dir="/work/run_1", params=params)


def test_renders_names_and_dotted_names() -> None:
    namespace = ns(env="prod", source={"bucket": "lake", "files": ["a.csv", "b.csv"]})
    assert (
        render_string("s3://{{ source.bucket }}/{{env}}/{{ source.files.1 }}", namespace)
        == "s3://lake/prod/b.csv"
    )


def test_builtins_are_available() -> None:
    namespace = ns()
    assert render_string("{{ output_dir }}/{{ run_id }}-{{ node_id }}.csv", namespace) == "/out/run_1-n1.csv"
    assert render_string("{{ work_dir }}", namespace) == "/work/run_1"


def test_date_defaults_to_today_utc_then_logical_date_then_param() -> None:
    today = datetime.now(UTC).date().isoformat()
    assert render_string("{{ date }}", ns()) == today
    from_logical = builtins(
        run_id="r", node_id="n", output_dir="/o", work_dir="/w", logical_date="2024-03-01T02:00:00Z"
    )
    assert render_string("{{ date }}", from_logical) == "2024-03-01"
    assert render_string("{{ logical_date }}", from_logical) == "2024-03-01T02:00:00Z"
    assert render_string("{{ date }}", ns(date="2020-01-31")) == "2020-01-31"
    assert render_string("{{ logical_date }}", ns()) == today
    backfill = ns(logical_date="2023-07-04")
    assert render_string("{{ date }}/{{ logical_date }}", backfill) == "2023-07-04/2023-07-04"


def test_builtins_win_over_params_of_the_same_name() -> None:
    assert render_string("{{ run_id }}", ns(run_id="spoofed")) == "run_1"


def test_single_placeholder_keeps_the_value_type() -> None:
    namespace = ns(limit=10, flags=[1, 2], on=True, nothing=None)
    assert render(
        {"n": "{{ limit }}", "f": "{{ flags }}", "b": "{{on}}", "z": "{{ nothing }}"}, namespace
    ) == {
        "n": 10,
        "f": [1, 2],
        "b": True,
        "z": None,
    }


def test_non_strings_inside_text_render_as_json() -> None:
    namespace = ns(limit=10, on=True, nothing=None, tags=["a"])
    assert render_string("n={{ limit }} on={{ on }} z={{ nothing }} t={{ tags }}", namespace) == (
        'n=10 on=true z=null t=["a"]'
    )


def test_renders_recursively_through_dicts_lists_and_keys() -> None:
    config = {
        "path": "{{ output_dir }}/x.csv",
        "steps": [{"filter": {"column": "{{ col }}", "value": "{{ threshold }}"}}, "deduplicate"],
        "rename": {"{{ col }}": "renamed"},
        "untouched": 3.5,
    }
    rendered = render(config, ns(col="amount", threshold=5))
    assert rendered == {
        "path": "/out/x.csv",
        "steps": [{"filter": {"column": "amount", "value": 5}}, "deduplicate"],
        "rename": {"amount": "renamed"},
        "untouched": 3.5,
    }


def test_strings_without_placeholders_and_lone_braces_are_unchanged() -> None:
    assert render_string("plain } text {", ns()) == "plain } text {"
    assert render_string('{"json": 1}', ns()) == '{"json": 1}'


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ missing }}", "unknown placeholder '{{ missing }}'"),
        ("a {{ source.nope }} b", "no 'nope' in 'source'"),
        ("{{ source.bucket.deeper }}", "no 'deeper' in 'source.bucket'"),
        ("{{ 1 + 1 }}", "invalid placeholder"),
        ("{{ env | upper }}", "invalid placeholder"),
        ("{{ __import__('os') }}", "invalid placeholder"),
        ("{{ }}", "invalid placeholder"),
        ("x {{ env", "unterminated placeholder"),
    ],
)
def test_bad_placeholders_are_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as excinfo:
        render({"cmd": text}, ns(env="prod", source={"bucket": "lake"}))
    assert fragment in str(excinfo.value)
    assert "config.cmd" in str(excinfo.value)


def test_unknown_placeholder_lists_known_names() -> None:
    with pytest.raises(TemplateError, match=r"known names: .*output_dir"):
        render_string("{{ outptu_dir }}", ns())
