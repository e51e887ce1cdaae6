"""Consumer lag as a gauge: ``tauro_consumer_lag{group, topic}``, sampled from the bus.

The lag of a group is the same whichever member asks, so every replica reports the
same value (aggregate with ``max``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tauro_platform.bus.port import Bus
from tauro_platform.observability.identity import DEFAULTS
from tauro_platform.observability.metrics import CONSUMER_LAG
from tauro_platform.observability.sampling import sample_forever

log = logging.getLogger("tauro.lag")


class LagMonitor:
    def __init__(self, bus: Bus, group_id: str, topics: Sequence[str], interval: float | None = None) -> None:
        self.bus = bus
        self.group_id = group_id
        self.topics = list(topics)
        self.interval = interval or DEFAULTS.sample_seconds

    async def sample(self) -> dict[str, int]:
        lag = await self.bus.lag(self.group_id, self.topics)
        totals = {topic: sum(parts.values()) for topic, parts in lag.items()}
        for topic, total in totals.items():
            CONSUMER_LAG.labels(group=self.group_id, topic=topic).set(total)
        return totals

    async def run(self) -> None:
        await sample_forever(self.sample, self.interval, log, "lag sample failed", group_id=self.group_id)
