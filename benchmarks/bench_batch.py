"""Batch estimates per second for 10,000 rows (a measurement, not a test; never fails on time).

    python benchmarks/bench_batch.py [--rows 10000] [--jobs N]

The rows are one-year plans from ``examples/batch/patients.csv``'s kinds, repeated: IV
infusions self-pay, esketamine on the commercial PPO and on Original Medicare, and an IV year
on the commercial PPO (the investigational exclusion). Prints rows per second with 1 job and
with every core. Target (issue 4 §4): at least 2,000 one-year estimates per second on this
2-core machine class.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import ketacost
from ketacost.batch import run_batch

ROOT = Path(__file__).resolve().parent.parent

KINDS = (
    {"payer": "self-pay", "plan": "iv-year", "age": "38"},
    {"payer": "commercial-ppo", "plan": "esketamine-year", "prior_authorization": "approved"},
    {"payer": "medicare-part-b", "plan": "esketamine-year", "age": "71"},
    {"payer": "commercial-ppo", "plan": "iv-year"},
)


def rows(n: int) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    for i in range(n):
        row: dict[str, str | None] = {
            "row_id": str(i + 1),
            "age": "45",
            "diagnoses": "F33.2",
            "failed_trials": "3",
            "start": f"2026-{1 + i % 12:02d}-05",
            "closed_weekdays": "sat sun",
        }
        row.update(KINDS[i % len(KINDS)])
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    clinic = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    payers = ketacost.load_payers(ROOT / "payers")
    data = rows(args.rows)
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores, {args.rows:,} rows "
        f"(one-year plans: {', '.join(k['plan'] + ' ' + k['payer'] for k in KINDS)})"
    )
    print(f"{'jobs':>4}  {'seconds':>8}  {'rows/s':>8}  {'errors':>6}")
    for jobs in sorted({1, args.jobs}):
        began = time.perf_counter()
        result = run_batch(data, clinic=clinic, payers=payers, jobs=jobs)
        seconds = time.perf_counter() - began
        errors = sum(1 for r in result if r["error"])
        print(f"{jobs:>4}  {seconds:>8.2f}  {args.rows / seconds:>8,.0f}  {errors:>6}")


if __name__ == "__main__":
    main()
