"""Check responses against the OpenAPI document: each status must be declared for its
operation, and a JSON body must validate (jsonschema, 2020-12) against the declared schema."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator


@dataclass
class ResponseChecker:
    doc: dict[str, Any]
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], str, str]] = []
        for path, operations in self.doc["paths"].items():
            regex = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
            for method in operations:
                self._routes.append((regex, method.upper(), path))
        # the most specific template first (fewer parameters), so /runs/batch beats /runs/{run_id}
        self._routes.sort(key=lambda r: r[2].count("{"))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for regex, verb, template in self._routes:
            if verb == method and regex.match(path):
                return template, self.doc["paths"][template][method.lower()]
        return None

    def check(self, response: httpx.Response) -> None:
        request = response.request
        found = self.operation(request.method, request.url.path)
        if found is None:
            return  # outside the document (/metrics, /docs)
        template, op = found
        label = f"{request.method} {template} -> {response.status_code}"
        declared = op["responses"].get(str(response.status_code))
        if declared is None:
            self.problems.append(f"{label}: status not declared ({sorted(op['responses'])})")
            return
        content_type = response.headers.get("content-type", "").split(";")[0]
        media = declared.get("content", {}).get(content_type)
        if media is None:
            self.problems.append(f"{label}: content type {content_type} not declared")
            return
        if content_type != "application/json":
            return
        schema = {**media["schema"], "components": self.doc["components"]}
        errors = sorted(Draft202012Validator(schema).iter_errors(response.json()), key=lambda e: list(e.path))
        for error in errors[:3]:
            self.problems.append(f"{label}: {list(error.path)}: {error.message[:300]}")
        self.checked[label] = self.checked.get(label, 0) + 1
