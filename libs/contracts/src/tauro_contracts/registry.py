"""Registry from type names to payload classes and topics, with upcasting of old schema versions.

An upcaster turns the ``data`` of an old schema version into the next version's
shape; ``decode_event`` applies them in order until the payload is current, so the
domain only ever sees current payloads, however old the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tauro_contracts.base import Command, Event, Payload

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
P = TypeVar("P", bound=Payload)


class UnknownType(KeyError):
    """A message whose type name no registered class claims."""


class Registry:
    def __init__(self) -> None:
        self._classes: dict[str, type[Payload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[P]) -> type[P]:
        if not cls.type_name:
            raise ValueError(f"{cls.__name__} has no type_name")
        existing = self._classes.get(cls.type_name)
        if existing is not None and existing is not cls:
            raise ValueError(f"type name {cls.type_name!r} registered twice")
        self._classes[cls.type_name] = cls
        return cls

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorate a function that lifts ``type_name`` data from ``from_version`` to the next."""

        def add(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = fn
            return fn

        return add

    def cls(self, type_name: str) -> type[Payload]:
        try:
            return self._classes[type_name]
        except KeyError:
            raise UnknownType(type_name) from None

    def topic(self, type_name: str) -> str:
        cls = self.cls(type_name)
        if not issubclass(cls, Command | Event) or not cls.topic:
            raise ValueError(f"{type_name} has no topic")
        return cls.topic

    def decode(self, type_name: str, schema_version: int, data: dict[str, Any]) -> Payload:
        cls = self.cls(type_name)
        version = schema_version
        while version < cls.schema_version:
            step = self._upcasters.get((type_name, version))
            if step is None:
                raise ValueError(f"no upcaster for {type_name} v{version}")
            data = step(data)
            version += 1
        return cls.model_validate(data)

    def events(self) -> Iterable[type[Event]]:
        return (c for c in self._classes.values() if issubclass(c, Event))

    def commands(self) -> Iterable[type[Command]]:
        return (c for c in self._classes.values() if issubclass(c, Command))


REGISTRY = Registry()


# Every process sees every message type, whatever it imported itself: a service's outbox
# sweeper publishes any event left unpublished in the shared store, including other
# services' (an unknown type there would stop the sweep for everyone). Imported last, as
# the message modules register themselves on ``REGISTRY`` above.
from tauro_contracts import notifications, projects, runs, schedules, security, streams  # noqa: E402, F401
