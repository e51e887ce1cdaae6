"""The write sequence every decider follows, written once: decide -> append with the expected
versions -> on a lost race decide again from fresh state -> publish what was stored.

``append_decided(store, relay, decide)`` calls ``decide(attempt)`` for the writes (and a value
the caller wants back). No writes is a no-op: nothing is appended or published. A
``ConcurrencyError`` (another writer moved a stream on) means the decision was taken on stale
state, so ``decide`` runs again, up to ``attempts`` times; then ``Contention`` is raised, and
the caller answers or retries later. What was stored is published at once through the outbox
relay (its sweeper republishes it after a crash in between). Any other exception of ``decide``
or of the store propagates: classifying failures (transient or not) is the caller's business
(``runtime.commands``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from tauro_contracts.envelope import EventEnvelope

from tauro_platform.eventstore.port import ConcurrencyError, EventStore, StreamWrite
from tauro_platform.runtime.relay import OutboxRelay

log = logging.getLogger("tauro.appending")
T = TypeVar("T")


@dataclass(frozen=True)
class Decided(Generic[T]):
    """What ``decide`` returns: the writes (empty: nothing to record) and a value for the caller."""

    writes: Sequence[StreamWrite]
    value: T


@dataclass(frozen=True)
class Appended(Generic[T]):
    """The events stored (empty for a no-op) and the value of the decision that was stored."""

    stored: list[EventEnvelope]
    value: T
    attempts: int


class Contention(Exception):
    """Every attempt lost a race: the streams are too busy right now."""


async def append_decided(
    store: EventStore,
    relay: OutboxRelay,
    decide: Callable[[int], Awaitable[Decided[T]]],
    *,
    attempts: int = 8,
    backoff: Callable[[int], float] | None = None,
    on_stored: Callable[[list[EventEnvelope]], None] | None = None,
    what: str = "write",
    commands: Sequence[str] = (),
) -> Appended[T]:
    """Decide, append, decide again on conflict, publish (see the module docstring).

    ``decide(attempt)`` gets the attempt number (0 first; later ones should read fresh state);
    ``backoff(attempt)`` seconds are slept before deciding again (default: at once);
    ``on_stored`` sees the stored events before they are published; ``commands`` are
    recorded as applied with the writes (the store raises ``AlreadyApplied``, which
    propagates, if one already was).
    """
    for attempt in range(attempts):
        decided = await decide(attempt)
        writes = [w for w in decided.writes if w.events]
        if not writes:
            return Appended([], decided.value, attempt + 1)
        try:
            stored = await store.append(writes, commands=commands)
        except ConcurrencyError:
            log.debug("concurrent %s; deciding again", what, extra={"attempt": attempt + 1})
            if backoff is not None:
                await asyncio.sleep(backoff(attempt))
            continue
        if on_stored is not None:
            on_stored(stored)
        await relay.publish(stored)
        return Appended(stored, decided.value, attempt + 1)
    raise Contention(f"{what}: every one of {attempts} attempts lost a race")
