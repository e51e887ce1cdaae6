"""DAG validation (dag_errors), topological layers, upstream and retry delays of the pipeline contract."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tauro_contracts.pipeline import PipelineSpec, RetryPolicy, dag_errors, topological_layers, upstream

from .support import DIAMOND, chain, dags, node, spec


def _errors(s: PipelineSpec) -> list[tuple[str | None, str]]:
    return [(e.field, e.type) for e in dag_errors(s)]


# -- dag_errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "s",
    [spec(["a"]), spec(*DIAMOND), spec(["a", "b", "c"], chain("a", "b", "c")), spec(["x", "y"]),
     spec(["a", "b"], [("a", "b"), ("a", "b")])],
    ids=["single", "diamond", "chain", "disconnected", "duplicate-edge"],
)
def test_valid_dags_have_no_errors(s: PipelineSpec) -> None:
    assert dag_errors(s) == []


def test_empty_pipeline() -> None:
    (error,) = dag_errors(PipelineSpec())
    assert (error.field, error.type) == ("nodes", "empty")


def test_empty_pipeline_with_edges_also_names_the_unknown_ends() -> None:
    s = PipelineSpec.model_validate({"edges": [{"from": "a", "to": "b"}]})
    assert _errors(s) == [("nodes", "empty"), ("edges[0].from", "unknown_node"), ("edges[0].to", "unknown_node")]


def test_duplicate_node_id_names_the_second_occurrence() -> None:
    s = spec(["a", "b", "a", "c", "b"])
    errors = dag_errors(s)
    assert [(e.field, e.type) for e in errors] == [("nodes[2].id", "duplicate"), ("nodes[4].id", "duplicate")]
    assert "'a'" in errors[0].message and "'b'" in errors[1].message


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ([("a", "ghost")], [("edges[0].to", "unknown_node")]),
        ([("a", "b"), ("ghost", "b")], [("edges[1].from", "unknown_node")]),
        ([("x", "y")], [("edges[0].from", "unknown_node"), ("edges[0].to", "unknown_node")]),
    ],
)
def test_edge_to_an_unknown_node(edges: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    s = spec(["a", "b"], edges)
    assert _errors(s) == expected
    assert "unknown node" in dag_errors(s)[0].message


def test_self_loop() -> None:
    s = spec(["a", "b"], [("a", "b"), ("b", "b")])
    (error,) = dag_errors(s)
    assert (error.field, error.type) == ("edges[1]", "cycle")
    assert "'b' depends on itself" in error.message


@pytest.mark.parametrize(
    ("nodes", "edges"),
    [
        (["a", "b"], [("a", "b"), ("b", "a")]),
        (["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")]),
        (["s", "a", "b", "c", "t"], [("s", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "t")]),
    ],
)
def test_cycle_is_reported_with_its_path(nodes: list[str], edges: list[tuple[str, str]]) -> None:
    (error,) = dag_errors(spec(nodes, edges))
    assert (error.field, error.type) == ("edges", "cycle")
    path = error.message.removeprefix("cycle: ").split(" -> ")
    assert path[0] == path[-1] and len(path) >= 3
    for a, b in pairwise(path):
        assert (a, b) in edges


@settings(max_examples=60, deadline=None)
@given(dag=dags(), seed=st.integers(0, 2**32 - 1))
def test_a_back_edge_in_any_dag_is_a_cycle(dag: tuple[list[str], list[tuple[str, str]]], seed: int) -> None:
    ids, edges = dag
    if not edges:
        return
    a, b = random.Random(seed).choice(edges)
    errors = dag_errors(spec(ids, [*edges, (b, a)]))
    assert [(e.field, e.type) for e in errors] == [("edges", "cycle")]


# -- topological_layers and upstream -------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "layers"),
    [
        (spec(["a"]), [["a"]]),
        (spec(*DIAMOND), [["a"], ["b", "c"], ["d"]]),
        (spec(["c", "b", "a"], chain("a", "b", "c")), [["a"], ["b"], ["c"]]),
        (spec(["x", "y", "z"]), [["x", "y", "z"]]),
        # the long branch pushes the join to the last layer; order within a layer follows declaration
        (spec(["j", "q", "p", "r"], [("p", "q"), ("q", "j"), ("r", "j")]), [["p", "r"], ["q"], ["j"]]),
        (spec(["a", "b"], [("a", "b"), ("a", "b")]), [["a"], ["b"]]),
    ],
)
def test_topological_layers_examples(s: PipelineSpec, layers: list[list[str]]) -> None:
    assert topological_layers(s) == layers


@settings(max_examples=100, deadline=None)
@given(dag=dags())
def test_topological_layers_property(dag: tuple[list[str], list[tuple[str, str]]]) -> None:
    ids, edges = dag
    s = spec(ids, edges)
    layers = topological_layers(s)
    flat = [n for layer in layers for n in layer]
    assert sorted(flat) == sorted(ids) and len(flat) == len(set(flat)), "every node appears exactly once"
    level = {n: i for i, layer in enumerate(layers) for n in layer}
    for a, b in edges:
        assert level[a] < level[b], f"edge {a}->{b} does not go forward"
    for i, layer in enumerate(layers):
        assert layer, "no empty layer"
        assert layer == sorted(layer, key=ids.index), "declaration order within a layer"
        if i:  # each node sits as early as it can: right after its deepest dependency
            assert all(max(level[u] for u in upstream(s)[n]) == i - 1 for n in layer)


def test_upstream_lists_direct_dependencies_only() -> None:
    assert upstream(spec(*DIAMOND)) == {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert upstream(spec(["a", "b", "c"], chain("a", "b", "c")))["c"] == ["b"]


def test_pipeline_spec_json_round_trip() -> None:
    s = spec([node("a", timeout=5), node("b")], [("a", "b")])
    assert PipelineSpec.model_validate(s.to_json()) == s
    assert s.to_json()["edges"] == [{"from": "a", "to": "b"}]


# -- RetryPolicy.delay ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (7, 300.0), (20, 300.0)],
)
def test_delay_without_jitter_is_exponential_and_capped(attempt: int, expected: float) -> None:
    policy = RetryPolicy(max_attempts=20, backoff_seconds=5, max_backoff_seconds=300, jitter=False)
    assert policy.delay(attempt, 0.0) == expected
    assert policy.delay(attempt, 0.99) == expected, "no jitter: the random value is ignored"


def test_delay_with_jitter_at_the_extremes() -> None:
    policy = RetryPolicy(backoff_seconds=8, max_backoff_seconds=300, jitter=True)
    assert policy.delay(1, 0.0) == 4.0
    assert policy.delay(1, 0.5) == 6.0
    assert policy.delay(1, 1.0) == 8.0
    assert policy.delay(3, 0.0) == 16.0


def test_default_policy() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_seconds, policy.max_backoff_seconds, policy.jitter) == (1, 5.0, 300.0,
                                                                                                        True)


def test_zero_backoff_retries_immediately() -> None:
    assert RetryPolicy(backoff_seconds=0, jitter=True).delay(5, 0.7) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    backoff=st.floats(0, 3600), cap=st.floats(0, 86400), attempt=st.integers(1, 20),
    unit=st.floats(0, 1),
)
def test_delay_bounds(backoff: float, cap: float, attempt: int, unit: float) -> None:
    base = min(cap, backoff * 2 ** (attempt - 1))
    plain = RetryPolicy(backoff_seconds=backoff, max_backoff_seconds=cap, jitter=False)
    jittered = RetryPolicy(backoff_seconds=backoff, max_backoff_seconds=cap, jitter=True)
    assert plain.delay(attempt, unit) == base
    delay = jittered.delay(attempt, unit)
    assert base / 2 <= delay <= base
    assert 0 <= delay <= cap
