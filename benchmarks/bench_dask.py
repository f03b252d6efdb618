"""The batch on one machine and on a Dask cluster, side by side (a measurement, never a test).

    python benchmarks/bench_dask.py [--rows 100000] [--partition-rows 5000]

The rows are ``bench_batch.py``'s one-year plans. They are estimated twice: by the
single-machine batch with 2 worker processes (``iter_batch``), and by
:func:`ketacost.batch.estimate_frame` over partitions of a Dask frame on a
``LocalCluster`` of 2 worker processes (1 thread each) on 127.0.0.1, partitions collected in
input order, as ``ketacost batch --engine dask`` does. Prints rows/s of both, what the rows
were (covered: ``allowed`` above zero; moved an accumulator: some deductible, copay or
coinsurance paid; errors), and whether the two outputs were identical (a sha256 over every
output row's cells, in order: the rows are counted, not kept). The cluster's start is timed
apart. The machine (2 cores) is shared: figures are noisy; nothing here fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import platform
import time
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench_batch import KINDS, rows

import ketacost
from ketacost.batch import OUTPUT_COLUMNS, estimate_frame, frame_meta, iter_batch

ROOT = Path(__file__).resolve().parent.parent
CLINIC_FILE = ROOT / "examples" / "clinics" / "example-clinic.yaml"
PAYERS_DIR = ROOT / "payers"


class Tally:
    """What a run's output rows were, and a sha256 over their cells in order."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._digest = hashlib.sha256()

    def add(self, out: Mapping[str, str]) -> None:
        self._digest.update("\x1f".join(out[c] for c in OUTPUT_COLUMNS).encode() + b"\x1e")
        self.counts["rows"] += 1
        if out["error"]:
            self.counts["errors"] += 1
            return
        self.counts["covered"] += Decimal(out["allowed"]) > 0
        paid = Decimal(out["deductible"]) + Decimal(out["copay"]) + Decimal(out["coinsurance"])
        self.counts["moved an accumulator"] += paid > 0

    def add_all(self, outs: Iterable[Mapping[str, str]]) -> None:
        for out in outs:
            self.add(out)

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()


def single_machine(n: int) -> tuple[float, Tally]:
    clinic = ketacost.load_clinic(CLINIC_FILE)
    payers = ketacost.load_payers(PAYERS_DIR)
    tally = Tally()
    began = time.perf_counter()
    results = iter_batch(rows(n), clinic=clinic, payers=payers, jobs=2)
    with contextlib.closing(results):
        tally.add_all(results)
    return time.perf_counter() - began, tally


def on_the_cluster(client: Any, n: int, partition_rows: int) -> tuple[float, Tally]:
    import dask
    import dask.dataframe as dd
    import pandas as pd

    tally = Tally()
    began = time.perf_counter()
    frame = pd.DataFrame(list(rows(n)), dtype=object)
    with dask.config.set({"dataframe.convert-string": False}):
        parts = dd.from_pandas(frame, npartitions=max(1, -(-n // partition_rows)), sort=False)
        estimates = parts.map_partitions(
            estimate_frame, clinic=str(CLINIC_FILE), payers=str(PAYERS_DIR), meta=frame_meta()
        )
    futures = client.compute(estimates.to_delayed())
    for future in futures:  # in input order, as the batch command writes them
        tally.add_all(future.result().to_dict("records"))
        future.release()
    return time.perf_counter() - began, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--partition-rows", type=int, default=5_000)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f}), {args.rows:,} rows (one-year plans: "
        f"{', '.join(k['plan'] + ' ' + k['payer'] for k in KINDS)})"
    )
    local_seconds, local = single_machine(args.rows)
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a busy dashboard port and the like
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            processes=True,
            dashboard_address="127.0.0.1:0",  # on loopback, a free port: never a fixed 8787
        )
    with cluster, Client(cluster) as client:
        start_seconds = time.perf_counter() - began
        dask_seconds, on_dask = on_the_cluster(client, args.rows, args.partition_rows)
    print(f"{'run':<38}  {'seconds':>8}  {'rows/s':>8}")
    print(f"{'single machine, 2 processes':<38}  {local_seconds:>8.2f}  "
          f"{args.rows / local_seconds:>8,.0f}")  # fmt: skip
    print(f"{'Dask LocalCluster, 2 workers':<38}  {dask_seconds:>8.2f}  "
          f"{args.rows / dask_seconds:>8,.0f}")  # fmt: skip
    print(f"(the cluster's start, {start_seconds:.1f} s, is not in its time)")
    print(f"partitions: {-(-args.rows // args.partition_rows)} of {args.partition_rows:,} rows")
    for name in ("rows", "covered", "moved an accumulator", "errors"):
        print(
            f"  {name:<22} {local.counts[name]:>8,} single machine  {on_dask.counts[name]:>8,} Dask"
        )
    same = local.digest == on_dask.digest and local.counts == on_dask.counts
    print(f"outputs identical, row for row: {'yes' if same else 'NO'} (sha256 {local.digest[:16]})")


if __name__ == "__main__":
    main()
