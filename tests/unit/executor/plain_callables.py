"""User callables that import nothing heavy (the python-node import tests use them)."""

from __future__ import annotations

import os
import sys
from typing import Any


def report_modules(inputs: list[Any], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    """Log which of the modules named in ``config['modules']`` this process has imported."""
    for name in config.get("modules", []):
        log(f"{name} imported={name in sys.modules}")


def import_and_mark(inputs: list[Any], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    """Import ``config['module']`` (a user module), mark it, report whether it was marked already."""
    import importlib

    module = importlib.import_module(config["module"])
    log(f"already marked={getattr(module, 'MARKED', False)}")
    module.MARKED = True  # type: ignore[attr-defined]


def show_environment(inputs: list[Any], config: dict[str, Any], params: dict[str, Any], log: Any) -> None:
    for key in sorted(os.environ):
        log(f"env {key}={os.environ[key]}")
    log(f"cwd={os.getcwd()}")
    log(f"path0={sys.path[0]}")
