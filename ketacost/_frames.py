"""Batch estimates over a pandas DataFrame or Arrow record batches (``ketacost[frames]``).

:func:`estimate_frame` and :func:`estimate_batches` take the batch CSV's input columns (see
:mod:`ketacost.batch`) and give the batch's output columns, one row per input row and in
order, estimated by the very row code :func:`ketacost.batch.run_batch` uses: the same rows
give the same results. Every output row also carries ``rules_hash``, the sha256 of the whole
rule set used (:func:`ketacost.rules_hash` over every payer, savings program and fee schedule
of the payer library, and the clinic), so rows estimated with other rule files stand out.

Cells: missing (``None``, ``NaN``, ``pd.NA``) is empty; an integer is its digits; a
``Decimal`` is its text; a float is refused, as that row's error naming the column (a float
is not an exact amount, and ``7.0`` is not a whole number's text); text is taken as it is.

Rule files named by path (or left to the defaults) are loaded once per process and kept,
keyed by their paths and the sha256 of their bytes: the partitions a worker process runs
share one load, and an edited file is loaded again. pandas and pyarrow are imported only
when these functions run; without them the error names ``pip install 'ketacost[frames]'``.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import _extras
from ._batch_files import EXTRA, LINE, OUTPUT_COLUMNS, TOTAL_COLUMNS, _checked_header
from ._clinic import Clinic
from ._payer import Payer

__all__ = [
    "FRAME_COLUMNS",
    "arrow_schema",
    "checked_columns",
    "estimate_batches",
    "estimate_frame",
    "estimated_rows",
    "frame_meta",
    "frame_rules",
    "output_batch",
    "require",
    "versioned_hash",
]

#: The output columns of a frame or record batch: the batch CSV's, then ``rules_hash``.
FRAME_COLUMNS = (*OUTPUT_COLUMNS, "rules_hash")
_MONEY = frozenset(out for out, _ in TOTAL_COLUMNS)
_AMOUNT_CELLS = ("deductible_met", "out_of_pocket_met")
_WHOLE_CELLS = ("age", "failed_trials", "sessions", "every_days", "every_weeks")

ClinicSource = Clinic | str | os.PathLike[str] | None
PayersSource = Mapping[str, Payer] | str | os.PathLike[str] | None


def require(module: str, extra: str) -> Any:
    """``module`` imported, or :class:`~ketacost.MissingExtraError` naming ``extra``.

    >>> require("json", "frames").dumps(1)
    '1'
    """
    feature = "the batch on Dask" if extra == "dask" else "the batch over frames"
    return _extras.require(module, extra, feature=feature)


# -- the rules, once per process ---------------------------------------------------------------
_LOADED: dict[tuple[str, str], Any] = {}
_HASHED: dict[tuple[int, int], tuple[Clinic, Mapping[str, Payer], str]] = {}


def _files_digest(path: Path) -> str:
    """sha256 over a file's bytes, or over every file of a folder (names and bytes)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        h.update(f"{file.relative_to(path) if path.is_dir() else file.name}\n".encode())
        h.update(file.read_bytes())
    return h.hexdigest()


def _cached(kind: str, path: Path, load: Any) -> Any:
    # The files are hashed again on every call (once per partition): reading a payer folder's
    # bytes costs milliseconds beside a partition's estimates, and an mtime can miss an edit.
    key = (kind, f"{path.resolve()}\n{_files_digest(path)}")
    if key not in _LOADED:
        if len(_LOADED) > 16:  # a long-lived worker that saw many edits keeps the recent ones
            _LOADED.clear()
        _LOADED[key] = load(path)
    return _LOADED[key]


