"""run_attempt with a real worker subprocess: results, logs, failures, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from tauro_executor.attempt import abandon_worker, run_attempt, start_worker
from tauro_executor.protocol import node_output_path
from tauro_executor.warm import WarmProcess, WarmWorker

from .helpers import CALLABLES, Collected, pid_alive, spec, wait_gone

# `sh` reports its own pid, the worker's pid and a background child's pid, then waits.
SLEEPER = "echo sh=$$; echo worker=$PPID; sleep 60 & echo child=$!; wait"


async def test_success_writes_the_output_and_reports_metrics(tmp_path: Path, warm: WarmWorker | None) -> None:
    csv = tmp_path / "in.csv"
    pl.DataFrame({"id": [1, 2, 2], "v": ["a", "b", "b"]}).write_csv(csv)
    logs = Collected()
    source = spec(tmp_path, "extract", "source", {"format": "csv", "path": str(csv)})
    outcome = await run_attempt(source, timeout_seconds=30, on_log=logs, warm=warm)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.warm is (warm is not None)
    assert outcome.exit_code == 0 and outcome.error is None
    assert outcome.metrics["rows_out"] == 3 and outcome.metrics["bytes_out"] > 0
    assert outcome.output_path == str(node_output_path(tmp_path / "work", "run_test", "extract"))
    assert pl.read_parquet(outcome.output_path).height == 3
    assert outcome.duration_seconds > 0 and outcome.finished_at >= outcome.started_at

    processor = spec(
        tmp_path, "dedupe", "processor", {"transformations": ["deduplicate"]}, upstream=["extract"]
    )
    second = await run_attempt(processor.model_dump(), timeout_seconds=30, on_log=logs, warm=warm)
    assert second.status == "succeeded", second.error
    assert (second.metrics["rows_in"], second.metrics["rows_out"]) == (3, 2)
    assert not pid_alive(outcome.pid or 0) and not pid_alive(second.pid or 0)


async def test_failing_python_callable_surfaces_its_error(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    task = spec(tmp_path, "py", "python", {"callable": f"{CALLABLES}:boom"}, params={"what": "order 42"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=logs, warm=warm)
    assert outcome.status == "failed"
    assert outcome.exit_code == 1
    assert outcome.error == "ValueError: boom: bad input order 42"
    assert "about to fail" in logs.messages()
    tracebacks = [x for x in logs.lines if x.level == "ERROR" and x.message.startswith("Traceback")]
    assert tracebacks and "sample_callables.py" in tracebacks[0].message
    assert "worker.py" not in tracebacks[0].message  # the worker's own frames are trimmed


async def test_template_error_fails_the_attempt(tmp_path: Path, warm: WarmWorker | None) -> None:
    task = spec(tmp_path, "sh", "shell", {"command": "echo {{ nope }}"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=Collected(), warm=warm)
    assert outcome.status == "failed"
    assert outcome.error is not None and "unknown placeholder '{{ nope }}'" in outcome.error


async def test_user_output_is_captured_with_levels_without_breaking_the_protocol(
    tmp_path: Path, warm: WarmWorker | None
) -> None:
    logs = Collected()
    task = spec(tmp_path, "py", "python", {"callable": f"{CALLABLES}:noisy"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=logs, warm=warm)
    assert outcome.status == "succeeded", outcome.error
    seen = {(x.level, x.message, x.source) for x in logs.lines}
    assert ("INFO", "printed to stdout", "stdout") in seen
    assert ("WARNING", "printed to stderr", "stderr") in seen
    assert ("INFO", "from a child process", "stdout") in seen
    assert ("WARNING", "careful", "node") in seen
    assert ("INFO", "user.module: via logging", "logging") in seen


async def test_shell_lines_arrive_live_in_order_with_levels(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    command = "echo first; echo 'Error: second' >&2; sleep 1; echo third; echo fourth >&2"
    task = spec(tmp_path, "sh", "shell", {"command": command}, params={"x": 1})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=logs, warm=warm)
    assert outcome.status == "succeeded", outcome.error
    # order is kept within each stream (stdout and stderr are separate pipes, so not across them)
    out = [(x.level, x.message) for x in logs.lines if x.source == "stdout"]
    err = [(x.level, x.message) for x in logs.lines if x.source == "stderr"]
    assert out == [("INFO", "first"), ("INFO", "third")]
    assert err == [("ERROR", "Error: second"), ("WARNING", "fourth")]
    assert logs.messages().index("first") < logs.messages().index("fourth")  # a second apart
    first, third = (logs.arrived[logs.messages().index(m)] for m in ("first", "third"))
    assert third - first > 0.7  # "first" was delivered while the command was still sleeping


async def test_shell_failure_reports_exit_code_and_stderr(tmp_path: Path, warm: WarmWorker | None) -> None:
    task = spec(tmp_path, "sh", "shell", {"command": "echo 'disk full' >&2; exit 3"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=Collected(), warm=warm)
    assert outcome.status == "failed"
    assert (
        outcome.error is not None and "exited with code 3" in outcome.error and "disk full" in outcome.error
    )


async def test_worker_dying_without_a_result_is_a_failure(tmp_path: Path, warm: WarmWorker | None) -> None:
    task = spec(tmp_path, "py", "python", {"callable": f"{CALLABLES}:hard_exit"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=Collected(), warm=warm)
    assert outcome.status == "failed"
    assert outcome.exit_code == 3
    assert outcome.error is not None and "exited with code 3 without reporting a result" in outcome.error


async def test_timeout_kills_the_shell_and_its_child(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    task = spec(tmp_path, "slow", "shell", {"command": SLEEPER})
    started = time.monotonic()
    outcome = await run_attempt(task, timeout_seconds=2, on_log=logs, warm=warm)
    elapsed = time.monotonic() - started
    assert outcome.status == "timed_out"
    assert outcome.error == "node 'slow' timed out after 2 s"
    assert elapsed < 5
    pids = [int(logs.value(k) or 0) for k in ("sh=", "worker=", "child=")]
    assert all(pids) and pids[1] == outcome.pid
    assert await wait_gone(pids, within=1) == []


async def test_timeout_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    command = "trap '' TERM; echo sh=$$; sleep 60 & echo child=$!; wait; wait; wait"
    task = spec(tmp_path, "stubborn", "shell", {"command": command})
    started = time.monotonic()
    outcome = await run_attempt(task, timeout_seconds=1.5, on_log=logs, warm=warm, kill_grace_seconds=1)
    assert outcome.status == "timed_out"
    assert time.monotonic() - started < 5
    pids = [int(logs.value(k) or 0) for k in ("sh=", "child=")]
    assert all(pids) and await wait_gone(pids, within=1) == []


async def test_cancelling_the_task_kills_the_process_group(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    task = spec(tmp_path, "slow", "shell", {"command": SLEEPER})
    running = asyncio.create_task(run_attempt(task, timeout_seconds=60, on_log=logs, warm=warm))
    child = int(await logs.wait_for("child="))
    pids = [int(logs.value("sh=") or 0), int(logs.value("worker=") or 0), child]
    assert all(pid_alive(p) for p in pids)
    started = time.monotonic()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert time.monotonic() - started < 5
    assert await wait_gone(pids, within=1) == []


async def test_cancel_event_gives_a_cancelled_outcome(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    cancel = asyncio.Event()
    task = spec(tmp_path, "slow", "shell", {"command": SLEEPER})
    running = asyncio.create_task(run_attempt(task, timeout_seconds=60, on_log=logs, warm=warm, cancel=cancel))
    child = int(await logs.wait_for("child="))
    cancel.set()
    outcome = await asyncio.wait_for(running, timeout=5)
    assert outcome.status == "cancelled"
    assert outcome.error == "node 'slow' was cancelled"
    assert await wait_gone([child, outcome.pid or 0], within=1) == []


async def test_background_leftovers_are_cleaned_up_after_success(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    command = "sleep 60 >/dev/null 2>&1 & echo child=$!"
    outcome = await run_attempt(
        spec(tmp_path, "bg", "shell", {"command": command}), timeout_seconds=30, on_log=logs, warm=warm
    )
    assert outcome.status == "succeeded", outcome.error
    assert await wait_gone([int(logs.value("child=") or 0)], within=1) == []


async def test_an_on_log_error_propagates_and_kills_the_attempt(tmp_path: Path, warm: WarmWorker | None) -> None:
    pids: list[int] = []

    async def fussy(line: object) -> None:
        message = getattr(line, "message", "")
        if message.startswith("child="):
            pids.append(int(message[6:]))
            raise RuntimeError("log store unavailable")

    with pytest.raises(RuntimeError, match="log store unavailable"):
        await run_attempt(
            spec(tmp_path, "slow", "shell", {"command": SLEEPER}), timeout_seconds=60, on_log=fussy, warm=warm
        )
    assert pids and await wait_gone(pids, within=1) == []


async def test_env_and_cwd_reach_the_worker(tmp_path: Path, warm: WarmWorker | None) -> None:
    logs = Collected()
    task = spec(tmp_path, "py", "python", {"callable": "sample_callables:make_rows"}, params={"count": 4})
    outcome = await run_attempt(
        task, timeout_seconds=30, on_log=logs, warm=warm, env={"PYTHONPATH": str(CALLABLES.parent)}, cwd=tmp_path
    )
    assert outcome.status == "succeeded", outcome.error
    assert outcome.warm is (warm is not None)
    assert outcome.metrics["rows_out"] == 4
    assert os.getcwd() != str(tmp_path)


EXECUTOR = """
import asyncio, json, sys
from tauro_executor.attempt import abandon_worker, run_attempt, start_worker
from tauro_executor.warm import WarmProcess, WarmWorker

