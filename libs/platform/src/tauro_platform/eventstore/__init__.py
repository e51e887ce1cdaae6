"""The event store port: append-only streams with optimistic concurrency and a global order."""

from tauro_platform.eventstore.port import ANY_VERSION, ConcurrencyError, EventStore, StreamWrite

__all__ = ["ANY_VERSION", "ConcurrencyError", "EventStore", "StreamWrite"]
