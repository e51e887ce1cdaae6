"""Which failures are worth retrying: transient ones (a dependency briefly unavailable, a
lost race) against the rest (a bug, a command no retry can help).

A command whose processing fails transiently is retried in place with backoff; any other
failure is answered to its caller as an error and the command is dead-lettered, so one
bad command never holds up its partition.
"""

from __future__ import annotations

import asyncio
import sqlite3

from tauro_platform.eventstore.port import ConcurrencyError

TRANSIENT_LABELS = ("TransientTransactionError", "RetryableWriteError", "UnknownTransactionCommitResult")
WRITE_CONFLICT = 112


def is_transient(exc: BaseException) -> bool:
    """True for failures that go away by themselves: retry them, never dead-letter them."""
    if isinstance(exc, ConcurrencyError | TimeoutError | asyncio.TimeoutError | ConnectionError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc) or "busy" in str(exc)
    return _pymongo_transient(exc) or _kafka_transient(exc)


def _pymongo_transient(exc: BaseException) -> bool:
    try:
        from pymongo.errors import ConnectionFailure, ExecutionTimeout, OperationFailure, PyMongoError, WTimeoutError
    except ImportError:  # pragma: no cover - pymongo is a dependency of the platform
        return False
    if isinstance(exc, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True
    if isinstance(exc, PyMongoError) and any(exc.has_error_label(label) for label in TRANSIENT_LABELS):
        return True
    return isinstance(exc, OperationFailure) and exc.code == WRITE_CONFLICT


def _kafka_transient(exc: BaseException) -> bool:
    try:
        from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
    except ImportError:  # pragma: no cover - aiokafka is a dependency of the platform
        return False
    if isinstance(exc, KafkaConnectionError | KafkaTimeoutError):
        return True
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
