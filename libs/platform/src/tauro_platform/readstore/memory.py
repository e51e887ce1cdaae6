"""In-process read store for the embedded mode; rebuilt from the event log at start-up.

Documents are copied in and out (a caller never holds the stored object; see ``_stored_doc``
for the form they are kept in), and the fields in
``INDEXED_FIELDS`` have an equality index, so the filters the platform runs all the time
(the dispatcher's and the reaper's ``state`` queries) look at the matching documents only,
not at every run ever made.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tauro_platform.readstore.port import Doc, Filter, Sort, check_filter

_MISSING = object()
_SWEEP_EVERY = 1000  # increments between sweeps of expired counters
INDEXED_FIELDS = ("state",)
_UNINDEXED = object()  # the index bucket of values that are neither strings nor null/missing
_IMMUTABLE = (str, int, float, bool, type(None), datetime)
_MAP = "\0map"  # the first item of a stored embedded document (recognised by identity)


def _is_map(value: Any) -> bool:
    return type(value) is tuple and len(value) > 0 and value[0] is _MAP


def _copy(value: Any) -> Any:
    """A caller's copy of a stored value: dicts for documents and maps, lists for arrays;
    several times faster than ``copy.deepcopy``, which anything else falls back to."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if _is_map(value):
        return {k: _copy(v) for k, v in value[1:]}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    if isinstance(value, _IMMUTABLE):
        return value
    return copy.deepcopy(value)


def _stored_doc(doc: Doc) -> Doc:
    """The form a document is kept in: a dict of its fields whose values hold no list or dict.
    Arrays become tuples and embedded documents tuples of ``_MAP`` and (key, value) pairs, and a
    tuple of such values leaves the garbage collector's lists (dicts never do while they hold a
    dict), so the documents of every run ever made cost its full passes next to nothing."""
    return {k: _stored(v) for k, v in doc.items()}


