"""Batch estimates: one CSV row per patient and plan in, one row of totals out.

    ketacost batch patients.csv estimates.csv [--jobs N] [--clinic FILE] [--payers DIR]

or, from Python, :func:`run_batch` (rows as dicts) and :func:`run_batch_csv` (files).

Input columns (a header row names them, in any order; lines starting with ``#`` are comments;
an empty cell takes the default):

==================== ========== ==============================================================
column               default    meaning
==================== ========== ==============================================================
row_id               (required) your id for the row, copied to the output
payer                (required) payer id (``ketacost payers list``), ``self-pay`` for none
network              ``in``     ``in`` or ``out`` of network
tier                 individual ``individual`` or ``family`` coverage
prior_authorization  not_requested  ``approved``, ``denied``, ``pending``, ``not_requested``
savings_program                 a manufacturer savings program id (``spravato-withme``)
age                             age in years (give ``age`` or ``birth_date``)
birth_date                      YYYY-MM-DD
diagnoses                       ICD-10-CM codes, separated by spaces or ``;`` (``F33.2``)
failed_trials        0          failed antidepressant trials in this episode
plan                            a plan template (:data:`PLAN_TEMPLATES`: ``iv-year``,
                                ``esketamine-year``, ...); empty: one phase from the
                                ``session``/``sessions``/``every_*`` columns
session                         the clinic's session template; with ``plan``, it replaces
                                every phase's session (e.g. ``esketamine-84``)
sessions             1          number of sessions (no ``plan``)
every_days                      days between sessions (no ``plan``)
every_weeks                     weeks between sessions (no ``plan``)
start                (required) first session, YYYY-MM-DD
closed_weekdays                 days the clinic is closed: ``sat sun``
deductible_met       0.00       deductible already met this plan year, as of ``start``
out_of_pocket_met    0.00       out-of-pocket already met this plan year, as of ``start``
==================== ========== ==============================================================

Whole numbers (``age``, ``failed_trials``, ``sessions``, ``every_days``, ``every_weeks``) are
the digits 0-9, at most six of them; amounts (``deductible_met``, ``out_of_pocket_met``) are
checked by the request's money rules, as everywhere else.

Output columns, one row per input row and in input order: ``row_id``, ``payer``, ``network``,
``plan``, ``session``, ``start``, ``visits``, ``first_visit``, ``last_visit``, every total of
the estimate (``charge``, ``allowed``, ``copay``, ``deductible``, ``coinsurance``,
``balance_bill``, ``non_covered``, ``patient``, ``plan_paid`` (the estimate's ``payer`` total),
``write_off``, ``assistance``, ``reimbursement``, ``patient_net``) as dollars with two places,
and ``error``.

Guarantees:

* **A bad row is an error row, never the end of the batch.** Its ``error`` cell names the
  input's line (the physical line in the file, counting comments and the header; a quoted cell
  that spans lines starts at its first) and the column: ``line 7: every_days: must be at least
  1 (got 0)``; its amounts are empty. Even a failure nobody foresaw becomes an error row
  (``internal error (...)``).
* **The output is replaced whole or not at all.** Rows go to a temporary file in the output's
  folder, which is flushed to disk and renamed over the output only when every row is written.
  An interrupted run (Ctrl-C, a crash, a dead worker) leaves the previous output as it was and
  no temporary file behind.
* **One batch per output.** A run holds ``OUTPUT.lock`` (holding its process id) while it
  works; a second run to the same output is refused. A lock left by a process that no longer
  runs is taken over. The input is never the output (refused, whatever the path's spelling).
* **A dead worker process is an error** (:class:`BatchWorkerError`), never a hang.
* The results are in input order and do not depend on ``jobs``; rows are read, estimated and
  written a few chunks at a time, so memory does not grow with the input.

``ketacost batch`` exits 0 when every row was estimated, 1 when some rows failed (``3 of 15
rows failed; see the error column of OUTPUT``) or a worker died, 2 on a user error (an
unreadable input, a bad header, input and output the same file, a locked output), and 130 when
interrupted.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import re
import secrets
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
from typing import IO, Any

from ._clinic import Clinic
from ._engine import adjudicate
from ._errors import FileIssue, KetacostError, RequestFileError, RuleFileError
from ._estimate import Totals
from ._library import default_payers, load_payers
from ._loader import load_clinic, request_from_data
from ._payer import Payer

__all__ = [
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
    "estimate_row",
    "iter_batch",
    "parse_rows",
    "read_rows",
    "resolve_inputs",
    "run_batch",
    "run_batch_csv",
    "write_rows",
]

Row = Mapping[str, str | None]

INPUT_COLUMNS = (
    "row_id",
    "payer",
    "network",
    "tier",
    "prior_authorization",
    "savings_program",
    "age",
    "birth_date",
    "diagnoses",
    "failed_trials",
    "plan",
    "session",
    "sessions",
    "every_days",
    "every_weeks",
    "start",
    "closed_weekdays",
    "deductible_met",
    "out_of_pocket_met",
)
REQUIRED_COLUMNS = ("row_id", "payer", "start")

#: Output names of the estimate's totals (``payer`` would clash with the payer id column).
_TOTAL_COLUMNS = tuple(
    ("plan_paid" if name == "payer" else name, name) for name in Totals.model_fields
)
OUTPUT_COLUMNS = (
    "row_id",
    "payer",
    "network",
    "plan",
    "session",
    "start",
    "visits",
    "first_visit",
    "last_visit",
    *(out for out, _ in _TOTAL_COLUMNS),
    "error",
)

#: Plan templates by name: phases as a request file writes them, using the session names of
#: the example clinic (``examples/clinics/example-clinic.yaml``); the ``session`` column
#: replaces them for a clinic with other names.
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

_EXTRA = "__extra__"  # marks a row the CSV reader could not split as the header says
_LINE = "__line__"  # the input line a row starts on (rows read by parse_rows / read_rows)
_CODES = re.compile(r"[\s;,]+")
#: A whole number cell: ASCII digits only (``str.isdigit`` and ``\d`` also accept Arabic-Indic
#: and full-width digits), and few enough that ``int()`` is instant.
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = 6
_MAX_ERROR = 300  # characters of an error cell
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


class BatchInputError(RuleFileError):
    """The batch input file itself is unusable (unreadable, no header, unknown columns)."""


class BatchOutputError(KetacostError, ValueError):
    """The output cannot be written: it is the input, or another batch is writing it."""


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
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")


def default_clinic_path() -> Path:
    """The example clinic: the copy inside the wheel, else the source tree's."""
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "_clinics" / "example-clinic.yaml",
        here.parent / "examples" / "clinics" / "example-clinic.yaml",
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("no clinic file found: pass one (--clinic FILE)")


