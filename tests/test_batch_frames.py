"""Batch estimates over pandas frames and Arrow record batches: the batch's rows, row for row."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_rows, exercises, note

import ketacost
from ketacost import _frames
from ketacost.batch import (
    FRAME_COLUMNS,
    OUTPUT_COLUMNS,
    BatchInputError,
    estimate_batches,
    estimate_frame,
    parse_rows,
    run_batch,
)
from ketacost.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CLINIC_FILE = ROOT / "examples" / "clinics" / "example-clinic.yaml"
CLINIC = ketacost.load_clinic(CLINIC_FILE)
PAYERS = ketacost.load_payers(ROOT / "payers")
#: The whole rule set's hash and the ketacost version, as every output row carries it.
RULES_HASH = hashlib.sha256(
    (
        f"ketacost {ketacost.__version__}\n"
        + ketacost.rules_hash(
            list(PAYERS.values()),
            CLINIC,
            list(PAYERS.programs.values()),
            list(PAYERS.fee_schedules.values()),
        )
    ).encode()
).hexdigest()
WHOLE = ("age", "failed_trials", "sessions", "every_days", "every_weeks")

ROWS = """row_id,payer,prior_authorization,age,diagnoses,failed_trials,plan,session,sessions,start,deductible_met
a,self-pay,,38,F33.2,3,iv-induction,,,2026-03-02,
b,commercial-ppo,approved,50,F33.2,2,esketamine-induction,,,2026-03-02,
c,self-pay,,forty,F33.2,3,iv-induction,,,2026-03-02,
d,commercial-ppo,approved,50,F33.2,2,,esketamine-56,1,2026-03-02,100.00
e,medicare-part-b,,71,F33.2,2,no-such-plan,,,2026-03-02,
"""


def text_frame(rows: list[dict[str, str | None]]) -> Any:
    """A frame of text cells, every row's columns (missing cells are NaN)."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    return pd.DataFrame.from_records(rows, columns=columns)


def batch_of(rows: list[dict[str, str | None]]) -> list[dict[str, str]]:
    return run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)