def frame_rules(
    clinic: ClinicSource, payers: PayersSource
) -> tuple[Clinic, Mapping[str, Payer], str]:
    """The clinic, payer library and rules hash for ``clinic`` and ``payers``.

    Objects are used as given; paths (``None``: the example clinic, the default payers) are
    loaded once per process and kept while their files' bytes are unchanged. A plain dict of
    payers has no savings programs or fee schedules to hash: its hash differs from the same
    folder's (give the folder, or the :func:`ketacost.load_payers` library).
    """
    from ._engine import rules_hash
    from ._library import load_payers
    from ._loader import load_clinic
    from ._paths import resolve_payer_dir
    from .batch import default_clinic_path

    if not isinstance(clinic, Clinic):
        clinic = _cached("clinic", Path(clinic or default_clinic_path()), load_clinic)
    if not isinstance(payers, Mapping):
        folder = resolve_payer_dir(payers)[0]
        payers = _cached("payers", Path(folder), load_payers)
    assert isinstance(clinic, Clinic) and isinstance(payers, Mapping)
    key = (id(clinic), id(payers))
    hit = _HASHED.get(key)
    if hit is None or hit[0] is not clinic or hit[1] is not payers:
        programs = list(getattr(payers, "programs", {}).values())
        schedules = list(getattr(payers, "fee_schedules", {}).values())
        digest = versioned_hash(rules_hash(list(payers.values()), clinic, programs, schedules))
        if len(_HASHED) > 16:
            _HASHED.clear()
        hit = _HASHED[key] = (clinic, payers, digest)
    return hit


def versioned_hash(rules: str) -> str:
    """The frame's ``rules_hash``: sha256 of ``ketacost VERSION`` and the rule set's hash.

    Two workers with the same rule files but another ketacost version give another hash.
    """
    from ._version import __version__

    return hashlib.sha256(f"ketacost {__version__}\n{rules}".encode()).hexdigest()


# -- cells -------------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, Decimal):
        return value.is_nan()
    return isinstance(value, float) and math.isnan(value)


def _float_message(column: str, value: Any) -> str:
    if column in _AMOUNT_CELLS:
        return f"a float ({value!r}) is not an exact amount; give text ('12.50') or a Decimal"
    if column in _WHOLE_CELLS:
        return f"a float ({value!r}) is not a whole number; give an integer or text"
    return f"a float ({value!r}) is not text; give the column as text"


def _text(value: Any) -> str | None:
    """A frame cell as the batch CSV's text (see the module docstring); ``None``: a float."""
    if isinstance(value, str):
        return value
    if _missing(value):
        return ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"  # the yes/no columns' words (qmb)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value, "f")  # 5E+2 is 500
    if isinstance(value, numbers.Real):
        return None
    if isinstance(value, datetime):  # a pandas Timestamp too: a date at midnight
        return _midnight(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _midnight(value: datetime) -> str:
    """A naive datetime at midnight as its date; any other datetime as text the row refuses."""
    if value.tzinfo is None and value == datetime.combine(value.date(), datetime.min.time()):
        return value.date().isoformat()
    return f"{value.isoformat()} (a time of day or zone; give a date)"


def _row_of(columns: list[str], values: Iterable[Any]) -> tuple[dict[str, str | None], str]:
    """A batch row of a frame's cells, and the error of its first refused cell (or "")."""
    row: dict[str, str | None] = {}
    refused = ""
    for column, value in zip(columns, values, strict=True):
        text = _text(value)
        if text is None:
            refused = refused or f"{column}: {_float_message(column, value)}"
        row[column] = text or ""
    return row, refused


def checked_columns(columns: Iterable[object], name: str = "<frame>") -> list[str]:
    """The input columns of a frame, checked as the batch CSV's header is.

    Raises:
        BatchInputError: a column is unknown, repeated, or a required one is missing.
    """
    names = [str(c) for c in columns]
    _checked_header([c for c in names if c not in (LINE, EXTRA)], name, 0)
    return names


def estimated_rows(
    columns: list[str],
    records: Iterable[Iterable[Any]],
    clinic: Clinic,
    payers: Mapping[str, Payer],
    digest: str,
    issued: date | None,
) -> Iterator[dict[str, str]]:
    """Output rows (with ``rules_hash``) of cell tuples in ``columns``' order."""
    from .batch import error_row, estimate_row

    for values in records:
        row, refused = _row_of(columns, values)
        out = (
            error_row(row, refused) if refused else estimate_row(row, clinic, payers, issued=issued)
        )
        out["rules_hash"] = digest
        yield out


# -- pandas ------------------------------------------------------------------------------------
def estimate_frame(
    frame: Any,
    *,
    clinic: ClinicSource = None,
    payers: PayersSource = None,
    issued: date | None = None,
) -> Any:
    """Estimate every row of a pandas DataFrame with the batch CSV's input columns.

    Args:
        frame: a ``pandas.DataFrame``; its columns are batch input columns (any order).
        clinic: a clinic, or its file; default: the example clinic.
        payers: a payer library, or its folder; default: the bundled payers.
        issued: the estimates' issue date.

    Returns:
        A DataFrame with :data:`FRAME_COLUMNS` (text: amounts as exact decimal strings, an
        empty cell for none), one row per input row, in order, with the input's index.

    Raises:
        BatchInputError: a column is unknown or repeated, or a required one is missing.
        MissingExtraError: pandas is not installed.

    Example:
        >>> import pandas as pd
        >>> out = estimate_frame(pd.DataFrame({"row_id": ["a"], "payer": ["self-pay"],
        ...     "plan": ["iv-induction"], "age": [38], "start": ["2026-03-02"]}))
        >>> out.loc[0, "visits"], out.loc[0, "error"]
        ('6', '')
    """
    pd = require("pandas", "frames")
    columns = checked_columns(frame.columns)
    the_clinic, library, digest = frame_rules(clinic, payers)
    rows = estimated_rows(
        columns, frame.itertuples(index=False, name=None), the_clinic, library, digest, issued
    )
    return pd.DataFrame(
        [[out[c] for c in FRAME_COLUMNS] for out in rows],
        columns=list(FRAME_COLUMNS),
        index=frame.index,
        dtype=object,
    )


def frame_meta() -> Any:
    """An empty DataFrame shaped as :func:`estimate_frame`'s output, for Dask's ``meta=``.

    Every column is text (``object``).
    """
    pd = require("pandas", "frames")
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in FRAME_COLUMNS})


