"""The no-op user callable of ``bench/perf.py``'s ``python`` nodes (loaded by file path, relative to the
executor's working directory, the repository root). It touches no DataFrame: a node that calls it
measures what an attempt costs around the user's code."""

from __future__ import annotations

from typing import Any


def noop(inputs: list[Any], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    return None
