"""Keyset cursors (``tauro_gateway.paging``) over the in-memory read store: many ties on the
sort keys, nulls, and documents inserted between pages; every walk sees each document once."""

from __future__ import annotations

import random
from typing import Any

import pytest
from tauro_contracts.errors import DomainError
from tauro_gateway.paging import after, decode_cursor, encode_cursor
from tauro_platform.readstore.memory import MemoryReadStore

C = "runs"
SORTS: list[list[tuple[str, int]]] = [
    [("created_at", -1), ("_id", -1)],
    [("created_at", 1), ("_id", 1)],
    [("started_at", 1), ("_id", 1)],
    [("started_at", -1), ("_id", -1)],
    [("state", 1), ("created_at", -1), ("_id", -1)],
    [("duration_seconds", -1), ("_id", -1)],
]


def _doc(rng: random.Random, i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": f"run_{rng.randrange(16**6):06x}{i:04d}", "_v": 1,
        "created_at": f"2025-01-01T00:00:0{rng.randrange(3)}.000000Z",  # three values: many ties
        "state": rng.choice(["PENDING", "RUNNING", "SUCCESS"]),
    }
    if rng.random() < 0.6:
        doc["started_at"] = rng.choice([None, "2025-01-01T00:01:00.000000Z", "2025-01-01T00:02:00.000000Z"])
    if rng.random() < 0.5:
        doc["duration_seconds"] = rng.choice([1, 2.5, 2.5, 7])
    return doc


@pytest.mark.parametrize("seed", range(6))
async def test_walk_sees_every_document_once_with_ties_nulls_and_inserts(seed: int) -> None:
    rng = random.Random(seed)
    store = MemoryReadStore()
    for i in range(40):
        await store.insert_if_absent(C, _doc(rng, i))
    added = 1000
    for sort in SORTS:
        existing, _ = await store.find(C, {}, sort)
        limit = rng.randrange(1, 6)
        page, total = await store.find(C, {}, sort, 0, limit)
        walked = list(page)
        while len(page) < total:
            for _ in range(rng.randrange(3)):  # concurrent inserts, anywhere in the order
                added += 1
                await store.insert_if_absent(C, _doc(rng, added))
            cursor = encode_cursor(sort, page[-1])
            page, total = await store.find(C, after(sort, decode_cursor(cursor, sort)), sort, 0, limit)
            walked += page
        ids = [d["_id"] for d in walked]
        assert len(ids) == len(set(ids)), sort
        assert {d["_id"] for d in existing} <= set(ids), sort
        order = [d["_id"] for d in existing]
        assert [i for i in ids if i in set(order)] == order, sort  # the walk keeps the sort's order


def test_cursor_is_refused_for_another_sort_and_when_forged() -> None:
    sort = [("created_at", -1), ("_id", -1)]
    cursor = encode_cursor(sort, {"_id": "run_a", "created_at": "2025-01-01T00:00:00Z"})
    assert decode_cursor(cursor, sort) == ["2025-01-01T00:00:00Z", "run_a"]
    for bad, with_sort in ((cursor, [("created_at", 1), ("_id", 1)]), ("!!!", sort), ("", sort), ("e30", sort)):
        with pytest.raises(DomainError) as caught:
            decode_cursor(bad, with_sort)
        assert caught.value.code == "VALIDATION_ERROR" and caught.value.details[0].field == "cursor"
