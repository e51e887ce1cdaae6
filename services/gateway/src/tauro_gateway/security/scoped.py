"""A read store seen through a caller's project grants.

Routes read through it, so a caller scoped to some projects gets lists, counts and
statistics of those projects only, and ``get`` of another project's document finds
nothing (the route then answers 404, as for a missing one). Collections are declared
here with the field that names their project; an undeclared collection shows nothing
to a project-scoped caller (fail closed). ``GATED`` collections are only reached through
a parent the route's rule already checked (a run's logs through the run, a schedule's ticks
through the schedule).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tauro_platform.readstore.port import Doc, Filter, ReadStore, Sort

# collection -> (field holding the project id, whether project-less documents are shared)
SCOPED: dict[str, tuple[str, bool]] = {
    "projects": ("id", False),
    "pipelines": ("project_id", True),
    "config_versions": ("project_id", True),
    "runs": ("project_id", False),
    "schedules": ("project_id", False),
}
GATED = frozenset({"run_logs", "schedule_ticks"})


class ScopedReadStore:
    """Delegates to ``inner``, restricted to ``projects`` (and the shared catalog where declared)."""

    def __init__(self, inner: ReadStore, projects: list[str]) -> None:
        self._inner = inner
        self._projects = projects

    @property
    def projects(self) -> list[str]:
        """The projects the caller may read (a route over a ``GATED`` collection narrows by them)."""
        return list(self._projects)

    def _allowed(self, collection: str) -> tuple[str, list[str | None]]:
        field, shared = SCOPED[collection]
        return field, [*self._projects, *([None] if shared else [])]

    def _where(self, collection: str, where: Filter) -> Filter | None:
        """``where`` narrowed to the caller's projects; None when nothing can match."""
        if collection in GATED:
            return where
        if collection not in SCOPED:
            return None
        field, allowed = self._allowed(collection)
        cond = where.get(field)
        if field not in where:
            return {**where, field: {"$in": allowed}}
        if isinstance(cond, dict):
            narrowed = [v for v in cond["$in"] if v in allowed] if "$in" in cond else allowed
            return {**where, field: {**cond, "$in": narrowed}}
        return where if cond in allowed else None

    async def get(self, collection: str, doc_id: str) -> Doc | None:
        doc = await self._inner.get(collection, doc_id)
        if doc is None or collection in GATED:
            return doc
        if collection not in SCOPED:
            return None
        field, allowed = self._allowed(collection)
        return doc if doc.get(field) in allowed else None

    async def find(
        self, collection: str, where: Filter, sort: Sort = (), offset: int = 0, limit: int = 0
    ) -> tuple[list[Doc], int]:
        narrowed = self._where(collection, where)
        if narrowed is None:
            return [], 0
        return await self._inner.find(collection, narrowed, sort, offset, limit)

    async def count_by(self, collection: str, where: Filter, field: str) -> dict[Any, int]:
        narrowed = self._where(collection, where)
        return {} if narrowed is None else await self._inner.count_by(collection, narrowed, field)

    async def average(self, collection: str, where: Filter, field: str) -> float | None:
        narrowed = self._where(collection, where)
        return None if narrowed is None else await self._inner.average(collection, narrowed, field)

    def __getattr__(self, name: str) -> Any:
        """Writes, counters, checkpoints and health pass through unchanged."""
        return getattr(self._inner, name)

    async def drop(self, collections: Sequence[str], checkpoints: Sequence[str]) -> None:
        raise PermissionError("a scoped read store cannot drop read models")

    async def delete_where(self, collection: str, where: Filter) -> int:
        raise PermissionError("a scoped read store cannot delete documents")
