"""Benchmark: what one task attempt costs, cold (a fresh interpreter) and warm (forked from the
warm worker's helper), without the platform around it.

Runs ``--attempts`` no-op attempts of a ``python`` node (``bench/noop.py:noop``) and of a
``shell`` node (``true``) through :func:`tauro_executor.attempt.run_attempt`, each way, and
prints per attempt: the wall time p50 / p99 and the CPU time the worker processes used
(user + system, from the kernel's accounting of reaped children; the helper's own start-up,
measured separately, is left out). CPU time hardly depends on what else the machine is
doing, so it is the figure to compare across runs on a busy machine.

    uv run python bench/attempt_cost.py
    uv run python bench/attempt_cost.py --attempts 200 --kinds python
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from tauro_executor.attempt import LogLine, run_attempt
from tauro_executor.spec import TaskSpec
from tauro_executor.warm import WarmWorker

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"python": {"callable": str(ROOT / "bench" / "noop.py") + ":noop"}, "shell": {"command": "true"}}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def ignore(line: LogLine) -> None:
    return None


async def measure(kind: str, attempts: int, warm: bool, work: Path) -> tuple[list[float], float]:
    """(wall seconds of each attempt, CPU seconds of the workers, helper start-up included)."""
    task = TaskSpec.model_validate({"run_id": "run_bench", "node": {"id": "n", "type": kind, "config": CONFIG[kind]},
                                    "work_dir": str(work / "work"), "output_dir": str(work / "out")})
    helper = WarmWorker() if warm else None
    before = children_cpu()
    if helper is not None:
        await helper.start()
        if not await helper.wait_ready(60):
            raise SystemExit("the warm worker's helper did not start")
    walls = []
    try:
        for _ in range(attempts):
            started = time.perf_counter()
            outcome = await run_attempt(task, timeout_seconds=60, on_log=ignore, warm=helper)
            walls.append(time.perf_counter() - started)
            if outcome.status != "succeeded" or outcome.warm != warm:
                raise SystemExit(f"unexpected outcome: {outcome}")
    finally:
        if helper is not None:
            await helper.stop()  # reaping the helper adds its (and its children's) CPU to ours
    return walls, children_cpu() - before


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="attempt-cost-") as folder:
        work = Path(folder)
        _, helper_start = await measure("shell", 0, True, work)
        print(f"warm worker helper start-up: {helper_start * 1000:.0f} ms CPU (once per executor)")
        for kind in args.kinds.split(","):
            for warm in (False, True):
                walls, cpu = await measure(kind, args.attempts, warm, work)
                cpu -= helper_start if warm else 0.0
                print(f"attempt.{kind}.{'warm' if warm else 'cold'}  wall p50 {percentile(walls, 0.5) * 1000:.1f} ms  "
                      f"p99 {percentile(walls, 0.99) * 1000:.1f} ms; worker CPU {cpu / args.attempts * 1000:.1f} ms "
                      f"an attempt (n={args.attempts})", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=50)
    parser.add_argument("--kinds", default="python,shell")
    asyncio.run(main(parser.parse_args()))
