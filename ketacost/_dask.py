"""The batch on a Dask cluster (``ketacost[dask]``): ``ketacost batch --engine dask``.

The input's partitions are estimated on the cluster's workers and written in input order: the
output is the single-machine batch's, row for row. A CSV input is read here, by the batch's
own reader (its comments, quoting and line numbers, so error cells name the same lines), in
partitions of ``partition_rows``, each sent as its own task with only a few in flight, so the
memory used here does not grow with the input. A Parquet input is read by the workers, a
partition per task, in the same bounded way. Rule files are named by path, loaded once per
worker process: they must be at that path on every worker (by default, each worker's
installed payers and example clinic).

Every result carries its worker's rules hash (the ketacost version and the rule set's hash,
:func:`ketacost._frames.frame_rules`); a result whose hash is not this machine's for the same
rule files stops the run (:class:`~ketacost.batch.BatchWorkerError`, as a dead worker does:
exit 1, the output left unchanged).

The scheduler is probed before Dask's client connects: a TCP address that does not answer
with a Dask handshake within ``timeout`` (a silent listener, an HTTP server, an unroutable
host) is one :class:`~ketacost.InvalidArgumentError`, as is a scheduler with no worker
within ``timeout``.

The Python recipe for a cluster of your own (``map_partitions`` with ``meta``) is in
:mod:`ketacost.batch`'s docstring.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ._batch_files import EXTRA, LINE, input_rows, stream_rows
from ._batch_output import STDIO, Format, reading_stdin, write_output
from ._dask_connect import connect
from ._dask_parquet import numbered, parquet_tasks
from ._frames import estimated_rows, frame_rules, require
from .batch import BatchWorkerError

__all__ = ["DEFAULT_PARTITION_ROWS", "run_dask"]

DEFAULT_PARTITION_ROWS = 5_000
_IN_FLIGHT_PER_WORKER = 2  # partitions queued per worker: enough to keep each one busy


def estimate_chunk(
    columns: list[str],
    rows: list[list[str | None]],
    clinic: str | None,
    payers: str | None,
    issued: date | None,
) -> list[dict[str, str]]:
    """Output rows (with ``rules_hash``) of CSV rows' cells, on a worker."""
    the_clinic, library, digest = frame_rules(clinic, payers)
    return list(estimated_rows(columns, rows, the_clinic, library, digest, issued))


@contextlib.contextmanager
def _csv_chunks(path: str, size: int) -> Iterator[Iterator[tuple[list[str], list[Any]]]]:
    """A CSV input's rows, ``size`` at a time, as (columns, cells); the header checked first."""

    def chunks(rows: Iterator[dict[str, str | None]]) -> Iterator[tuple[list[str], list[Any]]]:
        while part := list(itertools.islice(rows, size)):
            columns = list(dict.fromkeys(c for r in part for c in r))
            for extra in (LINE, EXTRA):
                if extra not in columns:
                    columns.append(extra)
            yield columns, [[r.get(c) for c in columns] for r in part]

    with contextlib.ExitStack() as stack:
        if path == STDIO:
            rows = stream_rows(stack.enter_context(reading_stdin()), "<stdin>")
        else:
            rows = stack.enter_context(input_rows(path))
        yield chunks(rows)


def _csv_tasks(
    chunks: Iterator[tuple[list[str], list[Any]]], rules: tuple[Any, ...]
) -> Callable[[Any], Iterator[Callable[[], Any]]]:
    def tasks(client: Any) -> Iterator[Callable[[], Any]]:
        for chunk in chunks:
            yield functools.partial(client.submit, estimate_chunk, *chunk, *rules, pure=False)

    return tasks


def _ordered(
    client: Any, tasks: Iterable[Callable[[], Any]], in_flight: int
) -> Iterator[Mapping[str, str]]:
    """The tasks' output rows in task order, at most ``in_flight`` tasks submitted at once."""
    pending: deque[Any] = deque()
    it = iter(tasks)
    try:
        while True:
            while len(pending) < in_flight and (submit := next(it, None)) is not None:
                pending.append(submit())
            if not pending:
                return
            future = pending.popleft()
            part = future.result()
            future.release()
            yield from part.to_dict("records") if hasattr(part, "to_dict") else part
    finally:
        if pending:
            client.cancel(list(pending))


def _checked(rows: Iterable[Mapping[str, str]], expected: str) -> Iterator[Mapping[str, str]]:
    """The rows, stopped at the first whose rules hash is not ``expected``."""
    for row in rows:
        if row.get("rules_hash") != expected:
            raise BatchWorkerError(
                f"row {row.get('row_id', '')!r} was estimated with rules hash "
                f"{row.get('rules_hash', '')[:12]}, not this machine's {expected[:12]} "
                "(another ketacost version or other rule files on a worker)"
            )
        yield row


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
        timeout: seconds to wait for the scheduler's answer, then for a worker.

    Raises:
        InvalidArgumentError: the scheduler is not reached, is not a Dask scheduler, or has
            no worker within ``timeout``.
        BatchInputError: the input cannot be read, or its columns or column types are wrong.
        BatchWorkerError: a worker's rules hash is not this machine's.
        MissingExtraError: dask or distributed is not installed.
    """
    require("dask.dataframe", "dask")
    distributed = require("distributed", "dask")
    clinic_path, payers_path = _rules_path(clinic), _rules_path(payers)
    expected = frame_rules(clinic_path, payers_path)[2]
    rules = (clinic_path, payers_path, issued)
    with contextlib.ExitStack() as stack:
        make: Callable[[Any], Iterable[Callable[[], Any]]]
        if input_kind == "parquet":
            make = parquet_tasks(input_path, rules)  # checked before any cluster work
        else:
            make = _csv_tasks(
                stack.enter_context(_csv_chunks(input_path, max(1, partition_rows))), rules
            )
        client = stack.enter_context(connect(distributed, scheduler, timeout))
        in_flight = _IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
        rows = _ordered(client, make(client), in_flight)
        if input_kind == "parquet":
            rows = numbered(rows, input_path)
        return write_output(output_path, output, _checked(rows, expected))
