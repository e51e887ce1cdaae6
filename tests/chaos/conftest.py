"""The chaos suite's marker (registered here so the shared pyproject stays as it is)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: SIGKILLs services under load and checks the invariants (minutes)")
