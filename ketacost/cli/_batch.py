"""``ketacost batch INPUT.csv OUTPUT.csv``: many estimates at once, on every core.

Exit codes: 0 every row estimated; 1 some rows failed (their error cells say why) or a worker
process died; 2 a user error (see ``_app``); 130 interrupted (Ctrl-C), the output unchanged.
"""

from __future__ import annotations

import itertools
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ._app import EXIT_PROBLEMS, cli
from ._output import payers_option

__all__ = ["EXIT_INTERRUPTED", "batch"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C


@cli.command()
@click.argument("input_path", metavar="INPUT.csv", type=click.Path(path_type=Path, dir_okay=False))
# The output's checks (a folder, a device, a FIFO) are the library's, in one line.
@click.argument("output_path", metavar="OUTPUT.csv", type=click.Path(path_type=Path))
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: every core; at most 4 per core and one per 200 rows).",
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

    Each output row (in input order) has the totals of its estimate, or, for a bad row, its
    input line and what is wrong in the error column; a bad row does not stop the batch.
    OUTPUT.csv is replaced only once complete (an interrupted run leaves it as it was; a
    symlink is followed), and only one batch at a time may write it (OUTPUT.csv.lock); it
    must be a regular file (not /dev/stdout). INPUT.csv may be a pipe (/dev/stdin). Exit
    status: 0 when every row was estimated, 1 when some failed, 2 on a user error, 130 when
    interrupted. Columns: see examples/batch/patients.csv and the ketacost.batch module.

    \b
    Example:
      ketacost batch examples/batch/patients.csv estimates.csv --jobs 2
    """
    from ketacost import batch as batch_lib

    try:
        return _run(input_path, output_path, jobs, clinic_path, issued, quiet, payers_dir)
    except KeyboardInterrupt:
        click.echo(f"interrupted; {output_path} left unchanged", err=True)
        return EXIT_INTERRUPTED
    except batch_lib.BatchWorkerError as exc:  # not the user's doing: exit 1, not 2
        click.echo(f"error: {exc}; {output_path} left unchanged", err=True)
        return EXIT_PROBLEMS


class _Progress:
    """A progress bar on stderr, shown from the first finished chunk.

    A run refused at its start (a locked output, a bad input) prints its one error line and
    nothing else. Without a row count (the input is a pipe) it counts the rows done.
    """

    def __init__(self, length: int | None, hidden: bool) -> None:
        self._length = length
        self._hidden = hidden
        self._bar: Any = None

    def __call__(self, rows: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(
                # An endless iterable is a bar of unknown length (the bar never iterates it).
                itertools.count() if self._length is None else None,
                length=self._length,
                label="Estimating",
                show_pos=self._length is None,
                file=sys.stderr,
                hidden=self._hidden,
            ).__enter__()
        self._bar.update(rows)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()


def _run(
    input_path: Path,
    output_path: Path,
    jobs: int | None,
    clinic_path: Path | None,
    issued: datetime | None,
    quiet: bool,
    payers_dir: Path | None,
) -> int:
    from ketacost import batch as batch_lib

    batch_lib.check_output_path(input_path, output_path)
    clinic, payers = batch_lib.resolve_inputs(clinic_path, payers_dir)
    # Counting reads a regular file once more (rows are not kept), and checks its header
    # first; a pipe is not counted (it can be read only once).
    progress = _Progress(None if quiet else batch_lib.count_rows(input_path), hidden=quiet)
    try:
        summary = batch_lib.run_batch_csv(
            input_path,
            output_path,
            clinic=clinic,
            payers=payers,
            jobs=jobs or os.cpu_count() or 1,
            issued=issued.date() if issued else None,
            progress=progress,
        )
    finally:
        progress.close()
    if summary.errors:
        click.echo(
            f"{summary.errors} of {summary.rows} rows failed; "
            f"see the error column of {output_path}",
            err=True,
        )
        return EXIT_PROBLEMS
    click.echo(f"wrote {summary.rows} rows to {output_path}", err=True)
    return 0
