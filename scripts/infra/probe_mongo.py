"""Probe a MongoDB-wire server for what the Tauro event store relies on.

Run it with the SecantusDB venv's python against a started server:

    scripts/infra/mongo.sh start
    .cache/secantus-venv/bin/python scripts/infra/probe_mongo.py [--url URL]

Checks (each prints PASS/FAIL with figures; exit 1 if any FAIL):
  a. unique (stream_id, version) index -> DuplicateKeyError / BulkWriteError 11000
  b. transaction: counter find_one_and_update($inc, upsert) + insert_many commits
     atomically; a duplicate inside aborts everything
  c. 20 threads x transactions on one counter: distinct, gap-free positions, and
     commit order == position order for a tailing reader; retries and time
  d. pymongo.AsyncMongoClient: ping, insert, transaction
  e. change streams deliver inserts (sync and async), incl. transactional ones
  f. rough append rates
Uses a scratch database (dropped before and after). Standalone: PyMongo only.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, MongoClient, ReturnDocument, monitoring
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

DB = "tauro_probe"
RESULTS: list[tuple[str, bool, str]] = []


def report(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


def is_dup(exc: BaseException) -> bool:
    """True for a duplicate-key error, whether single (11000) or inside a bulk write."""
    if isinstance(exc, DuplicateKeyError):
        return True
    if isinstance(exc, BulkWriteError):
        return any(e.get("code") == 11000 for e in exc.details.get("writeErrors", []))
    return isinstance(exc, OperationFailure) and exc.code == 11000


class Listener(monitoring.CommandListener):
    """Counts commands and failures, to see what the driver retries behind our back."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        with self._lock:
            self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        failure = event.failure or {}
        name = failure.get("codeName") or failure.get("code")
        labels = ",".join(failure.get("errorLabels", []))
        with self._lock:
            self.failures[f"{event.command_name}:{name}[{labels}]"] += 1

    def reset(self) -> None:
        with self._lock:
            self.commands.clear()
            self.failures.clear()


@dataclass
class TailState:
    """What the tailing reader of check (c) saw."""

    polls: int = 0
    gaps: int = 0
    last: int = 0
    gap_examples: list[tuple[int, int]] = field(default_factory=list)


# --------------------------------------------------------------------------- append