# -- one row --------------------------------------------------------------------------------
def _cell(row: Row, column: str) -> str:
    value = row.get(column)
    return "" if value is None else str(value).strip()


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message: control characters escaped, long text cut."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _int(row: Row, column: str) -> int | None:
    text = _cell(row, column)
    if not text:
        return None
    if _DIGITS.fullmatch(text) is None:
        raise _RowError(column, f"must be a whole number (got {_shown(text)})")
    if len(text) > _MAX_DIGITS:
        raise _RowError(
            column, f"must be a whole number of at most {_MAX_DIGITS} digits (got {_shown(text)})"
        )
    return int(text)


def _date(row: Row, column: str) -> str | None:
    text = _cell(row, column)
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _RowError(column, f"must be a date YYYY-MM-DD (got {_shown(text)})") from None


def _phases(row: Row) -> list[dict[str, Any]]:
    session = _cell(row, "session")
    plan = _cell(row, "plan")
    if plan:
        template = PLAN_TEMPLATES.get(plan)
        if template is None:
            raise _RowError(
                "plan",
                f"unknown plan template {_shown(plan)} (known: {', '.join(PLAN_TEMPLATES)})",
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
    if extra := row.get(_EXTRA):
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


def _error_text(exc: Exception, row: Row) -> str:
    """What an error row says (without its line)."""
    if isinstance(exc, _RowError):
        return str(exc)
    if isinstance(exc, RequestFileError):
        issue, more = exc.issues[0], len(exc.issues) - 1
        column = _column(issue.field, bool(_cell(row, "plan")))
        text = f"{column}: {issue.message}" if column else issue.message
        return text + (f" (and {more} more)" if more else "")
    if isinstance(exc, KetacostError):
        return str(exc)
    # Not foreseen (an arithmetic overflow, a bug): still this row's error, never the batch's.
    return f"internal error ({type(exc).__name__}) estimating this row; please report it"


def _money_cells(totals: Totals | None) -> dict[str, str]:
    if totals is None:
        return {out: "" for out, _ in _TOTAL_COLUMNS}
    return {out: str(getattr(totals, name)) for out, name in _TOTAL_COLUMNS}


def _estimated_cells(
    row: Row, clinic: Clinic, payers: Mapping[str, Payer], issued: date | None
) -> dict[str, str]:
    data = _request_data(row, clinic)
    if issued is not None:
        data["issued"] = issued
    request = request_from_data(data, payers=payers, source=f"row {_cell(row, 'row_id')}")
    result = adjudicate(request, payers)
    visits = result.visits
    return {
        "visits": str(len(visits)),
        "first_visit": visits[0].date.isoformat() if visits else "",
        "last_visit": visits[-1].date.isoformat() if visits else "",
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
    out = {
        "row_id": _cell(row, "row_id"),
        "payer": _cell(row, "payer"),
        "network": _cell(row, "network") or "in",
        "plan": _cell(row, "plan"),
        "session": _cell(row, "session"),
        "start": _cell(row, "start"),
    }
    try:
        return {**out, **_estimated_cells(row, clinic, payers, issued)}
    except Exception as exc:  # one row's failure, whatever it is, is that row's error
        text = _error_text(exc, row)
    if line := _cell(row, _LINE):
        text = f"line {line}: {text}"
    if len(text) > _MAX_ERROR:
        text = text[: _MAX_ERROR - 3] + "..."
    empty = {"visits": "", "first_visit": "", "last_visit": "", **_money_cells(None)}
    return {**out, **empty, "error": text}


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
    """The clinic and payer library to use: given objects, or loaded from the files named
    (default: the example clinic and the bundled payers)."""
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


def _estimated_chunks(
    rows: Iterable[Row], context: _Context, jobs: int, chunk_size: int
) -> Iterator[list[dict[str, str]]]:
    chunks = _chunks(rows, max(1, chunk_size))
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    everything = itertools.chain([first], [] if second is None else [second], chunks)
    if jobs > 1 and second is not None:
        yield from _pool_chunks(everything, context, jobs)
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
    jobs = max(1, jobs or os.cpu_count() or 1)
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
        jobs: worker processes; default: every core. ``1`` runs in this process.
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


# -- reading --------------------------------------------------------------------------------
def _input_error(name: str, line: int, message: str, column: int = 1) -> BatchInputError:
    return BatchInputError([FileIssue(name, line, column if line else 0, "", message)])


class _Lines:
    """A file's lines for :func:`csv.reader`, counted: comment (``#``) and blank lines between
    rows are skipped (inside a quoted cell they are the cell's text), and the line each row
    starts on is kept in ``row_start``. The reader asks for lines one at a time and never
    reads ahead, so :meth:`next_row` before each row is all the bookkeeping needed."""

    def __init__(self, lines: Iterable[str], name: str) -> None:
        self._lines = iter(lines)
        self._name = name
        self._between_rows = True
        self.number = 0
        self.row_start = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while True:
            line = next(self._lines)
            self.number += 1
            if not line.isascii() and (bad := _UNDECODABLE.search(line)):
                raise _input_error(self._name, self.number, "not UTF-8 text", bad.start() + 1)
            if not self._between_rows:
                return line
            if line.strip() and not line.lstrip().startswith("#"):
                self._between_rows = False
                self.row_start = self.number
                return line

    def next_row(self) -> None:
        self._between_rows = True


def _checked_header(cells: list[str], name: str, line: int) -> list[str]:
    header = [h.strip() for h in cells]
    unknown = [h for h in header if h not in INPUT_COLUMNS]
    if unknown:
        message = f"unknown column {_shown(unknown[0])} (known: {', '.join(INPUT_COLUMNS)})"
        raise _input_error(name, line, message)
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise _input_error(name, line, f"column {repeated[0]!r} appears more than once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise _input_error(
            name, line, f"missing column {missing[0]!r} (required: row_id, payer, start)"
        )
    return header


def _rows(lines: Iterable[str], name: str) -> Iterator[dict[str, str | None]]:
    """The rows of a batch file's lines; the header is read and checked at once."""
    source = _Lines(lines, name)
    reader = csv.reader(source)
    try:
        header = _checked_header(next(reader), name, source.row_start)
    except StopIteration:
        raise _input_error(name, 0, "no header row (the file is empty)") from None
    except csv.Error as exc:
        raise _input_error(name, source.row_start, f"the header is not CSV: {exc}") from None
    return _data_rows(reader, source, header)


def _data_rows(
    reader: Iterator[list[str]], source: _Lines, header: list[str]
) -> Iterator[dict[str, str | None]]:
    while True:
        source.next_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a bad row, not a bad file: the reader goes on after it
            yield {_LINE: str(source.row_start), _EXTRA: f"not CSV: {exc}"}
            continue
        row: dict[str, str | None] = dict(zip(header, cells, strict=False))
        row[_LINE] = str(source.row_start)
        if len(cells) > len(header):
            row[_EXTRA] = "more cells than the header has columns"
        yield row


def parse_rows(text: str, name: str = "<batch>") -> list[dict[str, str | None]]:
    """The rows of batch CSV text; ``name`` is the file named in errors (see :func:`read_rows`)."""
    return list(_rows(io.StringIO(text, newline=""), name))


@contextlib.contextmanager
def _input_rows(path: str | os.PathLike[str]) -> Iterator[Iterator[dict[str, str | None]]]:
    """The rows of a batch file, read as they are used; the header is checked on entry."""
    name = os.fspath(path)
    try:
        # surrogateescape: bytes that are not UTF-8 are found line by line (_Lines), at their
        # position, instead of somewhere in a block the decoder read ahead.
        f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise _input_error(name, 0, f"cannot read the file: {exc.strerror}") from None
    with f:
        yield _rows(f, name)


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str | None]]:
    """The rows of a batch CSV file (UTF-8, ``#`` comment lines skipped), header checked.

    Each row also carries the line it starts on, for its error message.

    Raises:
        BatchInputError: the file cannot be read, is not UTF-8, has no header, or names
            unknown columns.
    """
    with _input_rows(path) as rows:
        return list(rows)


