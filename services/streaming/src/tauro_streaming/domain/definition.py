"""Stream pipeline definitions: the validated model, YAML/JSON loading and safe ``config`` paths.

A definition file holds one pipeline, or several under ``pipelines: {name: {...}}``::

    pipelines:
      events_processor:
        input_topics: [tauro.examples.events]
        processors:
          - {type: filter, all: [{field: event_type, op: eq, value: click}]}
        output_topic: tauro.examples.events.clean

``POST /stream/run {"config": "config/streaming.yaml", "pipeline": "events_processor"}`` maps to
``load_definition(base_dir, "config/streaming.yaml", "events_processor")``. All failures are
:class:`StreamDefinitionError` (VALIDATION_ERROR, or NOT_FOUND for a missing file/pipeline)
whose details name the offending field, e.g. ``pipelines.events_processor.processors[0].all[0].op``.
Only the selected pipeline of a file is validated, so one broken pipeline does not block others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tauro_streaming.domain.errors import (
    StreamDefinitionError,
    config_error,
    not_found_error,
    validation_details,
)
from tauro_streaming.domain.specs import FieldPath, ProcessorSpec

CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
MAX_CONFIG_BYTES = 1 << 20
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TOPIC_PATTERN = r"^[A-Za-z0-9._-]+$"

Topic = Annotated[str, Field(min_length=1, max_length=249, pattern=TOPIC_PATTERN)]
PipelineName = Annotated[str, Field(min_length=1, max_length=128, pattern=NAME_PATTERN)]


def default_consumer_group(name: str) -> str:
    return f"tauro.stream.{name}"


def default_dead_letter_topic(output_topic: str) -> str:
    return f"{output_topic}.dlq"


class StreamDefinition(BaseModel):
    """One streaming pipeline: topics in, ordered processors, topic out, dead-letter topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: PipelineName
    description: str = ""
    input_topics: tuple[Topic, ...] = Field(min_length=1)
    consumer_group: Annotated[str, Field(min_length=1, max_length=255)]
    processors: tuple[ProcessorSpec, ...] = ()
    output_topic: Topic
    dead_letter_topic: Topic
    key_field: FieldPath | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if data.get("consumer_group") is None and isinstance(data.get("name"), str):
                data["consumer_group"] = default_consumer_group(data["name"])
            if data.get("dead_letter_topic") is None and isinstance(data.get("output_topic"), str):
                data["dead_letter_topic"] = default_dead_letter_topic(data["output_topic"])
        return data

    @field_validator("input_topics", "output_topic", "dead_letter_topic")
    @classmethod
    def _legal_topic(cls, value: Any) -> Any:
        for topic in value if isinstance(value, tuple) else (value,):
            if topic in (".", ".."):
                raise ValueError(f"'{topic}' is not a legal topic name")
        return value

    @field_validator("input_topics")
    @classmethod
    def _distinct_inputs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("input topics must be distinct")
        return value

    @field_validator("output_topic")
    @classmethod
    def _not_an_input(cls, value: str, info: ValidationInfo) -> str:
        if value in info.data.get("input_topics", ()):
            raise ValueError("must not be one of the input_topics")
        return value

    @field_validator("dead_letter_topic")
    @classmethod
    def _separate_dlq(cls, value: str, info: ValidationInfo) -> str:
        if value in info.data.get("input_topics", ()) or value == info.data.get("output_topic"):
            raise ValueError("must differ from the input and output topics")
        return value


def parse_definition(
    data: Any, *, name: str | None = None, prefix: Sequence[int | str] = (), source: str = "definition"
) -> StreamDefinition:
    """Validate one definition (a mapping from a file or an API body).

    ``name`` fills in (or must match) the ``name`` field; ``prefix`` is prepended to the field
    paths of error details. Raises :class:`StreamDefinitionError`.
    """
    if not isinstance(data, Mapping):
        field = ".".join(str(p) for p in prefix) or "body"
        raise config_error(field, "a stream definition must be a mapping")
    body = dict(data)
    if name is not None:
        if "name" in body and body["name"] != name:
            field = ".".join([*(str(p) for p in prefix), "name"])
            raise config_error(field, f"'{body['name']}' does not match its key '{name}'")
        body["name"] = name
    try:
        return StreamDefinition.model_validate(body)
    except ValidationError as exc:
        details = validation_details(exc, prefix)
        raise StreamDefinitionError(f"invalid stream definition in {source}", details) from None


