"""What the workspace members declare: every third-party package a member imports is declared by
that member with a lower bound (scripts/check-lowest.sh checks the bounds are true), and what
an installation pulls in at run time (uv.lock) holds no grpcio unless the [grpc] extra is asked
for, no pyarrow and no croniter (a test oracle, dev group only)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
MEMBERS = sorted(p.parent for pattern in WORKSPACE for p in ROOT.glob(f"{pattern}/pyproject.toml"))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project(member: Path) -> dict[str, Any]:
    return tomllib.loads((member / "pyproject.toml").read_text())["project"]


def requirements(member: Path) -> Iterator[Requirement]:
    meta = project(member)
    optional = [line for extra in meta.get("optional-dependencies", {}).values() for line in extra]
    for line in [*meta.get("dependencies", []), *optional]:
        yield Requirement(line)


def is_workspace(requirement: Requirement) -> bool:
    return requirement.name.startswith("tauro-")


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: m.name)
def test_every_third_party_dependency_has_a_lower_bound(member: Path) -> None:
    unbounded = [str(r) for r in requirements(member)
                 if not is_workspace(r) and not any(s.operator in (">=", "==", "~=") for s in r.specifier)]
    assert unbounded == []


def imported_top_level_modules(source: Path) -> Iterator[str]:
    """Top-level modules imported by ``source``, except the optional ones (imported inside a
    ``try`` that handles ImportError) and those imported for type checking only."""
    tree = ast.parse(source.read_text(), str(source))
    optional: set[int] = set()
    for node in ast.walk(tree):
        handles_import_error = isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers)
        type_checking = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        if isinstance(node, ast.Try | ast.If) and (handles_import_error or type_checking):
            optional.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: m.name)
def test_every_imported_third_party_package_is_declared_by_the_member(member: Path) -> None:
    declared = {normalize(r.name) for r in requirements(member)}
    distributions = packages_distributions()
    undeclared = set()
    for source in (member / "src").rglob("*.py"):
        for module in imported_top_level_modules(source):
            if module in sys.stdlib_module_names or module.startswith("tauro_") or module == "__future__":
                continue
            names = {normalize(d) for d in distributions.get(module, [module])}
            if not names & declared:
                undeclared.add(f"{module} ({source.relative_to(member)})")
    assert sorted(undeclared) == []


def runtime_closure(roots: dict[str, set[str]]) -> set[str]:
    """Packages uv.lock installs for ``{package: extras}`` without any dependency group."""
    lock = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    seen: set[str] = set()
    todo = [(name, extras) for name, extras in roots.items()]
    while todo:
        name, extras = todo.pop()
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        package = lock[name]
        edges = list(package.get("dependencies", []))
        for extra in extras:
            edges += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(edge["name"], set(edge.get("extra", []))) for edge in edges]
    return {key.split("[")[0] for key in seen}


def test_an_installation_pulls_no_grpcio_no_pyarrow_no_croniter() -> None:
    members: dict[str, set[str]] = {project(m)["name"]: set() for m in MEMBERS} | {"tauro-cli": {"server"}}
    installed = runtime_closure(members)
    assert {"tauro-gateway", "fastapi", "opentelemetry-exporter-otlp-proto-http"} <= installed
    assert installed & {"grpcio", "opentelemetry-exporter-otlp-proto-grpc", "pyarrow", "croniter"} == set()
    with_grpc = runtime_closure(members | {"tauro-platform": {"grpc"}})
    assert {"grpcio", "opentelemetry-exporter-otlp-proto-grpc"} <= with_grpc  # the extra brings it
