"""The warm worker (fork server) keeps every guarantee of a cold start, and falls back to one.

tests/unit/executor/test_executor_attempt.py runs every attempt test both ways (timeouts,
cancel killing grandchildren, output capture with levels, executor SIGKILL, ...); these are
the guarantees specific to forking from a long-lived helper.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tauro_executor.attempt import run_attempt
from tauro_executor.warm import WarmWorker, warm_compatible

from .helpers import Collected, pid_alive, spec, wait_gone

HERE = Path(__file__).resolve().parent
PLAIN = HERE / "plain_callables.py"
SECRET = "s3cr3t-" + "x" * 40


@pytest.fixture
async def warm() -> AsyncIterator[WarmWorker]:
    worker = WarmWorker(restart_delay=0.1)
    await worker.start()
    assert await worker.wait_ready(60)
    try:
        yield worker
    finally:
        await worker.stop()


def proc_file(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_bytes().decode(errors="replace")


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


async def test_no_secret_reaches_a_warm_attempt_or_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SECRET_KEY", "TAURO_ADMIN_API_KEY"):
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("MONGODB_URL", f"mongodb://user:{SECRET}@db")
    monkeypatch.setenv("TAURO_VISIBLE", "yes")
    worker = WarmWorker()
    await worker.start()
    try:
        assert await worker.wait_ready(60)
        assert worker.helper_pid is not None
        assert SECRET not in "".join(f"{k}={v}" for k, v in environ_of(worker.helper_pid).items())
        logs = Collected()
        python = spec(tmp_path, "py", "python", {"callable": f"{PLAIN}:show_environment"})
        outcome = await run_attempt(python, timeout_seconds=30, on_log=logs, warm=worker)
        assert outcome.status == "succeeded" and outcome.warm, outcome.error
        shell = spec(tmp_path, "sh", "shell", {"command": "env"})
        second = await run_attempt(shell, timeout_seconds=30, on_log=logs, warm=worker)
        assert second.status == "succeeded" and second.warm, second.error
    finally:
        await worker.stop()
    text = "\n".join(logs.messages())
    assert "env TAURO_VISIBLE=yes" in text and "TAURO_VISIBLE=yes" in logs.messages("stdout")
    leaked = [m for m in logs.messages() if SECRET in m or m.startswith(("SECRET_KEY=", "MONGODB_URL=",
              "TAURO_ADMIN_API_KEY=", "env SECRET_KEY=", "env MONGODB_URL=", "env TAURO_ADMIN_API_KEY="))]
    assert leaked == []


async def test_the_attempt_gets_the_environment_of_its_own_moment(
    tmp_path: Path, warm: WarmWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper started earlier; the child still gets the executor's environment as it is now,
    the working directory asked for, and sys.path as ``python -m`` would build it there."""
    monkeypatch.setenv("TAURO_LATE", "set after the helper started")
    logs = Collected()
    task = spec(tmp_path, "py", "python", {"callable": f"{PLAIN}:show_environment"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=logs, warm=warm, cwd=tmp_path,
                                env={"EXTRA": "1"})
    assert outcome.status == "succeeded" and outcome.warm, outcome.error
    messages = logs.messages()
    assert "env TAURO_LATE=set after the helper started" in messages and "env EXTRA=1" in messages
    assert f"cwd={tmp_path}" in messages and f"path0={tmp_path}" in messages


async def test_a_user_module_of_one_attempt_is_not_in_the_next(tmp_path: Path, warm: WarmWorker) -> None:
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "leaky_user_module.py").write_text("MARKED = False\n")
    config = {"callable": f"{PLAIN}:import_and_mark", "module": "leaky_user_module"}
    check = {"callable": f"{PLAIN}:report_modules", "modules": ["leaky_user_module", "tauro_user_plain_callables"]}
    for _ in range(2):
        logs = Collected()
        outcome = await run_attempt(spec(tmp_path, "mark", "python", config), timeout_seconds=30, on_log=logs,
                                    warm=warm, env={"PYTHONPATH": str(package)})
        assert outcome.status == "succeeded" and outcome.warm, outcome.error
        assert "already marked=False" in logs.messages()  # a fresh copy each time
        logs = Collected()
        outcome = await run_attempt(spec(tmp_path, "check", "python", check), timeout_seconds=30, on_log=logs,
                                    warm=warm)
        assert outcome.status == "succeeded" and outcome.warm, outcome.error
        assert "leaky_user_module imported=False" in logs.messages()
        # its own file module is there, the previous attempt's copy was never in the helper
        assert "tauro_user_plain_callables imported=True" in logs.messages()


