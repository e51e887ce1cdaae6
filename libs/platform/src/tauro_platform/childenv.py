"""The environment a service hands to processes that run user code (executor workers, and
through them shell and python nodes): this process's environment without its secrets, so
a node that prints its environment cannot put ``SECRET_KEY`` into the run's logs."""

from __future__ import annotations

import os
from collections.abc import Mapping

SECRET_VARIABLES = frozenset({"SECRET_KEY", "TAURO_ADMIN_API_KEY", "MONGODB_URL"})


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SECRET_VARIABLES}
    env.update(extra or {})
    return env
