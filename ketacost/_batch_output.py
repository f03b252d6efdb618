"""The batch's output formats: CSV, JSON lines and Parquet, to a file or to standard output.

``csv`` is the batch CSV (:data:`ketacost.batch.OUTPUT_COLUMNS`); ``jsonl`` is one JSON object
per row with :data:`~ketacost._frames.FRAME_COLUMNS` (amounts as strings, never numbers);
``parquet`` is :func:`~ketacost._frames.arrow_schema` (amounts as ``decimal128(12, 2)``). A
file is replaced whole, only once every row is written, under its lock (as the batch CSV);
``-`` is standard output (CSV or JSON lines), written as the rows come.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Literal

from ._batch_files import (
    BatchInputError,
    BatchOutputError,
    _check_regular,
    output_lock,
    replacing,
    write_csv,
)
from ._errors import FileIssue
from ._frames import FRAME_COLUMNS, output_batch, require

__all__ = ["FORMATS", "Format", "input_format", "output_format", "write_output"]

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "parquet")
STDIO = "-"
_PARQUET_ROWS = 10_000  # rows per Parquet row group


def _suffix(path: str | os.PathLike[str]) -> str:
    return Path(path).suffix.lower()


def input_format(path: str | os.PathLike[str], given: str | None = None) -> str:
    """``csv`` or ``parquet``: ``given``, else by the extension (``.parquet``, ``.pq``).

    A folder is Parquet (a folder of Parquet files, whatever its name).
    """
    if given:
        return given
    if _suffix(path) in (".parquet", ".pq") or os.path.isdir(path):
        return "parquet"
    return "csv"


def output_format(path: str | os.PathLike[str], given: str | None = None) -> Format:
    """The output's format: ``given``, else by the extension (CSV unless ``.jsonl``/``.parquet``).

    Raises:
        BatchOutputError: Parquet to standard output (it needs a file).
    """
    found: Format = "csv"
    if given in FORMATS:
        found = given
    elif _suffix(path) in (".jsonl", ".ndjson"):
        found = "jsonl"
    elif _suffix(path) in (".parquet", ".pq"):
        found = "parquet"
    if found == "parquet" and os.fspath(path) == STDIO:
        raise BatchOutputError("Parquet output needs a file, not - (standard output)")
    return found


def _jsonl(f: IO[str], rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    written = errors = 0
    for row in rows:
        record = {c: row.get(c, "") for c in FRAME_COLUMNS}
        # As the CLI's other JSON lines (cli/_streams.py): compact, ASCII, keys in order.
        f.write(json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n")
        written += 1
        errors += bool(row.get("error"))
    return written, errors


def _text(f: IO[str], fmt: Format, rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    return write_csv(f, rows) if fmt == "csv" else _jsonl(f, rows)


def _parquet(path: Path, rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    """Write Parquet to a temporary file beside ``path``, renamed over it when complete."""
    pq = require("pyarrow.parquet", "frames")
    from ._frames import arrow_schema

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    written = errors = 0
    try:
        with pq.ParquetWriter(str(temporary), arrow_schema()) as writer:
            it = iter(rows)
            while chunk := list(itertools.islice(it, _PARQUET_ROWS)):
                writer.write_batch(output_batch(chunk))
                written += len(chunk)
                errors += sum(bool(r.get("error")) for r in chunk)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return written, errors


def write_output(
    path: str | os.PathLike[str], fmt: Format, rows: Iterable[Mapping[str, str]]
) -> tuple[int, int]:
    """Write output rows in ``fmt`` to ``path`` (``-``: standard output); rows and error rows.

    Raises:
        BatchOutputError: the output cannot be written, or another batch is writing it.
    """
    if os.fspath(path) == STDIO:
        with writing_stdout() as f:
            return _text(f, fmt, rows)
    with output_lock(path):
        if fmt == "parquet":
            _check_regular(path)  # as replacing() does: never over a device, FIFO or folder
            return _parquet(Path(os.path.realpath(path)), rows)
        with replacing(path) as f:
            return _text(f, fmt, rows)


@contextlib.contextmanager
def writing_stdout() -> Iterator[IO[str]]:
    """Standard output as UTF-8 text whose line ends are written as given on every OS.

    The CSV writer's CRLF and the JSON lines' LF, never a text mode's translation.
    """
    import io

    import click

    with click.open_file(STDIO, "wb") as binary:
        f = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        try:
            yield f
            f.flush()
        finally:
            f.detach()  # standard output stays open for whoever owns it


@contextlib.contextmanager
def reading_stdin() -> Iterator[IO[str]]:
    """Standard input as the batch reads a file: UTF-8 (a BOM skipped), lines kept whole."""
    import io

    import click

    with click.open_file(STDIO, "rb") as binary:
        f = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        try:
            yield f
        finally:
            f.detach()  # standard input stays open for whoever owns it


def unreadable(name: str, message: str) -> BatchInputError:
    """The error of an input that cannot be read at all (``name: message``)."""
    return BatchInputError([FileIssue(name, 0, 0, "", message)])
