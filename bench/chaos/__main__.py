"""The long chaos run (``make chaos``): the rig of ``tests/chaos/rig.py`` for 20+ minutes with
100+ SIGKILLs over every service and a few database outages, then every invariant check and
a summary table (kills per service, runs accepted / terminal / lost / duplicated, ticks
checked, recovery time per kill p50/p99/max, stalls).

    uv run python -m bench.chaos                       # 22 minutes, 100 kills, 3 database outages
    uv run python -m bench.chaos --minutes 5 --kills 25 --seed 7

Needs Kafka on 127.0.0.1 (``make chaos`` starts it); the rig starts its own MongoDB-wire
server. Loopback only; stops by itself. Logs, the ledger and ``chaos-report.json`` stay in
``.tauro/chaos/<time>/`` (the database files too when a check failed). Exit code 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

from tests.chaos.rig import ROOT, Chaos, ChaosConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=22.0, help="minutes of load (default 22)")
    parser.add_argument("--kills", type=int, default=100, help="service SIGKILLs (default 100)")
    parser.add_argument("--db-outages", type=int, default=3, help="database outages (default 3)")
    parser.add_argument("--db-outage-seconds", type=float, default=4.0)
    parser.add_argument("--rate", type=float, default=1.5, help="POST /runs a second (default 1.5)")
    parser.add_argument("--schedules", type=int, default=3, help="INTERVAL 2s schedules (default 3)")
    parser.add_argument("--runs-replicas", type=int, default=2)
    parser.add_argument("--executor-replicas", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="replay a kill plan")
    parser.add_argument("--kafka", default=os.environ.get("TAURO_TEST_KAFKA")
                        or os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--out", type=Path, default=None, help="folder for logs and the report")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    folder = args.out or ROOT / ".tauro" / "chaos" / time.strftime("%Y%m%d-%H%M%S")
    config = ChaosConfig(
        load_seconds=args.minutes * 60, kills=args.kills, db_outages=args.db_outages,
        db_outage_seconds=args.db_outage_seconds, rate=args.rate, schedules=args.schedules, warmup=30.0,
        quiet_tail=40.0, seed=seed, settle_timeout=420.0,
        replicas={"runs": args.runs_replicas, "executor": args.executor_replicas, "scheduler": 1, "streaming": 1,
                  "gateway": 1})
    print(f"chaos: seed {seed}, folder {folder}", flush=True)
    result = Chaos(config, args.kafka, folder, say=lambda line: print(line, flush=True)).run()
    if not result.violations:  # kept otherwise, to look into (the private server's data)
        shutil.rmtree(folder / "infra" / "mongo" / "data", ignore_errors=True)
    print(f"\nchaos summary (seed {seed}; logs, ledger and chaos-report.json in {folder}):")
    print(result.summary)
    if result.violations:
        print(f"\n{len(result.violations)} VIOLATIONS:")
        print("\n".join(f"  - {v}" for v in result.violations[:100]))
    for item in result.evidence:
        print(f"\n{item}")
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
