"""python -m bench [--quick]: run the benchmarks and print one line per figure."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform

from bench import export, http_load, long_loops, records, scale, settlement, timers


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true", help="a short pass (under 3 minutes)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{dt.date.today().isoformat()}")
    long_loops.run(300 if args.quick else 1000)
    records.run(3 if args.quick else 10)
    export.run(20 if args.quick else 1000)  # a records ZIP as the worker builds it
    settlement.run(20_000 if args.quick else 100_000)
    # 100,000 timers due within the hour; quick: 1,000 within 20 s.
    if args.quick:
        timers.run(1_000, 20.0)
    else:
        timers.run(100_000, 3_600.0)
    # End to end over HTTP on PostgreSQL (BENCH_HTTP_DATABASE_URL, default database bench_http):
    # throughput, ratio to raw SpiffWorkflow, latency at half the max, bytes per instance.
    http_load.run(args.quick)
    # The inbox over 1,000,000 tasks (quick: 100,000), generated once into bench_scale and reused.
    scale.run(args.quick)


if __name__ == "__main__":
    main()