def append_txn(client: MongoClient, stream_id: str, version: int, n: int, attempts: list[int]) -> int:
    """Append n events to stream_id starting at version; returns the last global position."""
    db = client[DB]

    def callback(session: Any) -> int:
        attempts[0] += 1
        counter = db.counters.find_one_and_update(
            {"_id": "global"},
            {"$inc": {"pos": n}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None  # upsert=True + AFTER always returns the document
        last = int(counter["pos"])
        first = last - n + 1
        db.events.insert_many(
            [
                {"stream_id": stream_id, "version": version + i, "pos": first + i, "data": {"i": i}}
                for i in range(n)
            ],
            session=session,
        )
        return last

    with client.start_session() as session:
        return session.with_transaction(callback)


def setup(client: MongoClient) -> None:
    client.drop_database(DB)
    db = client[DB]
    db.create_collection("events")
    db.create_collection("counters")
    db.events.create_index([("stream_id", ASCENDING), ("version", ASCENDING)], unique=True, name="stream_ver")
    db.events.create_index([("pos", ASCENDING)], unique=True, name="pos")


def counter_value(client: MongoClient) -> int | None:
    doc = client[DB].counters.find_one({"_id": "global"})
    return None if doc is None else int(doc["pos"])


# --------------------------------------------------------------------------- checks


def check_a(client: MongoClient) -> None:
    setup(client)
    ev = client[DB].events
    info = ev.index_information().get("stream_ver", {})
    ev.insert_one({"stream_id": "s1", "version": 1, "pos": 1})
    try:
        ev.insert_one({"stream_id": "s1", "version": 1, "pos": 2})
        report("a.insert_one duplicate", False, "no error raised")
    except DuplicateKeyError as exc:
        report("a.insert_one duplicate", True, f"DuplicateKeyError code={exc.code}; index={info}")
    try:
        ev.insert_many(
            [{"stream_id": "s1", "version": 2, "pos": 3}, {"stream_id": "s1", "version": 1, "pos": 4}]
        )
        report("a.insert_many duplicate", False, "no error raised")
    except BulkWriteError as exc:
        codes = [e.get("code") for e in exc.details["writeErrors"]]
        report(
            "a.insert_many duplicate",
            codes == [11000],
            f"BulkWriteError (not DuplicateKeyError) codes={codes} nInserted={exc.details['nInserted']}",
        )
    ok = ev.count_documents({"stream_id": "s1", "version": 1}) == 1
    report("a.single row per (stream_id, version)", ok, f"rows={ev.count_documents({'stream_id': 's1'})}")


def check_b(client: MongoClient) -> None:
    setup(client)
    db = client[DB]
    attempts = [0]
    last = append_txn(client, "s1", 1, 3, attempts)  # counter doc does not exist yet: upsert
    positions = sorted(e["pos"] for e in db.events.find({"stream_id": "s1"}))
    report(
        "b.commit (upsert counter + insert_many)",
        last == 3 and positions == [1, 2, 3],
        f"counter={counter_value(client)} positions={positions} callback_calls={attempts[0]}",
    )

    # Visibility: inside an open transaction nothing is visible outside; after commit all is.
    with client.start_session() as s:
        s.start_transaction()
        db.counters.find_one_and_update({"_id": "global"}, {"$inc": {"pos": 2}}, session=s)
        db.events.insert_many([{"stream_id": "s2", "version": v, "pos": 3 + v} for v in (1, 2)], session=s)
        seen_before = (counter_value(client), db.events.count_documents({"stream_id": "s2"}))
        s.commit_transaction()
    seen_after = (counter_value(client), db.events.count_documents({"stream_id": "s2"}))
    report(
        "b.isolation",
        seen_before == (3, 0) and seen_after == (5, 2),
        f"outside reader during txn counter,s2_rows={seen_before}; after commit={seen_after}",
    )

    # A duplicate (stream_id, version) inside the transaction aborts everything.
    attempts = [0]
    try:
        append_txn(client, "s1", 3, 2, attempts)  # version 3 exists -> duplicate
        report("b.abort on duplicate", False, "no error raised")
    except PyMongoError as exc:
        after = counter_value(client)
        rows = db.events.count_documents({})
        report(
            "b.abort on duplicate",
            is_dup(exc) and after == 5 and rows == 5,
            f"raised {type(exc).__name__} (dup={is_dup(exc)}), counter {after} (expected 5), "
            f"events {rows} (expected 5), callback_calls={attempts[0]} (no retry on dup)",
        )


def check_c(client: MongoClient, listener: Listener, threads: int, per_thread: int) -> None:
    setup(client)
    db = client[DB]
    listener.reset()
    errors: list[str] = []
    attempt_counts: list[int] = []
    stop = threading.Event()
    reader = TailState()
    seen: list[int] = []

    def tail() -> None:
        # Naive tailing reader: find(pos > last) sorted; every batch must continue last+1.
        while True:
            done = stop.is_set()
            reader.polls += 1
            for e in db.events.find({"pos": {"$gt": reader.last}}, {"pos": 1}).sort("pos", 1):
                p = int(e["pos"])
                if p != reader.last + 1:
                    # A hole: positions after it are visible before it. Note it and retry
                    # from the hole (a real reader that advanced would lose the hole).
                    reader.gaps += 1
                    if len(reader.gap_examples) < 5:
                        reader.gap_examples.append((reader.last, p))
                    break
                seen.append(p)
                reader.last = p
            if done:
                return
            time.sleep(0.001)

    def worker(t: int) -> None:
        version = 1
        for k in range(per_thread):
            attempts = [0]
            n = 1 + (t + k) % 3
            try:
                append_txn(client, f"t{t}", version, n, attempts)
                version += n
            except PyMongoError as exc:
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            attempt_counts.append(attempts[0])

    rt = threading.Thread(target=tail)
    rt.start()
    t0 = time.perf_counter()
    ws = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    elapsed = time.perf_counter() - t0
    stop.set()
    rt.join()

    positions = sorted(int(e["pos"]) for e in db.events.find({}, {"pos": 1}))
    total = counter_value(client)
    expected = sum(1 + (t + k) % 3 for t in range(threads) for k in range(per_thread))
    gap_free = positions == list(range(1, expected + 1)) and total == expected
    retries = sum(a - 1 for a in attempt_counts)
    label = f"c.{threads} threads x {per_thread} txn"
    report(
        f"{label}: all succeed, distinct gap-free positions",
        not errors and gap_free,
        f"txns={len(attempt_counts)} events={len(positions)} counter={total} expected={expected} "
        f"errors={len(errors)} {errors[:2]}",
    )
    report(
        f"{label}: retries/time",
        True,
        f"{elapsed:.2f}s, callback re-runs={retries} (max per txn {max(attempt_counts) - 1}), "
        f"server failures seen={dict(listener.failures)}, "
        f"commits={listener.commands['commitTransaction']} aborts={listener.commands['abortTransaction']}",
    )
    report(
        f"{label}: tailing reader never sees a later position first",
        reader.gaps == 0 and seen == list(range(1, expected + 1)),
        f"polls={reader.polls} holes_seen={reader.gaps} examples(last,next)={reader.gap_examples} "
        f"read={len(seen)}",
    )


def check_d(url: str) -> None:
    async def run() -> None:
        client: AsyncMongoClient = AsyncMongoClient(url)
        try:
            db = client[DB]
            await client.admin.command("ping")
            report("d.async ping", True, "ok")
            await client.drop_database(DB)
            await db.events.create_index([("stream_id", 1), ("version", 1)], unique=True)
            res = await db.events.insert_one({"stream_id": "a", "version": 1})
            report("d.async insert_one", res.acknowledged, f"inserted_id={res.inserted_id}")

            async def cb(s: Any) -> int:
                doc = await db.counters.find_one_and_update(
                    {"_id": "global"},
                    {"$inc": {"pos": 2}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                    session=s,
                )
                assert doc is not None
                await db.events.insert_many(
                    [{"stream_id": "b", "version": v, "pos": doc["pos"] - 2 + v} for v in (1, 2)], session=s
                )
                return int(doc["pos"])

            is_coro = inspect.iscoroutinefunction(client.start_session)
            # The form the brief asked about, then the form that matches this PyMongo.
            try:
                async with await client.start_session() as s:  # type: ignore[misc]
                    pos = await s.with_transaction(cb)
                report("d.`async with await client.start_session()`", True, f"pos={pos}")
            except TypeError as exc:
                report(
                    "d.`async with await client.start_session()`",
                    True,
                    f"not valid on this PyMongo (start_session is a coroutine: {is_coro}): {exc}",
                )
            async with client.start_session() as s:
                pos = await s.with_transaction(cb)
            n = await db.events.count_documents({"stream_id": "b"})
            report(
                "d.async transaction (`async with client.start_session()`)", n >= 2, f"pos={pos} events_b={n}"
            )

            try:
                async with client.start_session() as s:
                    await s.with_transaction(
                        lambda s: db.events.insert_many(
                            [{"stream_id": "a", "version": 9}, {"stream_id": "a", "version": 1}], session=s
                        )
                    )
                report("d.async txn abort on duplicate", False, "no error raised")
            except PyMongoError as exc:
                left = await db.events.count_documents({"stream_id": "a", "version": 9})
                report(
                    "d.async txn abort on duplicate",
                    is_dup(exc) and left == 0,
                    f"raised {type(exc).__name__}, partial rows left={left}",
                )

            # Concurrency on one event loop: 20 tasks contend on the counter.
            await db.counters.delete_many({})
            await db.events.delete_many({})
            await db.events.create_index([("pos", 1)], unique=True)
            calls: Counter[int] = Counter()

            async def task(i: int) -> None:
                async def cb2(s: Any) -> None:
                    calls[i] += 1
                    doc = await db.counters.find_one_and_update(
                        {"_id": "global"},
                        {"$inc": {"pos": 1}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                        session=s,
                    )
                    assert doc is not None
                    await db.events.insert_one(
                        {"stream_id": f"x{i}", "version": 1, "pos": doc["pos"]}, session=s
                    )

                async with client.start_session() as s:
                    await s.with_transaction(cb2)

            t0 = time.perf_counter()
            results = await asyncio.gather(*(task(i) for i in range(20)), return_exceptions=True)
            dt = time.perf_counter() - t0
            errs = [r for r in results if isinstance(r, BaseException)]
            pos = sorted([d["pos"] async for d in db.events.find({}, {"pos": 1})])
            report(
                "d.async 20 concurrent txns",
                not errs and pos == list(range(1, 21)),
                f"{dt:.2f}s, re-runs={sum(calls.values()) - 20}, errors={errs[:2]}",
            )
        finally:
            await client.close()

    try:
        asyncio.run(run())
    except Exception as exc:  # report, don't crash the other checks
        report("d.AsyncMongoClient", False, f"{type(exc).__name__}: {exc}")


def check_e(client: MongoClient, url: str) -> None:
    setup(client)
    db = client[DB]
    received: list[dict[str, Any]] = []
    ready = threading.Event()

    def watch() -> None:
        with db.events.watch(max_await_time_ms=200) as stream:
            ready.set()
            deadline = time.time() + 10
            while time.time() < deadline and len(received) < 5:
                change = stream.try_next()
                if change is not None:
                    received.append(change)

    th = threading.Thread(target=watch)
    th.start()
    ready.wait(5)
    time.sleep(0.3)
    t0 = time.perf_counter()
    db.events.insert_one({"stream_id": "w", "version": 1, "pos": 1000})
    append_txn(client, "w", 2, 2, [0])  # versions 2, 3 in one transaction
    try:
        append_txn(client, "w", 1, 1, [0])  # duplicate -> aborted, must not appear
    except PyMongoError:
        pass
    db.events.insert_many([{"stream_id": "w", "version": v, "pos": 100 + v} for v in (10, 11)])
    th.join()
    dt = time.perf_counter() - t0
    ops = [(c["operationType"], c["fullDocument"]["version"]) for c in received]
    txn_marked = ["txnNumber" in c for c in received]
    expected = [("insert", 1), ("insert", 2), ("insert", 3), ("insert", 10), ("insert", 11)]
    report(
        "e.sync watch() delivers inserts (plain, transactional, aborted excluded)",
        ops == expected,
        f"got {ops} in {dt:.2f}s; txnNumber on changes={txn_marked}",
    )
    if received:
        token = received[0]["_id"]
        with db.events.watch(resume_after=token, max_await_time_ms=200) as stream:
            resumed = []
            for _ in range(20):
                c = stream.try_next()
                if c is not None:
                    resumed.append(c["fullDocument"]["version"])
                if len(resumed) >= 4:
                    break
        report("e.resume_after token", resumed == [2, 3, 10, 11], f"resumed={resumed}")

    async def run_async() -> list[int]:
        aclient: AsyncMongoClient = AsyncMongoClient(url)
        try:
            coll = aclient[DB].events
            got: list[int] = []
            async with await coll.watch(max_await_time_ms=200) as stream:
                await coll.insert_one({"stream_id": "aw", "version": 1, "pos": 500})
                for _ in range(25):
                    c = await stream.try_next()
                    if c is not None:
                        got.append(c["fullDocument"]["version"])
                        break
            return got
        finally:
            await aclient.close()

    try:
        got = asyncio.run(run_async())
        report("e.async watch() delivers inserts", got == [1], f"got={got}")
    except Exception as exc:
        report("e.async watch() delivers inserts", False, f"{type(exc).__name__}: {exc}")


def check_rates(client: MongoClient) -> None:
    setup(client)
    db = client[DB]

    def timed(label: str, fn: Callable[[], int], seconds: float = 3.0) -> None:
        n = ops = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n += fn()
            ops += 1
        dt = time.perf_counter() - t0
        report(
            f"f.rate {label}",
            True,
            f"{n / dt:,.0f} events/s ({ops / dt:,.0f} ops/s, {1000 * dt / ops:.1f} ms/op)",
        )

    i = [0]

    def plain() -> int:
        i[0] += 1
        db.plain.insert_one({"stream_id": "p", "version": i[0]})
        return 1

    ver = {"one": 0, "ten": 0}

    def txn(kind: str, n: int) -> Callable[[], int]:
        def run() -> int:
            append_txn(client, kind, ver[kind] + 1, n, [0])
            ver[kind] += n
            return n

        return run

    timed("insert_one, no transaction", plain)
    timed("transaction of 1 event (counter + insert)", txn("one", 1))
    timed("transaction of 10 events (counter + insert_many)", txn("ten", 10))

    # 4 threads appending concurrently (contended counter).
    stop = time.perf_counter() + 3.0
    counts = [0] * 4

    def worker(t: int) -> None:
        v = 0
        while time.perf_counter() < stop:
            append_txn(client, f"c{t}", v + 1, 1, [0])
            v += 1
            counts[t] += 1

    ws = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    t0 = time.perf_counter()
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    dt = time.perf_counter() - t0
    report(
        "f.rate 4 threads, 1-event transactions, shared counter",
        True,
        f"{sum(counts) / dt:,.0f} events/s total",
    )

    # Same without the global counter (per-stream versions only): is the counter the bottleneck?
    stop = time.perf_counter() + 3.0
    counts = [0] * 4

    def worker_nocounter(t: int) -> None:
        v = 0
        while time.perf_counter() < stop:

            def insert(s: Any, v: int = v) -> None:
                db.nocounter.insert_one({"stream_id": f"n{t}", "version": v + 1}, session=s)

            with client.start_session() as s:
                s.with_transaction(insert)
            v += 1
            counts[t] += 1

    ws = [threading.Thread(target=worker_nocounter, args=(t,)) for t in range(4)]
    t0 = time.perf_counter()
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    dt = time.perf_counter() - t0
    report(
        "f.rate 4 threads, 1-event transactions, no shared counter",
        True,
        f"{sum(counts) / dt:,.0f} events/s total",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="mongodb://127.0.0.1:27018/?directConnection=true&retryWrites=false")
    parser.add_argument("--skip-rates", action="store_true")
    args = parser.parse_args()

    listener = Listener()
    client: MongoClient = MongoClient(args.url, event_listeners=[listener], maxPoolSize=50)
    info = client.server_info()
    hello = client.admin.command("hello")
    print(
        f"server version={info.get('version')} setName={hello.get('setName')} "
        f"topology={client.topology_description.topology_type_name} url={args.url}"
    )
    try:
        check_a(client)
        check_b(client)
        check_c(client, listener, threads=20, per_thread=1)
        check_c(client, listener, threads=20, per_thread=10)
        check_d(args.url)
        check_e(client, args.url)
        if not args.skip_rates:
            check_rates(client)
    finally:
        client.drop_database(DB)
        client.close()
    failed = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
