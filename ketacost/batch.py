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

Output columns, one row per input row and in input order: ``row_id``, ``payer``, ``network``,
``plan``, ``session``, ``start``, ``visits``, ``first_visit``, ``last_visit``, every total of
the estimate (``charge``, ``allowed``, ``copay``, ``deductible``, ``coinsurance``,
``balance_bill``, ``non_covered``, ``patient``, ``plan_paid`` (the estimate's ``payer`` total),
``write_off``, ``assistance``, ``reimbursement``, ``patient_net``) as dollars with two places,
and ``error``. A bad row does not stop the
batch: its ``error`` cell says what is wrong (``age: ...``) and its amounts are empty.

Rows are estimated in chunks on every core (``jobs``); each worker loads the clinic and the
payer library once. The results do not depend on ``jobs``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

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
    "BatchSummary",
    "default_clinic_path",
    "estimate_row",
    "parse_rows",
    "read_rows",
    "resolve_inputs",
    "run_batch",
    "run_batch_csv",
    "write_rows",
]

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

_EXTRA = "__extra__"  # marks a row with more cells than the header
_CODES = re.compile(r"[\s;,]+")
_INT = re.compile(r"^[0-9]+$")


class BatchInputError(RuleFileError):
    """The batch input file itself is unusable (unreadable, no header, unknown columns)."""


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
def _cell(row: Mapping[str, str | None], column: str) -> str:
    value = row.get(column)
    return value.strip() if value else ""


def _int(row: Mapping[str, str | None], column: str) -> int | None:
    text = _cell(row, column)
    if not text:
        return None
    if not _INT.match(text):
        raise _RowError(column, f"must be a whole number (got {text!r})")
    return int(text)


def _date(row: Mapping[str, str | None], column: str) -> str | None:
    text = _cell(row, column)
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _RowError(column, f"must be a date YYYY-MM-DD (got {text!r})") from None


def _phases(row: Mapping[str, str | None]) -> list[dict[str, Any]]:
    session = _cell(row, "session")
    plan = _cell(row, "plan")
    if plan:
        template = PLAN_TEMPLATES.get(plan)
        if template is None:
            raise _RowError(
                "plan", f"unknown plan template {plan!r} (known: {', '.join(PLAN_TEMPLATES)})"
            )
        phases = [dict(p) for p in template]
        if session:
            for p in phases:
                p["session"] = session
        return phases
    if not session:
        raise _RowError("session", "give a session template, or a plan template in 'plan'")
    phase: dict[str, Any] = {"session": session, "sessions": _int(row, "sessions") or 1}
    for column in ("every_days", "every_weeks"):
        value = _int(row, column)
        if value is not None:
            phase[column] = value
    return [phase]


def _request_data(row: Mapping[str, str | None], clinic: Clinic) -> dict[str, Any]:
    if extra := row.get(_EXTRA):
        raise _RowError("row", extra)
    for column in REQUIRED_COLUMNS:
        if not _cell(row, column):
            raise _RowError(column, "missing (a required column)")
    patient: dict[str, Any] = {
        "diagnoses": [c for c in _CODES.split(_cell(row, "diagnoses")) if c],
        "failed_trials": _int(row, "failed_trials") or 0,
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
    ("coverage.payer", "payer"),
    ("coverage.network", "network"),
    ("coverage.tier", "tier"),
    ("coverage.prior_authorization", "prior_authorization"),
    ("coverage.savings_program", "savings_program"),
    ("plan.start", "start"),
    ("plan.closed_weekdays", "closed_weekdays"),
    ("plan.phases", "session"),
)


def _issue_text(issue: FileIssue) -> str:
    for prefix, column in _FIELD_COLUMNS:
        if issue.field == prefix or issue.field.startswith((prefix + ".", prefix + "[")):
            return f"{column}: {issue.message}"
    return f"{issue.field}: {issue.message}" if issue.field else issue.message


def _money_cells(totals: Totals | None) -> dict[str, str]:
    if totals is None:
        return {out: "" for out, _ in _TOTAL_COLUMNS}
    return {out: str(getattr(totals, name)) for out, name in _TOTAL_COLUMNS}


def estimate_row(
    row: Mapping[str, str | None],
    clinic: Clinic,
    payers: Mapping[str, Payer],
    *,
    issued: date | None = None,
) -> dict[str, str]:
    """Estimate one batch row; a bad row gives an output row with its ``error`` filled in."""
    out = {
        "row_id": _cell(row, "row_id"),
        "payer": _cell(row, "payer"),
        "network": _cell(row, "network") or "in",
        "plan": _cell(row, "plan"),
        "session": _cell(row, "session"),
        "start": _cell(row, "start"),
        "visits": "",
        "first_visit": "",
        "last_visit": "",
    }
    try:
        data = _request_data(row, clinic)
        if issued is not None:
            data["issued"] = issued
        request = request_from_data(data, payers=payers, source=f"row {out['row_id']}")
        result = adjudicate(request, payers)
    except _RowError as exc:
        return {**out, **_money_cells(None), "error": str(exc)}
    except RequestFileError as exc:
        more = len(exc.issues) - 1
        text = _issue_text(exc.issues[0]) + (f" (and {more} more)" if more else "")
        return {**out, **_money_cells(None), "error": text}
    except (KetacostError, ValueError, LookupError) as exc:
        return {**out, **_money_cells(None), "error": str(exc)}
    visits = result.visits
    return {
        **out,
        "visits": str(len(visits)),
        "first_visit": visits[0].date.isoformat() if visits else "",
        "last_visit": visits[-1].date.isoformat() if visits else "",
        **_money_cells(result.totals),
        "error": "",
    }