async def test_helper_killed_next_attempt_runs_cold_then_the_helper_is_restarted(
    tmp_path: Path, warm: WarmWorker
) -> None:
    first_helper = warm.helper_pid
    assert first_helper is not None and warm.starts == 1
    os.kill(first_helper, signal.SIGKILL)
    async with asyncio.timeout(5):
        while warm.ready:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task = spec(tmp_path, "sh", "shell", {"command": "echo hello"})
    logs = Collected()
    outcome = await run_attempt(task, timeout_seconds=30, on_log=logs, warm=warm)
    assert outcome.status == "succeeded" and not outcome.warm, outcome.error  # cold, and fine
    assert "hello" in logs.messages()
    assert await warm.wait_ready(60)
    assert warm.starts == 2 and warm.helper_pid not in (None, first_helper)
    assert not pid_alive(first_helper)
    outcome = await run_attempt(task, timeout_seconds=30, on_log=Collected(), warm=warm)
    assert outcome.status == "succeeded" and outcome.warm, outcome.error


async def test_an_attempt_in_flight_outlives_its_helper(tmp_path: Path, warm: WarmWorker) -> None:
    """Attempts are tied to the executor, not to the helper: killing the helper mid-attempt
    neither fails it nor leaves it unwatched (its end is still seen, its output still read)."""
    logs = Collected()
    command = "echo started; sleep 1; echo done"
    running = asyncio.create_task(run_attempt(spec(tmp_path, "sh", "shell", {"command": command}),
                                              timeout_seconds=30, on_log=logs, warm=warm))
    await logs.wait_for("started")
    assert warm.helper_pid is not None
    os.kill(warm.helper_pid, signal.SIGKILL)
    outcome = await asyncio.wait_for(running, 20)
    assert outcome.status == "succeeded" and outcome.warm, outcome.error
    assert outcome.exit_code is None  # its exit code went with the helper; the result line tells
    assert "done" in logs.messages()


