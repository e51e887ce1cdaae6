"""Killing a task attempt's whole process group (the worker and every descendant).

The worker is started with ``start_new_session=True``, so its pid is also its process
group id and every child it spawns (a shell, the shell's ``sleep``) shares that group
unless it deliberately starts a new session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

_PROC = Path("/proc")
_POLL_SECONDS = 0.1


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False when the group no longer exists."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # only zombies left that were reparented, or pgid reused by someone else
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is still in the group (zombies can't be killed anyway)."""
    if not signal_group(pgid, 0):
        return False
    if not _PROC.is_dir():
        return True
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


async def kill_group(pgid: int, grace_seconds: float) -> None:
    """SIGTERM the group, wait up to ``grace_seconds`` for it to empty, then SIGKILL what is left.

    The SIGKILL is sent even if this coroutine is itself cancelled while waiting.
    """
    if not group_alive(pgid):
        return
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    try:
        for _ in range(int(grace_seconds / _POLL_SECONDS) + 1):
            if time.monotonic() >= deadline or not group_alive(pgid):
                break
            await asyncio.sleep(_POLL_SECONDS)
    finally:
        if group_alive(pgid):
            signal_group(pgid, signal.SIGKILL)
