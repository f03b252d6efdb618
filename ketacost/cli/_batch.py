"""``ketacost batch INPUT.csv OUTPUT.csv``: many estimates at once, on every core or a cluster.

``--engine local`` (the default) is the streaming batch on this machine's cores;
``--engine dask --scheduler ADDRESS`` runs the same rows on a Dask cluster (``ketacost._dask``).
``-`` is standard input or output (CSV; JSON lines out); ``--format`` chooses the output's.

Exit codes: 0 every row estimated; 1 some rows failed (their error cells say why) or a worker
process died; 2 a user error (see ``_app``); 130 interrupted (Ctrl-C), the output unchanged.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from ._app import EXIT_PROBLEMS, cli
from ._output import english, payers_option
from ._streams import StdioPath, is_stdio

__all__ = ["EXIT_INTERRUPTED", "batch"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C


@cli.command()
# A Parquet input may be a folder of files; a CSV input that is a folder fails to open.
@click.argument("input_path", metavar="INPUT.csv", type=StdioPath())
# The output's checks (a folder, a device, a FIFO) are the library's, in one line.
@click.argument("output_path", metavar="OUTPUT.csv", type=StdioPath())
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: this machine's cores; dask: the Dask cluster at --scheduler.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="The Dask scheduler (tcp://host:8786), with --engine dask.",
)
@click.option(
    "--input-format",
    type=click.Choice(["csv", "parquet"]),
    default=None,
    help="The input's format (default: by extension: .parquet/.pq, else CSV; Parquet: dask).",
)
@click.option(
    "--format",
    "output_fmt",
    type=click.Choice(["csv", "jsonl", "parquet"]),
    default=None,
    help="The output's format (default: by extension: .jsonl, .parquet/.pq, else CSV).",
)
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
@click.option(
    "--partition-rows",
    type=click.IntRange(min=1),
    default=5_000,
    show_default=True,
    help="Rows per partition of a CSV input sent to the Dask cluster (--engine dask only).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the Dask scheduler's answer, then a worker (--engine dask).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (--engine dask shows none).")
@payers_option()
def batch(
    input_path: Path,
    output_path: Path,
    engine: str,
    scheduler: str | None,
    input_format: str | None,
    output_fmt: str | None,
    jobs: int | None,
    clinic_path: Path | None,
    issued: datetime | None,
    partition_rows: int,
    timeout: float,
    quiet: bool,
    payers_dir: Path | None,
) -> int:
    """Estimate many patients at once: one CSV row per patient and plan.

    Each output row (in input order) has the totals of its estimate, or, for a bad row, its
    input line and what is wrong in the error column; a bad row does not stop the batch.
    OUTPUT.csv is replaced only once complete (an interrupted run leaves it as it was; a
    symlink is followed), and only one batch at a time may write it (OUTPUT.csv.lock); it
    must be a regular file (not /dev/stdout); - writes CSV or JSON lines to standard output
    as the rows come, and - as INPUT.csv reads standard input. JSON lines and Parquet rows
    also carry the rules hash. With --engine dask the partitions are estimated on the
    cluster (a CSV input is read here; a Parquet file or folder by the workers, which must
    also reach --clinic and --payers at the same paths): the same rows, in the same order.
    Exit status: 0 when every row was estimated, 1 when some failed, 2 on a user error (a
    bad input, an unreachable scheduler), 130 when interrupted. Columns: see
    examples/batch/patients.csv and the ketacost.batch module.

    \b
    Examples:
      ketacost batch examples/batch/patients.csv estimates.csv --jobs 2
      ketacost batch - - --format jsonl < patients.csv
      ketacost batch patients.parquet estimates.parquet --engine dask \\
          --scheduler tcp://127.0.0.1:8786
    """
    from ketacost import batch as batch_lib

    files = _Files(_a_file(input_path), _a_file(output_path), input_format, output_fmt)
    rules = _Rules(clinic_path, payers_dir, issued.date() if issued else None)
    try:
        if engine == "dask":
            return _run_dask(files, rules, scheduler, (partition_rows, timeout), jobs)
        if scheduler is not None:
            raise click.UsageError("--scheduler goes with --engine dask")
        return _run(files, rules, jobs, quiet)
    except KeyboardInterrupt:
        click.echo(f"interrupted; {output_path} left unchanged", err=True)
        return EXIT_INTERRUPTED
    # A dead worker, or a Dask worker with other rules (ketacost._dask): exit 1, not 2.
    except batch_lib.BatchWorkerError as exc:
        click.echo(f"error: {exc}; {output_path} left unchanged", err=True)
        return EXIT_PROBLEMS


@dataclass(frozen=True)
class _Files:
    """The input and output named on the command line, and their formats."""

    input_path: Path
    output_path: Path
    input_format: str | None
    output_format: str | None

    @property
    def stdin(self) -> bool:
        return is_stdio(self.input_path)

    @property
    def stdout(self) -> bool:
        return is_stdio(self.output_path)


def _a_file(path: Path) -> Path:
    """``path``, but a file named ``-`` (``./-`` on the command line) as an absolute path.

    The library reads the text ``-`` as standard input or output; only ``-``
    (the argument ``-`` exactly) means that here.
    """
    return path if is_stdio(path) or str(path) != "-" else path.absolute()


@dataclass(frozen=True)
class _Rules:
    clinic: Path | None
    payers: Path | None
    issued: date | None


def _done(written: int, errors: int, output_path: Path) -> int:
    where = "standard output" if is_stdio(output_path) else str(output_path)
    en = english()
    if errors:
        failed = en.ngettext(
            "{errors} of {n} row failed; see the error column of {where}",
            "{errors} of {n} rows failed; see the error column of {where}",
            written,
        )
        click.echo(failed.format(errors=errors, n=written, where=where), err=True)
        return EXIT_PROBLEMS
    wrote = en.ngettext("wrote {n} row to {where}", "wrote {n} rows to {where}", written)
    click.echo(wrote.format(n=written, where=where), err=True)
    return 0


def _run_dask(
    files: _Files, rules: _Rules, scheduler: str | None, sizes: tuple[int, float], jobs: int | None
) -> int:
    from ketacost import _batch_output, _dask, batch

    if not scheduler:
        raise click.UsageError("--engine dask needs --scheduler ADDRESS (tcp://host:8786)")
    if jobs is not None:
        raise click.UsageError("--jobs goes with --engine local (the cluster has its workers)")
    output = _batch_output.output_format(files.output_path, files.output_format)
    if not (files.stdin or files.stdout):
        batch.check_output_path(files.input_path, files.output_path)
    written, errors = _dask.run_dask(
        str(files.input_path),
        str(files.output_path),
        scheduler=scheduler,
        output=output,
        input_kind=_batch_output.input_format(files.input_path, files.input_format),
        clinic=rules.clinic,
        # The workers resolve no folder of ours: name the one this command would use.
        payers=rules.payers or os.environ.get("KETACOST_PAYERS") or None,
        issued=rules.issued,
        partition_rows=sizes[0],
        timeout=sizes[1],
    )
    return _done(written, errors, files.output_path)


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


def _run(files: _Files, rules: _Rules, jobs: int | None, quiet: bool) -> int:
    from ketacost import _batch_output
    from ketacost import batch as batch_lib

    if _batch_output.input_format(files.input_path, files.input_format) == "parquet":
        raise click.UsageError("a Parquet input needs --engine dask (or convert it to CSV)")
    output = _batch_output.output_format(files.output_path, files.output_format)
    if not (files.stdin or files.stdout):
        batch_lib.check_output_path(files.input_path, files.output_path)
    clinic, payers = batch_lib.resolve_inputs(rules.clinic, rules.payers)
    # Counting reads a regular file once more (rows are not kept), and checks its header
    # first; a pipe is not counted (it can be read only once).
    length = None if quiet or files.stdin else batch_lib.count_rows(files.input_path)
    progress = _Progress(length, hidden=quiet)
    options: dict[str, Any] = {
        "clinic": clinic,
        "payers": payers,
        "jobs": jobs or os.cpu_count() or 1,
        "issued": rules.issued,
        "progress": progress,
    }
    try:
        if output == "csv" and not (files.stdin or files.stdout):
            summary = batch_lib.run_batch_csv(files.input_path, files.output_path, **options)
            written, errors = summary.rows, summary.errors
        else:
            written, errors = _streamed(files, output, options)
    finally:
        progress.close()
    return _done(written, errors, files.output_path)


def _streamed(files: _Files, output: Any, options: dict[str, Any]) -> tuple[int, int]:
    """The local batch from or to standard input or output, or to JSON lines or Parquet."""
    from ketacost import _batch_files, _batch_output, _frames
    from ketacost import batch as batch_lib

    digest = _frames.frame_rules(options["clinic"], options["payers"])[2]
    with contextlib.ExitStack() as stack:
        if files.stdin:
            f = stack.enter_context(_batch_output.reading_stdin())
            rows = _batch_files.stream_rows(f, "<stdin>")
        else:
            rows = stack.enter_context(_batch_files.input_rows(files.input_path))
        out = stack.enter_context(contextlib.closing(batch_lib.iter_batch(rows, **options)))
        hashed = ({**row, "rules_hash": digest} for row in out)
        return _batch_output.write_output(files.output_path, output, hashed)
