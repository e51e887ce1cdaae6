"""The spec's Example 5 (Python client integration) on the SDK, async: create a project, create
and start a run of the daily ETL, follow its logs, wait for it to finish.

    make run                                   # in another terminal
    python examples/client/example5.py         # TAURO_URL / TAURO_API_KEY if not the defaults

Needs only ``pip install ./libs/contracts ./libs/client``.
"""

from __future__ import annotations

import asyncio

from tauro_client import AsyncTauro, Conflict
from tauro_contracts.readmodels import Run


async def example(tauro: AsyncTauro, pipeline_id: str = "pipe_daily_etl") -> Run:
    # Create project (or reuse it when this example ran before: names are unique)
    try:
        project = await tauro.projects.create(name="my_pipeline", description="Automated data pipeline")
    except Conflict:
        project = await tauro.projects.find("my_pipeline")

    # Create and start run
    run = await tauro.runs.create(project.id, pipeline_id, params={"date": "2025-11-18"})
    await tauro.runs.start(run.id)

    # Follow its logs live (Server-Sent Events; ends with the run), then read the final state
    async for line in tauro.runs.follow_logs(run.id):
        print(f"{line.timestamp[11:19]} {line.level:7} [{line.node_id or '-'}] {line.message}")
    final = await tauro.runs.wait(run.id, timeout=120, poll_interval=0.5)
    print(f"Run completed with state: {final.state}")
    return final


async def main() -> None:
    async with AsyncTauro() as tauro:  # base URL from TAURO_URL, else http://127.0.0.1:8000
        await example(tauro)


if __name__ == "__main__":
    asyncio.run(main())
