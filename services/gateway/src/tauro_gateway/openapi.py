"""The OpenAPI document, exported: ``python -m tauro_gateway.openapi docs/openapi.json``.

``document()`` builds the app (no I/O: nothing is started or connected) and returns its
OpenAPI document; ``tests/unit/gateway/test_openapi_document.py`` fails when the committed
``docs/openapi.json`` differs from it, as ``docs/events`` is checked against the contracts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, cast

from tauro_platform.settings import Settings

from tauro_gateway.app import create_app
from tauro_gateway.context import GatewayContext

DEFAULT_PATH = Path("docs/openapi.json")


def document() -> dict[str, Any]:
    make: Any = Settings  # no .env file: the document is the same wherever it is built
    settings: Settings = make(_env_file=None, tauro_mode="embedded", api_key_header="X-API-Key")
    ctx = GatewayContext(settings, cast(Any, None), cast(Any, None), cast(Any, None), None)
    return create_app(ctx).openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
