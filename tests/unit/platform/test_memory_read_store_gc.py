"""The embedded read store keeps documents in a form the garbage collector can skip (arrays and
embedded documents as tuples), while callers get what they stored (dicts, lists) and filters,
sorts and dotted paths see the same values as before."""

from __future__ import annotations

import gc

import pytest
from tauro_platform.readstore.memory import MemoryReadStore

RUN = {"_id": "run_1", "_v": 3, "state": "SUCCESS", "tags": {"env": "prod"}, "labels": ["a", "b"],
       "tasks": [{"node_id": "n1", "attempts": [{"attempt": 1, "status": "succeeded"}], "metrics": {}}]}


async def test_stored_documents_come_back_as_stored_and_leave_the_collectors_lists() -> None:
    store = MemoryReadStore()
    assert await store.insert_if_absent("runs", RUN)
    assert await store.get("runs", "run_1") == RUN
    found, total = await store.find("runs", {"labels": ["a", "b"]})
    assert found == [RUN] and total == 1
    assert (await store.find("runs", {"labels": ["b", "a"]}))[1] == 0
    assert await store.count_by("runs", {}, "state") == {"SUCCESS": 1}
    with pytest.raises(TypeError):  # no key for an array (nor in MongoDB's adapter)
        await store.count_by("runs", {}, "labels")

    assert (await store.find("runs", {"tags.env": "prod"}))[1] == 1
    assert (await store.find("runs", {"tags.env": "x"}))[1] == 0
    assert (await store.find("runs", {"tasks": {"$exists": True}}, sort=[("tags", 1), ("labels", -1)]))[1] == 1

    kept = store._collections["runs"]["run_1"]
    for _ in range(10):  # a container is untracked once what it holds is: a level per full collection
        gc.collect()
    assert not gc.is_tracked(kept) and not any(gc.is_tracked(v) for v in kept.values())
    copy = await store.get("runs", "run_1")
    assert copy is not None and isinstance(copy["tasks"], list) and isinstance(copy["tasks"][0]["attempts"], list)
    copy["tasks"][0]["attempts"].append({"attempt": 2})  # the caller's copy, not the store's
    assert await store.get("runs", "run_1") == RUN
