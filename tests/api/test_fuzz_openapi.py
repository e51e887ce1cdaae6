"""Schema-driven fuzzing (schemathesis) of the live gateway with authentication on.

The embedded platform runs in a background thread with its HTTP server on a free local
port. For every operation of the OpenAPI document, schemathesis generates requests that
fit the schema (positive) and requests that do not (negative); each is sent twice:

- with a global admin key, validated by **every** schemathesis check (the Python
  equivalent of ``--checks all``: no 5xx, only documented statuses, content types and
  headers, responses valid against their schemas, schema-valid requests accepted and
  invalid ones rejected, missing required headers, unsupported methods, ignored auth, ...);
- with no credentials: the answer must be 401 unless the operation is public.

Allowances, for what a schema cannot state: a schema-valid request may be refused with 422
when every detail of the error is of a ``SEMANTIC`` type: it names an object that does not
exist (the spec answers a body naming an unknown project 422 ``VALIDATION_ERROR`` on
``project_id``), a CRON field out of range, an unknown time zone, a past expiry, a private
webhook host, a cursor this API did not issue, two fields that disagree; or, on
``POST /stream/run``, when every detail is inside the inline ``definition`` (its processor
language is validated by the streaming service and documented in the README, not in the
schema). Any other 422 to a schema-valid request fails the test: the schema must say it.
A negative case whose body is over ``MAX_BODY_BYTES`` is refused 413 (documented) before
anything reads it, with or without credentials: that counts as its rejection.

Generation runs on the document without its security schemes, so schemathesis never makes
up credentials (which this test would replace by the admin key, turning a "negative" case
into a valid one); the credentials are checked by the second, unauthenticated call instead.
A log stream that follows every run (``GET /logs`` with ``follow``) never ends: the fuzzer
asks for the JSON page there (the streams are tested in ``test_configs_logs.py``).

The run is bounded (``BUDGET_SECONDS``; well under 3 minutes on 2 cores). The number of
cases and of distinct failures (check, operation) is printed.
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
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import AcceptedNegativeData, Failure, FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData
from tauro_cli.embedded import start_embedded
from tauro_gateway.security.rules import Access, rule_for
from tauro_platform.adapters import build_adapters
from tauro_platform.settings import Settings

from tests.api.auth_support import admin_headers, auth_settings

EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 10}
TIMEOUT = 30.0
BUDGET_SECONDS = 150.0
SEMANTIC = frozenset({"not_found", "invalid_cron", "invalid_interval", "unknown_timezone", "not_in_future",
                      "private_address", "invalid_cursor", "inconsistent"})
CREDENTIAL_HEADERS = {"authorization", "x-api-key"}


def _semantic(response: requests.Response, path: str) -> bool:
    """A 422 whose every detail is a constraint the schema cannot state (see the module docstring)."""
    if response.status_code != 422:
        return False
    details = response.json().get("error", {}).get("details") or [{}]
    if path.endswith("/stream/run") and all(str(d.get("field", "")).startswith("definition") for d in details):
        return True
    return all(d.get("type") in SEMANTIC for d in details)


def _without_security(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {**doc, "components": {k: v for k, v in doc.get("components", {}).items() if k != "securitySchemes"}}
    doc["paths"] = {path: {method: {k: v for k, v in op.items() if k != "security"} for method, op in ops.items()}
                    for path, ops in doc["paths"].items()}
    return doc


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
    found: dict[tuple[str, str], str] = field(default_factory=dict)  # (check, operation) -> first message
    deadline: float = float("inf")
    seconds: dict[str, float] = field(default_factory=dict)  # per operation, to keep the run within budget

    def checks(self) -> list[Any]:
        load_all_checks()
        return list(CHECKS.get_all())

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
            if time.monotonic() > self.deadline:
                return
            if operation.path.endswith("/logs") and not (case.query or {}).get("run_id"):
                case.query = {**(case.query or {}), "follow": "false"}  # every run's lines: never ends
                case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "accept"}
            sent = {"base_url": self.base, "session": self.session, "headers": self.admin, "timeout": TIMEOUT}
            response = case.call(**sent)
            try:
                case.validate_response(response, checks=self.checks(), headers=self.admin, transport_kwargs=sent)
            except (Failure, FailureGroup) as exc:
                for failure in exc.exceptions if isinstance(exc, FailureGroup) else (exc,):
                    if isinstance(failure, RejectedPositiveData) and _semantic(response, operation.path):
                        continue
                    if isinstance(failure, AcceptedNegativeData) and response.status_code == 413:
                        continue
                    key = (failure.title, f"{case.method} {operation.path} ({mode.value})")
                    self.found.setdefault(key, f"{failure.message[:300]} [{case.formatted_path}: "
                                               f"{response.status_code} {response.text[:300]}]")
            anonymous = case.call(base_url=self.base, session=self.session, timeout=TIMEOUT)
            too_large = response.status_code == anonymous.status_code == 413
            if not public and anonymous.status_code != 401 and not too_large:
                self.failures.append(f"{label} without credentials: {anonymous.status_code} {anonymous.text[:200]}")

        started = time.monotonic()
        try:
            fuzz()
        except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
            pass
        label = f"{operation.method.upper()} {operation.path}"
        self.seconds[label] = self.seconds.get(label, 0.0) + time.monotonic() - started


def test_fuzz_finds_no_server_error_and_no_unauthenticated_access(live: tuple[str, Settings]) -> None:
    base, settings = live
    schema = schemathesis.openapi.from_dict(_without_security(httpx.get(f"{base}/openapi.json", timeout=10).json()))
    fuzzer = Fuzzer(base, admin_headers(settings))
    started = time.monotonic()
    fuzzer.deadline = started + BUDGET_SECONDS
    operations = [result.ok() for result in schema.get_all_operations()]
    for mode, examples in EXAMPLES.items():  # every operation positive first, then negative
        for operation in operations:
            fuzzer.run(operation, mode, examples)
    elapsed = time.monotonic() - started
    found = [f"{check}: {where}: {message}" for (check, where), message in sorted(fuzzer.found.items())]
    print(f"schemathesis (all checks): {fuzzer.cases} cases over {len(operations)} operations "
          f"(each sent with and without credentials) in {elapsed:.1f} s; {len(found)} distinct failures "
          f"(check, operation); {len(fuzzer.failures)} unauthenticated answers that were not 401")
    slowest = sorted(fuzzer.seconds.items(), key=lambda item: -item[1])[:5]
    print("slowest operations: " + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in slowest))
    problems = found + fuzzer.failures
    assert not problems, f"{len(problems)} problems in {fuzzer.cases} cases:\n" + "\n".join(problems)
    assert elapsed < BUDGET_SECONDS + 30, "the run went over its time budget"
    assert fuzzer.cases >= 200
