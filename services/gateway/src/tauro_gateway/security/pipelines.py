"""What a pipeline defined through the API may contain.

- ``shell`` and ``python`` nodes run arbitrary code on the executors, which every project
  shares: defining them needs ``projects:write`` granted globally, not just on a project
  (403 otherwise). With authentication off the caller holds every grant.
- File paths (``path`` of ``source``/``sink``, a ``python`` callable's ``file.py``, a
  ``shell`` node's ``cwd``) must stay inside the executor's folders: relative, or under the
  ``{{ output_dir }}``/``{{ work_dir }}`` placeholders, with no ``..``, ``~`` or absolute
  part, and no placeholders but the built-in ones (a run param must not steer a path).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from fastapi import Request
from tauro_contracts.errors import DomainError, ErrorCode, ErrorDetail
from tauro_contracts.pipeline import Node
from tauro_contracts.security import Permission

from tauro_gateway.security.principal import ANONYMOUS, Principal

CODE_NODES = frozenset({"shell", "python"})
PATH_KEYS = {"source": ("path",), "sink": ("path",), "python": ("callable",), "shell": ("cwd",)}
ROOT = re.compile(r"^\{\{\s*(?:output_dir|work_dir)\s*\}\}/?")
PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
SAFE_PLACEHOLDERS = frozenset({"run_id", "node_id", "date", "logical_date"})


def path_problem(value: str) -> str | None:
    """Why ``value`` may leave the executor's folders, or None."""
    rest = ROOT.sub("", value, count=1)
    if rest.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", rest):
        return "must be relative (or start with {{ output_dir }}/ or {{ work_dir }}/)"
    if ".." in PurePosixPath(rest.replace("\\", "/")).parts:
        return "must not contain '..'"
    unsafe = sorted({p for p in PLACEHOLDER.findall(rest) if p not in SAFE_PLACEHOLDERS})
    if unsafe:
        return f"may only use the placeholders {sorted(SAFE_PLACEHOLDERS)} after the folder, not {unsafe}"
    return None


def check_pipeline(request: Request, nodes: Sequence[Node]) -> None:
    principal: Principal = getattr(request.state, "principal", None) or ANONYMOUS
    code = sorted({n.type for n in nodes if n.type in CODE_NODES})
    if code and not principal.can_globally(Permission.PROJECTS_WRITE):
        raise DomainError(ErrorCode.FORBIDDEN, f"{' and '.join(code)} nodes run code on the shared executors: "
                          "defining them needs a global admin grant")
    problems = []
    for i, node in enumerate(nodes):
        for key in PATH_KEYS.get(node.type, ()):
            value = node.config.get(key)
            if not isinstance(value, str):
                continue
            if key == "callable":
                value = value.rpartition(":")[0] if value.rpartition(":")[0].endswith(".py") else ""
            problem = path_problem(value) if value else None
            if problem:
                problems.append(ErrorDetail(field=f"nodes[{i}].config.{key}", message=problem, type="unsafe_path"))
    if problems:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "invalid pipeline", problems)
