"""Pure domain of streaming pipelines: definitions, processors, windows, the pipeline itself.

No Kafka and no I/O beyond reading definition files; the streaming service wires it to
consumers and producers. Entry points:

* :func:`load_definition` / :func:`parse_definition` -> :class:`StreamDefinition`
* :class:`StreamPipeline` -> ``decode`` / ``process`` / ``process_value`` / ``flush`` /
  ``state`` / ``restore``, returning :class:`Output` and :class:`DeadLetter` values.
"""

from tauro_streaming.domain.definition import (
    StreamDefinition,
    load_definition,
    load_definitions,
    parse_definition,
    resolve_config_path,
)
from tauro_streaming.domain.errors import ProcessorError, StreamDefinitionError, StreamStateError
from tauro_streaming.domain.pipeline import StreamPipeline
from tauro_streaming.domain.results import DeadLetter, Output, Result

__all__ = [
    "DeadLetter",
    "Output",
    "ProcessorError",
    "Result",
    "StreamDefinition",
    "StreamDefinitionError",
    "StreamPipeline",
    "StreamStateError",
    "load_definition",
    "load_definitions",
    "parse_definition",
    "resolve_config_path",
]
