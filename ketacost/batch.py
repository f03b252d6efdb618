"""Batch estimates: one CSV row per patient and plan in, one row of totals out.

    ketacost batch patients.csv estimates.csv [--jobs N] [--clinic FILE] [--payers DIR]

or, from Python, :func:`run_batch` (rows as dicts) and :func:`run_batch_csv` (files).

Input columns (a header row names them, in any order; lines starting with ``#`` are comments;
an empty cell takes the default):

==================== ============== ==============================================================
column               default        meaning
==================== ============== ==============================================================
row_id               (required)     your id for the row, copied to the output
payer                (required)     payer id (``ketacost payers list``), ``self-pay`` for none
network              ``in``         ``in`` or ``out`` of network
tier                 individual     ``individual`` or ``family`` coverage
prior_authorization  not_requested  ``approved``, ``denied``, ``pending``, ``not_requested``
savings_program                     a manufacturer savings program id (``spravato-withme``)
secondary_payer                     a second payer that pays after ``payer`` (coordination of
                                    benefits): ``medigap-plan-g``, ``medicaid``,
                                    ``tricare-for-life``, ...; empty: none
qmb                  no             ``yes`` or ``no``: the patient is a Qualified Medicare
                                    Beneficiary (with ``secondary_payer`` Medicaid after Medicare)
age                                 age in years (give ``age`` or ``birth_date``)
birth_date                          YYYY-MM-DD
diagnoses                           ICD-10-CM codes, separated by spaces or ``;`` (``F33.2``)
failed_trials        0              failed antidepressant trials in this episode
plan                                a plan template (:data:`PLAN_TEMPLATES`: ``iv-year``,
                                    ``esketamine-year``, ...); empty: one phase from the
                                    ``session``/``sessions``/``every_*`` columns
session                             the clinic's session template; with ``plan``, it replaces
                                    every phase's session (e.g. ``esketamine-84``)
sessions             1              number of sessions (no ``plan``)
every_days                          days between sessions (no ``plan``)
every_weeks                         weeks between sessions (no ``plan``)
start                (required)     first session, YYYY-MM-DD
closed_weekdays                     days the clinic is closed: ``sat sun``
deductible_met       0.00           deductible already met this plan year, as of ``start``
out_of_pocket_met    0.00           out-of-pocket already met this plan year, as of ``start``
==================== ============== ==============================================================

Whole numbers (``age``, ``failed_trials``, ``sessions``, ``every_days``, ``every_weeks``) are
the digits 0-9, at most six of them; amounts (``deductible_met``, ``out_of_pocket_met``) are
checked by the request's money rules, as everywhere else.

Output columns, one row per input row and in input order: ``row_id``, ``payer``, ``network``,
``plan``, ``session``, ``start``, ``visits``, ``first_visit``, ``last_visit``, every total of
the estimate (``charge``, ``allowed``, ``copay``, ``deductible``, ``coinsurance``,
``balance_bill``, ``non_covered``, ``patient``, ``plan_paid`` (the estimate's ``payer`` total),
``write_off``, ``self_pay_discount``, ``assistance``, ``reimbursement``, ``patient_net``,
``secondary`` (what the second payer pays)) as dollars with two places, and ``error``.

Guarantees:

* **A bad row is an error row, never the end of the batch.** Its ``error`` cell names the
  input's line (the physical line in the file, counting comments and the header; a quoted cell
  that spans lines starts at its first) and the column: ``line 7: every_days: must be at least
  1 (got 0)``; its amounts are empty. What the estimate finds wrong with the dates (a plan
  running past 9999-12-31, a payer or clinic value not in force yet) is named under ``start``,
  the column all of a row's dates come from. Even a failure nobody foresaw becomes an error
  row (``internal error (...)``).
* **The output is replaced whole or not at all.** Rows go to a temporary file beside the file
  the output names (a symlink is followed, and still points at the new output), which is
  flushed to disk and renamed over that file only when every row is written. An interrupted
  run (Ctrl-C, a crash, a dead worker) leaves the previous output as it was and no temporary
  file behind. An output that exists and is not a regular file (``/dev/stdout``, a FIFO, a
  device, a folder) is refused before anything is written.
* **One batch per output.** A run holds ``OUTPUT.lock`` (holding its process id) while it
  works; a second run to the same output is refused. A lock left by a process that no longer
  runs is taken over, by one run only (runs that find it at once take turns through
  ``OUTPUT.lock.takeover``). The input is never the output (refused, whatever the path's
  spelling).
* **The input is read once**, as the rows are estimated: a pipe (``/dev/stdin``) works.
* **A dead worker process is an error** (:class:`BatchWorkerError`), never a hang.
* **Workers are bounded**: at most ``jobs``, 4 per core (61 on Windows), and one per chunk
  (:func:`worker_limit`).
* The results are in input order and do not depend on ``jobs``; rows are read, estimated and
  written a few chunks at a time, so memory does not grow with the input.

Frames and clusters (``pip install 'ketacost[frames]'``, ``'ketacost[dask]'``):
:func:`estimate_frame` (a pandas DataFrame of these input columns) and :func:`estimate_batches`
(Arrow record batches) give these output columns and ``rules_hash`` (:data:`FRAME_COLUMNS`) by
this module's row code: the same rows, the same output rows (amounts as exact text, or Arrow
``decimal128(12, 2)``). ``ketacost batch --engine dask --scheduler ADDRESS`` runs them on a
Dask cluster; on one of your own, from Python (rule files at paths every worker reads)::

    import dask.dataframe as dd
    import pyarrow as pa
    from distributed import Client
    from ketacost.batch import FRAME_COLUMNS, estimate_frame, frame_meta

    client = Client("tcp://scheduler:8786")
    patients = dd.read_parquet("/shared/patients/", dtype_backend="pyarrow")
    estimates = patients.map_partitions(
        estimate_frame,
        clinic="/shared/clinic.yaml",  # None: the example clinic
        payers="/shared/payers",  # None: the payers installed with ketacost
        meta=frame_meta(),  # every output column is text (object)
    )
    text = pa.schema([(c, pa.string()) for c in FRAME_COLUMNS])  # (object has no Arrow type)
    estimates.to_parquet("/shared/estimates/", schema=text, write_index=False)

A pandas float cell is refused (its row's error names the column): read CSV as text.

``ketacost batch`` exits 0 when every row was estimated, 1 when some rows failed (``3 of 15
rows failed; see the error column of OUTPUT``) or a worker died, 2 on a user error (an
unreadable input, a bad header, input and output the same file, an output that is not a
regular file, a locked output), and 130 when interrupted.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ._batch_files import (
    EXTRA,
    INPUT_COLUMNS,
    LINE,
    OUTPUT_COLUMNS,
    REQUIRED_COLUMNS,
    TOTAL_COLUMNS,
    BatchInputError,
    BatchOutputError,
    check_output_path,
    count_rows,
    input_rows,
    output_lock,
    parse_rows,
    read_rows,
    replacing,
    shown,
    write_csv,
    write_rows,
)
from ._clinic import Clinic
from ._dated import NoValueInForceError
from ._engine import adjudicate_totals
from ._errors import (
    EstimateError,
    KetacostError,
    MissingFileError,
    RequestFileError,
    UnknownPayerError,
)
from ._estimate import Totals
from ._frames import FRAME_COLUMNS, estimate_batches, estimate_frame, frame_meta
from ._library import default_payers, load_payers
from ._loader import load_clinic, request_from_data
from ._payer import Payer

__all__ = [
    "FRAME_COLUMNS",
    "INPUT_COLUMNS",
    "OUTPUT_COLUMNS",
    "PLAN_TEMPLATES",
    "BatchInputError",
    "BatchOutputError",
    "BatchSummary",
    "BatchWorkerError",
    "check_output_path",
    "count_rows",
    "default_clinic_path",
    "error_row",
    "estimate_batches",
    "estimate_frame",
    "estimate_row",
    "frame_meta",
    "iter_batch",
    "parse_rows",
    "read_rows",
    "resolve_inputs",
    "run_batch",
    "run_batch_csv",
    "worker_limit",
    "write_rows",
]

Row = Mapping[str, str | None]

#: The plan templates, by name. Each is its phases as a request file writes them, using the
#: session names of the example clinic (``examples/clinics/example-clinic.yaml``); the
#: ``session`` column replaces them for a clinic with other names.
PLAN_TEMPLATES: Mapping[str, tuple[Mapping[str, Any], ...]] = {
    # 6 infusions about every other day, then boosters every 4 weeks: 18 visits in a year.
    "iv-year": (
        {"name": "induction", "session": "iv-infusion", "sessions": 6, "every_days": 2},
        {
            "name": "boosters",
            "session": "iv-infusion",
            "sessions": 12,
            "every_weeks": 4,
            "start_after_weeks": 2,
        },
    ),
    "iv-induction": (
        {"name": "induction", "session": "iv-infusion", "sessions": 6, "every_days": 2},
    ),
    # Esketamine label schedule: twice weekly 4 weeks, weekly 4 weeks, then every 2 weeks.
    "esketamine-year": (
        {"name": "induction", "session": "esketamine-56", "per_week": 2, "weeks": 4},
        {"name": "optimisation", "session": "esketamine-84", "per_week": 1, "weeks": 4},
        {"name": "maintenance", "session": "esketamine-84", "sessions": 22, "every_weeks": 2},
    ),
    "esketamine-induction": (
        {"name": "induction", "session": "esketamine-56", "per_week": 2, "weeks": 4},
    ),
    "kap-series": ({"name": "series", "session": "kap-session", "sessions": 6, "every_weeks": 1},),
    "at-home-year": (
        {"name": "program", "session": "at-home-month", "sessions": 12, "every_days": 30},
    ),
}

_CODES = re.compile(r"[\s;,]+")
#: A whole number cell: ASCII digits only (``str.isdigit`` and ``\d`` also accept Arabic-Indic
#: and full-width digits), and few enough that ``int()`` is instant.
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 6
#: A date cell: exactly YYYY-MM-DD in ASCII digits (``date.fromisoformat`` also takes
#: ``20260105`` and ``2026-W02-1``, which the output's ``start`` would then copy).
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MAX_ERROR = 300  # characters of an error cell
#: A ``qmb`` cell: yes or no (and their usual spellings); empty is no.
_YES_NO = {"yes": True, "y": True, "true": True, "1": True,
           "no": False, "n": False, "false": False, "0": False}  # fmt: skip


class BatchWorkerError(KetacostError, RuntimeError):
    """A worker process died (killed, out of memory); the batch was stopped."""


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """What :func:`run_batch_csv` did."""

    rows: int
    errors: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        """Rows per second over the run."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")


