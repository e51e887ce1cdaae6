"""Render ``{{ name }}`` / ``{{ name.sub }}`` placeholders in a node's config.

Strings are rendered recursively through dicts (keys and values) and lists. Values
come from the run params plus built-ins: ``run_id``, ``node_id``, ``output_dir`` and
``work_dir`` (this run's work directory) win over params of the same name;
``logical_date`` is the spec's, else a ``logical_date`` param, else ``date``; ``date``
is a ``date`` param, else the date part of ``logical_date``, else today's UTC date.
Dotted names walk nested mappings, and digits index lists.

A string that is exactly one placeholder keeps the value's type (``"{{ limit }}"``
with ``limit=10`` renders to ``10``); inside a longer string, non-string values are
rendered as JSON (``true``, ``3``, ``null``). An unknown name or a malformed
placeholder raises :class:`TemplateError`. There is no expression evaluation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_MISSING = object()


class TemplateError(ValueError):
    """A placeholder that names nothing, or is not a plain (dotted) name."""


def builtins(
    *,
    run_id: str,
    node_id: str,
    output_dir: str,
    work_dir: str,
    logical_date: str | None = None,
    params: Mapping[str, Any] | None = None,
    today: str | None = None,
) -> dict[str, Any]:
    """The template namespace: params overlaid with the built-in names."""
    params = dict(params or {})
    logical = logical_date or params.get("logical_date")
    date = params.get("date") or (str(logical)[:10] if logical else None)
    date = date or today or datetime.now(UTC).date().isoformat()
    namespace: dict[str, Any] = {**params, "date": date}
    namespace.update(
        run_id=run_id,
        node_id=node_id,
        logical_date=logical or date,
        output_dir=output_dir,
        work_dir=work_dir,
    )
    return namespace


def render(value: Any, namespace: Mapping[str, Any], *, path: str = "config") -> Any:
    """Render every string in ``value`` (recursively); other values are returned as they are."""
    if isinstance(value, str):
        return render_string(value, namespace, path=path)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = _render_text(key, namespace, path=f"{path}.{key}") if isinstance(key, str) else key
            out[new_key] = render(item, namespace, path=f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [render(item, namespace, path=f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def render_string(text: str, namespace: Mapping[str, Any], *, path: str = "value") -> Any:
    """Render one string; a string that is a single placeholder keeps the value's type."""
    whole = _PLACEHOLDER.fullmatch(text)
    if whole is not None and "{{" not in whole.group(1) and "}}" not in whole.group(1):
        return lookup(whole.group(1).strip(), namespace, path=path)
    return _render_text(text, namespace, path=path)


def _render_text(text: str, namespace: Mapping[str, Any], *, path: str) -> str:
    if "{{" in _PLACEHOLDER.sub("", text):
        raise TemplateError(f"{path}: unterminated placeholder in {text!r}")

    def substitute(match: re.Match[str]) -> str:
        value = lookup(match.group(1).strip(), namespace, path=path)
        return value if isinstance(value, str) else json.dumps(value, default=str)

    return _PLACEHOLDER.sub(substitute, text)


def lookup(name: str, namespace: Mapping[str, Any], *, path: str = "value") -> Any:
    """Resolve a dotted name such as ``source.bucket`` or ``files.0``."""
    if not _NAME.match(name):
        raise TemplateError(
            f"{path}: invalid placeholder '{{{{ {name} }}}}': only names and dotted names are allowed"
        )
    current: Any = namespace
    walked: list[str] = []
    for part in name.split("."):
        current = _child(current, part)
        if current is _MISSING:
            where = f" in '{'.'.join(walked)}'" if walked else ""
            known = ", ".join(sorted(namespace)) if not walked else ""
            hint = f" (known names: {known})" if known else ""
            raise TemplateError(f"{path}: unknown placeholder '{{{{ {name} }}}}': no '{part}'{where}{hint}")
        walked.append(part)
    return current


def _child(current: Any, part: str) -> Any:
    if isinstance(current, Mapping):
        return current.get(part, _MISSING)
    if isinstance(current, list | tuple) and part.isdigit():
        index = int(part)
        return current[index] if index < len(current) else _MISSING
    return _MISSING
