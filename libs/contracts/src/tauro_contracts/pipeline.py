"""Pipeline definitions: the DAG of nodes a run executes, and the rules a valid one obeys.

``dag_errors`` returns field-level details (duplicate node id, edge to an unknown
node, self-loop, cycle, empty pipeline) so the API can answer VALIDATION_ERROR with
precise ``details``; ``topological_layers`` groups nodes into layers whose members
depend only on earlier layers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tauro_contracts.errors import ErrorDetail
from tauro_contracts.notification_settings import NotificationSettings

NodeType = Literal["source", "processor", "sink", "python", "shell"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RetryPolicy(_Strict):
    max_attempts: int = Field(default=1, ge=1, le=20)
    backoff_seconds: float = Field(default=5.0, ge=0, le=3600)
    max_backoff_seconds: float = Field(default=300.0, ge=0, le=86400)
    jitter: bool = True

    def delay(self, failed_attempt: int, unit_random: float) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (1-based) failed: exponential from
        ``backoff_seconds``, capped, with "equal jitter" (half fixed, half random) when enabled."""
        exponent = min(max(0, failed_attempt - 1), 1023)  # a float past 2.0 ** 1023 overflows
        base = min(self.max_backoff_seconds, self.backoff_seconds * 2.0**exponent)
        return base / 2 + base / 2 * unit_random if self.jitter else base


class PipelineConfig(_Strict):
    max_parallelism: int = Field(default=4, ge=1, le=64)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)
    max_concurrent_runs: int | None = Field(default=None, ge=1, le=1000)
    notifications: NotificationSettings | None = Field(
        default=None, description="Default notification settings of the pipeline's runs (a schedule's and a "
                                  "run's own settings override them field by field)")


class Node(_Strict):
    id: str = Field(pattern=NAME_PATTERN)
    type: NodeType
    config: dict[str, Any] = Field(default_factory=dict)
    retry_policy: RetryPolicy | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, le=7 * 86400)


class Edge(_Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")

    def to_json(self) -> dict[str, str]:
        return {"from": self.source, "to": self.target}


class PipelineSpec(_Strict):
    """The executable part of a pipeline: what changes make a new config version."""

    description: str = Field(default="", max_length=2000)
    nodes: list[Node] = Field(default_factory=list, max_length=500)
    edges: list[Edge] = Field(default_factory=list, max_length=5000)
    config: PipelineConfig = Field(default_factory=PipelineConfig)

    def to_json(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "nodes": [n.model_dump(mode="json") for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
            "config": _config_json(self.config),
        }


def _config_json(config: PipelineConfig) -> dict[str, Any]:
    """The config as JSON; without ``notifications`` when it has none, so definitions written before
    notifications existed keep their canonical form (and their config version)."""
    data = config.model_dump(mode="json")
    if data.get("notifications") is None:
        data.pop("notifications", None)
    return data


def dag_errors(spec: PipelineSpec) -> list[ErrorDetail]:
    """Every rule the spec breaks, each with the field it concerns; empty when valid."""
    errors: list[ErrorDetail] = []
    if not spec.nodes:
        errors.append(ErrorDetail(field="nodes", message="a pipeline needs at least one node", type="empty"))
    seen: set[str] = set()
    for i, node in enumerate(spec.nodes):
        if node.id in seen:
            errors.append(
                ErrorDetail(field=f"nodes[{i}].id", message=f"duplicate node id '{node.id}'", type="duplicate")
            )
        seen.add(node.id)
    for i, edge in enumerate(spec.edges):
        for end, name in (("from", edge.source), ("to", edge.target)):
            if name not in seen:
                errors.append(
                    ErrorDetail(
                        field=f"edges[{i}].{end}", message=f"edge refers to unknown node '{name}'", type="unknown_node"
                    )
                )
        if edge.source == edge.target:
            errors.append(
                ErrorDetail(field=f"edges[{i}]", message=f"node '{edge.source}' depends on itself", type="cycle")
            )
    if not errors:
        cycle = _find_cycle(spec)
        if cycle:
            errors.append(
                ErrorDetail(field="edges", message="cycle: " + " -> ".join(cycle), type="cycle")
            )
    return errors


def _find_cycle(spec: PipelineSpec) -> list[str]:
    children: dict[str, list[str]] = defaultdict(list)
    for edge in spec.edges:
        children[edge.source].append(edge.target)
    white, grey, black = 0, 1, 2
    colour = {n.id: white for n in spec.nodes}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        colour[node] = grey
        path.append(node)
        for child in children[node]:
            if colour[child] == grey:
                return [*path[path.index(child):], child]
            if colour[child] == white:
                found = visit(child)
                if found:
                    return found
        path.pop()
        colour[node] = black
        return []

    for node in spec.nodes:
        if colour[node.id] == white:
            found = visit(node.id)
            if found:
                return found
    return []


def topological_layers(spec: PipelineSpec) -> list[list[str]]:
    """Nodes grouped so each layer depends only on earlier ones (Kahn's algorithm, stable order)."""
    order = [n.id for n in spec.nodes]
    indegree = {n: 0 for n in order}
    children: dict[str, list[str]] = defaultdict(list)
    for edge in spec.edges:
        indegree[edge.target] += 1
        children[edge.source].append(edge.target)
    layer = [n for n in order if indegree[n] == 0]
    layers: list[list[str]] = []
    while layer:
        layers.append(layer)
        nxt: list[str] = []
        for node in layer:
            for child in children[node]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    nxt.append(child)
        layer = sorted(nxt, key=order.index)
    return layers


def upstream(spec: PipelineSpec) -> dict[str, list[str]]:
    """Each node's direct dependencies."""
    deps: dict[str, list[str]] = {n.id: [] for n in spec.nodes}
    for edge in spec.edges:
        deps[edge.target].append(edge.source)
    return deps