def default_clinic_path() -> Path:
    """The example clinic: the copy inside the wheel, else the source tree's.

    Raises:
        MissingFileError: neither copy is there (also a ``FileNotFoundError``).
    """
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "_clinics" / "example-clinic.yaml",
        here.parent / "examples" / "clinics" / "example-clinic.yaml",
    ):
        if candidate.is_file():
            return candidate
    raise MissingFileError("no clinic file found: pass one (--clinic FILE)")


# -- one row --------------------------------------------------------------------------------
def _cell(row: Row, column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value).strip()


def _int(row: Row, column: str) -> int | None:
    text = _cell(row, column)
    if not text:
        return None
    if _DIGITS.fullmatch(text) is None:
        raise _RowError(column, f"must be a whole number (got {shown(text)})")
    if len(text) > _MAX_DIGITS:
        raise _RowError(
            column, f"must be a whole number of at most {_MAX_DIGITS} digits (got {shown(text)})"
        )
    return int(text)


def _date(row: Row, column: str) -> str | None:
    text = _cell(row, column)
    if not text:
        return None
    try:
        if _ISO_DATE.fullmatch(text) is None:
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _RowError(column, f"must be a date YYYY-MM-DD (got {shown(text)})") from None


def _yes_no(row: Row, column: str) -> bool:
    text = _cell(row, column)
    if not text:
        return False
    value = _YES_NO.get(text.lower())
    if value is None:
        raise _RowError(column, f"must be yes or no (got {shown(text)})")
    return value


