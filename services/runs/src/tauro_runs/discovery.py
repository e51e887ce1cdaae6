"""Pipeline discovery: definition files in a configured folder become pipelines.

A YAML/JSON file holds one pipeline (``name``, optional ``id`` and ``project_id``, then
``description``, ``nodes``, ``edges``, ``config`` as in the API). A ``.py`` file declares
pipelines with ``tauro_client``'s ``@pipeline`` / ``@task``: discovery IMPORTS the module
(its top-level code runs in the runs service, so it must stay light: import heavy libraries
such as polars inside the task functions) and registers every ``@pipeline`` it defines, with
the same checks. Files whose name starts with ``_`` are skipped (helpers), as is a ``.py``
file that declares no pipeline. Discovery sends a ``DefinePipeline`` upsert per pipeline; an
unchanged definition records nothing, so restarts and replicas add a config version only when a file really changed.

A file that cannot become a pipeline (YAML or JSON syntax, an unknown or wrong field, an
invalid DAG such as a cycle) is skipped and logged with its path and the reason in the
message itself, so the text log format (``LOG_FORMAT=text``, ``make run``) shows them too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from tauro_contracts.pipeline import PipelineSpec, dag_errors
from tauro_contracts.projects import DefinePipeline

log = logging.getLogger("tauro.discovery")
SUFFIXES = {".yaml", ".yml", ".json", ".py"}


class InvalidPipelineFile(ValueError):
    """A definition file that cannot become a pipeline; the message says why."""


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def parse_file(path: Path) -> DefinePipeline:
    """The ``DefinePipeline`` upsert of one file; ``InvalidPipelineFile`` saying why it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
        raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPipelineFile(f"cannot read the file: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidPipelineFile(f"JSON error at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        raise InvalidPipelineFile(f"YAML error {_yaml_problem(exc)}") from exc
    if not isinstance(raw, dict):
        raise InvalidPipelineFile(f"a pipeline file must hold a mapping, not {type(raw).__name__}")
    return command_from(raw, path)


def command_from(raw: dict[str, Any], path: Path) -> DefinePipeline:
    """The ``DefinePipeline`` upsert of one definition mapping read from ``path``."""
    name = raw.pop("name", path.stem)
    pipeline_id = raw.pop("id", f"pipe_{name}")
    project_id = raw.pop("project_id", None)
    try:
        spec = PipelineSpec.model_validate(raw)
        command = DefinePipeline(pipeline_id=pipeline_id, project_id=project_id, name=name, spec=spec,
                                 source=f"file:{path.name}", mode="upsert")
    except ValidationError as exc:
        raise InvalidPipelineFile(validation_reason(exc)) from exc
    if errors := dag_errors(spec):
        raise InvalidPipelineFile("invalid DAG: " + "; ".join(f"{e.field}: {e.message}" for e in errors))
    return command


def parse_python_file(path: Path) -> list[DefinePipeline]:
    """The upserts of the ``@pipeline``s a ``.py`` file declares (importing it); ``InvalidPipelineFile``
    saying why when importing it or building one of its pipelines fails."""
    from tauro_client.dsl import PipelineDefinitionError, load_file, pipelines_in

    try:
        module = load_file(path)
        definitions = [p.definition() for p in pipelines_in(module)]
    except PipelineDefinitionError as exc:
        raise InvalidPipelineFile(str(exc)) from exc
    except Exception as exc:  # a user's code: whatever it raised is the reason
        raise InvalidPipelineFile(f"{type(exc).__name__}: {exc}") from exc
    return [command_from(definition, path) for definition in definitions]


def validation_reason(exc: ValidationError) -> str:
    """One line per broken rule, named like the API's details: ``nodes[0].retries: unknown field``."""
    reasons = []
    for error in exc.errors():
        where = _field(error["loc"])
        if error["type"] == "extra_forbidden":
            reasons.append(f"unknown field '{where}'")
        elif error["type"] == "missing":
            reasons.append(f"missing field '{where}'")
        else:
            reasons.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(reasons)


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    return f"{where}: {context + ', ' if context else ''}{problem}".strip()


def scan(folder: Path) -> tuple[list[tuple[Path, DefinePipeline]], list[Skipped]]:
    """The definitions under ``folder`` with their files, and the files skipped with the reason."""
    found: list[tuple[Path, DefinePipeline]] = []
    skipped: list[Skipped] = []
    if not folder.is_dir():
        return found, skipped
    for path in sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()):
        if path.suffix == ".py" and path.name.startswith(("_", ".")):
            continue
        try:
            if path.suffix == ".py":
                found += [(path, command) for command in parse_python_file(path)]
            else:
                found.append((path, parse_file(path)))
        except InvalidPipelineFile as exc:
            skipped.append(Skipped(path, str(exc)))
    return found, skipped


def rejection_reason(error: dict[str, Any] | None) -> str:
    """The reason in a rejected command's reply (``{code, message, details}``)."""
    if not error:
        return "rejected"
    details = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in error.get("details") or [])
    return f"{error.get('code')}: {error.get('message')}" + (f" ({details})" if details else "")


def log_skipped(path: Path | str, reason: str) -> None:
    log.error("skipping pipeline file %s: %s", path, reason, extra={"path": str(path), "reason": reason})


def discover(folder: Path) -> list[DefinePipeline]:
    """Every valid definition under ``folder``; invalid files are logged (path and reason) and skipped."""
    found, skipped = scan(folder)
    for item in skipped:
        log_skipped(item.path, item.reason)
    return [command for _, command in found]