async def main():
    warm = None
    if sys.argv[2] == "warm":
        warm = WarmWorker()
        await warm.start()
        assert await warm.wait_ready(60)
        print(f"helper={warm.helper_pid}", flush=True)
    async def on_log(line):
        print(line.message, flush=True)
    await run_attempt(json.loads(sys.argv[1]), timeout_seconds=60, on_log=on_log, warm=warm)

asyncio.run(main())
"""


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[1])


async def start_executor(task: object, mode: str) -> tuple[asyncio.subprocess.Process, dict[str, int]]:
    """An executor-like process running ``task`` (cold or warm), and the pids its attempt reported."""
    executor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", EXECUTOR, task.model_dump_json(), mode, stdout=asyncio.subprocess.PIPE  # type: ignore[attr-defined]
    )
    assert executor.stdout is not None
    seen: dict[str, int] = {}
    async with asyncio.timeout(60):
        while "child" not in seen:
            line = (await executor.stdout.readline()).decode().strip()
            assert line, "the executor ended early"
            key, _, value = line.partition("=")
            if key in {"sh", "worker", "child", "helper"}:
                seen[key] = int(value)
    if mode == "warm":  # the attempt really was forked by the helper
        assert parent_of(seen["worker"]) == seen["helper"]
    else:
        assert parent_of(seen["worker"]) == executor.pid
    return executor, seen


@pytest.mark.parametrize("mode", ["cold", "warm"])
async def test_attempt_dies_with_a_sigkilled_executor(tmp_path: Path, mode: str) -> None:
    task = spec(tmp_path, "slow", "shell", {"command": SLEEPER})
    executor, seen = await start_executor(task, mode)
    executor.kill()
    await executor.wait()
    assert await wait_gone(list(seen.values()), within=5) == []  # the helper too


async def test_warm_attempt_dies_with_the_executor_even_when_its_helper_died_first(tmp_path: Path) -> None:
    """The lifeline alone: the helper is SIGKILLed (the attempt lives on, tied to the executor),
    then the executor is: the attempt's whole process group goes."""
    task = spec(tmp_path, "slow", "shell", {"command": SLEEPER})
    executor, seen = await start_executor(task, "warm")
    os.kill(seen.pop("helper"), signal.SIGKILL)
    await asyncio.sleep(0.5)
    assert all(pid_alive(p) for p in seen.values())
    executor.kill()
    await executor.wait()
    assert await wait_gone(list(seen.values()), within=5) == []


async def test_a_worker_started_ahead_runs_nothing_until_let_and_nothing_when_abandoned(
    tmp_path: Path, warm: WarmWorker | None
) -> None:
    """The executor starts an attempt's worker while its claim is in flight: refused, the node
    never runs and no process is left; accepted, it runs as any attempt does."""
    marker = tmp_path / "ran"
    task = spec(tmp_path, "sh", "shell", {"command": f"touch {marker}; echo ran"})
    refused = await start_worker(task, warm=warm)
    assert isinstance(refused, WarmProcess) is (warm is not None)
    await asyncio.sleep(0.3)  # time enough to run, were it not held
    assert not marker.exists()
    await abandon_worker(refused)
    assert await wait_gone([refused.pid], within=5) == [] and not marker.exists()

    accepted = await start_worker(task, warm=warm)
    await asyncio.sleep(0.1)
    assert not marker.exists()
    logs = Collected()
    outcome = await run_attempt(task, worker=accepted, timeout_seconds=30, on_log=logs)
    assert outcome.status == "succeeded" and outcome.warm is (warm is not None) and marker.exists()
    assert "ran" in logs.messages() and await wait_gone([accepted.pid], within=5) == []