def _secondary(row: Row) -> dict[str, Any] | None:
    """The second payer's coverage from ``secondary_payer`` and ``qmb``, or ``None``."""
    qmb = _yes_no(row, "qmb")
    payer = _cell(row, "secondary_payer")
    if not payer:
        if qmb:
            raise _RowError(
                "qmb", "needs a secondary_payer (the Medicaid that pays after Medicare)"
            )
        return None
    return {"payer": payer, **({"qmb": True} if qmb else {})}


def _phases(row: Row) -> list[dict[str, Any]]:
    session = _cell(row, "session")
    plan = _cell(row, "plan")
    if plan:
        template = PLAN_TEMPLATES.get(plan)
        if template is None:
            raise _RowError(
                "plan",
                f"unknown plan template {shown(plan)} (known: {', '.join(PLAN_TEMPLATES)})",
            )
        phases = [dict(p) for p in template]
        if session:
            for p in phases:
                p["session"] = session
        return phases
    if not session:
        raise _RowError("session", "give a session template, or a plan template in 'plan'")
    sessions = _int(row, "sessions")
    phase: dict[str, Any] = {"session": session, "sessions": 1 if sessions is None else sessions}
    for column in ("every_days", "every_weeks"):
        value = _int(row, column)
        if value is not None:
            phase[column] = value
    return [phase]


