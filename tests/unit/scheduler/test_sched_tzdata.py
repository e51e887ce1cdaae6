"""The tz database facts ``wallclock`` relies on, checked against the data zoneinfo loads.

``backward_margin`` assumes a zone's UTC offset changes at most once per
``TRANSITION_SPACING`` (48 h) and that offsets stay within a day of UTC, so a wall clock
never falls back by more than that window. Both are read straight from the TZif files.
"""

from __future__ import annotations

import itertools
import struct
import zoneinfo
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest
from tauro_scheduler.domain.wallclock import TRANSITION_SPACING


def _offset_changes(data: bytes) -> list[tuple[int, int]]:
    """(UTC transition time, new offset) for each real offset change in a TZif v2+ file."""
    assert data[:4] == b"TZif"
    counts = struct.unpack(">6l", data[20:44])
    isutc, isstd, leap, timecnt, typecnt, charcnt = counts
    if data[4] < 0x32:  # version 1 only: 32-bit block
        body, size = data[44:], 4
    else:
        skip = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isutc
        body = data[skip:]
        isutc, isstd, leap, timecnt, typecnt, charcnt = struct.unpack(">6l", body[20:44])
        body, size = body[44:], 8
    times = struct.unpack(f">{timecnt}{'q' if size == 8 else 'l'}", body[: timecnt * size])
    indices = body[timecnt * size : timecnt * size + timecnt]
    types_at = timecnt * size + timecnt
    offsets = [
        struct.unpack(">lBB", body[types_at + i * 6 : types_at + i * 6 + 6])[0] for i in range(typecnt)
    ]
    changes, previous = [], offsets[0] if offsets else 0
    for when, index in zip(times, indices, strict=True):
        if offsets[index] != previous:
            changes.append((when, offsets[index]))
            previous = offsets[index]
    return changes


def _sources() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for key in sorted(zoneinfo.available_timezones()):
        for root in zoneinfo.TZPATH:
            path = Path(root) / key
            if path.is_file():
                files[f"{root}:{key}"] = path.read_bytes()
                break
        try:
            package = "tzdata.zoneinfo." + ".".join(key.split("/")[:-1]) if "/" in key else "tzdata.zoneinfo"
            files[f"tzdata:{key}"] = resources.files(package).joinpath(key.split("/")[-1]).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError):
            pass
    return files


def test_offset_changes_are_far_apart_and_offsets_bounded() -> None:
    files = _sources()
    if not files:
        pytest.skip("no TZif files readable")
    assert len(files) >= 300
    spacing = int(TRANSITION_SPACING.total_seconds())
    total = 0
    for name, data in files.items():
        changes = _offset_changes(data)
        total += len(changes)
        for (t1, _), (t2, _) in itertools.pairwise(changes):
            assert t2 - t1 > spacing, (name, t1, t2)
        for _, utc_offset in changes:
            assert abs(utc_offset) < timedelta(hours=24).total_seconds(), name
    assert total > 10_000  # the parser really read transitions
