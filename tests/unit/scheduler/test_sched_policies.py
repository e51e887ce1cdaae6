"""Overlap and catch-up decisions, as tables, plus the no-silent-gap property."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sched_support import utc
from tauro_scheduler.domain import (
    CatchUpPolicy,
    OverlapAction,
    OverlapPolicy,
    SkipReason,
    decide_catch_up,
    decide_overlap,
    release_buffered,
    split_due,
)

START, BUFFER, SKIP, CANCEL = (
    OverlapAction.START,
    OverlapAction.BUFFER,
    OverlapAction.SKIP,
    OverlapAction.CANCEL_AND_START,
)

# ------------------------------------------------------------------------- overlap


@pytest.mark.parametrize(
    ("policy", "active", "buffered", "max_concurrency", "action", "cancel", "reason"),
    [
        # Nothing running: every policy starts.
        (OverlapPolicy.SKIP, [], 0, 1, START, (), None),
        (OverlapPolicy.BUFFER_ONE, [], 0, 1, START, (), None),
        (OverlapPolicy.ALLOW_ALL, [], 0, 1, START, (), None),
        (OverlapPolicy.CANCEL_RUNNING, [], 0, 1, START, (), None),
        # One running, max 1.
        (OverlapPolicy.SKIP, ["r1"], 0, 1, SKIP, (), SkipReason.OVERLAP),
        (OverlapPolicy.BUFFER_ONE, ["r1"], 0, 1, BUFFER, (), SkipReason.OVERLAP),
        (OverlapPolicy.BUFFER_ONE, ["r1"], 1, 1, SKIP, (), SkipReason.BUFFER_FULL),
        (OverlapPolicy.ALLOW_ALL, ["r1"], 0, 1, BUFFER, (), SkipReason.OVERLAP),
        (OverlapPolicy.ALLOW_ALL, ["r1"], 7, 1, BUFFER, (), SkipReason.OVERLAP),
        (OverlapPolicy.CANCEL_RUNNING, ["r1"], 0, 1, CANCEL, ("r1",), SkipReason.OVERLAP),
        # Room under max_concurrency: start.
        (OverlapPolicy.SKIP, ["r1", "r2"], 0, 3, START, (), None),
        (OverlapPolicy.CANCEL_RUNNING, ["r1"], 0, 2, START, (), None),
        (OverlapPolicy.BUFFER_ONE, ["r1"], 0, 2, START, (), None),
        # At max_concurrency 3.
        (OverlapPolicy.SKIP, ["r1", "r2", "r3"], 0, 3, SKIP, (), SkipReason.OVERLAP),
        (OverlapPolicy.CANCEL_RUNNING, ["r1", "r2", "r3"], 0, 3, CANCEL, ("r1",), SkipReason.OVERLAP),
        # Over the limit (e.g. max_concurrency lowered): cancel enough of the oldest.
        (
            OverlapPolicy.CANCEL_RUNNING,
            ["r1", "r2", "r3"],
            0,
            1,
            CANCEL,
            ("r1", "r2", "r3"),
            SkipReason.OVERLAP,
        ),
        (OverlapPolicy.CANCEL_RUNNING, ["r1", "r2", "r3"], 0, 2, CANCEL, ("r1", "r2"), SkipReason.OVERLAP),
        # Ticks already waiting are ahead in line.
        (OverlapPolicy.ALLOW_ALL, [], 1, 1, BUFFER, (), SkipReason.OVERLAP),
        (OverlapPolicy.BUFFER_ONE, [], 1, 1, SKIP, (), SkipReason.BUFFER_FULL),
        (OverlapPolicy.CANCEL_RUNNING, ["r1"], 1, 1, BUFFER, (), SkipReason.OVERLAP),
        (OverlapPolicy.ALLOW_ALL, ["r1"], 1, 3, START, (), None),
    ],
)
def test_overlap_table(
    policy: OverlapPolicy,
    active: list[str],
    buffered: int,
    max_concurrency: int,
    action: OverlapAction,
    cancel: tuple[str, ...],
    reason: SkipReason | None,
) -> None:
    decision = decide_overlap(policy, active, buffered, max_concurrency)
    assert decision.action is action
    assert decision.cancel_run_ids == cancel
    assert decision.reason is reason
    assert (decision.message is None) == (action is START)


def test_overlap_accepts_policy_strings_and_defaults() -> None:
    assert decide_overlap("skip", ["r1"]).action is SKIP  # type: ignore[arg-type]
    assert decide_overlap(OverlapPolicy.SKIP, []).action is START
    message = decide_overlap(OverlapPolicy.SKIP, ["r1"]).message
    assert message is not None and "1 run(s) active" in message and "skip" in message


def test_overlap_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        decide_overlap(OverlapPolicy.SKIP, [], 0, 0)
    with pytest.raises(ValueError):
        decide_overlap(OverlapPolicy.SKIP, [], -1, 1)
    with pytest.raises(ValueError):
        decide_overlap("sometimes", [])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("active", "buffered", "max_concurrency", "release"),
    [(0, 0, 1, 0), (0, 1, 1, 1), (1, 1, 1, 0), (1, 5, 3, 2), (4, 2, 3, 0), (0, 5, 3, 3)],
)
def test_release_buffered(active: int, buffered: int, max_concurrency: int, release: int) -> None:
    assert release_buffered(active, buffered, max_concurrency) == release


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(OverlapPolicy)),
    st.lists(st.text("abc", min_size=1, max_size=3), max_size=5, unique=True),
    st.integers(0, 3),
    st.integers(1, 4),
)
def test_overlap_never_exceeds_capacity_and_never_drops_silently(
    policy: OverlapPolicy, active: list[str], buffered: int, max_concurrency: int
) -> None:
    decision = decide_overlap(policy, active, buffered, max_concurrency)
    if decision.action is START:
        assert len(active) + buffered < max_concurrency
    elif decision.action is CANCEL:
        assert len(active) - len(decision.cancel_run_ids) + 1 <= max_concurrency
        assert set(decision.cancel_run_ids) <= set(active)
        assert list(decision.cancel_run_ids) == active[: len(decision.cancel_run_ids)]
    if decision.action is not START:
        assert decision.reason is not None and decision.message
    if policy is OverlapPolicy.ALLOW_ALL:
        assert decision.action in (START, BUFFER)
    if policy is OverlapPolicy.BUFFER_ONE and decision.action is BUFFER:
        assert buffered == 0


# ------------------------------------------------------------------------- catch-up

NOW = utc(2024, 6, 1, 12)
MISSED = [NOW - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)]


def test_catch_up_none_records_every_tick_as_missed() -> None:
    to_fire, skipped = decide_catch_up(CatchUpPolicy.NONE, MISSED, NOW, timedelta(hours=1))
    assert to_fire == ()
    assert [s.nominal for s in skipped] == MISSED
    assert {s.reason for s in skipped} == {SkipReason.MISSED}
    assert "10m late" in skipped[-1].message or "600s" in skipped[-1].message


def test_catch_up_latest_fires_only_the_most_recent() -> None:
    decision = decide_catch_up(CatchUpPolicy.LATEST, reversed(MISSED), NOW)
    assert decision.to_fire == (MISSED[-1],)
    assert [s.nominal for s in decision.skipped] == MISSED[:-1]
    assert {s.reason for s in decision.skipped} == {SkipReason.SUPERSEDED}
    assert MISSED[-1].isoformat() in decision.skipped[0].message


def test_catch_up_all_within_window() -> None:
    to_fire, skipped = decide_catch_up(CatchUpPolicy.ALL, MISSED, NOW, timedelta(minutes=30))
    assert to_fire == tuple(MISSED[2:])  # 30, 20 and 10 minutes old; the window is inclusive
    assert [(s.nominal, s.reason) for s in skipped] == [
        (MISSED[0], SkipReason.OUTSIDE_WINDOW),
        (MISSED[1], SkipReason.OUTSIDE_WINDOW),
    ]
    assert "outside the catch-up window of 30m" in skipped[0].message


def test_catch_up_all_unbounded_window_but_limited_count() -> None:
    to_fire, skipped = decide_catch_up(CatchUpPolicy.ALL, MISSED, NOW, None, limit=2)
    assert to_fire == tuple(MISSED[-2:])
    assert [(s.nominal, s.reason) for s in skipped] == [(t, SkipReason.CATCH_UP_LIMIT) for t in MISSED[:3]]


def test_catch_up_mixed_window_and_limit_sorted() -> None:
    to_fire, skipped = decide_catch_up(CatchUpPolicy.ALL, MISSED, NOW, timedelta(minutes=35), limit=2)
    assert to_fire == tuple(MISSED[-2:])
    assert [s.reason for s in skipped] == [
        SkipReason.OUTSIDE_WINDOW,
        SkipReason.OUTSIDE_WINDOW,
        SkipReason.CATCH_UP_LIMIT,
    ]


@pytest.mark.parametrize("policy", list(CatchUpPolicy))
def test_catch_up_nothing_missed(policy: CatchUpPolicy) -> None:
    assert decide_catch_up(policy, [], NOW, timedelta(hours=1)) == ((), ())


def test_catch_up_deduplicates_and_validates() -> None:
    to_fire, skipped = decide_catch_up(CatchUpPolicy.ALL, MISSED + MISSED, NOW)
    assert to_fire == tuple(MISSED) and skipped == ()
    with pytest.raises(ValueError, match="later than now"):
        decide_catch_up(CatchUpPolicy.ALL, [NOW + timedelta(seconds=1)], NOW)
    with pytest.raises(ValueError):
        decide_catch_up(CatchUpPolicy.ALL, MISSED, NOW, limit=0)
    with pytest.raises(ValueError):
        decide_catch_up(CatchUpPolicy.ALL, MISSED, NOW, timedelta(seconds=-1))


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(CatchUpPolicy)),
    st.lists(st.integers(0, 10_000), max_size=40),
    st.one_of(st.none(), st.integers(0, 10_000)),
    st.integers(1, 20),
)
def test_catch_up_accounts_for_every_tick(
    policy: CatchUpPolicy, ages: list[int], window: int | None, limit: int
) -> None:
    ticks = [NOW - timedelta(seconds=a) for a in ages]
    span = None if window is None else timedelta(seconds=window)
    to_fire, skipped = decide_catch_up(policy, ticks, NOW, span, limit)
    fired, dropped = list(to_fire), [s.nominal for s in skipped]
    assert sorted(fired + dropped) == sorted(set(ticks))  # each tick exactly once: fired or skipped
    assert fired == sorted(fired) and dropped == sorted(dropped)
    assert all(s.message for s in skipped)
    assert len(fired) <= (limit if policy is CatchUpPolicy.ALL else 1)
    if policy is CatchUpPolicy.ALL and span is not None:
        assert all(NOW - t <= span for t in fired)
    if fired and dropped and policy is not CatchUpPolicy.ALL:
        assert max(fired) > max(dropped)


def test_split_due() -> None:
    due = [NOW - timedelta(seconds=s) for s in (120, 5, 1, 0, 5)]
    on_time, missed = split_due(due, NOW, timedelta(seconds=5))
    assert on_time == [NOW - timedelta(seconds=5), NOW - timedelta(seconds=1), NOW]
    assert missed == [NOW - timedelta(seconds=120)]