def _request_data(row: Row, clinic: Clinic) -> dict[str, Any]:
    if extra := row.get(EXTRA):
        raise _RowError("row", extra)
    for column in REQUIRED_COLUMNS:
        if not _cell(row, column):
            raise _RowError(column, "missing (a required column)")
    failed_trials = _int(row, "failed_trials")
    patient: dict[str, Any] = {
        "diagnoses": [c for c in _CODES.split(_cell(row, "diagnoses")) if c],
        "failed_trials": 0 if failed_trials is None else failed_trials,
    }
    age = _int(row, "age")
    if age is not None:
        patient["age"] = age
    birth = _date(row, "birth_date")
    if birth is not None:
        patient["birth_date"] = birth
    start = _date(row, "start")
    coverage: dict[str, Any] = {"payer": _cell(row, "payer")}
    for column in ("network", "tier", "prior_authorization", "savings_program"):
        if value := _cell(row, column):
            coverage[column] = value
    second = _secondary(row)
    if second is not None:
        coverage["secondary"] = second
    # Amounts go to the request as text: the request's money rules decide what they may be.
    deductible, oop = _cell(row, "deductible_met"), _cell(row, "out_of_pocket_met")
    if deductible or oop:
        coverage["accumulators"] = {
            "as_of": start,
            "deductible_met": {"individual": deductible or "0"},
            "out_of_pocket_met": {"individual": oop or "0"},
        }
    plan: dict[str, Any] = {"start": start, "phases": _phases(row)}
    if closed := _cell(row, "closed_weekdays"):
        plan["closed_weekdays"] = [d.lower() for d in _CODES.split(closed) if d]
    return {"patient": patient, "coverage": coverage, "clinic": clinic, "plan": plan}


#: Request fields named by their batch column, for error messages.
_FIELD_COLUMNS = (
    ("patient.birth_date", "birth_date"),
    ("patient.age", "age"),
    ("patient.diagnoses", "diagnoses"),
    ("patient.failed_trials", "failed_trials"),
    ("patient", "age"),
    ("coverage.accumulators.deductible_met", "deductible_met"),
    ("coverage.accumulators.out_of_pocket_met", "out_of_pocket_met"),
    ("coverage.accumulators.as_of", "start"),
    ("coverage.payer", "payer"),
    ("coverage.network", "network"),
    ("coverage.tier", "tier"),
    ("coverage.prior_authorization", "prior_authorization"),
    ("coverage.savings_program", "savings_program"),
    ("coverage.secondary.qmb", "qmb"),
    ("coverage.secondary", "secondary_payer"),
    ("plan.start", "start"),
    ("plan.closed_weekdays", "closed_weekdays"),
)
#: ``plan.phases[0].every_days`` and the like; the phase's own fields are batch columns.
_PHASE_FIELD = re.compile(r"plan\.phases(?:\[\d+\])?(?:\.(\w+))?")
_PHASE_COLUMNS = ("session", "sessions", "every_days", "every_weeks")


