"""The Kafka readiness probe of the testcontainers path (tests/infra_containers.py) on the real
broker: ready when a broker answers metadata, not ready (with the reason) on a closed port, and
usable from inside a running event loop."""

from __future__ import annotations

import pytest

from tests import infra_containers as ic

pytestmark = pytest.mark.integration


def test_a_live_broker_is_ready(kafka_bootstrap: str) -> None:
    assert ic.kafka_broker_ready(kafka_bootstrap) is True


async def test_the_probe_works_under_a_running_event_loop(kafka_bootstrap: str) -> None:
    assert ic.kafka_broker_ready(kafka_bootstrap) is True


def test_a_closed_port_is_not_ready_and_says_why() -> None:
    closed = f"127.0.0.1:{ic.free_port()}"
    with pytest.raises(TimeoutError, match=rf"Kafka at {closed} not ready after 0 s \(KafkaConnectionError"):
        ic.wait_until(lambda: ic.kafka_broker_ready(closed), 0, f"Kafka at {closed}", interval=0)