def resolve_config_path(base_dir: Path | str, relative: str) -> Path:
    """The file ``relative`` names inside ``base_dir``, or a VALIDATION_ERROR on field ``config``.

    ``relative`` is a path inside the streaming config folder, in any of the forms a user
    writes it: relative to the folder (``streaming.yaml``), as copied from the repository or
    relative to the working directory (``examples/streams/streaming.yaml``: the leading
    components up to the folder's own name are dropped), or absolute inside the folder.
    Rejects empty paths, Windows and absolute paths elsewhere, any ``..`` component, NUL bytes,
    and paths that leave ``base_dir`` once symlinks are resolved. The file need not exist.
    """
    if not isinstance(relative, str) or not relative.strip():
        raise config_error("config", "must be a non-empty path relative to the streaming config folder")
    if "\x00" in relative:
        raise config_error("config", "must not contain NUL bytes")
    windows, posix = PureWindowsPath(relative), PurePosixPath(relative)
    if ".." in windows.parts or ".." in posix.parts:
        raise config_error("config", "must not contain '..'")
    base = Path(base_dir).resolve()
    if posix.is_absolute() or windows.is_absolute() or windows.drive or relative[0] in "/\\":
        elsewhere = windows.drive or relative.startswith(("//", "\\"))
        if elsewhere or not Path(relative).resolve().is_relative_to(base):
            raise config_error("config", "must be relative to the streaming config folder, not absolute "
                                         "(an absolute path must lie inside it)")
        return Path(relative).resolve()
    candidates = [base / relative]
    parts = posix.parts
    candidates += [base.joinpath(*parts[i + 1:]) for i in range(len(parts) - 1) if parts[i] == base.name]
    candidates.append(Path.cwd() / relative)
    for candidate in candidates:  # the first that exists inside the folder; else the folder-relative one
        resolved = candidate.resolve()
        if resolved.is_relative_to(base) and resolved.is_file():
            return resolved
    candidate = (base / relative).resolve()
    if not candidate.is_relative_to(base):
        raise config_error("config", "leaves the streaming config folder (through a symlink)")
    return candidate


def _read_document(path: Path, shown: str) -> Any:
    if path.suffix.lower() not in CONFIG_SUFFIXES:
        raise config_error("config", f"must be a {', '.join(sorted(CONFIG_SUFFIXES))} file")
    if not path.is_file():
        raise not_found_error("config", f"stream config '{shown}' not found")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise config_error("config", f"'{shown}' is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise config_error("config", f"'{shown}' cannot be read: {exc}") from None
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise config_error("config", f"'{shown}' is not valid YAML/JSON: {exc}") from None


def _pipeline_bodies(document: Any, path: Path, shown: str) -> tuple[dict[str, Any], bool]:
    """``({name: raw body}, nested)``; ``nested`` tells whether they sat under ``pipelines``."""
    if not isinstance(document, Mapping):
        raise config_error("config", f"'{shown}' must hold a mapping")
    if "pipelines" not in document:
        name = document.get("name", path.stem)
        if not isinstance(name, str):
            raise config_error("name", "must be a string")
        return {name: dict(document)}, False
    extra = sorted(str(k) for k in document if k != "pipelines")
    if extra:
        raise StreamDefinitionError(
            f"invalid stream config '{shown}'",
            [config_error(str(key), "unknown top-level key (only 'pipelines')").details[0] for key in extra],
        )
    pipelines = document["pipelines"]
    if not isinstance(pipelines, Mapping) or not pipelines:
        raise config_error("pipelines", "must be a non-empty mapping of pipeline name to definition")
    return {str(k): v for k, v in pipelines.items()}, True


def load_definitions(path: Path | str, *, shown: str | None = None) -> dict[str, StreamDefinition]:
    """Every pipeline of one definition file, all validated (for listing / discovery)."""
    path = Path(path)
    shown = shown or path.name
    bodies, nested = _pipeline_bodies(_read_document(path, shown), path, shown)
    definitions = {}
    for name, body in bodies.items():
        prefix = ("pipelines", name) if nested else ()
        definitions[name] = parse_definition(body, name=name, prefix=prefix, source=f"'{shown}'")
    return definitions


def load_definition(base_dir: Path | str, config: str, pipeline: str | None = None) -> StreamDefinition:
    """The pipeline ``pipeline`` of the file ``config`` under ``base_dir`` (``POST /stream/run``).

    ``pipeline`` may be omitted when the file holds exactly one pipeline.
    """
    path = resolve_config_path(base_dir, config)
    bodies, nested = _pipeline_bodies(_read_document(path, config), path, config)
    if pipeline is None:
        if len(bodies) != 1:
            raise config_error("pipeline", f"'{config}' holds several pipelines; name one: {sorted(bodies)}")
        pipeline = next(iter(bodies))
    if pipeline not in bodies:
        raise not_found_error("pipeline", f"stream pipeline '{pipeline}' not found in '{config}'; "
                                          f"available: {sorted(bodies)}")
    prefix = ("pipelines", pipeline) if nested else ()
    return parse_definition(bodies[pipeline], name=pipeline, prefix=prefix, source=f"'{config}'")