def _column(field: str, templated: bool) -> str:
    """The batch column a request field comes from (``templated``: the row names a plan)."""
    if phase := _PHASE_FIELD.match(field):
        name = phase.group(1)
        if name == "session" or (not templated and name in _PHASE_COLUMNS):
            return name
        # A template's own numbers, or the phase as a whole: without a template that is
        # its spacing ("give exactly one of 'every_days' and 'every_weeks'").
        return "plan" if templated else "every_days"
    for prefix, column in _FIELD_COLUMNS:
        if field == prefix or field.startswith((prefix + ".", prefix + "[")):
            return column
    return field


#: The estimate's own errors about the dates its visits fall on: a plan running past
#: 9999-12-31 (``_plan.schedule``), and a rule value not in force on a visit's date, which the
#: engine raises from a :class:`NoValueInForceError` (``payers/...yaml`` or the clinic file may
#: start later than the plan). The row's dates all come from its ``start``.
_DATE_ERROR = re.compile(r"(phase \d+ runs past \d{4}-\d{2}-\d{2}|.*\bno value in force on )")


def _about_the_dates(exc: Exception) -> bool:
    if isinstance(exc, NoValueInForceError):
        return True
    if not isinstance(exc, EstimateError):
        return False
    return isinstance(exc.__context__, NoValueInForceError) or bool(_DATE_ERROR.match(str(exc)))


#: A message about the second payer, as the request and the engine word it, and its column.
_SECOND_PAYER_MESSAGE = re.compile(r"secondary(\.payer|\.qmb)?: ")


def _second_payer_text(text: str) -> str:
    """``secondary.qmb: ...`` as ``qmb: ...``; ``secondary[.payer]: ...`` as ``secondary_payer``."""
    found = _SECOND_PAYER_MESSAGE.match(text)
    if found is None:
        return text
    column = "qmb" if found.group(1) == ".qmb" else "secondary_payer"
    return f"{column}: {text[found.end() :]}"


def _error_text(exc: Exception, row: Row) -> str:
    """What an error row says (without its line)."""
    if isinstance(exc, _RowError):
        return str(exc)
    if isinstance(exc, RequestFileError):
        issue, more = exc.issues[0], len(exc.issues) - 1
        if issue.field == "coverage" and _SECOND_PAYER_MESSAGE.match(issue.message):
            text = _second_payer_text(issue.message)  # the coverage's own check of the pair
        else:
            column = _column(issue.field, bool(_cell(row, "plan")))
            text = f"{column}: {issue.message}" if column else issue.message
        return text + (f" (and {more} more)" if more else "")
    if isinstance(exc, UnknownPayerError) and exc.payer_id == _cell(row, "secondary_payer"):
        return f"secondary_payer: unknown payer {exc.payer_id!r} (known: {', '.join(exc.known)})"
    if _about_the_dates(exc):
        return f"start: {exc}"
    if isinstance(exc, KetacostError):
        return _second_payer_text(str(exc))
    # Not foreseen (an arithmetic overflow, a bug): still this row's error, never the batch's.
    return f"internal error ({type(exc).__name__}) estimating this row; please report it"


def _money_cells(totals: Totals | None) -> dict[str, str]:
    if totals is None:
        return {out: "" for out, _ in TOTAL_COLUMNS}
    return {out: str(getattr(totals, name)) for out, name in TOTAL_COLUMNS}


def _estimated_cells(
    row: Row, clinic: Clinic, payers: Mapping[str, Payer], issued: date | None
) -> dict[str, str]:
    data = _request_data(row, clinic)
    if issued is not None:
        data["issued"] = issued
    request = request_from_data(data, payers=payers, source=f"row {_cell(row, 'row_id')}")
    # A row keeps only totals: the engine's totals-only path builds no result line or text
    # (the same figures to the cent: a property holds the two paths together).
    result = adjudicate_totals(request, payers)
    first, last = result.first_visit, result.last_visit
    return {
        "visits": str(result.visits),
        "first_visit": first.isoformat() if first else "",
        "last_visit": last.isoformat() if last else "",
        **_money_cells(result.totals),
        "error": "",
    }


