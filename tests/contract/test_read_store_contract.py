"""The read store contract (``tauro_platform.readstore.port``), run against every adapter.

The query tables below are the spec: every adapter must give exactly these answers, so
the in-memory store of the embedded mode and the MongoDB store of the distributed mode
answer alike (null/missing semantics included). ``TestMemoryMatchesMongo`` adds a
differential check on generated documents and queries.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from tauro_platform.readstore.memory import MemoryReadStore
from tauro_platform.readstore.mongo import MongoReadStore
from tauro_platform.readstore.port import Doc, Filter, ReadStore, Sort

C = "things"

# A small, awkward data set: nulls next to missing fields, ints next to floats, a
# string and a boolean among numbers, sub-documents with and without the dotted field,
# and ties on the sort keys.
DOCS: list[Doc] = [
    {
        "_id": "a",
        "_v": 1,
        "state": "running",
        "n": 5,
        "score": 1.5,
        "owner": {"name": "ann", "team": "x"},
        "created": "2025-01-01T00:00:00.000000Z",
    },
    {
        "_id": "b",
        "_v": 1,
        "state": "failed",
        "n": 3,
        "score": 1,
        "owner": {"name": "bob", "team": "y"},
        "created": "2025-01-02T00:00:00.000000Z",
    },
    {
        "_id": "c",
        "_v": 1,
        "state": "running",
        "n": 5,
        "score": None,
        "owner": {"name": "cid"},
        "created": "2025-01-03T00:00:00.000000Z",
    },
    {"_id": "d", "_v": 1, "state": "succeeded", "score": "n/a", "created": "2025-01-04T00:00:00.000000Z"},
    {
        "_id": "e",
        "_v": 1,
        "state": None,
        "n": 0,
        "score": 4.5,
        "owner": {"name": "eve", "team": "x"},
        "created": "2025-01-05T00:00:00.000000Z",
    },
    {
        "_id": "f",
        "_v": 1,
        "n": -2,
        "score": 3,
        "owner": {"team": None},
        "created": "2025-01-05T00:00:00.000000Z",
    },
    {
        "_id": "g",
        "_v": 1,
        "state": "running",
        "n": 10,
        "score": True,
        "owner": {"name": "gus", "team": "y"},
        "created": "2025-01-06T00:00:00.000000Z",
    },
]

FILTERS: list[tuple[str, Filter, set[str]]] = [
    ("all", {}, set("abcdefg")),
    ("eq-string", {"state": "running"}, set("acg")),
    ("eq-null-matches-missing", {"state": None}, set("ef")),
    ("eq-int", {"n": 5}, set("ac")),
    ("eq-float-equals-int", {"n": 5.0}, set("ac")),
    ("eq-no-type-coercion", {"n": "5"}, set()),
    ("eq-bool-is-not-1", {"score": True}, set("g")),
    ("eq-1-is-not-bool", {"score": 1}, set("b")),
    ("eq-two-fields", {"state": "running", "n": 10}, set("g")),
    ("dotted-eq", {"owner.team": "x"}, set("ae")),
    ("dotted-null-or-missing", {"owner.team": None}, set("cdf")),
    ("dotted-name", {"owner.name": "bob"}, set("b")),
    ("in", {"state": {"$in": ["failed", "succeeded"]}}, set("bd")),
    ("in-null", {"state": {"$in": [None, "failed"]}}, set("bef")),
    ("in-empty", {"state": {"$in": []}}, set()),
    ("in-number-not-bool", {"score": {"$in": [1, 4.5]}}, set("be")),
    ("nin-matches-missing", {"state": {"$nin": ["running", "failed"]}}, set("def")),
    ("nin-null", {"state": {"$nin": [None]}}, set("abcdg")),
    ("ne", {"state": {"$ne": "running"}}, set("bdef")),
    ("ne-null", {"state": {"$ne": None}}, set("abcdg")),
    ("ne-dotted", {"owner.team": {"$ne": "x"}}, set("bcdfg")),
    ("gt", {"n": {"$gt": 3}}, set("acg")),
    ("gte", {"n": {"$gte": 3}}, set("abcg")),
    ("lt-skips-missing", {"n": {"$lt": 3}}, set("ef")),
    ("lte", {"n": {"$lte": 0}}, set("ef")),
    ("range", {"n": {"$gt": 0, "$lt": 10}}, set("abc")),
    ("gt-float-ignores-string-and-bool", {"score": {"$gt": 1.6}}, set("ef")),
    ("gte-ignores-bool", {"score": {"$gte": 1}}, set("abef")),
    ("lt-string-vs-number", {"n": {"$lt": "z"}}, set()),
    ("gte-iso-string", {"created": {"$gte": "2025-01-04"}}, set("defg")),
    ("gt-dotted-string", {"owner.name": {"$gt": "b"}}, set("bceg")),
    ("exists-false", {"n": {"$exists": False}}, set("d")),
    ("exists-true", {"n": {"$exists": True}}, set("abcefg")),
    ("exists-null-value", {"owner.team": {"$exists": True}}, set("abefg")),
    ("exists-dotted-false", {"owner.team": {"$exists": False}}, set("cd")),
    ("combined", {"state": {"$in": ["running"]}, "n": {"$ne": 5}}, set("g")),
    ("combined-dotted", {"owner.team": "y", "n": {"$lt": 5}}, set("b")),
    ("id", {"_id": "c"}, set("c")),
    ("id-unknown", {"_id": "zz"}, set()),
    ("id-in-repeats-and-unknowns", {"_id": {"$in": ["g", "a", "g", "zz"]}}, set("ag")),
    ("id-in-and-more", {"_id": {"$in": ["a", "b", "d"]}, "state": "running"}, set("a")),
    ("id-in-and-ne", {"_id": {"$in": ["a", "b"], "$ne": "a"}}, set("b")),
    ("id-nin", {"_id": {"$nin": ["a", "b"]}}, set("cdefg")),
    ("or", {"$or": [{"state": "failed"}, {"n": {"$gte": 10}}]}, set("bg")),
    ("or-and-fields", {"state": "running", "$or": [{"n": 10}, {"_id": "a"}]}, set("ag")),
    ("or-keyset-desc-with-nulls", {"$or": [{"n": {"$lt": 3}}, {"n": 3, "_id": {"$lt": "c"}}, {"n": None}]},
     set("bdef")),
    ("or-keyset-asc-after-null", {"$or": [{"state": {"$ne": None}}, {"state": None, "_id": {"$gt": "e"}}]},
     set("abcdfg")),
    ("or-one-branch", {"$or": [{"owner.team": "x"}]}, set("ae")),
]

SORTS: list[tuple[str, Sort, list[str]]] = [
    ("asc-missing-first-ties-by-id", [("n", 1)], list("dfebacg")),
    ("desc-missing-last-ties-by-id", [("n", -1)], list("gacbefd")),
    ("desc-string-tie", [("created", -1)], list("gefdcba")),
    ("two-keys", [("state", 1), ("n", -1)], list("efbgacd")),
    ("dotted", [("owner.name", 1)], list("dfabceg")),
    ("dotted-desc", [("owner.team", -1), ("_id", -1)], list("gbeafdc")),
    ("mixed-types-in-type-order", [("score", 1)], list("cbafedg")),
    ("id-desc", [("_id", -1)], list("gfedcba")),
]

PAGES: list[tuple[str, Filter, Sort, int, int, list[str], int]] = [
    ("first-page", {}, [("n", 1)], 0, 3, list("dfe"), 7),
    ("middle-page", {}, [("n", 1)], 2, 3, list("eba"), 7),
    ("last-page", {}, [("n", 1)], 6, 3, list("g"), 7),
    ("past-the-end", {}, [("n", 1)], 10, 3, [], 7),
    ("no-limit", {}, [("n", 1)], 4, 0, list("acg"), 7),
    ("filtered", {"state": "running"}, [("n", -1)], 0, 2, list("ga"), 3),
    ("filtered-offset", {"state": "running"}, [("n", -1)], 1, 5, list("ac"), 3),
    ("nothing", {"state": "nope"}, [("n", 1)], 0, 10, [], 0),
    ("unsorted-pages-by-id", {}, [], 1, 2, list("bc"), 7),
]

COUNTS: list[tuple[str, Filter, str, dict[Any, int]]] = [
    ("state", {}, "state", {"running": 3, "failed": 1, "succeeded": 1, None: 2}),
    ("dotted-with-missing", {"n": {"$gte": 3}}, "owner.team", {"x": 1, "y": 2, None: 1}),
    ("numbers", {}, "n", {5: 2, 3: 1, None: 1, 0: 1, -2: 1, 10: 1}),
    ("no-match", {"state": "nope"}, "state", {}),
]

AVERAGES: list[tuple[str, Filter, str, float | None]] = [
    ("skips-null-string-bool", {}, "score", 2.5),
    ("filtered", {"state": "running"}, "n", 20 / 3),
    ("filter-on-the-same-field", {"n": {"$lt": 5}}, "n", 1 / 3),
    ("filter-on-the-same-field-2", {"n": {"$gte": 5}}, "n", 20 / 3),
    ("dotted-numbers-none", {}, "owner.team", None),
    ("no-match", {"state": "nope"}, "n", None),
]


def ids(docs: list[Doc]) -> list[str]:
    return [d["_id"] for d in docs]


class ReadStoreContract:
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        raise NotImplementedError
        yield  # pragma: no cover

    @pytest.fixture
    async def loaded(self, store: ReadStore) -> ReadStore:
        for doc in DOCS:
            assert await store.insert_if_absent(C, copy.deepcopy(doc))
        return store

    # -- queries ------------------------------------------------------------------------

    @pytest.mark.parametrize(("where", "expected"), [pytest.param(w, e, id=n) for n, w, e in FILTERS])
    async def test_find_filters(self, loaded: ReadStore, where: Filter, expected: set[str]) -> None:
        docs, total = await loaded.find(C, where)
        assert set(ids(docs)) == expected
        assert len(docs) == len(expected) == total

    @pytest.mark.parametrize(("sort", "expected"), [pytest.param(s, e, id=n) for n, s, e in SORTS])
    async def test_find_sorted(self, loaded: ReadStore, sort: Sort, expected: list[str]) -> None:
        docs, total = await loaded.find(C, {}, sort=sort)
        assert ids(docs) == expected
        assert total == len(DOCS)

    @pytest.mark.parametrize(
        ("where", "sort", "offset", "limit", "expected", "total"),
        [pytest.param(w, s, o, lim, e, t, id=n) for n, w, s, o, lim, e, t in PAGES],
    )
    async def test_find_pages(
        self,
        loaded: ReadStore,
        where: Filter,
        sort: Sort,
        offset: int,
        limit: int,
        expected: list[str],
        total: int,
    ) -> None:
        docs, found = await loaded.find(C, where, sort=sort, offset=offset, limit=limit)
        assert ids(docs) == expected
        assert found == total

    async def test_pages_cover_everything_once(self, loaded: ReadStore) -> None:
        for sort in ([("state", 1)], [("owner.team", -1)], []):
            seen: list[str] = []
            for offset in range(0, len(DOCS), 2):
                page, total = await loaded.find(C, {}, sort=sort, offset=offset, limit=2)
                assert total == len(DOCS)
                seen += ids(page)
            assert sorted(seen) == sorted(ids(DOCS)), sort

    async def test_find_returns_whole_documents(self, loaded: ReadStore) -> None:
        docs, _ = await loaded.find(C, {"_id": "a"})
        assert docs == [DOCS[0]]

    @pytest.mark.parametrize(("where", "field", "expected"), [pytest.param(w, f, e, id=n) for n, w, f, e in COUNTS])
    async def test_count_by(self, loaded: ReadStore, where: Filter, field: str, expected: dict[Any, int]) -> None:
        assert await loaded.count_by(C, where, field) == expected

    @pytest.mark.parametrize(("where", "field", "expected"), [pytest.param(w, f, e, id=n) for n, w, f, e in AVERAGES])
    async def test_average(self, loaded: ReadStore, where: Filter, field: str, expected: float | None) -> None:
        result = await loaded.average(C, where, field)
        if expected is None:
            assert result is None
        else:
            assert result == pytest.approx(expected)

    @pytest.mark.parametrize(
        "where",
        [{"$and": [{"n": 1}]}, {"n": {"$regex": "x"}}, {"n": {"$gt": 1, "$elemMatch": {}}}, {"$or": []},
         {"$or": {"n": 1}}, {"$or": [{"n": {"$regex": "x"}}]}],
        ids=["top-level-operator", "unknown-operator", "one-unknown-operator", "empty-or", "or-not-a-list",
             "unknown-operator-in-or"],
    )
    async def test_unsupported_filters_are_rejected(self, loaded: ReadStore, where: Filter) -> None:
        with pytest.raises(ValueError):
            await loaded.find(C, where)
        with pytest.raises(ValueError):
            await loaded.count_by(C, where, "n")
        with pytest.raises(ValueError):
            await loaded.average(C, where, "n")

    async def test_count_by_a_field_holding_documents_is_refused(self, loaded: ReadStore) -> None:
        with pytest.raises(TypeError):
            await loaded.count_by(C, {}, "owner")

    async def test_empty_and_unknown_collections(self, store: ReadStore) -> None:
        assert await store.find("nothing-here", {}) == ([], 0)
        assert await store.count_by("nothing-here", {}, "x") == {}
        assert await store.average("nothing-here", {}, "x") is None
        assert await store.get("nothing-here", "x") is None
        await store.ping()

    # -- writes ---------------------------------------------------------------------------

    async def test_get_returns_what_was_stored_and_a_copy(self, store: ReadStore) -> None:
        doc = {
            "_id": "p1",
            "_v": 3,
            "name": "Ünï",
            "config": {"retry": {"max": 3, "delays": [1, 2.5]}},
            "none": None,
        }
        assert await store.put_versioned(C, copy.deepcopy(doc), None)
        got = await store.get(C, "p1")
        assert got == doc
        assert got is not None
        got["config"]["retry"]["max"] = 99
        found, _ = await store.find(C, {})
        found[0]["name"] = "changed"
        assert await store.get(C, "p1") == doc
        assert await store.get(C, "p2") is None

    async def test_put_versioned(self, store: ReadStore) -> None:
        v1 = {"_id": "r1", "_v": 1, "state": "queued"}
        assert await store.put_versioned(C, dict(v1), None) is True
        assert await store.put_versioned(C, {"_id": "r1", "_v": 1, "state": "dup"}, None) is False
        v2 = {"_id": "r1", "_v": 2, "state": "running"}
        assert await store.put_versioned(C, dict(v2), 1) is True
        assert await store.get(C, "r1") == v2
        # A stale writer (it read _v 1) loses and changes nothing.
        assert await store.put_versioned(C, {"_id": "r1", "_v": 2, "state": "stale"}, 1) is False
        assert await store.put_versioned(C, {"_id": "r1", "_v": 4, "state": "ahead"}, 3) is False
        assert await store.get(C, "r1") == v2
        # Replacing at an expected version of a document that does not exist creates nothing.
        assert await store.put_versioned(C, {"_id": "r2", "_v": 2}, 1) is False
        assert await store.get(C, "r2") is None
        # The stored document is replaced, not merged.
        assert await store.put_versioned(C, {"_id": "r1", "_v": 3}, 2) is True
        assert await store.get(C, "r1") == {"_id": "r1", "_v": 3}

    async def test_put_versioned_on_a_document_without_version(self, store: ReadStore) -> None:
        assert await store.insert_if_absent(C, {"_id": "x", "kind": "plain"})
        assert await store.put_versioned(C, {"_id": "x", "_v": 1}, None) is False
        assert await store.put_versioned(C, {"_id": "x", "_v": 1}, 0) is False
        assert await store.get(C, "x") == {"_id": "x", "kind": "plain"}

    async def test_concurrent_put_versioned_one_writer_wins(self, store: ReadStore) -> None:
        assert await store.put_versioned(C, {"_id": "r", "_v": 1, "by": None}, None)
        results = await asyncio.gather(*(store.put_versioned(C, {"_id": "r", "_v": 2, "by": i}, 1) for i in range(20)))
        assert results.count(True) == 1
        winner = results.index(True)
        assert await store.get(C, "r") == {"_id": "r", "_v": 2, "by": winner}
        inserts = await asyncio.gather(
            *(store.put_versioned(C, {"_id": "n", "_v": 1, "by": i}, None) for i in range(20))
        )
        assert inserts.count(True) == 1

    async def test_insert_if_absent(self, store: ReadStore) -> None:
        assert await store.insert_if_absent(C, {"_id": "k", "v": 1}) is True
        assert await store.insert_if_absent(C, {"_id": "k", "v": 2}) is False
        assert await store.get(C, "k") == {"_id": "k", "v": 1}
        assert await store.insert_if_absent("other", {"_id": "k", "v": 3}) is True  # collections are separate
        assert await store.get("other", "k") == {"_id": "k", "v": 3}
        assert (await store.find(C, {}))[1] == 1

    async def test_checkpoints_never_move_backwards(self, store: ReadStore) -> None:
        assert await store.checkpoint("p1") == 0
        await store.save_checkpoint("p1", 5)
        assert await store.checkpoint("p1") == 5
        await store.save_checkpoint("p1", 3)
        assert await store.checkpoint("p1") == 5
        await store.save_checkpoint("p1", 5)
        await store.save_checkpoint("p1", 9)
        assert await store.checkpoint("p1") == 9
        assert await store.checkpoint("p2") == 0
        await asyncio.gather(*(store.save_checkpoint("p2", n) for n in [4, 12, 7, 1, 11]))
        assert await store.checkpoint("p2") == 12

    async def test_delete_where_removes_only_the_matching_documents(self, store: ReadStore) -> None:
        for i, seen in enumerate(["2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z",
                                  "2026-01-03T00:00:00.000000Z"]):
            assert await store.put_versioned("hb", {"_id": f"h{i}", "last_seen": seen, "_v": 1}, None)
        assert await store.put_versioned("hb", {"_id": "no-time", "_v": 1}, None)
        assert await store.delete_where("hb", {"last_seen": {"$lt": "2026-01-02T12:00:00.000000Z"}}) == 2
        docs, total = await store.find("hb", {})
        assert total == 2 and [d["_id"] for d in docs] == ["h2", "no-time"]
        assert await store.delete_where("hb", {"_id": "absent"}) == 0
        assert await store.put_versioned("hb", {"_id": "h0", "last_seen": "x", "_v": 1}, None)  # gone: insertable

    async def test_drop_collections_and_named_checkpoints(self, loaded: ReadStore) -> None:
        store = loaded
        assert await store.insert_if_absent("keep", {"_id": "k"})
        await store.save_checkpoint("p1", 5)
        await store.save_checkpoint("p2", 7)
        await store.drop([C, "never-existed"], ["p1", "never-saved"])
        assert await store.find(C, {}) == ([], 0)
        assert await store.get(C, "a") is None
        assert await store.checkpoint("p1") == 0
        assert await store.checkpoint("p2") == 7
        assert await store.get("keep", "k") == {"_id": "k"}
        # A dropped collection can be rebuilt.
        assert await store.put_versioned(C, {"_id": "a", "_v": 1}, None)
        await store.save_checkpoint("p1", 1)
        assert await store.checkpoint("p1") == 1
        await store.drop([], [])
        assert await store.get(C, "a") == {"_id": "a", "_v": 1}


class TestMemoryReadStore(ReadStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[ReadStore]:
        store = MemoryReadStore()
        yield store
        await store.close()


@pytest.fixture
async def mongo_store(mongo_url: str, mongo_database: str) -> AsyncIterator[MongoReadStore]:
    store = MongoReadStore(AsyncMongoClient(mongo_url), mongo_database)
    yield store
    await store.close()


@pytest.mark.integration
class TestMongoReadStore(ReadStoreContract):
    @pytest.fixture
    async def store(self, mongo_store: MongoReadStore) -> AsyncIterator[ReadStore]:
        yield mongo_store


# -- differential: generated documents and queries, memory vs MongoDB ----------------------

_VALUES: list[Any] = [None, 0, 1, 2, 2.5, -1, True, False, "", "a", "b", "B"]
_MISSING = object()


def _generated_docs(rng: random.Random, count: int) -> list[Doc]:
    docs = []
    for i in range(count):
        doc: Doc = {"_id": f"d{i:03d}", "_v": 1}
        for field in ("x", "y"):
            value = rng.choice([*_VALUES, _MISSING])
            if value is not _MISSING:
                doc[field] = value
        sub = rng.choice([_MISSING, None, "flat", {}, "value"])
        if sub == "value":
            doc["sub"] = {"z": rng.choice(_VALUES)}
        elif sub is not _MISSING:
            doc["sub"] = sub
        docs.append(doc)
    return docs


def _generated_queries(rng: random.Random) -> list[Filter]:
    queries: list[Filter] = [{}]
    pairs = list(itertools.combinations(_VALUES, 2))
    for field in ("x", "y", "sub.z", "sub"):
        for v in _VALUES:
            queries.append({field: v})
            for op in ("$ne", "$gt", "$gte", "$lt", "$lte"):
                queries.append({field: {op: v}})
        for a, b in rng.sample(pairs, 12):
            queries.append({field: {"$in": [a, b]}})
            queries.append({field: {"$nin": [a, b]}})
        queries.append({field: {"$exists": True}})
        queries.append({field: {"$exists": False}})
    queries.append({"x": {"$gt": 0, "$lte": 2}, "y": {"$ne": None}})
    for v in _VALUES:  # keyset conditions, as cursor paging builds them
        queries.append({"$or": [{"x": {"$lt": v}}, {"x": v, "_id": {"$lt": "d030"}}, {"x": None}]})
        queries.append({"y": {"$ne": v}, "$or": [{"x": {"$gt": v}}, {"x": v, "_id": {"$gt": "d030"}}]})
    return queries


@pytest.mark.integration
class TestMemoryMatchesMongo:
    @pytest.mark.parametrize("indexed", [(), ("x", "sub.z", "sub")], ids=["scans", "indexes"])
    async def test_same_answers_on_generated_data(self, mongo_store: MongoReadStore, indexed: tuple[str, ...]) -> None:
        rng = random.Random(20250126)
        docs = _generated_docs(rng, 60)
        memory = MemoryReadStore(indexed=indexed)
        for doc in docs:
            await memory.insert_if_absent(C, copy.deepcopy(doc))
        await asyncio.gather(*(mongo_store.insert_if_absent(C, copy.deepcopy(doc)) for doc in docs))
        # Rewrite a third of the documents and delete a few, so the indexes have entries to move.
        for doc, new in zip(docs[::3], _generated_docs(rng, 20), strict=True):
            changed = {**new, "_id": doc["_id"], "_v": 2}
            assert await memory.put_versioned(C, copy.deepcopy(changed), 1)
            assert await mongo_store.put_versioned(C, copy.deepcopy(changed), 1)
        doomed = {"_id": {"$in": [d["_id"] for d in docs[1:12:5]]}}
        assert await memory.delete_where(C, doomed) == await mongo_store.delete_where(C, doomed)

        queries = _generated_queries(rng)
        from_mongo = await asyncio.gather(*(mongo_store.find(C, where) for where in queries))
        mismatches = []
        for where, (mongo_docs, mongo_total) in zip(queries, from_mongo, strict=True):
            mem_docs, mem_total = await memory.find(C, where)
            if ids(mem_docs) != ids(mongo_docs) or mem_total != mongo_total:
                mismatches.append((where, ids(mem_docs), ids(mongo_docs)))
        assert not mismatches, mismatches[:5]

        for field in ("x", "y", "sub.z"):
            for direction in (1, -1):
                sort = [(field, direction)]
                mem, _ = await memory.find(C, {}, sort=sort, offset=5, limit=30)
                mongo, _ = await mongo_store.find(C, {}, sort=sort, offset=5, limit=30)
                assert ids(mem) == ids(mongo), sort
            # A dict cannot hold both True and 1 as keys: count fields without booleans.
            no_bools = {field: {"$nin": [True, False]}}
            assert await memory.count_by(C, no_bools, field) == await mongo_store.count_by(C, no_bools, field)
            mem_avg = await memory.average(C, {}, field)
            mongo_avg = await mongo_store.average(C, {}, field)
            assert mem_avg == pytest.approx(mongo_avg), field
