"""Every process knows every message type, whatever it imported (an outbox sweeper
publishes other services' events from the shared store)."""

from __future__ import annotations

import subprocess
import sys

import tauro_contracts.asyncapi  # noqa: F401  (imports every message module)
from tauro_contracts.registry import REGISTRY


def test_the_registry_alone_knows_every_event_and_command() -> None:
    script = ("from tauro_contracts.registry import REGISTRY; "
              "print(' '.join(sorted(c.type_name for c in [*REGISTRY.events(), *REGISTRY.commands()])))")
    alone = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    everything = sorted(c.type_name for c in [*REGISTRY.events(), *REGISTRY.commands()])
    assert alone == everything
    assert "TicksMissed" in alone and "RunCreated" in alone
