"""Sending: claim a due delivery, send it, record the outcome.

The ``DeliveryWorker`` polls the ``notifications`` read model for deliveries that are due
(pending, retry due, or a lease run out) and handles each: it folds the run's
``notifications:<run_id>`` stream (the authoritative state, not the read model), appends
the claim at the stream's version, sends, and appends the outcome. Any number of notifier
replicas can run this loop: a claim or outcome that loses the race on the stream's version
is decided again on the new state (``domain.delivery``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from tauro_contracts.base import Event
from tauro_contracts.notifications import (
    NOTIFICATIONS,
    NotificationAttemptFailed,
    NotificationAttemptStarted,
    NotificationGaveUp,
    NotificationSent,
    notification_stream,
)
from tauro_platform.eventstore.port import ConcurrencyError, EventStore
from tauro_platform.readstore.port import Doc, ReadStore
from tauro_platform.runtime.relay import OutboxRelay
from tauro_platform.runtime.streams import decode_events
from tauro_platform.settings import Settings
from tauro_platform.timeutil import iso, parse_iso

from tauro_notifier.channels import EmailChannel, WebhookChannel
from tauro_notifier.domain.delivery import DeliveryState, Policy, SendResult, decide_claim, decide_outcome, fold
from tauro_notifier.domain.message import RunOutcome, email_message, webhook_payload
from tauro_notifier.facts import LOGS, RUNS
from tauro_notifier.metrics import NOTIFICATIONS_TOTAL
from tauro_notifier.planner import append

log = logging.getLogger("tauro.notifier.worker")
CONCURRENCY = 8
MAX_RACES = 20
ACTIVE = ["pending", "sending", "retrying"]


def policy_of(settings: Settings) -> Policy:
    """The lease outlives the longest attempt (an attempt is cut off at twice the send timeout)."""
    return Policy(lease_seconds=settings.notify_send_timeout_seconds * 3 + 5,
                  retry_initial_seconds=settings.notify_retry_initial_seconds,
                  retry_max_seconds=settings.notify_retry_max_seconds)


def run_outcome(run: Doc, logs: Doc | None) -> RunOutcome:
    failure = run.get("last_failure") or {}
    failed_task = run.get("failed_node") or failure.get("node")
    lines: list[str] = []
    if failed_task and logs:
        own = [line for line in logs.get("lines", []) if line.get("node") == failed_task]
        loud = [line for line in own if line.get("level") in ("WARNING", "ERROR", "CRITICAL")] or own
        for line in loud:
            lines += str(line.get("message", "")).splitlines()
    if not lines and failure.get("error"):
        lines = str(failure["error"]).splitlines()
    return RunOutcome(
        run_id=run["_id"], state=run["state"], project_id=run.get("project_id", ""),
        pipeline_id=run.get("pipeline_id", ""), pipeline_name=run.get("pipeline_name") or run.get("pipeline_id", ""),
        schedule_id=run.get("schedule_id"), logical_date=run.get("logical_date"),
        error=run.get("error") or failure.get("error"), failed_task=failed_task, error_lines=tuple(lines[-10:]),
        reason=run.get("reason"),
        started_at=parse_iso(run["started_at"]) if run.get("started_at") else None,
        finished_at=parse_iso(run["finished_at"]) if run.get("finished_at") else None,
    )


class DeliveryWorker:
    def __init__(self, store: EventStore, relay: OutboxRelay, read_store: ReadStore, settings: Settings,
                 instance_id: str) -> None:
        self._store = store
        self._relay = relay
        self._read = read_store
        self._instance = instance_id
        self._actor = f"system:notifier:{instance_id}"
        self._policy = policy_of(settings)
        self._base_url = settings.tauro_public_url or f"http://{settings.host}:{settings.port}"
        self.email = EmailChannel(settings)
        self.webhook = WebhookChannel(settings)
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(CONCURRENCY)

    def poke(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.webhook.close()

    async def run(self, interval: float = 0.5) -> None:
        while True:
            self._wake.clear()
            try:
                await self.dispatch_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("looking for due notifications failed; retrying")
            try:
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def dispatch_due(self) -> int:
        now = iso(datetime.now(UTC))
        docs, _ = await self._read.find(NOTIFICATIONS, {"status": {"$in": ACTIVE}, "due_at": {"$lte": now}},
                                        [("due_at", 1)], 0, 100)
        started = 0
        for doc in docs:
            if doc["_id"] in self._inflight:
                continue
            task = asyncio.create_task(self._guarded(doc["run_id"], doc["_id"]), name=f"notify-{doc['_id']}")
            self._inflight[doc["_id"]] = task
            task.add_done_callback(self._forget(doc["_id"]))
            started += 1
        return started

    def _forget(self, key: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._inflight.pop(key, None)

        return forget

    async def _guarded(self, run_id: str, delivery_id: str) -> None:
        async with self._slots:
            try:
                await self.handle(run_id, delivery_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification delivery failed; retried later", extra={"run_id": run_id})

    async def _load(self, stream: str) -> tuple[int, dict[str, DeliveryState]]:
        envelopes = await self._store.read_stream(stream)
        version = envelopes[-1].stream_version if envelopes else 0
        return version, fold(decode_events(envelopes))

    async def _record(self, stream: str, version: int, event: Event) -> bool:
        try:
            await append(self._store, self._relay, stream, version, [event], self._actor)
        except ConcurrencyError:
            return False
        return True

    async def handle(self, run_id: str, delivery_id: str) -> None:
        """Claim, send and record one delivery, if it is due."""
        stream = notification_stream(run_id)
        claim: Event | None = None
        state: DeliveryState | None = None
        for _ in range(MAX_RACES):
            version, states = await self._load(stream)
            state = states.get(delivery_id)
            if state is None:
                return
            claim = decide_claim(state, datetime.now(UTC), self._instance, self._policy)
            if claim is None:
                return
            if await self._record(stream, version, claim):
                break
        else:
            return
        if isinstance(claim, NotificationGaveUp):
            NOTIFICATIONS_TOTAL.labels(channel=state.channel, outcome="failed").inc()
            log.warning("notification given up", extra={"run_id": run_id, "error": claim.error})
            return
        assert isinstance(claim, NotificationAttemptStarted) and state is not None
        result = await self.send(state)
        for _ in range(MAX_RACES):
            version, states = await self._load(stream)
            outcome = decide_outcome(states[delivery_id], claim.attempt, result, datetime.now(UTC), self._policy)
            if outcome is None:
                return
            if await self._record(stream, version, outcome):
                self._count(state.channel, outcome)
                return

    def _count(self, channel: str, outcome: Event) -> None:
        if isinstance(outcome, NotificationSent):
            NOTIFICATIONS_TOTAL.labels(channel=channel, outcome="sent").inc()
        elif isinstance(outcome, NotificationAttemptFailed):
            NOTIFICATIONS_TOTAL.labels(channel=channel, outcome="retried").inc()
            log.info("notification attempt failed; will retry",
                     extra={"run_id": outcome.run_id, "error": outcome.error, "retry_at": iso(outcome.retry_at)})
        elif isinstance(outcome, NotificationGaveUp):
            NOTIFICATIONS_TOTAL.labels(channel=channel, outcome="failed").inc()
            log.warning("notification failed for good", extra={"run_id": outcome.run_id, "error": outcome.error})

    async def send(self, state: DeliveryState) -> SendResult:
        run = await self._read.get(RUNS, state.run_id)
        if run is None or not run.get("state"):
            return SendResult(False, "the run's facts are not known to this notifier yet")
        outcome = run_outcome(run, await self._read.get(LOGS, state.run_id))
        if state.channel == "email":
            message = email_message(outcome, sender=self.email.sender, recipient=state.recipient,
                                    delivery_id=state.delivery_id, base_url=self._base_url)
            return await self.email.send(message, state.recipient)
        payload = webhook_payload(outcome, delivery_id=state.delivery_id, base_url=self._base_url)
        return await self.webhook.send(state.recipient, payload, state.delivery_id)
