"""The committed public event documents (docs/events) match what the contracts define."""

from __future__ import annotations

import json
from pathlib import Path

from tauro_contracts.asyncapi import asyncapi, message_schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_committed_schemas_are_current() -> None:
    for name, schema in message_schemas().items():
        committed = json.loads((DOCS / "schemas" / f"{name}.json").read_text())
        assert committed == json.loads(json.dumps(schema)), f"regenerate: python -m tauro_contracts.asyncapi ({name})"


def test_committed_asyncapi_is_current() -> None:
    committed = json.loads((DOCS / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(asyncapi()))
    assert {c["address"] for c in committed["channels"].values()} >= {
        "tauro.events.projects.v1", "tauro.events.pipelines.v1", "tauro.events.runs.v1"}
