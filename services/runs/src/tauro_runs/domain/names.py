"""Unique names as streams: a name is held by whoever claimed it last and has not released it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tauro_contracts.base import Event
from tauro_contracts.projects import NameClaimed, NameReleased


@dataclass(frozen=True)
class NameState:
    version: int = 0
    holder_id: str | None = None


def evolve_name(state: NameState, event: Event) -> NameState:
    if isinstance(event, NameClaimed):
        return NameState(state.version + 1, event.holder_id)
    if isinstance(event, NameReleased):
        return NameState(state.version + 1, None)
    return NameState(state.version + 1, state.holder_id)


def fold_name(events: Iterable[Event]) -> NameState:
    state = NameState()
    for event in events:
        state = evolve_name(state, event)
    return state
