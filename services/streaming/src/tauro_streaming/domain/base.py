"""The processor interface every processor implements (stateless ones inherit ``flush``)."""

from __future__ import annotations

from tauro_streaming.domain.records import Record

Emitted = tuple[Record, int]
"""A record a processor passes on, with its timestamp (epoch ms) for downstream windows."""


class Processor:
    """One step of a pipeline: ``apply`` one record, ``flush`` whatever state it holds."""

    kind = "processor"

    def __init__(self, index: int) -> None:
        self.index = index

    def apply(self, record: Record, timestamp_ms: int) -> list[Emitted]:
        """The records passed on; raise ``ProcessorError`` when ``record`` cannot be processed."""
        raise NotImplementedError

    def flush(self) -> list[Emitted]:
        """Emit everything held back (open windows); stateless processors hold nothing."""
        return []