def _stored(value: Any) -> Any:
    if isinstance(value, dict):
        return (_MAP, *((k, _stored(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):  # items first: the collector then meets them before the tuple
        return tuple([_stored(v) for v in value])
    if isinstance(value, _IMMUTABLE):
        return value
    return copy.deepcopy(value)


def _lookup(doc: Doc, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return _MISSING
            value = value[part]
        elif _is_map(value):
            value = next((v for k, v in value[1:] if k == part), _MISSING)
            if value is _MISSING:
                return _MISSING
        else:
            return _MISSING
    return value


def _equal(value: Any, arg: Any) -> bool:
    """MongoDB equality: a missing field equals null, and booleans are not numbers."""
    if value is _MISSING:
        value = None
    if isinstance(value, bool) != isinstance(arg, bool):
        return False
    return bool(value == arg)


def _compare(value: Any, op: str, arg: Any) -> bool:
    if op == "$exists":
        return (value is not _MISSING) == bool(arg)
    if op == "$in":
        return any(_equal(value, a) for a in arg)
    if op == "$nin":
        return not any(_equal(value, a) for a in arg)
    if op == "$ne":
        return not _equal(value, arg)
    if arg is None:  # null sorts equal to null and missing, below everything else
        return op in ("$gte", "$lte") and _equal(value, None)
    if value is _MISSING or value is None or isinstance(value, bool) != isinstance(arg, bool):
        return False
    try:
        return {"$gt": value > arg, "$gte": value >= arg, "$lt": value < arg, "$lte": value <= arg}[op]
    except TypeError:  # different types never compare (MongoDB's type bracketing)
        return False


def matches(doc: Doc, where: Filter) -> bool:
    for field, cond in where.items():
        if field == "$or":
            if not any(matches(doc, branch) for branch in cond):
                return False
            continue
        value = _lookup(doc, field)
        if isinstance(value, tuple):  # an array or embedded document, as stored: compare it as given
            value = _copy(value)
        if isinstance(cond, dict):
            if not all(_compare(value, op, arg) for op, arg in cond.items()):
                return False
        elif not _equal(value, cond):
            return False
    return True


def _expired(doc: Doc, now: datetime) -> bool:
    expires = doc.get("expires_at")
    return isinstance(expires, datetime) and expires <= now


def _type_rank(value: Any) -> int:
    """MongoDB's sort order across types: null/missing, numbers, strings, objects, arrays, booleans."""
    if value is _MISSING or value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, int | float):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, dict) or _is_map(value):
        return 3
    if isinstance(value, list | tuple):
        return 4
    return 6


def _index_key(doc: Doc, field: str) -> Any:
    value = _lookup(doc, field)
    if value is _MISSING or value is None:
        return None
    return value if isinstance(value, str) else _UNINDEXED


def _wanted(cond: Any) -> Sequence[Any] | None:
    """The values an equality or ``$in`` condition asks for (None when it is not one of those,
    or asks for null, which also matches a missing field)."""
    if isinstance(cond, str):
        return [cond]
    if isinstance(cond, dict) and isinstance(cond.get("$in"), list | tuple):
        values = cond["$in"]
        return values if all(isinstance(v, str) for v in values) else None
    return None


def _sort_key(field: str) -> Callable[[Doc], tuple[int, Any]]:
    def key(doc: Doc) -> tuple[int, Any]:
        value = _lookup(doc, field)
        rank = _type_rank(value)
        return (rank, value) if rank in (1, 2, 5) else (rank, 0)

    return key


class MemoryReadStore:
    def __init__(self, indexed: Sequence[str] = INDEXED_FIELDS) -> None:
        self._collections: dict[str, dict[str, Doc]] = defaultdict(dict)
        # collection -> field -> value (a string, None, or _UNINDEXED) -> ids
        self._indexes: dict[str, dict[str, dict[Any, set[str]]]] = defaultdict(
            lambda: {f: defaultdict(set) for f in indexed})
        self._checkpoints: dict[str, int] = {}
        self._increments = 0

    async def get(self, collection: str, doc_id: str) -> Doc | None:
        doc = self._collections[collection].get(doc_id)
        return _copy(doc) if doc is not None else None

    def _store(self, collection: str, doc: Doc) -> None:
        """Store a copy of ``doc`` (replacing any with its id) and index it."""
        self._remove(collection, doc["_id"])
        stored = self._collections[collection][doc["_id"]] = _stored_doc(doc)
        for field, index in self._indexes[collection].items():
            index[_index_key(stored, field)].add(stored["_id"])

    def _remove(self, collection: str, doc_id: str) -> None:
        old = self._collections[collection].pop(doc_id, None)
        if old is not None:
            for field, index in self._indexes[collection].items():
                index[_index_key(old, field)].discard(doc_id)

    def _matching(self, collection: str, where: Filter) -> list[Doc]:
        check_filter(where)
        return [d for d in self._candidates(collection, where) if matches(d, where)]

    def _candidates(self, collection: str, where: Filter) -> list[Doc]:
        """The documents a filter can match: by id when it names ids (the ``_id`` index), by an
        indexed field's equality or ``$in`` of strings, else all."""
        docs = self._collections[collection]
        ids = _wanted(where.get("_id", _MISSING))
        if ids is not None:
            return [docs[i] for i in dict.fromkeys(ids) if isinstance(i, str) and i in docs]
        for field, index in self._indexes[collection].items():
            values = _wanted(where.get(field, _MISSING))
            if values is not None:
                found = set(index[_UNINDEXED]).union(*(index[v] for v in values if isinstance(v, str)))
                return [docs[i] for i in found]
        return list(docs.values())

    async def find(
        self, collection: str, where: Filter, sort: Sort = (), offset: int = 0, limit: int = 0
    ) -> tuple[list[Doc], int]:
        docs = sorted(self._matching(collection, where), key=lambda d: d["_id"])  # ties: by _id
        for field, direction in reversed(list(sort)):
            docs.sort(key=_sort_key(field), reverse=direction < 0)
        page = docs[offset : offset + limit] if limit else docs[offset:]
        return _copy(page), len(docs)

    async def count_by(self, collection: str, where: Filter, field: str) -> dict[Any, int]:
        counts: dict[Any, int] = defaultdict(int)
        for doc in self._matching(collection, where):
            value = _lookup(doc, field)
            if isinstance(value, tuple):  # a stored array or embedded document: no key (as in MongoDB's adapter)
                raise TypeError(f"count_by groups by scalar values; {field!r} holds an array or a document")
            counts[None if value is _MISSING else value] += 1
        return dict(counts)

    async def average(self, collection: str, where: Filter, field: str) -> float | None:
        values = [
            v
            for d in self._matching(collection, where)
            if isinstance(v := _lookup(d, field), int | float) and not isinstance(v, bool)
        ]
        return sum(values) / len(values) if values else None

    async def put_versioned(self, collection: str, doc: Doc, expected_version: int | None) -> bool:
        docs = self._collections[collection]
        current = docs.get(doc["_id"])
        if expected_version is None:
            if current is not None:
                return False
        elif current is None or current.get("_v") != expected_version:
            return False
        self._store(collection, doc)
        return True

    async def insert_if_absent(self, collection: str, doc: Doc) -> bool:
        if doc["_id"] in self._collections[collection]:
            return False
        self._store(collection, doc)
        return True

    async def put_many_versioned(self, collection: str, items: Sequence[tuple[Doc, int | None]]) -> list[bool]:
        return [await self.put_versioned(collection, doc, expected) for doc, expected in items]

    async def insert_many_if_absent(self, collection: str, docs: Sequence[Doc]) -> int:
        return sum([await self.insert_if_absent(collection, doc) for doc in docs])

    async def increment(self, collection: str, doc_id: str, field: str, by: int, expires_at: datetime) -> int:
        docs = self._collections[collection]
        now = datetime.now(UTC)
        self._increments += 1
        if self._increments % _SWEEP_EVERY == 0:
            for stale in [k for k, d in docs.items() if _expired(d, now)]:
                self._remove(collection, stale)
        doc = docs.get(doc_id)
        if doc is None or _expired(doc, now):
            self._store(collection, {"_id": doc_id, field: 0, "expires_at": expires_at})
        count = int(docs[doc_id].get(field, 0)) + by
        if field in self._indexes[collection]:
            self._store(collection, {**docs[doc_id], field: count})
        else:
            docs[doc_id][field] = count
        return count

    async def delete_where(self, collection: str, where: Filter) -> int:
        doomed = [d["_id"] for d in self._matching(collection, where)]
        for doc_id in doomed:
            self._remove(collection, doc_id)
        return len(doomed)

    async def checkpoint(self, name: str) -> int:
        return self._checkpoints.get(name, 0)

    async def save_checkpoint(self, name: str, position: int) -> None:
        self._checkpoints[name] = max(position, self._checkpoints.get(name, 0))

    async def drop(self, collections: Sequence[str], checkpoints: Sequence[str]) -> None:
        for name in collections:
            self._collections.pop(name, None)
            self._indexes.pop(name, None)
        for name in checkpoints:
            self._checkpoints.pop(name, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