# -- many rows, many cores ---------------------------------------------------------------
_WORKER: tuple[Clinic, Mapping[str, Payer], date | None] | None = None


def _init_worker(clinic: Clinic, payers: Mapping[str, Payer], issued: date | None) -> None:
    global _WORKER
    _WORKER = (clinic, payers, issued)


def _run_chunk(chunk: list[Mapping[str, str | None]]) -> list[dict[str, str]]:
    assert _WORKER is not None, "worker not initialised"
    clinic, payers, issued = _WORKER
    return [estimate_row(row, clinic, payers, issued=issued) for row in chunk]


def _chunks(rows: Sequence[Mapping[str, str | None]], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(rows), size):
        yield list(rows[i : i + size])


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


def run_batch(
    rows: Iterable[Mapping[str, str | None]],
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
        rows: dicts of column → text, as :class:`csv.DictReader` gives them.
        clinic: a clinic, or its file; default: the example clinic.
        payers: a payer library, or its folder; default: the bundled payers.
        jobs: worker processes; default: every core. ``1`` runs in this process.
        chunk_size: rows sent to a worker at a time.
        issued: the estimates' issue date (none by default: the engine reads no clock).
        progress: called with the number of rows just finished, after each chunk.
    """
    the_clinic, library = resolve_inputs(clinic, payers)
    todo = list(rows)
    jobs = max(1, jobs or os.cpu_count() or 1)
    out: list[dict[str, str]] = []
    if jobs == 1 or len(todo) <= chunk_size:
        for chunk in _chunks(todo, chunk_size):
            out += [estimate_row(r, the_clinic, library, issued=issued) for r in chunk]
            if progress:
                progress(len(chunk))
        return out
    with get_context().Pool(
        jobs, initializer=_init_worker, initargs=(the_clinic, library, issued)
    ) as pool:
        for done in pool.imap(_run_chunk, _chunks(todo, chunk_size)):
            out += done
            if progress:
                progress(len(done))
    return out


# -- files ----------------------------------------------------------------------------------
def read_rows(path: str | os.PathLike[str]) -> list[dict[str, str | None]]:
    """The rows of a batch CSV file (UTF-8, ``#`` comment lines skipped), header checked.

    Raises:
        BatchInputError: the file cannot be read, has no header, or names unknown columns.
    """
    name = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise _input_error(name, 0, f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise _input_error(name, 0, f"not UTF-8 text (byte {exc.start})") from None
    return parse_rows(text, name)


def _input_error(name: str, line: int, message: str) -> BatchInputError:
    return BatchInputError([FileIssue(name, line, 1 if line else 0, "", message)])


def parse_rows(text: str, name: str = "<batch>") -> list[dict[str, str | None]]:
    """The rows of batch CSV text; ``name`` is the file named in errors (see :func:`read_rows`)."""

    def fail(line: int, message: str) -> BatchInputError:
        return _input_error(name, line, message)

    lines = text.splitlines(keepends=True)
    kept = [(n, ln) for n, ln in enumerate(lines, start=1) if not ln.lstrip().startswith("#")]
    kept = [(n, ln) for n, ln in kept if ln.strip()]
    if not kept:
        raise fail(0, "no header row (the file is empty)")
    header_line = kept[0][0]
    reader = csv.DictReader(io.StringIO("".join(ln for _, ln in kept)))
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in INPUT_COLUMNS]
    if unknown:
        raise fail(
            header_line,
            f"unknown column {unknown[0]!r} (known: {', '.join(INPUT_COLUMNS)})",
        )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise fail(header_line, f"column {repeated[0]!r} appears more than once")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise fail(header_line, f"missing column {missing[0]!r} (required: row_id, payer, start)")
    reader.fieldnames = header
    rows: list[dict[str, str | None]] = []
    for row in reader:
        extra = row.pop(None, None)
        if extra:
            row[_EXTRA] = "more cells than the header has columns"
        rows.append(row)
    return rows


#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: str) -> str:
    """A cell safe to open in a spreadsheet: text that would start a formula gets a leading
    apostrophe (OWASP's advice for CSV injection). Money is never negative here, so amounts
    are unchanged."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def write_rows(path: str | os.PathLike[str], rows: Iterable[Mapping[str, str]]) -> None:
    """Write output rows as CSV with the :data:`OUTPUT_COLUMNS` header."""
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=OUTPUT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _spreadsheet_safe(str(v)) for k, v in row.items()} for row in rows)


def run_batch_csv(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    **options: Any,
) -> BatchSummary:
    """Read a batch CSV, estimate every row (:func:`run_batch` options), write the output CSV."""
    rows = read_rows(input_path)
    began = time.perf_counter()
    results = run_batch(rows, **options)
    seconds = time.perf_counter() - began
    write_rows(output_path, results)
    return BatchSummary(
        rows=len(results), errors=sum(1 for r in results if r["error"]), seconds=seconds
    )