def frame_rows(frame: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = frame.to_dict("records")
    return out


def test_a_frame_gives_the_batch_rows_in_order_with_the_rules_hash() -> None:
    rows = parse_rows(ROWS)  # with their lines: error cells name them, as in the CSV batch
    out = estimate_frame(text_frame(rows), clinic=CLINIC, payers=PAYERS)
    assert tuple(out.columns) == FRAME_COLUMNS == (*OUTPUT_COLUMNS, "rules_hash")
    got = frame_rows(out)
    assert [{c: r[c] for c in OUTPUT_COLUMNS} for r in got] == batch_of(rows)
    assert {r["rules_hash"] for r in got} == {RULES_HASH}
    assert [r["row_id"] for r in got] == ["a", "b", "c", "d", "e"]
    assert got[2]["error"] == "line 4: age: must be a whole number (got 'forty')"
    # Amounts are exact text: 6 IV infusions self-pay, not floats.
    assert isinstance(got[0]["patient"], str) and Decimal(got[0]["patient"]) > 0


def test_the_index_is_kept() -> None:
    frame = text_frame(parse_rows(ROWS)).set_axis([10, 20, 30, 40, 50])
    assert list(estimate_frame(frame, clinic=CLINIC, payers=PAYERS).index) == [10, 20, 30, 40, 50]


def test_typed_cells_are_their_text() -> None:
    """Integers are their digits; None, NaN and pd.NA are empty; a Decimal is its text."""
    text = text_frame([{k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(ROWS)])
    typed = text.copy()
    typed["age"] = pd.array([38, 50, None, 50, 71], dtype="Int64")  # 'forty' becomes empty
    typed["failed_trials"] = [3, 2, 3, 2, 2]  # int64
    typed["deductible_met"] = [None, float("nan"), pd.NA, Decimal("100.00"), None]
    text.loc[2, "age"] = ""
    expected = frame_rows(estimate_frame(text, clinic=CLINIC, payers=PAYERS))
    assert frame_rows(estimate_frame(typed, clinic=CLINIC, payers=PAYERS)) == expected


def test_the_rules_hash_changes_with_the_ketacost_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same rule files, another version: another hash (a mixed-version run shows)."""
    from ketacost import _version

    frame = text_frame(parse_rows(ROWS))
    assert set(estimate_frame(frame, clinic=CLINIC, payers=PAYERS)["rules_hash"]) == {RULES_HASH}
    monkeypatch.setattr(_version, "__version__", "0.0.0-other")
    monkeypatch.setattr(_frames, "_HASHED", {})
    other = set(estimate_frame(frame, clinic=CLINIC, payers=PAYERS)["rules_hash"])
    assert len(other) == 1 and other != {RULES_HASH}


def test_dates_times_booleans_and_exponent_decimals() -> None:
    """A midnight Timestamp (pandas-written Parquet) is its date; a time of day is refused;
    True/False are yes/no; Decimal("5E+2") is 500."""
    text = text_frame([{k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(ROWS)])
    typed = text.copy()
    typed["start"] = pd.to_datetime(text["start"])  # datetime64[ns] at midnight
    typed["deductible_met"] = [None, None, None, Decimal("1E+2"), None]
    text.loc[3, "deductible_met"] = "100"
    expected = frame_rows(estimate_frame(text, clinic=CLINIC, payers=PAYERS))
    assert frame_rows(estimate_frame(typed, clinic=CLINIC, payers=PAYERS)) == expected
    late = typed.copy()
    late.loc[0, "start"] = pd.Timestamp("2026-03-02 09:30")
    error = estimate_frame(late, clinic=CLINIC, payers=PAYERS).loc[0, "error"]
    assert error.startswith("start: ") and "2026-03-02T09:30:00" in error, error
    qmb = text.assign(qmb=[True, False, None, False, False])
    assert frame_rows(estimate_frame(qmb, clinic=CLINIC, payers=PAYERS)) == frame_rows(
        estimate_frame(text.assign(qmb=["yes", "no", "", "no", "no"]), clinic=CLINIC, payers=PAYERS)
    )


def test_a_pandas_written_parquet_timestamp_column_is_dates(tmp_path: Path) -> None:
    """pandas writes dates as timestamp[us]; read back as Arrow, they are the same rows."""
    rows = [{k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(ROWS)]
    frame = text_frame(rows)
    typed = frame.assign(start=pd.to_datetime(frame["start"]))
    typed.to_parquet(tmp_path / "p.parquet")
    table = pq.read_table(tmp_path / "p.parquet")
    assert pa.types.is_timestamp(table.schema.field("start").type)
    got = next(estimate_batches(table.to_batches(), clinic=CLINIC, payers=PAYERS))
    expected = frame_rows(estimate_frame(frame, clinic=CLINIC, payers=PAYERS))
    assert got.column("error").to_pylist() == [r["error"] for r in expected]
    assert got.column("visits").to_pylist() == [
        int(r["visits"]) if r["visits"] else None for r in expected
    ]


@pytest.mark.parametrize(
    ("column", "value", "error"),
    [
        # 100.5 would be $100.50; 100.1 is not 100.1 in binary: a float is refused, never used.
        (
            "deductible_met",
            100.5,
            "deductible_met: a float (100.5) is not an exact amount; give text ('12.50') "
            "or a Decimal",
        ),
        ("age", 38.0, "age: a float (38.0) is not a whole number; give an integer or text"),
        ("row_id", 7.0, "row_id: a float (7.0) is not text; give the column as text"),
    ],
)
def test_a_float_cell_is_that_rows_error_naming_the_column(
    column: str, value: float, error: str
) -> None:
    rows = [{k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(ROWS)]
    frame = text_frame(rows).astype(object)
    frame.loc[1, column] = value
    out = frame_rows(estimate_frame(frame, clinic=CLINIC, payers=PAYERS))
    assert out[1]["error"] == error
    assert out[1]["patient"] == out[1]["visits"] == ""
    # The other rows are untouched.
    expected = batch_of(rows)
    assert [{c: r[c] for c in OUTPUT_COLUMNS} for i, r in enumerate(out) if i != 1] == [
        r for i, r in enumerate(expected) if i != 1
    ]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["row_id", "start"], "missing column 'payer'"),
        (["row_id", "payer", "start", "name"], "unknown column 'name'"),
    ],
)
def test_bad_columns_are_one_error(columns: list[str], message: str) -> None:
    frame = pd.DataFrame({c: ["x"] for c in columns})
    with pytest.raises(BatchInputError, match=message):
        estimate_frame(frame, clinic=CLINIC, payers=PAYERS)


def _whole_as_int(row: dict[str, str]) -> dict[str, Any]:
    """Whole-number cells that are plain digits as Python ints (the rest stays text)."""
    return {
        k: int(v) if k in WHOLE and v.isascii() and v.isdigit() and v == str(int(v)) else v
        for k, v in row.items()
    }


@exercises(estimated=0.1, refused=0.1)
@given(st.lists(batch_rows(), min_size=1, max_size=2), st.booleans())
def test_a_frame_is_the_batch_row_for_row(rows: list[dict[str, str]], typed: bool) -> None:
    """Any rows (valid or hostile cells; whole numbers as text or as integers) give, through
    a frame, exactly the batch's output rows, in order."""
    cells: list[dict[str, Any]] = [_whole_as_int(r) for r in rows] if typed else list(rows)
    # object columns: pandas would make an integer column with a gap float64 (refused).
    columns = list(dict.fromkeys(c for r in rows for c in r))
    frame = pd.DataFrame(cells, columns=columns, dtype=object)
    out = frame_rows(estimate_frame(frame, clinic=CLINIC, payers=PAYERS))
    expected = batch_of(list(rows))
    assert [{c: r[c] for c in OUTPUT_COLUMNS} for r in out] == expected
    note("estimated", any(not r["error"] for r in expected))
    note("refused", any(bool(r["error"]) for r in expected))


# -- Arrow ------------------------------------------------------------------------------------------
def test_record_batches_give_exact_decimals() -> None:
    rows = [{k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(ROWS)]
    table = pa.Table.from_pylist(rows)
    # An integer column with a null: null is empty, as in a CSV.
    table = table.set_column(
        table.schema.get_field_index("age"), "age", pa.array([38, 50, None, 50, 71], pa.int64())
    )
    out = list(estimate_batches(table.to_batches(max_chunksize=2), clinic=CLINIC, payers=PAYERS))
    assert [b.num_rows for b in out] == [2, 2, 1]
    got = pa.Table.from_batches(out)
    assert got.schema.field("patient").type == pa.decimal128(12, 2)
    assert got.schema.field("visits").type == pa.int32()
    rows[2]["age"] = ""
    expected = batch_of(list(rows))
    patients = got.column("patient").to_pylist()
    assert patients == [Decimal(r["patient"]) if r["patient"] else None for r in expected]
    assert got.column("error").to_pylist() == [r["error"] for r in expected]
    assert set(got.column("rules_hash").to_pylist()) == {RULES_HASH}


def test_a_float_arrow_column_is_refused_row_by_row() -> None:
    table = pa.table({"row_id": ["a"], "payer": ["self-pay"], "plan": ["iv-induction"],
                      "start": ["2026-03-02"], "deductible_met": pa.array([12.5])})  # fmt: skip
    (out,) = estimate_batches(table.to_batches(), clinic=CLINIC, payers=PAYERS)
    assert out.column("error").to_pylist()[0].startswith("deductible_met: a float (12.5)")


# -- rule files, once per process -------------------------------------------------------------------
def test_rule_files_load_once_per_process_and_again_when_edited(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.yaml"
    clinic.write_bytes(CLINIC_FILE.read_bytes())
    first = _frames.frame_rules(clinic, ROOT / "payers")
    again = _frames.frame_rules(str(clinic), str(ROOT / "payers"))
    assert again[0] is first[0] and again[1] is first[1] and again[2] == first[2] == RULES_HASH
    clinic.write_bytes(CLINIC_FILE.read_bytes() + b"\n# edited\n")
    edited = _frames.frame_rules(clinic, ROOT / "payers")
    assert edited[0] is not first[0] and edited[1] is first[1]


# -- light imports, missing extras ------------------------------------------------------------------
def test_the_core_and_the_batch_command_import_no_frame_library() -> None:
    code = """
        import contextlib, io, json, sys
        import ketacost, ketacost.batch
        from ketacost.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            main(["batch", "--help"])
        print(json.dumps([m for m in ("pandas", "pyarrow", "dask", "distributed", "numpy")
                          if m in sys.modules]))
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_a_missing_extra_names_its_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ImportError, match=r"pip install 'ketacost\[frames\]'"):
        estimate_frame(object())


# -- the command: standard input and output, formats ------------------------------------------------
def test_standard_input_and_output_are_the_file_batch(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(ROWS)
    runner = CliRunner()
    assert runner.invoke(cli, ["batch", str(src), str(out), "--jobs", "1", "-q"]).exit_code == 1
    piped = runner.invoke(cli, ["batch", "-", "-", "--jobs", "1", "-q"], input=ROWS)
    assert piped.exit_code == 1  # rows c and e failed
    assert piped.stdout == out.read_text()
    assert "2 of 5 rows failed; see the error column of standard output" in piped.stderr


def test_json_lines_carry_amounts_as_strings(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(ROWS)
    result = CliRunner().invoke(cli, ["batch", str(src), "-", "--format", "jsonl", "-q"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    expected = batch_of(parse_rows(ROWS))
    assert [{c: r[c] for c in OUTPUT_COLUMNS} for r in lines] == expected
    assert all(list(r) == list(FRAME_COLUMNS) and r["rules_hash"] == RULES_HASH for r in lines)


def test_parquet_output_of_the_local_batch(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.parquet"
    src.write_text(ROWS)
    assert CliRunner().invoke(cli, ["batch", str(src), str(out), "-q"]).exit_code == 1
    table = pq.read_table(out)
    assert table.schema.field("charge").type == pa.decimal128(12, 2)
    expected = batch_of(parse_rows(ROWS))
    assert table.column("row_id").to_pylist() == [r["row_id"] for r in expected]
    assert table.column("charge").to_pylist() == [
        Decimal(r["charge"]) if r["charge"] else None for r in expected
    ]
    assert not list(tmp_path.glob(".*tmp")) and not list(tmp_path.glob("*.lock"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["in.parquet", "out.csv"], "a Parquet input needs --engine dask"),
        (["in.csv", "out.csv", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler goes with"),
        (["in.csv", "out.csv", "--engine", "dask"], "--engine dask needs --scheduler"),
        (["in.csv", "-", "--format", "parquet"], "Parquet output needs a file"),
        (["in.csv", "/dev/null", "--format", "parquet"], "/dev/null is not a regular file"),
    ],
)
def test_command_user_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "in.csv").write_text(ROWS)
    (tmp_path / "in.parquet").write_bytes(b"")
    result = CliRunner().invoke(
        cli, ["batch", *[str(tmp_path / a) if a.startswith("in") else a for a in args]]
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