# -- Arrow -------------------------------------------------------------------------------------
def arrow_schema() -> Any:
    """The Arrow schema of :func:`estimate_batches`' output.

    Amounts are ``decimal128(12, 2)``, ``visits`` ``int32``, first and last visit ``date32``,
    everything else text; an empty cell is null, but for ``row_id``, ``error`` and
    ``rules_hash``, which are ``""`` when empty.
    """
    pa = require("pyarrow", "frames")

    def kind(column: str) -> Any:
        if column in _MONEY:
            return pa.decimal128(12, 2)
        if column == "visits":
            return pa.int32()
        if column in ("first_visit", "last_visit"):
            return pa.date32()
        return pa.string()

    return pa.schema([pa.field(c, kind(c)) for c in FRAME_COLUMNS])


def _typed(column: str, text: str) -> Any:
    if column in ("error", "rules_hash", "row_id"):
        return text
    if not text:
        return None
    if column in _MONEY:
        return Decimal(text)  # exact: the engine's own amount, two places
    if column == "visits":
        return int(text)
    if column in ("first_visit", "last_visit"):
        return date.fromisoformat(text)
    return text


def output_batch(rows: Iterable[Mapping[str, str]]) -> Any:
    """Output rows (text cells) as one Arrow ``RecordBatch`` of :func:`arrow_schema`."""
    pa = require("pyarrow", "frames")
    schema = arrow_schema()
    listed = list(rows)
    arrays = [
        pa.array([_typed(c, r[c]) for r in listed], type=schema.field(c).type)
        for c in FRAME_COLUMNS
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def estimate_batches(
    batches: Iterable[Any],
    *,
    clinic: ClinicSource = None,
    payers: PayersSource = None,
    issued: date | None = None,
) -> Iterator[Any]:
    """Estimate the rows of Arrow record batches; one output batch per input batch.

    Cells are read as :func:`estimate_frame` reads them (an Arrow decimal is exact; a float
    column is refused, row by row). The output has :func:`arrow_schema`: amounts as
    ``decimal128(12, 2)`` built from the engine's ``Decimal`` amounts, never through float.

    Raises:
        BatchInputError: a batch's columns are unknown or repeated, or a required one is
            missing.
        MissingExtraError: pyarrow is not installed.
    """
    require("pyarrow", "frames")
    the_clinic, library, digest = frame_rules(clinic, payers)
    for batch in batches:
        columns = checked_columns(batch.schema.names, "<record batch>")
        cells = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        rows = estimated_rows(
            columns, zip(*cells, strict=True), the_clinic, library, digest, issued
        )
        yield output_batch(rows)