def count_rows(path: str | os.PathLike[str]) -> int:
    """The number of rows of a batch CSV file, without keeping them (for a progress bar)."""
    with _input_rows(path) as rows:
        return sum(1 for _ in rows)


# -- writing --------------------------------------------------------------------------------
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: str) -> str:
    """A cell safe to open in a spreadsheet: text that would start a formula gets a leading
    apostrophe (OWASP's advice for CSV injection). Money is never negative here, so amounts
    are unchanged."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _output_cells(row: Mapping[str, str]) -> dict[str, str]:
    return {k: _spreadsheet_safe(str(v)) for k, v in row.items()}


def _write_csv(f: IO[str], rows: Iterable[Mapping[str, str]]) -> tuple[int, int]:
    """Write the header and ``rows``; the number of rows and of error rows written."""
    writer = csv.DictWriter(f, fieldnames=OUTPUT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    written = errors = 0
    for row in rows:
        writer.writerow(_output_cells(row))
        written += 1
        errors += bool(row.get("error"))
    return written, errors


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; elsewhere there is nothing to do)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _replacing(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A temporary file beside ``path`` that replaces it when the block ends without error.

    On any error (``KeyboardInterrupt`` too) the temporary file is removed and ``path`` is
    left as it was.
    """
    target = Path(path)
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            # Created like any new file (mode 0o666 less the umask), unlike mkstemp's 0o600.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise BatchOutputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_folder(target.parent)


