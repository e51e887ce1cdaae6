"""Pipeline definitions from what a user has at hand: a Python module or ``.py`` file declaring
``@pipeline``s, a YAML or JSON definition file (as in ``PIPELINES_DIR``), or a mapping."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from tauro_client.dsl import Pipeline, PipelineDefinitionError, load_file, pipelines_in


def definitions_from(source: ModuleType | Pipeline | str | Path | Mapping[str, Any],
                     base_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Every pipeline definition of ``source`` (``PipelineDefinitionError`` saying why when there is none);
    the tasks of a module loaded from a file are referenced relative to ``base_dir`` when given."""
    if isinstance(source, Pipeline):
        return [source.definition(base_dir)]
    if isinstance(source, Mapping):
        return [dict(source)]
    if isinstance(source, ModuleType):
        found = pipelines_in(source)
        if not found:
            raise PipelineDefinitionError(f"module {source.__name__} declares no @pipeline")
        return [p.definition(base_dir) for p in found]
    path = Path(source)
    if not path.is_file():
        raise PipelineDefinitionError(f"{path}: no such file")
    if path.suffix == ".py":
        found = pipelines_in(load_file(path))
        if not found:
            raise PipelineDefinitionError(f"{path}: declares no @pipeline")
        return [p.definition(base_dir) for p in found]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        raw = json.loads(text)
    elif path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:  # pragma: no cover - the CLI installs it
            raise PipelineDefinitionError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from exc
        raw = yaml.safe_load(text)
    else:
        raise PipelineDefinitionError(f"{path}: a pipeline file is .py, .yaml, .yml or .json")
    if not isinstance(raw, dict):
        raise PipelineDefinitionError(f"{path}: a pipeline file holds a mapping, not {type(raw).__name__}")
    raw.setdefault("name", path.stem)
    return [raw]