def estimate_row(
    row: Row,
    clinic: Clinic,
    payers: Mapping[str, Payer],
    *,
    issued: date | None = None,
) -> dict[str, str]:
    """Estimate one batch row; a bad row gives an output row with its ``error`` filled in.

    Never raises (but for ``KeyboardInterrupt`` and the like): whatever goes wrong with the
    row is its ``error``, prefixed with its input line when it has one (``line 7: ...``).
    """
    try:
        return {**_echoed_cells(row), **_estimated_cells(row, clinic, payers, issued)}
    except Exception as exc:  # one row's failure, whatever it is, is that row's error
        return error_row(row, _error_text(exc, row))


def _echoed_cells(row: Row) -> dict[str, str]:
    """The input cells an output row repeats."""
    return {
        "row_id": _cell(row, "row_id"),
        "payer": _cell(row, "payer"),
        "network": _cell(row, "network") or "in",
        "plan": _cell(row, "plan"),
        "session": _cell(row, "session"),
        "start": _cell(row, "start"),
    }


def error_row(row: Row, text: str) -> dict[str, str]:
    """The output row of a bad input row: its ``error`` is ``text`` (``column: what``).

    The text is prefixed with the row's input line when it has one (``line 7: ...``) and cut
    to 300 characters; the amounts are empty.
    """
    if line := _cell(row, LINE):
        text = f"line {line}: {text}"
    if len(text) > _MAX_ERROR:
        text = text[: _MAX_ERROR - 3] + "..."
    empty = {"visits": "", "first_visit": "", "last_visit": "", **_money_cells(None)}
    return {**_echoed_cells(row), **empty, "error": text}


# -- many rows, many cores ---------------------------------------------------------------
_Context = tuple[Clinic, Mapping[str, Payer], date | None]
_WORKER: _Context | None = None


def _init_worker(clinic: Clinic, payers: Mapping[str, Payer], issued: date | None) -> None:
    global _WORKER
    _WORKER = (clinic, payers, issued)
    # Ctrl-C reaches the whole process group: the parent stops the batch and the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(chunk: list[Row]) -> list[dict[str, str]]:
    assert _WORKER is not None, "worker not initialised"
    clinic, payers, issued = _WORKER
    return [estimate_row(row, clinic, payers, issued=issued) for row in chunk]


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def resolve_inputs(
    clinic: Clinic | str | os.PathLike[str] | None,
    payers: Mapping[str, Payer] | str | os.PathLike[str] | None,
) -> tuple[Clinic, Mapping[str, Payer]]:
    """The clinic and payer library to use: given objects, or loaded from the files named.

    By default, the example clinic and the bundled payers.
    """
    if not isinstance(clinic, Clinic):
        clinic = load_clinic(default_clinic_path() if clinic is None else clinic)
    if payers is None:
        payers = default_payers()
    elif not isinstance(payers, Mapping):
        payers = load_payers(payers)
    return clinic, payers


