"""Schema-driven fuzzing (schemathesis) of the live gateway with authentication on.

The embedded platform runs in a background thread with its HTTP server on a free local
port. For every operation of the OpenAPI document, schemathesis generates requests that
fit the schema (positive) and requests that do not (negative); each is sent twice:
with a global admin key (the answer must not be a 5xx) and with no credentials (the
answer must be 401 unless the operation is public). The number of cases is printed.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from tauro_cli.embedded import start_embedded
from tauro_gateway.security.rules import Access, rule_for
from tauro_platform.adapters import build_adapters
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 3}
TIMEOUT = 30.0
CREDENTIAL_HEADERS = {"authorization", "x-api-key"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    settings = auth_settings(tmp_path_factory.mktemp("fuzz"), host="127.0.0.1", port=free_port(),
                             command_timeout_seconds=5)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-platform", daemon=True)
    thread.start()

    async def start() -> Any:
        adapters = await build_adapters(settings)
        return adapters, await start_embedded(adapters, settings)

    adapters, platform = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    base = f"http://127.0.0.1:{settings.port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "gateway did not come up"
        time.sleep(0.1)
    yield base, settings

    async def stop() -> None:
        await platform.stop()
        await adapters.close()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@dataclass
class Fuzzer:
    base: str
    admin: dict[str, str]
    session: requests.Session = field(default_factory=requests.Session)
    cases: int = 0
    failures: list[str] = field(default_factory=list)

    def run(self, operation: schemathesis.APIOperation, mode: GenerationMode, examples: int) -> None:
        rule = rule_for(operation.method, operation.path)
        public = rule is not None and rule.access is Access.PUBLIC

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            self.cases += 1
            label = f"{case.method} {case.formatted_path} ({mode.value})"
            # drop credentials the generator made up for the declared security schemes
            for name in [k for k in case.headers or {} if k.lower() in CREDENTIAL_HEADERS]:
                del case.headers[name]
            authed = case.call(base_url=self.base, session=self.session, headers=self.admin, timeout=TIMEOUT)
            if authed.status_code >= 500:
                self.failures.append(f"{label}: {authed.status_code} {authed.text[:300]}")
            anonymous = case.call(base_url=self.base, session=self.session, timeout=TIMEOUT)
            if not public and anonymous.status_code != 401:
                self.failures.append(f"{label} without credentials: {anonymous.status_code} {anonymous.text[:200]}")

        try:
            fuzz()
        except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
            pass


def test_fuzz_finds_no_server_error_and_no_unauthenticated_access(live: tuple[str, Settings]) -> None:
    base, settings = live
    schema = schemathesis.openapi.from_dict(httpx.get(f"{base}/openapi.json", timeout=10).json())
    fuzzer = Fuzzer(base, admin_headers(settings))
    started = time.monotonic()
    for result in schema.get_all_operations():
        for mode, examples in EXAMPLES.items():
            fuzzer.run(result.ok(), mode, examples)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {fuzzer.cases} cases (each sent with and without credentials) in {elapsed:.1f} s")
    assert not fuzzer.failures, f"{len(fuzzer.failures)} problems in {fuzzer.cases} cases:\n" + "\n".join(
        fuzzer.failures)
    assert fuzzer.cases >= 200
