"""Generate ``tauro_client/_sync_client.py`` (``Tauro``) from ``_async_client.py`` (``AsyncTauro``).

    python libs/client/scripts/gen_sync.py          # write it
    python libs/client/scripts/gen_sync.py --check  # exit 1 if it is out of date

The async client is the one written by hand; the sync one is the same code with the
``async``/``await`` taken out (the approach of ``unasync``, as httpcore does)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tauro_client"
SOURCE = PACKAGE / "_async_client.py"
TARGET = PACKAGE / "_sync_client.py"

REPLACEMENTS: list[tuple[str, str]] = [
    (r'^"""``AsyncTauro``: the async client\..*?^"""\n',
     '"""``Tauro``: the sync client, GENERATED from ``_async_client.py`` by ``libs/client/scripts/gen_sync.py``:\n'
     "do not edit; edit the async client and run the script.\n\n"
     '    with Tauro("http://127.0.0.1:8000", api_key="...") as tauro:\n'
     '        project = tauro.projects.create("analytics")\n'
     '        run = tauro.runs.create(project.id, "pipe_daily_etl", params={"date": "2025-11-18"}, start=True)\n'
     "        for line in tauro.runs.follow_logs(run.id):\n"
     "            print(line.level, line.message)\n"
     "        print(tauro.runs.wait(run.id).state)\n"
     '"""\n'),
    (r"^import asyncio\n", ""),
    (r"^# ruff: noqa: ASYNC109[^\n]*\n", ""),
    (r"for item in page\.items:\n(\s+)yield item\n", r"yield from page.items\n"),
    (r"\bAsyncIterator, Iterable\b", "Iterable, Iterator"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\basync def __aenter__", "def __enter__"),
    (r"\basync def __aexit__", "def __exit__"),
    (r"\basync def aclose\b", "def close"),
    (r"\.aclose\(\)", ".close()"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"asyncio\.sleep\(", "time.sleep("),
    (r"\.aread\(\)", ".read()"),
    (r"\.aiter_lines\(\)", ".iter_lines()"),
    (r"httpx\.AsyncBaseTransport", "httpx.BaseTransport"),
    (r"httpx\.AsyncClient \| httpx\.Client", "httpx.Client"),
    (r"httpx\.AsyncClient", "httpx.Client"),
    (r"\bAsyncTauro\b", "Tauro"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"The Tauro API from async code", "The Tauro API from sync code"),
]


def generate() -> str:
    text = SOURCE.read_text(encoding="utf-8")
    for pattern, replacement in REPLACEMENTS:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE | re.DOTALL)
    return text


def main() -> int:
    text = generate()
    if "--check" in sys.argv:
        if not TARGET.is_file() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is out of date: run python {Path(__file__).as_posix()}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