def write_rows(path: str | os.PathLike[str], rows: Iterable[Mapping[str, str]]) -> None:
    """Write output rows as CSV with the :data:`OUTPUT_COLUMNS` header, replacing ``path``
    whole only once every row is written."""
    with _replacing(path) as f:
        _write_csv(f, rows)


def check_output_path(
    input_path: str | os.PathLike[str], output_path: str | os.PathLike[str]
) -> None:
    """Refuse to write the output over the input, however either path is spelt.

    Raises:
        BatchOutputError: ``output_path`` is the input file.
    """
    try:
        same = os.path.samefile(input_path, output_path)  # links and hard links too
    except OSError:
        same = Path(input_path).resolve() == Path(output_path).resolve()
    if same:
        raise BatchOutputError(
            f"{os.fspath(output_path)} is the input file; write the estimates to another file"
        )


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would end the process there: never call a lock stale
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _stale(lock: Path) -> bool:
    """A lock whose process no longer runs. One being written (no pid yet) is not stale."""
    try:
        text = lock.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return text.isascii() and text.isdigit() and len(text) < 12 and not _pid_alive(int(text))


@contextlib.contextmanager
def _output_lock(output_path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold ``OUTPUT.lock`` (holding this process's id) while writing ``output_path``."""
    output = os.fspath(output_path)
    lock = Path(output + ".lock")
    for attempt in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            if attempt == 0 and _stale(lock):
                # Another run could take over the same stale lock at this moment; the window
                # is the time between the two calls below, and the worst case is a refusal.
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
                continue
            raise BatchOutputError(
                f"another batch is writing {output} "
                f"(lock file {lock}; delete it if no batch is running)"
            ) from None
        except OSError as exc:
            raise BatchOutputError(f"cannot write {output}: {exc.strerror}") from None
    try:
        with open(fd, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


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
        BatchOutputError: the output is the input, or another batch is writing it.
        BatchWorkerError: a worker process died (the output is left as it was).
    """
    check_output_path(input_path, output_path)
    the_clinic, library = resolve_inputs(clinic, payers)
    began = time.perf_counter()
    with (
        _output_lock(output_path),
        _input_rows(input_path) as rows,
        _replacing(output_path) as f,
        contextlib.closing(iter_batch(rows, clinic=the_clinic, payers=library, **options)) as out,
    ):
        written, errors = _write_csv(f, out)
    return BatchSummary(rows=written, errors=errors, seconds=time.perf_counter() - began)
