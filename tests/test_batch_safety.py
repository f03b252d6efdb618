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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import ketacost
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
    real = batch_lib.adjudicate

    def failing(request: ketacost.EstimateRequest, payers: object) -> ketacost.Estimate:
        if request.patient.age == 51:
            raise RecursionError("maximum recursion depth exceeded")
        if request.patient.age == 52:
            raise ArithmeticError
        return real(request, payers)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_lib, "adjudicate", failing)
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
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".tmp", ".lock"))


@pytest.fixture
def interrupted_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the third row has been written."""
    real = batch_lib._output_cells
    written = 0

    def writer(row: dict[str, str]) -> dict[str, str]:
        nonlocal written
        written += 1
        if written > 3:
            raise KeyboardInterrupt
        return real(row)

    monkeypatch.setattr(batch_lib, "_output_cells", writer)


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
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = tmp_path / "out.csv.lock"
    lock.write_text(f"{dead.pid}\n")
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