async def test_cancel_while_the_helper_is_gone_still_kills_the_group(tmp_path: Path, warm: WarmWorker) -> None:
    logs = Collected()
    command = "echo sh=$$; sleep 60 & echo child=$!; wait"
    cancel = asyncio.Event()
    running = asyncio.create_task(run_attempt(spec(tmp_path, "sh", "shell", {"command": command}),
                                              timeout_seconds=60, on_log=logs, warm=warm, cancel=cancel))
    child = int(await logs.wait_for("child="))
    assert warm.helper_pid is not None
    os.kill(warm.helper_pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    started = time.monotonic()
    cancel.set()
    outcome = await asyncio.wait_for(running, 10)
    assert outcome.status == "cancelled" and time.monotonic() - started < 5
    assert await wait_gone([child, int(logs.value("sh=") or 0), outcome.pid or 0], within=1) == []


async def test_helper_stop_leaves_no_process(tmp_path: Path) -> None:
    worker = WarmWorker()
    await worker.start()
    assert await worker.wait_ready(60)
    helper = worker.helper_pid
    assert helper is not None
    await worker.stop()
    assert await wait_gone([helper], within=5) == []
    outcome = await run_attempt(spec(tmp_path, "sh", "shell", {"command": "true"}), timeout_seconds=30,
                                on_log=Collected(), warm=worker)
    assert outcome.status == "succeeded" and not outcome.warm  # a stopped warm worker means cold starts


async def test_interpreter_settings_that_differ_mean_a_cold_start(tmp_path: Path, warm: WarmWorker) -> None:
    assert warm_compatible({"PATH": "/a", "PYTHONPATH": "/x"}, {"PATH": "/b"})
    assert not warm_compatible({"PYTHONHASHSEED": "1"}, {})
    assert not warm_compatible({"LANG": "C"}, {"LANG": "C.UTF-8"})
    task = spec(tmp_path, "sh", "shell", {"command": "true"})
    outcome = await run_attempt(task, timeout_seconds=30, on_log=Collected(), warm=warm,
                                env={"PYTHONHASHSEED": "123"})
    assert outcome.status == "succeeded" and not outcome.warm


def _modules_after(node_type: str, config: dict[str, object], tmp_path: Path) -> str:
    """Run one attempt's node in a fresh interpreter, the way a cold worker does; print its imports."""
    script = (
        "import sys, json\n"
        "from tauro_executor.worker import execute\n"
        "from tauro_executor.protocol import WorkerSpec\n"
        "from tauro_executor.nodes import TaskLog\n"
        "spec = WorkerSpec.from_json(sys.argv[1])\n"
        "report = execute(spec, TaskLog(lambda level, message, source: None))\n"
        "print(report.status, 'polars' in sys.modules)\n"
    )
    task = spec(tmp_path, "n", node_type, dict(config))
    done = subprocess.run([sys.executable, "-c", script, task.model_dump_json()], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_shell_and_input_free_python_nodes_do_not_import_polars(tmp_path: Path) -> None:
    assert _modules_after("shell", {"command": "true"}, tmp_path) == "succeeded False"
    noop = {"callable": f"{PLAIN}:report_modules"}
    assert _modules_after("python", noop, tmp_path) == "succeeded False"
    # a callable returning a frame imported polars itself; its output is written as before
    frame = {"callable": f"{HERE / 'sample_callables.py'}:make_rows"}
    assert _modules_after("python", frame, tmp_path) == "succeeded True"


def test_the_setting_turns_the_warm_worker_off() -> None:
    from types import SimpleNamespace

    from tauro_executor.service import ExecutorService
    from tauro_platform.settings import Settings

    adapters = SimpleNamespace(bus=object(), store=object(), read_store=object())
    on = ExecutorService(adapters, Settings(_env_file=None), executor_id="on")  # type: ignore[arg-type,call-arg]
    off = ExecutorService(adapters, Settings(_env_file=None, executor_warm_worker=False),  # type: ignore[arg-type,call-arg]
                          executor_id="off")
    assert isinstance(on.warm, WarmWorker) and off.warm is None
    assert on.warm_worker_for("shell") is on.warm_shell and on.warm_shell.kinds == ("shell",)
    assert on.warm_worker_for("python") is on.warm and on.warm.kinds is None
    assert off.warm_worker_for("shell") is None and off.warm_worker_for("python") is None


async def test_a_shell_only_helper_has_no_polars_and_forks_shell_attempts(tmp_path: Path) -> None:
    worker = WarmWorker(kinds=("shell",))
    await worker.start()
    try:
        assert await worker.wait_ready(60)
        assert worker.helper_pid is not None
        assert "polars" not in proc_file(worker.helper_pid, "maps")
        assert "tauro_executor.zygote" in proc_file(worker.helper_pid, "cmdline")
        logs = Collected()
        outcome = await run_attempt(spec(tmp_path, "sh", "shell", {"command": "echo from-$((1 + 1))"}),
                                    timeout_seconds=30, on_log=logs, warm=worker)
        assert outcome.status == "succeeded" and outcome.warm and "from-2" in logs.messages()
    finally:
        await worker.stop()
