"""Batch estimates per second, rows mostly covered (a measurement, never a test or a failure).

    python benchmarks/bench_batch.py [--rows 10000] [--jobs 1,2] [--csv]

The rows are one-year plans (``PLAN_TEMPLATES``), starting on the 5th of a month, repeated in
this order: esketamine on the commercial PPO with prior authorization approved (twice: once
with nothing met, once with $500 of the deductible met), esketamine on Original Medicare,
and IV infusions self-pay. The rows are generated as they are read and the output rows are
counted, not kept, so memory shows what the batch itself holds. Prints, for each of
``--jobs`` (1 process, then 2): seconds, rows per second, errors and peak memory
(``ru_maxrss`` of this process and of its largest finished child; this process's peak never
goes down, so a later figure includes the runs before it), then the share of rows by payer
and coverage, read from the output (a row is covered when its ``allowed`` total is above
zero). CPU ms/row (user + system, this process and its workers) is less disturbed by
other work than rows/s.

With ``--csv`` the rows go through files as ``ketacost batch`` takes them: written to a CSV
file first (untimed), then read and estimated into an output CSV file by ``run_batch_csv``,
whose rows are read back for the shares. Issue 10 asks that memory stay flat in the number
of rows (at most 150 MiB for 200,000): ``--csv --rows 200000 --jobs 2`` shows it (about 3
minutes).
Target (issue 10): at least 4,000 one-year rows per second with 2 processes on rows whose
lines are covered. The machine (2 cores) is shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import ketacost
from ketacost.batch import iter_batch, run_batch_csv

ROOT = Path(__file__).resolve().parent.parent

KINDS = (
    {"payer": "commercial-ppo", "plan": "esketamine-year", "prior_authorization": "approved"},
    {
        "payer": "commercial-ppo",
        "plan": "esketamine-year",
        "prior_authorization": "approved",
        "deductible_met": "500.00",
    },
    {"payer": "medicare-part-b", "plan": "esketamine-year", "age": "71"},
    {"payer": "self-pay", "plan": "iv-year", "age": "38"},
)


def rows(n: int) -> Iterator[dict[str, str | None]]:
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
        yield row


def peak_mib() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process and of its largest finished child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1024, child / 1024  # kilobytes on Linux


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(
    n: int, jobs: int, clinic: ketacost.Clinic, payers: object
) -> tuple[float, float, Counter[str]]:
    """(seconds, CPU seconds, rows by payer and coverage); output rows are counted, not kept."""
    shares: Counter[str] = Counter()
    cpu = cpu_seconds()
    began = time.perf_counter()
    results = iter_batch(rows(n), clinic=clinic, payers=payers, jobs=jobs)  # type: ignore[arg-type]
    with contextlib.closing(results):
        for out in results:
            shares[_share(out)] += 1
    return time.perf_counter() - began, cpu_seconds() - cpu, shares


def _share(out: Mapping[str, str]) -> str:
    """An output row's payer and coverage (covered: its ``allowed`` total is above zero)."""
    if out["error"]:
        return "error"
    if out["payer"] == "self-pay":
        return "self-pay"
    covered = Decimal(out["allowed"]) > 0
    return f"{out['payer']}, {'covered' if covered else 'not covered'}"


def run_csv(
    n: int, jobs: int, clinic: ketacost.Clinic, payers: object
) -> tuple[float, float, Counter[str]]:
    """:func:`run` through files: a CSV file in, ``run_batch_csv``, a CSV file out."""
    shares: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.csv", Path(folder) / "out.csv"
        with source.open("w", newline="") as f:
            columns = [*next(rows(1))]
            columns += sorted({k for kind in KINDS for k in kind} - set(columns))
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows(n))
        cpu = cpu_seconds()
        began = time.perf_counter()
        run_batch_csv(source, target, clinic=clinic, payers=payers, jobs=jobs)  # type: ignore[arg-type]
        seconds, used = time.perf_counter() - began, cpu_seconds() - cpu
        with target.open(newline="") as f:
            shares.update(_share(out) for out in csv.DictReader(f))
    return seconds, used, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--jobs", default="1,2", help="process counts to measure, one run each (default 1,2)"
    )
    parser.add_argument(
        "--csv", action="store_true", help="through CSV files, as `ketacost batch` (run_batch_csv)"
    )
    args = parser.parse_args()
    clinic = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    payers = ketacost.load_payers(ROOT / "payers")
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f}), {args.rows:,} rows (one-year plans: "
        f"{', '.join(k['plan'] + ' ' + k['payer'] for k in KINDS)})"
    )
    print(
        f"{'jobs':>4}  {'seconds':>8}  {'rows/s':>8}  {'CPU ms/row':>10}  {'errors':>6}  "
        f"{'peak MiB self/child':>20}"
    )
    shares: Counter[str] = Counter()
    for jobs in sorted({int(n) for n in args.jobs.split(",")}):
        measure = run_csv if args.csv else run
        seconds, cpu, shares = measure(args.rows, jobs, clinic, payers)
        own, child = peak_mib()
        memory = f"{own:.0f} / {child:.0f}" if jobs > 1 else f"{own:.0f} / -"
        print(
            f"{jobs:>4}  {seconds:>8.2f}  {args.rows / seconds:>8,.0f}  "
            f"{cpu / args.rows * 1e3:>10.2f}  {shares['error']:>6}  {memory:>20}"
        )
    print("rows by payer and coverage:")
    for name, count in sorted(shares.items()):
        print(f"  {name:40} {count:>7,}  {count / args.rows:>5.0%}")
    print("target: >= 4,000 one-year rows/s with 2 processes on covered rows (a measurement)")


if __name__ == "__main__":
    main()