def _pool_chunks(
    chunks: Iterable[list[Row]], context: _Context, jobs: int
) -> Iterator[list[dict[str, str]]]:
    """Chunks estimated by ``jobs`` worker processes, in input order, a few in flight."""
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=get_context(), initializer=_init_worker, initargs=context
    )
    pending: deque[Future[list[dict[str, str]]]] = deque()
    try:
        for chunk in chunks:
            pending.append(pool.submit(_run_chunk, chunk))
            if len(pending) >= 2 * jobs:  # bounded: memory stays flat however long the input
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        raise BatchWorkerError(
            "a batch worker process died (killed, or out of memory?); the batch was stopped"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: ``ProcessPoolExecutor`` refuses more workers than this on Windows.
_WINDOWS_MAX_WORKERS = 61


def worker_limit(jobs: int) -> int:
    """The most worker processes a batch starts for ``jobs``.

    At most 4 per core (estimating is CPU work; more only costs memory and start-up), and 61
    on Windows. A batch also never starts more workers than it has chunks.

    >>> worker_limit(1)
    1
    """
    limit = 4 * (os.cpu_count() or 1)
    if os.name == "nt":
        limit = min(limit, _WINDOWS_MAX_WORKERS)
    return max(1, min(jobs, limit))


def _estimated_chunks(
    rows: Iterable[Row], context: _Context, jobs: int, chunk_size: int
) -> Iterator[list[dict[str, str]]]:
    chunks = _chunks(rows, max(1, chunk_size))
    workers = worker_limit(jobs)
    # Up to one chunk per worker is read before any starts, so a short input starts only as
    # many workers as it has chunks (memory: ``workers`` chunks, as in flight anyway).
    ahead = list(itertools.islice(chunks, workers))
    everything = itertools.chain(ahead, chunks)
    if workers > 1 and len(ahead) > 1:
        yield from _pool_chunks(everything, context, min(workers, len(ahead)))
        return
    clinic, payers, issued = context  # one chunk, or one job: no processes to start
    for chunk in everything:
        yield [estimate_row(row, clinic, payers, issued=issued) for row in chunk]


def iter_batch(
    rows: Iterable[Row],
    *,
    clinic: Clinic | str | os.PathLike[str] | None = None,
    payers: Mapping[str, Payer] | str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    chunk_size: int = 200,
    issued: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> Generator[dict[str, str], None, None]:
    """Estimate rows as they come, yielding output rows in input order (see :func:`run_batch`).

    Rows are taken from ``rows`` a few chunks ahead of the output, so a long input never sits
    in memory whole. Close the iterator (``contextlib.closing``) when stopping early: that
    stops the worker processes.

    Raises:
        BatchWorkerError: a worker process died.
    """
    the_clinic, library = resolve_inputs(clinic, payers)
    jobs = jobs or os.cpu_count() or 1
    for done in _estimated_chunks(rows, (the_clinic, library, issued), jobs, chunk_size):
        if progress:
            progress(len(done))
        yield from done


def run_batch(
    rows: Iterable[Row],
    *,
    clinic: Clinic | str | os.PathLike[str] | None = None,
    payers: Mapping[str, Payer] | str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    chunk_size: int = 200,
    issued: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, str]]:
    """Estimate every row (see the module docstring for the columns); output in input order.

    Args:
        rows: dicts of column → text, as :func:`parse_rows` gives them.
        clinic: a clinic, or its file; default: the example clinic.
        payers: a payer library, or its folder; default: the bundled payers.
        jobs: worker processes; default: every core. ``1`` runs in this process. Capped by
            :func:`worker_limit` (4 per core, 61 on Windows) and by the number of chunks.
        chunk_size: rows sent to a worker at a time.
        issued: the estimates' issue date (none by default: the engine reads no clock).
        progress: called with the number of rows just finished, after each chunk.

    Raises:
        BatchWorkerError: a worker process died.
    """
    the_clinic, library = resolve_inputs(clinic, payers)
    results = iter_batch(
        rows,
        clinic=the_clinic,
        payers=library,
        jobs=jobs,
        chunk_size=chunk_size,
        issued=issued,
        progress=progress,
    )
    with contextlib.closing(results):
        return list(results)


# -- files ---------------------------------------------------------------------------------
def run_batch_csv(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    clinic: Clinic | str | os.PathLike[str] | None = None,
    payers: Mapping[str, Payer] | str | os.PathLike[str] | None = None,
    **options: Any,
) -> BatchSummary:
    """Read a batch CSV, estimate every row (:func:`iter_batch` options), write the output CSV.

    The output is replaced only when complete, under its lock file (see the module docstring).

    Raises:
        BatchInputError: the input cannot be read or has a bad header.
        BatchOutputError: the output is the input or not a regular file, or another batch is
            writing it.
        BatchWorkerError: a worker process died (the output is left as it was).
    """
    check_output_path(input_path, output_path)
    the_clinic, library = resolve_inputs(clinic, payers)
    began = time.perf_counter()
    with (
        output_lock(output_path),
        input_rows(input_path) as rows,
        replacing(output_path) as f,
        contextlib.closing(iter_batch(rows, clinic=the_clinic, payers=library, **options)) as out,
    ):
        written, errors = write_csv(f, out)
    return BatchSummary(rows=written, errors=errors, seconds=time.perf_counter() - began)
