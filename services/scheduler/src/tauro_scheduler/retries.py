"""Retry on failure: watches run outcomes and creates the retry a schedule asks for.

A ``RunRetrier`` consumes ``tauro.events.runs.v1`` in the group
``tauro-scheduler-retries`` (replicas share it). For a ``RunFailed`` / ``RunTimedOut`` it
reads the run's ``RunCreated`` from the event store and the schedule's state, and when
``domain.retry.wants_retry`` says so, sends ``CreateRun`` for the retry (derived id,
``start=True``). A redelivered outcome finds the retry already created (CONFLICT or the
same command id) and does nothing more. A retry the runs service cannot answer in time is
left uncommitted, so the bus delivers the outcome again; a refusal (the pipeline was
deleted since) is logged, as the retry can never run.
"""

from __future__ import annotations

import logging

from tauro_contracts import topics
from tauro_contracts.envelope import EventEnvelope
from tauro_contracts.errors import DomainError, ErrorCode
from tauro_contracts.registry import REGISTRY
from tauro_contracts.runs import CreateRun, RunCreated
from tauro_platform.bus.port import Bus, Message, Subscription
from tauro_platform.eventstore.port import EventStore
from tauro_platform.runtime.sender import CommandSender
from tauro_platform.runtime.wire import decode

from tauro_scheduler.domain.retry import RETRIED_OUTCOMES, RETRY_OF, ScheduledRun, retry_run_id, wants_retry
from tauro_scheduler.launcher import RETRYABLE
from tauro_scheduler.loading import ScheduleStates

log = logging.getLogger("tauro.scheduler.retries")
GROUP = "tauro-scheduler-retries"


class RunRetrier:
    def __init__(self, bus: Bus, store: EventStore, states: ScheduleStates, sender: CommandSender) -> None:
        self._bus = bus
        self._store = store
        self._states = states
        self._sender = sender
        self._subscription: Subscription | None = None
        self.retried = 0

    async def start(self) -> None:
        # Outcomes from before this group first joined are not retried (a new deployment
        # does not retry every failure in the log); later ones resume from the commit.
        self._subscription = await self._bus.subscribe([topics.EVENTS_RUNS], self.on_event, group_id=GROUP,
                                                       from_beginning=False)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None

    async def on_event(self, message: Message) -> None:
        kind = message.headers.get("tauro-type")
        if kind is not None and kind not in RETRIED_OUTCOMES:
            return  # most run events: not worth decoding
        envelope = decode(EventEnvelope, message.value)
        if envelope.type in RETRIED_OUTCOMES:
            await self.retry_if_wanted(envelope.data["run_id"], envelope.type)

    async def retry_if_wanted(self, run_id: str, outcome: str) -> str | None:
        """Create the retry of ``run_id`` if its schedule wants one; returns the retry's id."""
        created = await self._created(run_id)
        if created is None or created.schedule_id is None:
            return None
        run = ScheduledRun(run_id, created.schedule_id, created.trigger, created.tags)
        schedule = await self._states.load(created.schedule_id)
        if not wants_retry(run, outcome, schedule.live, schedule.config):
            return None
        retry_id = retry_run_id(run_id)
        command = CreateRun(
            run_id=retry_id, project_id=created.project_id, pipeline_id=created.pipeline_id,
            params=created.params, tags={**created.tags, RETRY_OF: run_id}, trigger="schedule",
            schedule_id=created.schedule_id, logical_date=created.logical_date, start=True,
            timeout_seconds=schedule.timeout_seconds, max_concurrent_for_schedule=schedule.max_concurrency,
        )
        try:
            await self._sender.send(command, key=retry_id, command_id=f"create-{retry_id}", actor="system:scheduler")
        except DomainError as exc:
            if exc.code == ErrorCode.CONFLICT:
                return retry_id  # created by an earlier delivery or another replica
            if exc.code in RETRYABLE:
                raise  # left uncommitted: delivered again
            log.warning("retry of a failed scheduled run refused",
                        extra={"run_id": run_id, "retry_run_id": retry_id, "error": exc.message})
            return None
        self.retried += 1
        log.info("failed scheduled run retried", extra={"run_id": run_id, "retry_run_id": retry_id})
        return retry_id

    async def _created(self, run_id: str) -> RunCreated | None:
        for envelope in await self._store.read_stream(run_id):
            if envelope.type == RunCreated.type_name:
                created = REGISTRY.decode(envelope.type, envelope.schema_version, envelope.data)
                assert isinstance(created, RunCreated)
                return created
        return None
