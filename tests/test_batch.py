"""Batch estimates: one output row per input row, in order; bad rows carry their error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_rows, exercises, note

import ketacost
from ketacost.batch import (
    OUTPUT_COLUMNS,
    BatchInputError,
    estimate_row,
    parse_rows,
    read_rows,
    run_batch,
    run_batch_csv,
)
from ketacost.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "batch" / "patients.csv"
CLINIC = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
PAYERS = ketacost.load_payers(ROOT / "payers")

HEADER = "row_id,payer,network,prior_authorization,age,diagnoses,failed_trials,plan,session,sessions,every_days,start,deductible_met"
GOOD_AND_BAD = f"""# a comment line before the header
{HEADER}
a,self-pay,,,38,F33.2,3,iv-induction,,,,2026-03-02,
b,commercial-ppo,in,approved,50,F33.2,2,esketamine-induction,,,,2026-03-02,
c,self-pay,,,forty,F33.2,3,iv-induction,,,,2026-03-02,
# a comment between rows
d,self-pay,,,38,F33.2,3,,intake,1,,2026-03-02,
e,medicare-part-b,in,,71,F33.2,2,no-such-plan,,,,2026-03-02,
f,self-pay,,,38,F33.2,3,iv-induction,,,,2026-02-30,
g,commercial-ppo,in,approved,50,F33.2,2,,esketamine-56,2,3,2026-03-02,abc
h,self-pay,,,38,F33.2,3,,,,,2026-03-02,
i,self-pay,,,38,F33.2,3,,no-such-session,1,,2026-03-02,
j,commercial-ppo,in,approved,50,F33.2,2,,esketamine-56,1,,2026-03-02,100.00
"""


@pytest.fixture
def good_and_bad(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(GOOD_AND_BAD)
    return path


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["row_id"]: r for r in rows}


def test_one_output_row_per_input_row_in_order_with_errors(good_and_bad: Path) -> None:
    out = run_batch(read_rows(good_and_bad), clinic=CLINIC, payers=PAYERS, jobs=1)
    assert [r["row_id"] for r in out] == list("abcdefghij")
    rows = by_id(out)
    # a: self-pay IV induction = the clinic's 6-infusion package, $2,400 for all six.
    assert rows["a"]["visits"] == "6" and rows["a"]["patient"] == "2400.00"
    assert rows["a"]["plan_paid"] == "0.00" and rows["a"]["error"] == ""
    # d: one self-pay intake at the clinic's $250.00.
    assert rows["d"]["patient"] == "250.00" and rows["d"]["first_visit"] == "2026-03-02"
    assert rows["b"]["error"] == "" and rows["b"]["visits"] == "8"
    # Each error names the file line its row is on (the comments and the header count).
    assert rows["c"]["error"] == "line 5: age: must be a whole number (got 'forty')"
    assert rows["e"]["error"].startswith("line 8: plan: unknown plan template 'no-such-plan'")
    assert rows["f"]["error"] == "line 9: start: must be a date YYYY-MM-DD (got '2026-02-30')"
    assert rows["g"]["error"].startswith("line 10: deductible_met:")
    assert rows["h"]["error"].startswith("line 11: session: give a session template")
    assert rows["i"]["error"].startswith(
        "line 12: session: the clinic has no session 'no-such-session'"
    )
    for bad in "cefghi":
        assert rows[bad]["patient"] == "" and rows[bad]["visits"] == ""


def test_a_row_equals_the_same_request_estimated_directly(good_and_bad: Path) -> None:
    out = by_id(run_batch(read_rows(good_and_bad), clinic=CLINIC, payers=PAYERS, jobs=1))
    request = ketacost.request_from_data(
        {
            "patient": {"age": 50, "diagnoses": ["F33.2"], "failed_trials": 2},
            "coverage": {
                "payer": "commercial-ppo",
                "network": "in",
                "prior_authorization": "approved",
                "accumulators": {
                    "as_of": "2026-03-02",
                    "deductible_met": {"individual": "100.00"},
                    "out_of_pocket_met": {"individual": "0"},
                },
            },
            "clinic": CLINIC,
            "plan": {
                "start": "2026-03-02",
                "phases": [{"session": "esketamine-56", "sessions": 1}],
            },
        },
        payers=PAYERS,
    )
    direct = ketacost.estimate(request, payers=PAYERS).totals
    row = out["j"]
    assert row["patient"] == str(direct.patient) and row["plan_paid"] == str(direct.payer)
    assert row["deductible"] == str(direct.deductible)


def test_same_result_with_one_and_two_jobs(good_and_bad: Path) -> None:
    rows = read_rows(good_and_bad) * 3
    one = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    two = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=2, chunk_size=4)
    assert one == two and len(two) == len(rows)


def test_progress_counts_every_row(good_and_bad: Path) -> None:
    seen: list[int] = []
    rows = read_rows(good_and_bad)
    run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1, chunk_size=3, progress=seen.append)
    assert seen == [3, 3, 3, 1] and sum(seen) == len(rows)


@given(st.permutations(list("abcdefghij")))
def test_output_follows_input_order(order: list[str]) -> None:
    rows = {r["row_id"]: r for r in _ROWS}
    out = run_batch([rows[k] for k in order], clinic=CLINIC, payers=PAYERS, jobs=1)
    assert [r["row_id"] for r in out] == order
    assert all(r == _BY_ID[r["row_id"]] for r in out)


_ROWS = parse_rows(GOOD_AND_BAD)
_BY_ID = by_id(run_batch(_ROWS, clinic=CLINIC, payers=PAYERS, jobs=1))


def test_csv_files_round_trip(good_and_bad: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    summary = run_batch_csv(good_and_bad, out, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert (summary.rows, summary.errors) == (10, 6)
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == OUTPUT_COLUMNS
        written = list(reader)
    assert written == run_batch(read_rows(good_and_bad), clinic=CLINIC, payers=PAYERS, jobs=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header row"),
        ("# only a comment\n", "no header row"),
        ("row_id,payer,start,colour\n", ":1:1: unknown column 'colour'"),
        ("# note\nrow_id,payer\n", ":2:1: missing column 'start'"),
        ("row_id,payer,start,row_id\n", ":1:1: column 'row_id' appears more than once"),
    ],
)
def test_bad_input_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(text)
    with pytest.raises(BatchInputError) as err:
        read_rows(path)
    assert message in str(err.value) and str(err.value).startswith(str(path))


def test_a_row_with_too_many_cells(tmp_path: Path) -> None:
    rows = parse_rows("row_id,payer,start\nx,self-pay,2026-03-02,extra\n")
    (out,) = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out["error"] == "line 2: row: more cells than the header has columns"


def test_missing_required_cells(tmp_path: Path) -> None:
    rows = parse_rows("row_id,payer,start,age,session\nx,,2026-03-02,40,intake\n")
    (out,) = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert out["error"] == "line 2: payer: missing (a required column)"


def test_the_example_file_runs(tmp_path: Path) -> None:
    out = run_batch(read_rows(EXAMPLE), payers=PAYERS, jobs=1)
    assert len(out) == 9
    assert [r["row_id"] for r in out if r["error"]] == ["7", "8"]
    rows = by_id(out)
    # Row 9 is row 2 with the savings program: the same plan result, part of it paid by the
    # program, and patient_net = patient - assistance.
    assert rows["9"]["patient"] == rows["2"]["patient"] == "6000.00"
    net = ketacost.Money(rows["9"]["patient"]) - ketacost.Money(rows["9"]["assistance"])
    assert ketacost.Money(rows["9"]["patient_net"]) == net < ketacost.Money("6000.00")


# -- the command -------------------------------------------------------------------------------
def test_batch_command(good_and_bad: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli, ["batch", str(good_and_bad), str(out), "--jobs", "2", "--payers", str(ROOT / "payers")]
    )
    # Six bad rows: exit 1 and one summary line (the error cells say what is wrong).
    assert result.exit_code == 1, result.output
    assert f"6 of 10 rows failed; see the error column of {out}\n" in result.stderr
    with out.open(newline="") as f:
        assert [r["row_id"] for r in csv.DictReader(f)] == list("abcdefghij")


def test_batch_command_user_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("row_id,payer,start,colour\n")
    for args, expected in [
        (["batch", str(tmp_path / "none.csv"), str(tmp_path / "o.csv")], "cannot read the file"),
        (["batch", str(bad), str(tmp_path / "o.csv")], f"{bad}:1:1: unknown column 'colour'"),
        (["batch", str(EXAMPLE), str(tmp_path / "o.csv"), "--jobs", "0"], "--jobs"),
        (
            ["batch", str(EXAMPLE), str(tmp_path / "o.csv"), "--clinic", str(tmp_path / "c.yaml")],
            "c.yaml: cannot read the file",
        ),
    ]:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
        assert "Traceback" not in result.output


def test_output_cells_cannot_start_a_spreadsheet_formula(tmp_path: Path) -> None:
    # A row id of =HYPERLINK(...) comes back as text ('=...), never as a formula.
    src = tmp_path / "in.csv"
    src.write_text('row_id,payer,start\n"=HYPERLINK(""x"")",self-pay,2026-03-02\n')
    out = tmp_path / "out.csv"
    run_batch_csv(src, out, clinic=CLINIC, payers=PAYERS, jobs=1)
    with out.open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["row_id"] == '\'=HYPERLINK("x")'


@exercises(estimated=0.15, refused=0.15)
@given(batch_rows())
def test_every_row_gives_one_output_row_with_totals_or_an_error(row: dict[str, str]) -> None:
    """Whatever a row holds (valid cells, or the hostile ones of issue 9), it is estimated or
    refused in its own output row: never an exception, never both amounts and an error."""
    out = estimate_row(row, CLINIC, PAYERS)
    assert set(out) == set(OUTPUT_COLUMNS)
    note("estimated", not out["error"])
    note("refused", bool(out["error"]))
    if out["error"]:
        assert all(out[name] == "" for name in ("patient", "charge", "visits"))
        assert "\n" not in out["error"] and len(out["error"]) <= 300
        return
    for name in ("charge", "patient", "plan_paid", "write_off", "patient_net"):
        assert ketacost.Money(out[name]).cents >= 0, name
    total = ketacost.Money(out["patient"]) + ketacost.Money(out["plan_paid"])
    total += ketacost.Money(out["secondary"])  # a second payer's part (issue 12)
    assert total + ketacost.Money(out["write_off"]) == ketacost.Money(out["charge"])
    if not row.get("secondary_payer"):
        assert out["secondary"] == "0.00"


# -- a second payer (issue 12 §3) ------------------------------------------------------------------
SECOND_PAYERS = """row_id,payer,secondary_payer,qmb,plan,age,diagnoses,failed_trials,prior_authorization,start
alone,medicare-part-b,,,esketamine-year,70,F33.2,2,approved,2026-01-05
g,medicare-part-b,medigap-plan-g,no,esketamine-year,70,F33.2,2,approved,2026-01-05
tfl,medicare-part-b,tricare-for-life,,esketamine-year,70,F33.2,2,approved,2026-01-05
unknown,medicare-part-b,acme,,esketamine-year,70,F33.2,2,approved,2026-01-05
same,medicare-part-b,medicare-part-b,,esketamine-year,70,F33.2,2,approved,2026-01-05
after-ppo,commercial-ppo,medigap-plan-g,,esketamine-year,70,F33.2,2,approved,2026-01-05
bad-qmb,medicare-part-b,medicaid,maybe,esketamine-year,70,F33.2,2,approved,2026-01-05
qmb-alone,medicare-part-b,,yes,esketamine-year,70,F33.2,2,approved,2026-01-05
qmb-medigap,medicare-part-b,medigap-plan-g,yes,esketamine-year,70,F33.2,2,approved,2026-01-05
not-a-slug,medicare-part-b,Medigap G!,,esketamine-year,70,F33.2,2,approved,2026-01-05
"""


def test_a_row_may_name_a_second_payer() -> None:
    rows = by_id(
        run_batch(parse_rows(SECOND_PAYERS, "in.csv"), clinic=CLINIC, payers=PAYERS, jobs=1)
    )
    # The esketamine year under Original Medicare: 34 visits, Medicare approves $42,878.80 and
    # pays $34,076.52 less the 2% sequestration, rounded per line ($681.59): $33,394.93; the
    # patient's share is the Part B deductible $283.00 + 20% coinsurance $8,519.28 = $8,802.28.
    alone, g, tfl = rows["alone"], rows["g"], rows["tfl"]
    assert (alone["patient_net"], alone["plan_paid"], alone["secondary"]) == (
        "8802.28", "33394.93", "0.00",
    )  # fmt: skip
    # Plan G pays the coinsurance, not the deductible.
    assert (g["patient_net"], g["plan_paid"], g["secondary"]) == ("283.00", "33394.93", "8519.28")
    # TRICARE For Life pays the whole Medicare cost share on items both cover.
    assert (tfl["patient_net"], tfl["secondary"]) == ("0.00", "8802.28")
    assert all(rows[k]["error"] == "" for k in ("alone", "g", "tfl"))


@pytest.mark.parametrize(
    ("row_id", "error"),
    [
        ("unknown", "line 5: secondary_payer: unknown payer 'acme' (known: "),
        ("same", "line 6: secondary_payer: the same payer as the first (medicare-part-b)"),
        ("after-ppo", "line 7: secondary_payer: medigap-plan-g does not pay after a commercial"),
        ("bad-qmb", "line 8: qmb: must be yes or no (got 'maybe')"),
        ("qmb-alone", "line 9: qmb: needs a secondary_payer"),
        ("qmb-medigap", "line 10: qmb: qmb belongs on the Medicaid coverage that pays after"),
        ("not-a-slug", "line 11: secondary_payer: "),
    ],
)
def test_a_bad_second_payer_is_a_row_error_naming_its_column(row_id: str, error: str) -> None:
    rows = by_id(
        run_batch(parse_rows(SECOND_PAYERS, "in.csv"), clinic=CLINIC, payers=PAYERS, jobs=1)
    )
    assert rows[row_id]["error"].startswith(error), rows[row_id]["error"]
    assert rows[row_id]["secondary"] == ""
