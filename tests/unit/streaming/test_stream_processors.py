"""Map and python processors: each op, their order, failures, and no mutation of the input."""

from __future__ import annotations

import copy
import sys
import types
from typing import Any

import pytest
from pydantic import ValidationError
from tauro_streaming.domain.errors import ProcessorError, StreamDefinitionError
from tauro_streaming.domain.processors import MapProcessor, PythonProcessor, build_processors, import_callable
from tauro_streaming.domain.specs import MapSpec, PythonSpec

RECORD: dict[str, Any] = {"a": 1, "b": 2, "name": "Ada", "nested": {"x": [1, 2]}}


def run_map(record: dict[str, Any] = RECORD, **ops: Any) -> dict[str, Any]:
    before = copy.deepcopy(record)
    [(out, ts)] = MapProcessor(0, MapSpec(type="map", **ops)).apply(record, 7)
    assert record == before, "map must not mutate its input"
    assert ts == 7
    return out


def test_rename() -> None:
    assert run_map(rename={"a": "alpha"}) == {"alpha": 1, "b": 2, "name": "Ada", "nested": {"x": [1, 2]}}


def test_rename_is_simultaneous_so_fields_can_swap() -> None:
    out = run_map(rename={"a": "b", "b": "a"})
    assert (out["a"], out["b"]) == (2, 1)


def test_rename_of_a_missing_field_fails() -> None:
    with pytest.raises(ProcessorError, match="rename: field 'zzz' is missing"):
        run_map(rename={"zzz": "y"})


def test_drop_ignores_absent_fields() -> None:
    assert run_map(drop=["a", "nested", "absent"]) == {"b": 2, "name": "Ada"}


def test_keep_only() -> None:
    assert run_map(keep=["name", "a", "absent"]) == {"name": "Ada", "a": 1}
    assert run_map(keep=[]) == {}


def test_set_constants_overwrite() -> None:
    out = run_map(set={"source": "web", "a": None, "tags": ["x"]})
    assert out["source"] == "web" and out["a"] is None and out["tags"] == ["x"]


def test_compute_in_order_each_seeing_earlier_results() -> None:
    out = run_map(compute={"total": "a + b", "double": "total * 2", "shout": "upper(name) + '!'"})
    assert (out["total"], out["double"], out["shout"]) == (3, 6, "ADA!")


def test_op_order_is_rename_set_compute_drop_keep() -> None:
    out = run_map(
        rename={"a": "first"},
        set={"k": 10},
        compute={"sum": "first + k"},
        drop=["k"],
        keep=["sum", "k", "name"],
    )
    assert out == {"sum": 11, "name": "Ada"}


def test_compute_failure_names_the_field() -> None:
    with pytest.raises(ProcessorError, match="compute 'c': field 'missing' is missing"):
        run_map(compute={"c": "missing * 2"})


@pytest.mark.parametrize(
    "ops",
    [
        {},
        {"rename": {"a": "x", "b": "x"}},
        {"compute": {"x": "__import__('os')"}},
        {"keep": "a"},
        {"unknown": 1},
    ],
)
def test_invalid_map_specs(ops: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MapSpec.model_validate({"type": "map", **ops})


# -- python ------------------------------------------------------------------------------------


@pytest.fixture
def udfs(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("tauro_test_udfs")

    def enrich(record: dict[str, Any], suffix: str = "") -> dict[str, Any]:
        record["name"] = record["name"] + suffix
        record["nested"]["x"].append(3)  # mutates its (copied) argument
        return record

    def explode(record: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"i": i} for i in range(record["a"] + 1)]

    def drop(record: dict[str, Any]) -> None:
        return None

    def boom(record: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("boom")

    def number(record: dict[str, Any]) -> int:
        return 3

    def mixed(record: dict[str, Any]) -> list[Any]:
        return [{"ok": 1}, "nope"]

    class Holder:
        @staticmethod
        def nested(record: dict[str, Any]) -> dict[str, Any]:
            return {"nested": True}

    for fn in (enrich, explode, drop, boom, number, mixed):
        setattr(module, fn.__name__, fn)
    module.Holder = Holder  # type: ignore[attr-defined]
    module.NOT_CALLABLE = 3  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tauro_test_udfs", module)
    return module


def python(name: str, **params: Any) -> PythonProcessor:
    spec = PythonSpec(type="python", callable=f"tauro_test_udfs:{name}", params=params)
    [processor] = build_processors([spec])
    assert isinstance(processor, PythonProcessor)
    return processor


def test_python_returning_a_dict_gets_a_copy_and_params(udfs: types.ModuleType) -> None:
    record = copy.deepcopy(RECORD)
    [(out, ts)] = python("enrich", suffix="!").apply(record, 9)
    assert out["name"] == "Ada!" and out["nested"]["x"] == [1, 2, 3] and ts == 9
    assert record == RECORD, "the callable gets a deep copy"


def test_python_returning_a_list_fans_out(udfs: types.ModuleType) -> None:
    assert [r for r, _ in python("explode").apply({"a": 2}, 0)] == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_python_returning_none_drops(udfs: types.ModuleType) -> None:
    assert python("drop").apply(RECORD, 0) == []


def test_python_dotted_attribute(udfs: types.ModuleType) -> None:
    assert python("Holder.nested").apply(RECORD, 0) == [({"nested": True}, 0)]


@pytest.mark.parametrize(
    ("name", "message"),
    [("boom", "raised ValueError: boom"), ("number", "returned number"), ("mixed", "list holding string")],
)
def test_python_failures_are_processor_errors(udfs: types.ModuleType, name: str, message: str) -> None:
    with pytest.raises(ProcessorError, match=message):
        python(name).apply(RECORD, 0)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tauro_no_such_module_xyz:fn", "cannot import module"),
        ("tauro_test_udfs:absent", "has no attribute"),
        ("tauro_test_udfs:NOT_CALLABLE", "is not callable"),
        ("tauro_test_udfs:__class__", "has no attribute"),
    ],
)
def test_unusable_callables_are_definition_errors(udfs: types.ModuleType, path: str, message: str) -> None:
    with pytest.raises(StreamDefinitionError, match=message) as info:
        build_processors([PythonSpec(type="python", callable=path)])
    assert info.value.details[0].field == "processors[0].callable"


def test_allowed_prefixes_restrict_imports(udfs: types.ModuleType) -> None:
    assert import_callable("tauro_test_udfs:drop", ["tauro_test_udfs"]) is udfs.drop
    with pytest.raises(ValueError, match="not in the allowed"):
        import_callable("os:system", ["tauro_test_udfs"])
    with pytest.raises(ValueError, match="not in the allowed"):
        import_callable("tauro_test_udfs_evil:x", ["tauro_test_udfs"])


@pytest.mark.parametrize("path", ["os.system", "os:", ":fn", "a b:c", "os:system()", "pkg..mod:fn"])
def test_callable_path_syntax(path: str) -> None:
    with pytest.raises(ValidationError):
        PythonSpec(type="python", callable=path)
