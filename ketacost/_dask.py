"""The batch on a Dask cluster (``ketacost[dask]``): ``ketacost batch --engine dask``.

The partitions of the input are estimated by :func:`ketacost.batch.estimate_frame` on the
cluster's workers and written in input order: the output is the single-machine batch's, row
for row. A CSV input is read here, by the batch's own reader (its comments, quoting and
line numbers, so error cells name the same lines), and sent to the cluster in partitions; a
Parquet input is read by the workers. Rule files are named by path, loaded once per worker
process: they must be at that path on every worker (by default, each worker's installed
payers and example clinic; the ``rules_hash`` column shows a worker that differs).

The Python recipe for a cluster of your own (``map_partitions`` with ``meta``) is in
:mod:`ketacost.batch`'s docstring.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ._batch_files import EXTRA, LINE, REQUIRED_COLUMNS, input_rows, stream_rows
from ._batch_output import STDIO, Format, reading_stdin, unreadable, write_output
from ._errors import InvalidArgumentError
from ._frames import checked_columns, estimate_frame, frame_meta, require

__all__ = ["DEFAULT_PARTITION_ROWS", "run_dask"]

DEFAULT_PARTITION_ROWS = 5_000


def _csv_rows(path: str) -> list[dict[str, str | None]]:
    if path == STDIO:
        with reading_stdin() as f:
            return list(stream_rows(f, "<stdin>"))
    with input_rows(path) as rows:
        return list(rows)


def _csv_frame(dd: Any, path: str, partition_rows: int) -> Any:
    """A CSV input read here by the batch's reader, as a Dask frame of text partitions."""
    pd = require("pandas", "frames")
    rows = _csv_rows(path)
    columns = list(dict.fromkeys(c for r in rows for c in r)) or [*REQUIRED_COLUMNS, LINE]
    if EXTRA not in columns:
        columns.append(EXTRA)
    frame = pd.DataFrame.from_records(rows, columns=columns).astype(object)
    parts = max(1, -(-len(frame) // partition_rows))
    return dd.from_pandas(frame, npartitions=parts, sort=False)


def _parquet_frame(dd: Any, path: str) -> Any:
    try:
        return dd.read_parquet(path, dtype_backend="pyarrow")
    except (OSError, ValueError, TypeError) as exc:  # not Parquet, unreadable, missing
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise unreadable(path, f"cannot read the Parquet input: {first}") from None


def _connect(distributed: Any, scheduler: str, timeout: float) -> Any:
    try:
        return distributed.Client(
            scheduler, timeout=timeout, set_as_default=False, direct_to_workers=False
        )
    except (OSError, TimeoutError, ValueError) as exc:
        raise InvalidArgumentError(
            f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s "
            f"({type(exc).__name__})"
        ) from None


def _results(client: Any, frames: Any) -> Iterator[Mapping[str, str]]:
    """Output rows, partition after partition in input order, all computed at once."""
    futures = client.compute(frames.to_delayed())
    try:
        for future in futures:
            part = future.result()
            future.release()
            yield from part.to_dict("records")
    finally:
        client.cancel(futures)


def _rules_path(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def run_dask(
    input_path: str,
    output_path: str,
    *,
    scheduler: str,
    output: Format,
    input_kind: str = "csv",
    clinic: str | os.PathLike[str] | None = None,
    payers: str | os.PathLike[str] | None = None,
    issued: date | None = None,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    timeout: float = 10.0,
) -> tuple[int, int]:
    """Estimate a batch on the Dask cluster at ``scheduler``; rows and error rows written.

    Args:
        input_path: a batch CSV (``-``: standard input) or a Parquet file or folder.
        output_path: the output file (``-``: standard output, CSV or JSON lines).
        scheduler: the scheduler's address (``tcp://host:8786``).
        output: the output format (``csv``, ``jsonl``, ``parquet``).
        input_kind: ``csv`` or ``parquet``.
        clinic: the clinic file (every worker reads it); default: the example clinic.
        payers: the payer folder (every worker reads it); default: the installed payers.
        issued: the estimates' issue date.
        partition_rows: rows per partition of a CSV input.
        timeout: seconds to wait for the scheduler.

    Raises:
        InvalidArgumentError: the scheduler cannot be reached within ``timeout``.
        BatchInputError: the input cannot be read, or its columns are wrong.
        MissingExtraError: dask or distributed is not installed.
    """
    dd = require("dask.dataframe", "dask")
    distributed = require("distributed", "dask")
    dask = require("dask", "dask")
    with dask.config.set({"dataframe.convert-string": False}):
        if input_kind == "parquet":
            frame = _parquet_frame(dd, input_path)
        else:
            frame = _csv_frame(dd, input_path, max(1, partition_rows))
        checked_columns(frame.columns, input_path)  # before any cluster work
        estimates = frame.map_partitions(
            estimate_frame,
            clinic=_rules_path(clinic),
            payers=_rules_path(payers),
            issued=issued,
            meta=frame_meta(),
        )
    with _connect(distributed, scheduler, timeout) as client:
        return write_output(output_path, output, _results(client, estimates))
