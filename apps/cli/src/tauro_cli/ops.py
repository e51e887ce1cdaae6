"""Operator commands that work on the stores directly (distributed mode)."""

from __future__ import annotations

from tauro_notifier.service import read_model_projectors as notifier_projectors
from tauro_platform.adapters import build_adapters
from tauro_platform.rebuild import rebuild
from tauro_platform.settings import load_settings
from tauro_runs.service import read_model_projectors as runs_projectors
from tauro_scheduler.service import read_model_projectors as scheduler_projectors


async def rebuild_read_models(check: bool = False) -> int:
    settings = load_settings()
    if settings.tauro_mode != "distributed":
        print("tauro: the embedded mode rebuilds its read models from the log at every start; nothing to do")
        return 0
    adapters = await build_adapters(settings)
    try:
        projectors = [*runs_projectors(adapters), *scheduler_projectors(adapters), *notifier_projectors(adapters)]
        report = await rebuild(adapters.store, adapters.read_store, projectors)
    finally:
        await adapters.close()
    print(f"replayed {report.events} events in {report.seconds:.2f} s ({report.rate:,.0f} events/s)")
    print(f"read models before: {report.hash_before}\nread models after:  {report.hash_after}")
    print("identical" if report.identical else "DIFFERENT (expected only if events arrived during the rebuild)")
    return 0 if report.identical or not check else 1
