"""``ketacost batch INPUT.csv OUTPUT.csv``: many estimates at once, on every core."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from ketacost import batch as batch_lib

from ._app import cli
from ._output import payers_option

__all__ = ["batch"]


@cli.command()
@click.argument("input_path", metavar="INPUT.csv", type=click.Path(path_type=Path, dir_okay=False))
@click.argument(
    "output_path", metavar="OUTPUT.csv", type=click.Path(path_type=Path, dir_okay=False)
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: every core).",
)
@click.option(
    "--clinic",
    "clinic_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The clinic file (default: the example clinic).",
)
@click.option(
    "--issued",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Issue date written on every estimate, YYYY-MM-DD.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@payers_option()
def batch(
    input_path: Path,
    output_path: Path,
    jobs: int | None,
    clinic_path: Path | None,
    issued: datetime | None,
    quiet: bool,
    payers_dir: Path | None,
) -> int:
    """Estimate many patients at once: one CSV row per patient and plan.

    Each output row (in input order) has the totals of its estimate, or, for a bad row, what
    is wrong in the error column; a bad row does not stop the batch. Columns: see
    examples/batch/patients.csv and the ketacost.batch module.

    \b
    Example:
      ketacost batch examples/batch/patients.csv estimates.csv --jobs 2
    """
    rows = batch_lib.read_rows(input_path)
    clinic, payers = batch_lib.resolve_inputs(clinic_path, payers_dir)
    with click.progressbar(
        length=len(rows),
        label="Estimating",
        file=sys.stderr,
        hidden=quiet,
    ) as bar:
        results = batch_lib.run_batch(
            rows,
            clinic=clinic,
            payers=payers,
            jobs=jobs or os.cpu_count() or 1,
            issued=issued.date() if issued else None,
            progress=bar.update,
        )
    batch_lib.write_rows(output_path, results)
    errors = sum(1 for r in results if r["error"])
    click.echo(f"wrote {len(results)} rows to {output_path} ({errors} with errors)", err=True)
    return 0
