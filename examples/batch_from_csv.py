"""Estimates for many patients at once, from a CSV file (one row per patient and plan).

    python examples/batch_from_csv.py [INPUT.csv] [OUTPUT.csv]

Default input: examples/batch/patients.csv (its header comment documents every column).
Writes the estimates CSV (to the path given, or a temporary folder) and prints a summary;
a bad row gets its error in its own output row instead of stopping the batch.
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

from ketacost.batch import run_batch_csv

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else HERE / "batch" / "patients.csv"
    out = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp()) / "estimates.csv"
    summary = run_batch_csv(source, out, jobs=2)
    print(f"{summary.rows} rows, {summary.errors} with errors; written to {out}")
    print(f"{'row':<5} {'payer':<16} {'plan':<22} {'visits':>6} {'patient':>10} {'plan pays':>10}")
    with out.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            plan = r["plan"] or r["session"]
            if r["error"]:
                print(f"{r['row_id']:<5} {r['payer']:<16} {plan:<22} error: {r['error']}")
            else:
                print(
                    f"{r['row_id']:<5} {r['payer']:<16} {plan:<22} {r['visits']:>6} "
                    f"{r['patient']:>10} {r['plan_paid']:>10}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
