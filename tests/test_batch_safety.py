"""Batch never loses or corrupts output (issue 9): hostile cells are error rows at their line
and column, the output is replaced whole or not at all, one batch per output, a dead worker is
an error and not a hang, and the exit status says whether rows failed."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ketacost
import ketacost._batch_files as batch_files
import ketacost.batch as batch_lib
from ketacost.batch import (
    BatchInputError,
    BatchOutputError,
    check_output_path,
    iter_batch,
    parse_rows,
    read_rows,
    run_batch,
    run_batch_csv,
)
from ketacost.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CLINIC = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
PAYERS = ketacost.load_payers(ROOT / "payers")

COLUMNS = [
    "row_id",
    "payer",
    "network",
    "prior_authorization",
    "age",
    "diagnoses",
    "failed_trials",
    "session",
    "sessions",
    "every_days",
    "every_weeks",
    "start",
    "deductible_met",
    "out_of_pocket_met",
]
# Two esketamine sessions three days apart, in network, approved: a row that estimates.
GOOD = dict(
    zip(
        COLUMNS,
        [
            "x",
            "commercial-ppo",
            "in",
            "approved",
            "50",
            "F33.2",
            "2",
            "esketamine-56",
            "2",
            "3",
            "",
            "2026-03-02",
            "100.00",
            "",
        ],
        strict=True,
    )
)
FIVE_THOUSAND_DIGITS = "9" * 5000


def csv_text(*rows: dict[str, str], comment: bool = True) -> str:
    """A batch file: a comment line, the header, then the rows (line 3 onwards)."""
    out = io.StringIO()
    if comment:
        out.write("# hostile rows, one at a time between two good ones\n")
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_input(path: Path, rows: int) -> Path:
    path.write_text(csv_text(*({**GOOD, "row_id": str(i)} for i in range(rows))))
    return path


# -- hostile cells: an error row each, at its line and column ----------------------------------
HOSTILE = [
    # (column, cell, the error cell's start after "line 4: ")
    ("deductible_met", "1e999999", "deductible_met: "),
    ("deductible_met", "1e5000", "deductible_met: "),
    ("deductible_met", FIVE_THOUSAND_DIGITS, "deductible_met: "),
    ("out_of_pocket_met", "$1,2,3", "out_of_pocket_met: "),
    ("age", "1e999999999", "age: must be a whole number (got '1e999999999')"),
    # Arabic-Indic and full-width digits are digits to str.isdigit, not to us.
    ("age", "٣٠", "age: must be a whole number (got '٣٠')"),
    ("age", "３０", "age: must be a whole number (got '３０')"),
    ("age", "\u202e30", "age: must be a whole number (got '\\u202e30')"),
    (
        "age",
        "99999999999999999999",
        "age: must be a whole number of at most 6 digits (got '99999999999999999999')",
    ),
    (
        "failed_trials",
        FIVE_THOUSAND_DIGITS,
        "failed_trials: must be a whole number of at most 6 digits (got '9999999999",
    ),
    ("sessions", "0", "sessions: must be at least 1 (got 0)"),
    ("sessions", FIVE_THOUSAND_DIGITS, "sessions: must be a whole number of at most 6 digits"),
    # every_days used to be reported under 'session' (the phase's prefix).
    ("every_days", "0", "every_days: must be at least 1 (got 0)"),
    ("every_days", "-1", "every_days: must be a whole number (got '-1')"),
]


@pytest.mark.parametrize(("column", "cell", "error"), HOSTILE)
def test_a_hostile_cell_is_an_error_row_at_its_line_and_column(
    column: str, cell: str, error: str
) -> None:
    text = csv_text({**GOOD, "row_id": "a"}, {**GOOD, "row_id": "b", column: cell}, GOOD)
    began = time.monotonic()
    out = run_batch(parse_rows(text), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert time.monotonic() - began < 1.0
    # Line 1 is the comment, 2 the header, 3 row a, 4 row b.
    assert out[1]["error"].startswith(f"line 4: {error}"), out[1]["error"]
    assert len(out[1]["error"]) <= 300 and out[1]["patient"] == ""
    assert out[0]["error"] == out[2]["error"] == ""
    assert out[0]["patient"] == out[2]["patient"] != ""


def test_every_weeks_is_named_by_its_column() -> None:
    rows = parse_rows(csv_text({**GOOD, "every_days": "", "every_weeks": "0"}))
    (out,) = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out["error"] == "line 3: every_weeks: must be at least 1 (got 0)"


def test_an_unforeseen_failure_is_that_rows_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch_lib.adjudicate_totals

    def failing(request: ketacost.EstimateRequest, payers: object) -> object:
        if request.patient.age == 51:
            raise RecursionError("maximum recursion depth exceeded")
        if request.patient.age == 52:
            raise ArithmeticError
        return real(request, payers)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_lib, "adjudicate_totals", failing)
    text = csv_text(GOOD, {**GOOD, "age": "51"}, {**GOOD, "age": "52"}, GOOD)
    out = run_batch(parse_rows(text), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert [r["error"] for r in out] == [
        "",
        "line 4: internal error (RecursionError) estimating this row; please report it",
        "line 5: internal error (ArithmeticError) estimating this row; please report it",
        "",
    ]


def test_line_numbers_count_comments_and_cells_that_span_lines() -> None:
    text = (
        "# line 1: a comment\n"
        "\n"
        "row_id,payer,age,diagnoses,session,start\n"  # line 3
        '"a\n'  # a quoted cell over lines 4-6; its '#' line is text
        "# not a comment\n"
        'still a",self-pay,40,F33.2,intake,2026-03-02\n'
        "# line 7: a comment between rows\n"
        "b,self-pay,forty,F33.2,intake,2026-03-02\n"  # line 8
        "c,self-pay,40,F33.2,intake,2026-02-30\n"  # line 9
    )
    rows = parse_rows(text)
    assert rows[0]["row_id"] == "a\n# not a comment\nstill a"
    out = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert [r["error"] for r in out] == [
        "",
        "line 8: age: must be a whole number (got 'forty')",
        "line 9: start: must be a date YYYY-MM-DD (got '2026-02-30')",
    ]


def test_a_row_the_csv_reader_cannot_split_is_an_error_row() -> None:
    huge = "x" * 200_000  # over the csv module's field limit
    good = "self-pay,40,2026-03-02,intake"
    text = f"row_id,payer,age,start,session\na,{good}\nb,{huge},40,2026-03-02,intake\nc,{good}\n"
    out = run_batch(parse_rows(text), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out[1]["error"].startswith("line 3: row: not CSV: field larger than field limit")
    assert out[0]["error"] == out[2]["error"] == "" and len(out) == 3


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"row_id,payer,start\na,self-pay,2026-03-02\nb,s\xffelf,2026-03-02\n")
    with pytest.raises(BatchInputError, match=r"in\.csv:3:4: not UTF-8 text"):
        read_rows(path)


def test_rows_are_read_as_they_are_estimated() -> None:
    # A long input is never in memory whole: the first output row needs only its chunk.
    taken = 0

    def rows() -> Iterator[dict[str, str | None]]:
        nonlocal taken
        for i in range(10_000):
            taken += 1
            yield {**GOOD, "row_id": str(i)}

    results = iter_batch(rows(), clinic=CLINIC, payers=PAYERS, jobs=1, chunk_size=10)
    assert next(results)["row_id"] == "0"
    results.close()
    assert taken <= 20


def test_results_do_not_depend_on_jobs(tmp_path: Path) -> None:
    cases = [{**GOOD, "row_id": str(i), c: v} for i, (c, v, _) in enumerate(HOSTILE)]
    source = tmp_path / "in.csv"
    source.write_text(csv_text(*cases, GOOD, GOOD, GOOD))
    rows = read_rows(source)
    one = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    two = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=2, chunk_size=3)
    assert one == two and len(one) == len(HOSTILE) + 3
    for jobs in (1, 2):
        run_batch_csv(
            source, tmp_path / f"{jobs}.csv", clinic=CLINIC, payers=PAYERS, jobs=jobs, chunk_size=3
        )
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()


# -- dates: YYYY-MM-DD only; the estimate's date errors name 'start' ---------------------------
@pytest.mark.parametrize("column", ["start", "birth_date"])
@pytest.mark.parametrize(
    "cell",
    # date.fromisoformat (3.11) reads the first three; the output's start would copy them.
    ["20260105", "2026-W02-1", "2026-005", "２０２６-01-05", "2026-1-5", "2026-01-05T00:00"],
)
def test_a_date_is_yyyy_mm_dd_only(column: str, cell: str) -> None:
    row = {**GOOD, "age": "", "birth_date": "1976-03-02", column: cell}
    text = "row_id,payer,start,age,birth_date,diagnoses,session\n" + ",".join(
        row[c] for c in ("row_id", "payer", "start", "age", "birth_date", "diagnoses", "session")
    )
    (out,) = run_batch(parse_rows(text), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out["error"] == f"line 2: {column}: must be a date YYYY-MM-DD (got {cell!r})"


def test_yyyy_mm_dd_dates_are_read() -> None:
    text = (
        "row_id,payer,start,birth_date,diagnoses,session\n"
        "x,self-pay, 2026-03-02 ,1976-03-02,F33.2,intake\n"
    )
    (out,) = run_batch(parse_rows(text), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out["error"] == "" and out["start"] == "2026-03-02"


ESTIMATE_DATE_ERRORS = [
    # (payer, plan or session, start, the error cell): the estimate's own date errors.
    (
        "self-pay",
        "iv-year",
        "9999-06-01",
        "line 2: start: phase 2 runs past 9999-12-31: visits must fall before the year 10000",
    ),
    # payers/medicare-part-b.yaml's fee schedule (and deductible) start on 2025-01-01; the
    # line is priced before its cost is shared.
    (
        "medicare-part-b",
        "esketamine-56",
        "2015-01-01",
        "line 2: start: allowed.schedule: no value in force on 2015-01-01 "
        "(the first is 2025-01-01)",
    ),
    # The example clinic's esketamine code starts on 2019-03-05.
    (
        "self-pay",
        "esketamine-induction",
        "0001-01-01",
        "line 2: start: clinic code: no value in force on 0001-01-01 (the first is 2019-03-05)",
    ),
]


@pytest.mark.parametrize(("payer", "plan", "start", "error"), ESTIMATE_DATE_ERRORS)
def test_the_estimates_date_errors_name_start(
    payer: str, plan: str, start: str, error: str
) -> None:
    column = "plan" if plan in batch_lib.PLAN_TEMPLATES else "session"
    text = (
        f"row_id,payer,prior_authorization,age,diagnoses,{column},start\n"
        f"x,{payer},approved,70,F33.2,{plan},{start}\n"
    )
    (out,) = run_batch(parse_rows(text), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out["error"] == error


# -- the exit status ---------------------------------------------------------------------------
def test_exit_status_1_and_a_summary_when_rows_fail(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(csv_text(GOOD, {**GOOD, "age": "x"}, GOOD, {**GOOD, "sessions": "0"}))
    result = CliRunner().invoke(cli, ["batch", str(source), str(out), "--jobs", "1", "-q"])
    assert result.exit_code == 1
    assert result.stderr == f"2 of 4 rows failed; see the error column of {out}\n"
    with out.open(newline="") as f:
        assert [r["error"][:7] for r in csv.DictReader(f)] == ["", "line 4:", "", "line 6:"]


def test_exit_status_0_when_no_row_fails(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 3), tmp_path / "out.csv"
    result = CliRunner().invoke(cli, ["batch", str(source), str(out), "--jobs", "1", "-q"])
    assert result.exit_code == 0 and result.stderr == f"wrote 3 rows to {out}\n"


# -- the output is replaced whole or not at all ------------------------------------------------
def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".tmp", ".lock", ".takeover"))


@pytest.fixture
def interrupted_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the third row has been written."""
    real = batch_files._output_cells
    written = 0

    def writer(row: dict[str, str]) -> dict[str, str]:
        nonlocal written
        written += 1
        if written > 3:
            raise KeyboardInterrupt
        return real(row)

    monkeypatch.setattr(batch_files, "_output_cells", writer)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.usefixtures("interrupted_writer")
