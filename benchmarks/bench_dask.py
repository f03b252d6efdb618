"""The batch command's two engines, side by side (a measurement, never a test).

    python benchmarks/bench_dask.py [--rows 100000] [--partition-rows 5000]

Both runs take the same path ``ketacost batch`` takes, from the same CSV file to a CSV file:
rule files named by path and loaded inside the timer, the input read by the batch's reader,
the output written and renamed into place. The rows are ``bench_batch.py``'s one-year plans,
with one error row (an age of ``forty``) in every 1,000. ``--engine local`` is
:func:`ketacost.batch.run_batch_csv` with 2 worker processes; ``--engine dask`` is
``ketacost._dask.run_dask`` against a ``LocalCluster`` of 2 worker processes (1 thread each)
on 127.0.0.1, whose start is timed apart (it includes the client's connection check and the
workers' rules-hash check against this machine's). Prints rows/s of both, what the rows were
(covered: ``allowed`` above zero; moved an accumulator: some deductible, copay or
coinsurance paid; errors), read back from each output, and whether the two output files are
identical byte for byte. The machine (2 cores) is shared: figures are noisy; nothing here
fails on time.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import tempfile
import time
import warnings
from collections import Counter
from decimal import Decimal
from pathlib import Path

from bench_batch import KINDS, rows

from ketacost._dask import run_dask
from ketacost.batch import INPUT_COLUMNS, resolve_inputs, run_batch_csv

ROOT = Path(__file__).resolve().parent.parent
CLINIC_FILE = ROOT / "examples" / "clinics" / "example-clinic.yaml"
PAYERS_DIR = ROOT / "payers"
ERROR_EVERY = 1_000


def write_input(path: Path, n: int) -> None:
    """``n`` rows of bench_batch's kinds; every 1,000th has a bad age (an error row)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, [c for c in INPUT_COLUMNS if c != "birth_date"])
        writer.writeheader()
        for i, row in enumerate(rows(n)):
            if i % ERROR_EVERY == ERROR_EVERY - 1:
                row["age"] = "forty"
            writer.writerow(row)


def tally(path: Path) -> Counter[str]:
    """What an output file's rows were."""
    counts: Counter[str] = Counter()
    with path.open(newline="", encoding="utf-8") as f:
        for out in csv.DictReader(f):
            counts["rows"] += 1
            if out["error"]:
                counts["errors"] += 1
                continue
            counts["covered"] += Decimal(out["allowed"]) > 0
            paid = Decimal(out["deductible"]) + Decimal(out["copay"]) + Decimal(out["coinsurance"])
            counts["moved an accumulator"] += paid > 0
    return counts


def single_machine(source: Path, out: Path) -> float:
    began = time.perf_counter()
    clinic, payers = resolve_inputs(CLINIC_FILE, PAYERS_DIR)  # as the command does
    run_batch_csv(source, out, clinic=clinic, payers=payers, jobs=2)
    return time.perf_counter() - began


def on_the_cluster(scheduler: str, source: Path, out: Path, partition_rows: int) -> float:
    began = time.perf_counter()
    run_dask(
        str(source),
        str(out),
        scheduler=scheduler,
        output="csv",
        clinic=CLINIC_FILE,
        payers=PAYERS_DIR,
        partition_rows=partition_rows,
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partition-rows", type=int, default=5_000)
    args = parser.parse_args()
    from distributed import LocalCluster

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f}), {args.rows:,} rows (one-year plans: "
        f"{', '.join(k['plan'] + ' ' + k['payer'] for k in KINDS)}; "
        f"1 in {ERROR_EVERY:,} an error row)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as folder:
        source, local_out, dask_out = (Path(folder) / n for n in ("in.csv", "l.csv", "d.csv"))
        write_input(source, args.rows)
        local_seconds = single_machine(source, local_out)
        began = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a busy dashboard port and the like
            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                host="127.0.0.1",
                processes=True,
                dashboard_address="127.0.0.1:0",  # on loopback, a free port: never 8787
                # A worker's heartbeat can race the scheduler's shutdown when the cluster
                # closes and log a harmless traceback; the run is judged by its outputs (the
                # tallies and the byte-for-byte comparison below), not by the workers' logs.
                silence_logs=logging.CRITICAL,
            )
        with cluster:
            start_seconds = time.perf_counter() - began
            address = str(cluster.scheduler_address)
            dask_seconds = on_the_cluster(address, source, dask_out, args.partition_rows)
        local, on_dask = tally(local_out), tally(dask_out)
        same = local_out.read_bytes() == dask_out.read_bytes()
    print(f"{'run (CSV file to CSV file)':<38}  {'seconds':>8}  {'rows/s':>8}")
    print(f"{'--engine local, 2 processes':<38}  {local_seconds:>8.2f}  "
          f"{args.rows / local_seconds:>8,.0f}")  # fmt: skip
    print(f"{'--engine dask, LocalCluster 2 workers':<38}  {dask_seconds:>8.2f}  "
          f"{args.rows / dask_seconds:>8,.0f}")  # fmt: skip
    print(f"(the cluster's start, {start_seconds:.1f} s, is not in its time)")
    print(f"partitions: {-(-args.rows // args.partition_rows)} of {args.partition_rows:,} rows")
    for name in ("rows", "covered", "moved an accumulator", "errors"):
        print(f"  {name:<22} {local[name]:>8,} local  {on_dask[name]:>8,} Dask")
    print(f"output files identical, byte for byte: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
