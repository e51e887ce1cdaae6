"""The shapes of resource ids, as regular expressions (path parameters and bodies carry them)."""

from __future__ import annotations

_TAIL = r"[A-Za-z0-9_.\-]{1,128}"
PROJECT_ID = rf"^proj_{_TAIL}$"
PIPELINE_ID = rf"^pipe_{_TAIL}$"
RUN_ID = rf"^run_{_TAIL}$"
SCHEDULE_ID = rf"^sched_{_TAIL}$"
EXECUTION_ID = rf"^exec_{_TAIL}$"
CONFIG_VERSION_ID = rf"^pipe_{_TAIL}@v[0-9]{{1,9}}$"
