"""Pipeline discovery: YAML/JSON definition files in a configured folder become pipelines.

Each file holds one pipeline (``name``, optional ``id`` and ``project_id``, then
``description``, ``nodes``, ``edges``, ``config`` as in the API). Discovery sends a
``DefinePipeline`` upsert per file; an unchanged definition records nothing, so
restarts and replicas add a config version only when a file really changed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from tauro_contracts.pipeline import PipelineSpec
from tauro_contracts.projects import DefinePipeline

log = logging.getLogger("tauro.discovery")
SUFFIXES = {".yaml", ".yml", ".json"}


def parse_file(path: Path) -> DefinePipeline:
    text = path.read_text(encoding="utf-8")
    raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError("a pipeline file must hold a mapping")
    name = raw.pop("name", path.stem)
    pipeline_id = raw.pop("id", f"pipe_{name}")
    project_id = raw.pop("project_id", None)
    spec = PipelineSpec.model_validate(raw)
    return DefinePipeline(
        pipeline_id=pipeline_id, project_id=project_id, name=name, spec=spec, source=f"file:{path.name}",
        mode="upsert",
    )


def discover(folder: Path) -> list[DefinePipeline]:
    """Every valid definition under ``folder``; invalid files are logged and skipped."""
    found: list[DefinePipeline] = []
    if not folder.is_dir():
        return found
    for path in sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
        try:
            command = parse_file(path)
        except (ValueError, ValidationError, yaml.YAMLError) as exc:
            log.error("skipping invalid pipeline file", extra={"path": str(path), "error": str(exc)})
            continue
        found.append(command)
    return found
