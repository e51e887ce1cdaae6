"""A guard for async teardowns: if a stop hangs, print every task's stack instead of
waiting silently for pytest-timeout (whose dump shows only the idle event loop)."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable


async def stop_or_dump(stopping: Awaitable[None], what: str, seconds: float = 60.0) -> None:
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        task.result()
        return
    out = io.StringIO()
    for pending in asyncio.all_tasks():
        print(f"--- {pending.get_name()} ---", file=out)
        pending.print_stack(file=out)
    sys.stderr.write(out.getvalue())
    task.cancel()
    raise AssertionError(f"{what} did not stop within {seconds:.0f} s; task stacks:\n{out.getvalue()}")
