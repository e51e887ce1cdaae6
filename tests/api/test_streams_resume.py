"""A restarted embedded platform resumes the stream executions that were running, with
their committed offsets and their open windows (snapshots survive in the data folder)."""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from tauro_gateway.app import create_app
from tauro_gateway.context import GatewayContext
from tauro_platform.adapters import Adapters, build_adapters
from tauro_platform.runtime.sender import CommandSender
from tauro_streaming.service import StreamingService

from tests.api.conftest import embedded_settings
from tests.api.test_streams import Collector, produce, start, stop, wait_status, windowed


async def _platform(tmp_path: Path) -> tuple[Adapters, StreamingService, CommandSender, httpx.AsyncClient]:
    settings = embedded_settings(tmp_path)
    adapters = await build_adapters(settings)
    streaming = StreamingService(adapters, settings, replica_id=f"replica-{uuid.uuid4().hex[:4]}")
    await streaming.start()
    sender = CommandSender(adapters.bus, timeout=10)
    await sender.start()
    app = create_app(GatewayContext(settings, sender, adapters.read_store, adapters.store, adapters.bus))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tauro")
    return adapters, streaming, sender, client


async def _close(adapters: Adapters, streaming: StreamingService, sender: CommandSender,
                 client: httpx.AsyncClient) -> None:
    await client.aclose()
    await sender.stop()
    await streaming.stop()
    await adapters.close()


async def test_restart_resumes_running_executions_with_their_open_windows(tmp_path: Path) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    base = 1_767_225_600
    before = [{"user_id": "U1", "ts": base + i, "amount": 1} for i in range(5)]  # window 0 stays open
    after = [{"user_id": "U1", "ts": base + 5 + i, "amount": 10} for i in range(3)]

    adapters, streaming, sender, api = await _platform(tmp_path)
    execution_id = (await start(api, definition=windowed(name)))["execution_id"]
    await produce(adapters.bus, f"{name}.in", before)
    await wait_status(api, execution_id, lambda s: s["records_in"] == 5 and s["total_lag"] == 0)
    await _close(adapters, streaming, sender, api)  # the whole process goes away; the stream was RUNNING

    adapters, streaming, sender, api = await _platform(tmp_path)
    collector = await Collector().start(adapters.bus, [f"{name}.out"])
    try:
        view = await wait_status(api, execution_id, lambda s: any(r["consuming"] for r in s["replicas"]))
        assert view["state"] == "RUNNING"
        await produce(adapters.bus, f"{name}.in", after)
        await wait_status(api, execution_id, lambda s: s["records_in"] == 3 and s["total_lag"] == 0)
        response = await stop(api, execution_id)
        assert response.status_code == 200 and response.json()["data"]["state"] == "STOPPED"
        [window] = await collector.wait_for(f"{name}.out", 1)
        result = json.loads(window.value)
        assert result["events"] == 8 and result["total"] == 35, result
        assert datetime.fromisoformat(result["window_start"].replace("Z", "+00:00")).timestamp() == base
    finally:
        await collector.stop()
        await _close(adapters, streaming, sender, api)


async def test_an_execution_whose_callable_is_gone_after_a_restart_ends_failed(tmp_path: Path) -> None:
    module = f"tauro_udf_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "udfs"
    folder.mkdir()
    (folder / f"{module}.py").write_text("def tag(record):\n    return {**record, 'tagged': True}\n")
    sys.path.insert(0, str(folder))
    try:
        adapters, streaming, sender, api = await _platform(tmp_path)
        (tmp_path / "streams").mkdir(exist_ok=True)
        (tmp_path / "streams" / "udf.yaml").write_text(json.dumps({
            "input_topics": ["udf.in"], "output_topic": "udf.out",
            "processors": [{"type": "python", "callable": f"{module}:tag"}],
        }))
        execution_id = (await start(api, config="udf.yaml"))["execution_id"]
        await wait_status(api, execution_id, lambda s: any(r["consuming"] for r in s["replicas"]))
        await _close(adapters, streaming, sender, api)
        (folder / f"{module}.py").unlink()
        sys.modules.pop(module, None)
        importlib.invalidate_caches()

        adapters, streaming, sender, api = await _platform(tmp_path)
        try:
            view = await wait_status(api, execution_id, lambda s: s["state"] == "FAILED")
            assert "cannot import module" in view["error"] and view["last_error"] == view["error"]
            assert view["stopped_at"] is not None
            again = await api.post("/api/v1/stream/run", json={"config": "udf.yaml"})
            assert again.status_code == 422  # and the group was released: a valid start would get it
            assert again.json()["error"]["details"][0]["field"] == "processors[0].callable"
        finally:
            await _close(adapters, streaming, sender, api)
    finally:
        sys.path.remove(str(folder))
