"""Who this process is: its version and instance id, and the service-wide defaults that
``setup`` takes from the settings (heartbeat and sampling intervals)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from importlib import metadata


def _version() -> str:
    try:
        return metadata.version("tauro-platform")
    except metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = _version()


@dataclass
class ProcessDefaults:
    instance_id: str
    heartbeat_seconds: float = 5.0
    sample_seconds: float = 10.0
    mode: str = "embedded"


DEFAULTS = ProcessDefaults(instance_id=f"{socket.gethostname()}-{os.getpid()}")
