"""A Parquet input of the batch on Dask, read by the workers (``ketacost[dask]``).

The file or folder is opened here only for its schema: its columns are checked as a CSV
header is, and a float column (``double``: not an exact amount, not a whole number's text)
is one error naming the file and the column, before any cluster work. Each partition is then
one task on the cluster (:func:`ketacost.batch.estimate_frame`). Error cells are prefixed
with the file and the row's number in the input (``patients.parquet row 12: ...``; rows
counted from 1, over the files of a folder in Dask's order), as a CSV's name its line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from ._batch_output import unreadable
from ._frames import checked_columns, estimate_frame, frame_meta, require

__all__ = ["numbered", "parquet_tasks"]

_Rules = tuple[str | None, str | None, date | None]


def _read(dd: Any, path: str) -> Any:
    try:
        return dd.read_parquet(path, dtype_backend="pyarrow")
    except (OSError, ValueError, TypeError) as exc:  # not Parquet, unreadable, missing
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise unreadable(path, f"cannot read the Parquet input: {first}") from None


def _check_types(frame: Any, path: str) -> None:
    """Refuse a float column, once for the file (never one error per row)."""
    for column, dtype in frame.dtypes.items():
        if getattr(dtype, "kind", "") == "f":
            raise unreadable(
                path,
                f"column {column!r} is {dtype} (float): not an exact amount or whole number; "
                "write it as text, an integer or a decimal",
            )


def parquet_tasks(path: str, rules: _Rules) -> Callable[[Any], Iterable[Callable[[], Any]]]:
    """A function of a client giving one submitting thunk per partition, in order.

    Raises:
        BatchInputError: the input cannot be read, or its columns or their types are wrong.
    """
    dask = require("dask", "dask")
    dd = require("dask.dataframe", "dask")
    clinic, payers, issued = rules
    with dask.config.set({"dataframe.convert-string": False}):
        frame = _read(dd, path)
        checked_columns(frame.columns, path)
        _check_types(frame, path)
        estimates = frame.map_partitions(
            estimate_frame, clinic=clinic, payers=payers, issued=issued, meta=frame_meta()
        )
    parts = [dask.delayed(_records)(d) for d in estimates.to_delayed()]

    def tasks(client: Any) -> Iterator[Callable[[], Any]]:
        for part in parts:
            yield functools.partial(client.compute, part)

    return tasks


def _records(frame: Any) -> list[dict[str, str]]:
    records: list[dict[str, str]] = frame.to_dict("records")
    return records


def numbered(rows: Iterable[Mapping[str, str]], name: str) -> Iterator[Mapping[str, str]]:
    """The rows, each error cell prefixed with ``name row N: `` (N counted from 1)."""
    for n, row in enumerate(rows, 1):
        yield {**row, "error": f"{name} row {n}: {row['error']}"} if row.get("error") else row
