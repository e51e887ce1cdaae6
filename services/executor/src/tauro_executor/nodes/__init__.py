"""Node kinds: each a function ``(NodeContext) -> NodeResult``, looked up by the node's ``type``.

Kinds are imported on first use, so a shell attempt does not pay for importing polars.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tauro_executor.nodes.base import NodeContext, NodeError, NodeResult, TaskLog

NodeFunction = Callable[[NodeContext], NodeResult]

NODE_KINDS: dict[str, str] = {
    "source": "tauro_executor.nodes.source:run_source",
    "processor": "tauro_executor.nodes.processor:run_processor",
    "sink": "tauro_executor.nodes.sink:run_sink",
    "python": "tauro_executor.nodes.python_node:run_python",
    "shell": "tauro_executor.nodes.shell:run_shell",
}


def node_function(kind: str) -> NodeFunction:
    """The function implementing node type ``kind``."""
    try:
        module, name = NODE_KINDS[kind].split(":")
    except KeyError:
        raise NodeError(f"unknown node type {kind!r} (known: {', '.join(NODE_KINDS)})") from None
    func: NodeFunction = getattr(importlib.import_module(module), name)
    return func


def run_node(kind: str, ctx: NodeContext) -> NodeResult:
    """Run the node function for ``kind``."""
    return node_function(kind)(ctx)


__all__ = ["NODE_KINDS", "NodeContext", "NodeError", "NodeResult", "TaskLog", "node_function", "run_node"]
