"""Write Tauro's Grafana dashboards (``tauro_dashboards.py``) as JSON under ``dashboards/``.

    python3 -m uv run python deploy/grafana/generate.py           # regenerate
    python3 -m uv run python deploy/grafana/generate.py --check   # exit 1 if a committed file drifted

Grafana loads the files through the file provider of ``provisioning/dashboards/tauro.yml``;
``tests/unit/test_grafana_dashboards.py`` fails when a committed file differs from ``render``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.cog.encoder import JSONEncoder

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from tauro_dashboards import DASHBOARDS  # noqa: E402  (a sibling module, not a package)

OUTPUT = HERE / "dashboards"


def render() -> dict[str, str]:
    """File name -> the dashboard's JSON text, as committed."""
    return {name: json.dumps(build().build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
            for name, build in DASHBOARDS.items()}


def drifted(folder: Path = OUTPUT) -> list[str]:
    """Files under ``folder`` that differ from ``render`` (missing or extra ones too)."""
    wanted = render()
    present = {p.name for p in folder.glob("*.json")}
    changed = [n for n, text in wanted.items() if not (folder / n).exists() or (folder / n).read_text() != text]
    return sorted(changed + sorted(present - set(wanted)))


def write(folder: Path = OUTPUT) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    wanted = render()
    for stale in folder.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, text in wanted.items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file drifted")
    args = parser.parse_args(argv)
    if args.check:
        changed = drifted()
        for name in changed:
            print(f"drifted: {OUTPUT / name}")
        return 1 if changed else 0
    for path in write():
        print(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
