"""The bounded chaos run (part of ``make test``): about 3 minutes of load on the whole
distributed deployment (separate processes, real Kafka, a private MongoDB-wire server) while
15 service processes are SIGKILLed and restarted and the database is stopped once for a few
seconds; then every invariant of :mod:`tests.chaos.checks` is checked. The long run is
``make chaos``. ``CHAOS_SEED`` replays a kill plan; ``CHAOS_SECONDS`` / ``CHAOS_KILLS`` resize it."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.chaos.rig import Chaos, ChaosConfig

pytestmark = [pytest.mark.chaos, pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(1200)]


def test_alive_under_faults(kafka_bootstrap: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1 << 30))
    config = ChaosConfig(load_seconds=float(os.environ.get("CHAOS_SECONDS", "180")),
                         kills=int(os.environ.get("CHAOS_KILLS", "15")), db_outages=1, seed=seed)
    result = Chaos(config, kafka_bootstrap, tmp_path / "chaos").run()
    print(f"\nchaos (seed {seed}, logs and chaos-report.json in {result.folder}):\n{result.summary}")
    for item in result.evidence:
        print(item)
    assert not result.violations, f"{len(result.violations)} violations (seed {seed}):\n" + "\n".join(
        result.violations[:40] + result.evidence[:5])