def test_an_interrupted_run_leaves_the_previous_output(tmp_path: Path, jobs: int) -> None:
    source, out = write_input(tmp_path / "in.csv", 30), tmp_path / "out.csv"
    out.write_bytes(b"the previous output\n")
    with pytest.raises(KeyboardInterrupt):
        run_batch_csv(source, out, clinic=CLINIC, payers=PAYERS, jobs=jobs, chunk_size=4)
    assert out.read_bytes() == b"the previous output\n"
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("interrupted_writer")
def test_ctrl_c_exits_130_quietly(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 30), tmp_path / "out.csv"
    out.write_bytes(b"the previous output\n")
    result = CliRunner().invoke(cli, ["batch", str(source), str(out), "--jobs", "1", "-q"])
    assert result.exit_code == 130
    assert result.stderr == f"interrupted; {out} left unchanged\n"
    assert out.read_bytes() == b"the previous output\n" and leftovers(tmp_path) == []


def test_sigint_to_a_running_batch(tmp_path: Path) -> None:
    # Ctrl-C in a terminal signals the whole process group: the command and its workers.
    source, out = write_input(tmp_path / "in.csv", 20_000), tmp_path / "out.csv"
    out.write_bytes(b"the previous output\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "ketacost", "batch", str(source), str(out), "--jobs", "2", "-q"],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        # Rows have reached the temporary file (a buffer's worth): the workers are busy.
        while not any(p.stat().st_size for p in tmp_path.glob(".out.csv.*.tmp")):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr == f"interrupted; {out} left unchanged\n"
    assert out.read_bytes() == b"the previous output\n" and leftovers(tmp_path) == []


def test_a_complete_run_replaces_the_output_with_a_normal_file(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out.csv"
    out.write_text("the previous output\n")
    summary = run_batch_csv(source, out, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert (summary.rows, summary.errors) == (2, 0)
    assert out.read_text().startswith("row_id,payer,") and leftovers(tmp_path) == []
    # Made like any new file (the umask's mode), not a temporary file's 0o600.
    assert out.stat().st_mode & 0o777 == source.stat().st_mode & 0o777


# -- the output is the file a path names, and a regular file -------------------------------------
def test_a_symlinked_output_replaces_the_file_it_points_at(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.csv", 2)
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "outd.csv"
    target.write_text("the previous output\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    result = CliRunner().invoke(cli, ["batch", str(source), str(link), "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.stderr
    # The link still points at the file, which now holds the estimates.
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("row_id,payer,")
    assert leftovers(tmp_path) == leftovers(tmp_path / "real") == []


def test_a_dangling_symlinked_output_makes_its_target(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.csv", 2)
    link = tmp_path / "link.csv"
    link.symlink_to("outd.csv")
    run_batch_csv(source, link, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert link.is_symlink() and (tmp_path / "outd.csv").read_text().startswith("row_id,")


def test_two_spellings_of_one_output_meet_at_one_lock(tmp_path: Path) -> None:
    source, target = write_input(tmp_path / "in.csv", 2), tmp_path / "outd.csv"
    (tmp_path / "link.csv").symlink_to(target)
    (tmp_path / "outd.csv.lock").write_text(f"{os.getpid()}\n")  # a live run writing outd.csv
    with pytest.raises(BatchOutputError, match="another batch is writing"):
        run_batch_csv(source, tmp_path / "link.csv", clinic=CLINIC, payers=PAYERS, jobs=1)
    assert not target.exists()


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to a fifo"])
def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out"
    if kind == "folder":
        out.mkdir()
    elif kind == "fifo":
        os.mkfifo(out)
    else:
        os.mkfifo(tmp_path / "fifo")
        out.symlink_to(tmp_path / "fifo")
    result = CliRunner().invoke(cli, ["batch", str(source), str(out), "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {out} is not a regular file (write the output to a file)\n"
    with pytest.raises(BatchOutputError, match="is not a regular file"):
        run_batch_csv(source, out, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert not out.is_file() and leftovers(tmp_path) == []


def test_an_output_through_an_open_file_descriptor_is_refused(tmp_path: Path) -> None:
    # /dev/stdout sent to a file by the shell (``>> log``): replacing the file would drop what
    # it held. /proc/self/fd/N stands in for /dev/stdout (the test's own stdout is captured).
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("no /proc")
    log = tmp_path / "log.txt"
    log.write_text("the log so far\n")
    source = write_input(tmp_path / "in.csv", 2)
    with log.open("a") as f:
        alias = f"/proc/self/fd/{f.fileno()}"
        with pytest.raises(BatchOutputError, match=f"^{alias} is not a regular file"):
            run_batch_csv(source, alias, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert log.read_text() == "the log so far\n" and leftovers(tmp_path) == []


# -- the input is read once: a pipe works --------------------------------------------------------
def test_a_pipe_as_input(tmp_path: Path) -> None:
    # head -3 b.csv | ketacost batch /dev/stdin o.csv (counting rows first emptied the pipe)
    out = tmp_path / "out.csv"
    done = subprocess.run(
        [sys.executable, "-m", "ketacost", "batch", "/dev/stdin", str(out), "--jobs", "1"],
        input=csv_text(GOOD, GOOD),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith(f"wrote 2 rows to {out}\n")
    with out.open(newline="") as f:
        assert [r["error"] for r in csv.DictReader(f)] == ["", ""]


def test_a_fifo_as_input_with_the_progress_bar(tmp_path: Path) -> None:
    fifo, out = tmp_path / "in.fifo", tmp_path / "out.csv"
    os.mkfifo(fifo)
    assert batch_lib.count_rows(fifo) is None  # not opened: that would wait for a writer

    def write() -> None:
        with fifo.open("w") as f:
            f.write(csv_text(*({**GOOD, "row_id": str(i)} for i in range(5))))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = CliRunner().invoke(cli, ["batch", str(fifo), str(out), "--jobs", "1"])
    writer.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.endswith(f"wrote 5 rows to {out}\n")


# -- workers are bounded -------------------------------------------------------------------------
@pytest.fixture
def workers_started(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    started: list[int | None] = []

    class Recording(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None, **options: Any) -> None:
            started.append(max_workers)
            super().__init__(max_workers, **options)

    monkeypatch.setattr(batch_lib, "ProcessPoolExecutor", Recording)
    return started


def test_a_huge_jobs_starts_no_more_workers_than_chunks(workers_started: list[int | None]) -> None:
    rows = [{**GOOD, "row_id": str(i)} for i in range(201)]  # two chunks of 200
    out = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=256)
    assert workers_started == [2] and [r["row_id"] for r in out] == [str(i) for i in range(201)]


def test_a_huge_jobs_starts_at_most_four_workers_a_core(
    workers_started: list[int | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    rows = [{**GOOD, "row_id": str(i)} for i in range(30)]  # 15 chunks of 2
    assert len(run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=256, chunk_size=2)) == 30
    assert workers_started == [4]


def test_the_worker_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert [batch_lib.worker_limit(j) for j in (1, 8, 256, 1000)] == [1, 8, 256, 256]
    with monkeypatch.context() as windows:
        windows.setattr(os, "name", "nt")  # ProcessPoolExecutor takes at most 61 there
        assert batch_lib.worker_limit(1000) == 61


# -- the input is never the output --------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["./in.csv", "sub/../in.csv", "link.csv", "hard.csv"])
def test_the_input_is_never_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.chdir(tmp_path)
    source = write_input(tmp_path / "in.csv", 2)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")
    before = source.read_bytes()
    result = CliRunner().invoke(cli, ["batch", "in.csv", spelling, "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {Path(spelling)} is the input file; write the estimates to another file\n"
    )
    assert source.read_bytes() == before and leftovers(tmp_path) == []
    with pytest.raises(BatchOutputError):
        check_output_path("in.csv", spelling)


def test_an_output_beside_the_input_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check_output_path("in.csv", "out.csv")  # neither exists yet
    write_input(tmp_path / "in.csv", 1)
    check_output_path("in.csv", "./out.csv")


# -- one batch per output ----------------------------------------------------------------------
def dead_pid() -> int:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    return dead.pid


def test_a_live_lock_refuses_the_run(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out.csv"
    out.write_text("another run's output\n")
    lock = tmp_path / "out.csv.lock"
    lock.write_text(f"{os.getpid()}\n")  # this process: alive
    result = CliRunner().invoke(cli, ["batch", str(source), str(out), "--jobs", "1"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: another batch is writing {out} "
        f"(lock file {lock}; delete it if no batch is running)\n"
    )
    # The other run's lock and output are untouched.
    assert lock.read_text() == f"{os.getpid()}\n" and out.read_text() == "another run's output\n"


def test_a_lock_being_written_is_not_stale(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out.csv"
    (tmp_path / "out.csv.lock").write_text("")  # created, its pid not written yet
    with pytest.raises(BatchOutputError, match="another batch is writing"):
        run_batch_csv(source, out, clinic=CLINIC, payers=PAYERS, jobs=1)


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out.csv"
    lock = tmp_path / "out.csv.lock"
    lock.write_text(f"{dead_pid()}\n")
    seen: list[str] = []
    summary = run_batch_csv(
        source,
        out,
        clinic=CLINIC,
        payers=PAYERS,
        jobs=1,
        progress=lambda _: seen.append(lock.read_text()),
    )
    assert summary.rows == 2 and seen == [f"{os.getpid()}\n"]  # ours while running
    assert leftovers(tmp_path) == []  # and gone after


def test_a_stale_lock_another_run_took_over_first_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two runs find the same dead process's lock. The other run removes it and takes the lock
    # between our reading the dead pid and our taking over: we must not delete its new lock.
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out.csv"
    lock = tmp_path / "out.csv.lock"
    lock.write_text(f"{dead_pid()}\n")
    real_read = batch_files._read_lock
    reads = 0

    def read(path: Path) -> str | None:
        nonlocal reads
        text = real_read(path)
        reads += 1
        if reads == 1:  # the other run's new lock (a live process: this one)
            lock.write_text(f"{os.getpid()}\n")
        return text

    monkeypatch.setattr(batch_files, "_read_lock", read)
    with pytest.raises(BatchOutputError, match="another batch is writing"):
        run_batch_csv(source, out, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert lock.read_text() == f"{os.getpid()}\n" and not out.exists()


def test_a_stale_lock_another_run_is_taking_over_is_refused(tmp_path: Path) -> None:
    source, out = write_input(tmp_path / "in.csv", 2), tmp_path / "out.csv"
    lock, turn = tmp_path / "out.csv.lock", tmp_path / "out.csv.lock.takeover"
    lock.write_text(f"{dead_pid()}\n")
    turn.write_text("")  # another run's turn
    with pytest.raises(BatchOutputError, match="another batch is writing"):
        run_batch_csv(source, out, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert lock.exists() and turn.exists() and not out.exists()


# -- a dead worker -------------------------------------------------------------------------------
DYING_WORKER = textwrap.dedent(
    """
    import os
    import sys

    import ketacost.batch as batch

    real = batch._run_chunk


    def dying(chunk):
        if any(row.get("row_id") == "die" for row in chunk):
            os._exit(1)  # as if killed: no exception, no result
        return real(chunk)


    batch._run_chunk = dying

    if __name__ == "__main__":
        from ketacost.cli import cli

        cli.main(sys.argv[1:])
    """
)


def test_a_dead_worker_is_a_clear_error_not_a_hang(tmp_path: Path) -> None:
    script = tmp_path / "dying.py"
    script.write_text(DYING_WORKER)
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    # Five chunks of 200 rows (one chunk would run in this process, with no workers).
    rows = ({**GOOD, "row_id": "die" if i == 700 else str(i)} for i in range(1000))
    source.write_text(csv_text(*rows))
    out.write_bytes(b"the previous output\n")
    began = time.monotonic()
    # The old multiprocessing.Pool waited forever here; the timeout fails the test instead.
    done = subprocess.run(
        [sys.executable, str(script), "batch", str(source), str(out), "--jobs", "2", "-q"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert time.monotonic() - began < 10
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        "error: a batch worker process died (killed, or out of memory?); the batch was "
        f"stopped; {out} left unchanged\n"
    )
    assert out.read_bytes() == b"the previous output\n" and leftovers(tmp_path) == []
