"""python -m bench [--quick]: run the benchmarks and print one line per figure."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform

from bench import long_loops, records, settlement


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true", help="a short pass (under 3 minutes)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{dt.date.today().isoformat()}")
    long_loops.run(300 if args.quick else 1000)
    records.run(3 if args.quick else 10)
    settlement.run(20_000 if args.quick else 100_000)


if __name__ == "__main__":
    main()
