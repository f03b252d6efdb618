"""The ``ketacost`` command, through click's CliRunner: every command and every user error.

A user error must exit with code 2 and print exactly one line to stderr, with no traceback.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import ketacost
from ketacost.__main__ import main
from ketacost._i18n import translator
from ketacost.cli import cli

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ROOT / "examples" / "requests"
ESKETAMINE = REQUESTS / "esketamine-commercial.yaml"
IV_SELF_PAY = REQUESTS / "iv-series-self-pay.yaml"
PAYERS = ROOT / "payers"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_user_error(result: Result, *expected: str) -> None:
    """Exit 2, one line on stderr containing each expected text, no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


def library_estimate(path: Path) -> ketacost.Estimate:
    payers = ketacost.load_payers(PAYERS)
    return ketacost.estimate(ketacost.load_request(path, payers=payers), payers=payers)


# -- help ------------------------------------------------------------------------------------
COMMANDS = [
    [],
    ["estimate"],
    ["compare"],
    ["schedule"],
    ["payers"],
    ["payers", "list"],
    ["payers", "show"],
    ["payers", "check"],
    ["batch"],
    ["gfe"],
    ["superbill"],
    ["serve"],
    ["schemas"],
    ["completion"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "ketacost")
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "ketacost " in result.output.split("Example", 1)[1]


def test_unknown_command_and_unknown_option_are_one_line_errors() -> None:
    assert_user_error(run("estimat"), "No such command 'estimat'")
    assert_user_error(
        run("estimate", ESKETAMINE, "--colour"),
        "No such option '--colour'",
        "'ketacost estimate --help'",
    )
    assert_user_error(run("estimate", ESKETAMINE, "--format", "xml"), "'xml' is not one of")
    assert_user_error(run("estimate"), "Missing argument 'REQUEST'")


# -- estimate ------------------------------------------------------------------------------------
def test_estimate_json_is_the_library_estimate_json_unchanged() -> None:
    result = run("estimate", IV_SELF_PAY, "--format", "json")
    assert result.exit_code == 0
    assert result.stdout == library_estimate(IV_SELF_PAY).model_dump_json(indent=2) + "\n"


def test_estimate_table_with_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    # A wide terminal: rich wraps cells to the width it finds (80 columns without a tty).
    monkeypatch.setenv("COLUMNS", "160")
    result = run("estimate", ESKETAMINE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "━" in out  # a rich table rule
    assert "All plan years" in out and "$6,000.00" in out
    # The commercial PPO's in-network maximum is $6,000: the year's deductible ($1,500),
    # copays and coinsurance stop there, and each kind of charge gets its sentence.
    assert "$1,500.00 goes to your Example Commercial PPO deductible" in out
    assert "$960.00 in copays" in out


def test_estimate_table_plain_when_rich_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich -> ImportError
    result = run("estimate", ESKETAMINE)
    assert result.exit_code == 0
    assert "━" not in result.stdout
    assert "------------------------  ------" in result.stdout
    assert "$1,500.00 goes to your Example Commercial PPO deductible" in result.stdout


def test_estimate_plain_option_matches_the_library_plain_table() -> None:
    from ketacost._render import render_table

    result = run("--plain", "estimate", ESKETAMINE)
    assert result.exit_code == 0
    assert result.stdout == render_table(library_estimate(ESKETAMINE))


def test_estimate_csv_has_one_row_per_line_and_adds_up() -> None:
    est = library_estimate(ESKETAMINE)
    result = run("estimate", ESKETAMINE, "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # 34 visits x 4 lines (J0013, 99214, and the observation as 99415 + 99416)
    assert len(rows) == sum(len(v.lines) for v in est.visits) == 136
    total = sum((ketacost.Money(r["patient"]) for r in rows), ketacost.Money(0))
    assert total == est.totals.patient == ketacost.Money("6000.00")


def test_estimate_markdown() -> None:
    result = run("estimate", IV_SELF_PAY, "--format", "markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("# Estimate: Self-pay")
    assert "| # | Date | Phase |" in result.stdout
    assert "|---:|---|---|" in result.stdout


def test_estimate_user_errors(tmp_path: Path) -> None:
    assert_user_error(run("estimate", tmp_path / "none.yaml"), "none.yaml", "cannot read the file")
    text = ESKETAMINE.read_text().replace("../clinics", str(ROOT / "examples" / "clinics"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("failed_trials: 2", "failed_trials: -1"))
    assert_user_error(run("estimate", bad), f"{bad}:7:18: patient.failed_trials:")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(text.replace("payer: commercial-ppo", "payer: acme"))
    assert_user_error(run("estimate", unknown), "unknown payer 'acme'")
    assert_user_error(run("estimate", ESKETAMINE, "--payers", tmp_path / "nope"), "does not exist")


def test_bad_payer_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\nname: [\n")
    assert_user_error(run("estimate", ESKETAMINE, "--payers", tmp_path), "broken.yaml:")


# -- compare -------------------------------------------------------------------------------------
def test_compare_ranks_by_patient_cost() -> None:
    result = run(
        "compare", ESKETAMINE, "--payer", "self-pay", "--payer", "medicare-part-b",
        "--payer", "commercial-ppo", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    costs = [ketacost.Money(r["patient_cost"]) for r in rows]
    assert costs == sorted(costs)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    by_payer = {r["payer_id"]: ketacost.Money(r["patient_cost"]) for r in rows}
    # Commercial PPO: capped at its $6,000 in-network maximum.
    assert by_payer["commercial-ppo"] == ketacost.Money("6000.00")
    # Self-pay: 8 sessions of 56 mg at $1,000 + 26 of 84 mg at $1,350 = 8,000 + 35,100 (issue
    # 11: the example clinic's cash prices sit below its gross charges; was $1,050 and $1,400).
    assert by_payer["self-pay"] == ketacost.Money("43100.00")
    assert [r["payer_id"] for r in rows][-1] == "self-pay"


def test_compare_table_networks_sessions_and_starts() -> None:
    result = run(
        "--plain", "compare", ESKETAMINE, "--network", "in", "--network", "out",
        "--session", "esketamine-56", "--start", "2026-03-02",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Ranked by what the patient pays" in out
    # Issue 16: "out of network" (it was "out network") and the date in words (it was ISO).
    assert "in network, esketamine-56, from Mar 2, 2026" in out
    assert "out of network, esketamine-56, from Mar 2, 2026" in out
    assert "out network" not in out
    assert "Cheapest for the patient: in network" in out


def test_compare_csv_and_markdown() -> None:
    args = ["compare", ESKETAMINE, "--payer", "self-pay", "--payer", "commercial-ppo"]
    result = run(*args, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["payer_id"] for r in rows] == ["commercial-ppo", "self-pay"]
    assert rows[1]["patient_cost"] == "43100.00"  # 8 × 1,000 + 26 × 1,350
    md = run(*args, "--format", "markdown").stdout
    assert md.startswith("# Comparison") and "| Rank | Option |" in md


def test_compare_user_errors() -> None:
    assert_user_error(run("compare", ESKETAMINE), "give at least one --payer")
    assert_user_error(run("compare", ESKETAMINE, "--payer", "acme"), "unknown payer 'acme'")
    assert_user_error(
        run("compare", ESKETAMINE, "--session", "nope"), "the clinic has no session 'nope'"
    )
    assert_user_error(run("compare", ESKETAMINE, "--start", "2026-13-01"), "--start")
    assert_user_error(run("compare", ESKETAMINE, "--network", "sideways"), "sideways")


# -- schedule -----------------------------------------------------------------------------------
def test_schedule_table_lists_every_session() -> None:
    request = ketacost.load_request(IV_SELF_PAY)
    visits = ketacost.expand(request.plan)
    result = run("--plain", "schedule", IV_SELF_PAY)
    assert result.exit_code == 0, result.output
    # Issue 16: dates in a patient's words ("Jan 4, 2027"), as ketacost._i18n formats them.
    t = translator("en", "cli")
    for v in visits:
        assert t.date(v.date, "medium") in result.stdout
    assert "IV ketamine infusion" in result.stdout


def test_schedule_ics_parses_back_with_one_event_per_session(tmp_path: Path) -> None:
    import icalendar

    path = tmp_path / "sessions.ics"
    result = run("schedule", IV_SELF_PAY, "--ics", path)
    assert result.exit_code == 0, result.output
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    events = list(cal.walk("VEVENT"))
    visits = ketacost.expand(ketacost.load_request(IV_SELF_PAY).plan)
    assert len(events) == len(visits) == 18
    assert [e.decoded("dtstart") for e in events] == [v.date for v in visits]
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    # Stable: the same request gives the same UIDs and the same bytes.
    again = tmp_path / "again.ics"
    assert run("schedule", IV_SELF_PAY, "--ics", again).exit_code == 0
    assert again.read_bytes() == path.read_bytes()
    # An estimate is in each description: the first intake visit is $250.00 self-pay.
    assert "$250.00" in str(events[0]["description"])


def test_schedule_ics_without_icalendar_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "icalendar", None)
    result = run("schedule", IV_SELF_PAY, "--ics", tmp_path / "x.ics")
    assert_user_error(result, "pip install 'ketacost[calendar]'")


def test_schedule_user_errors(tmp_path: Path) -> None:
    assert_user_error(run("schedule", tmp_path / "none.yaml"), "cannot read the file")
    assert_user_error(
        run("schedule", IV_SELF_PAY, "--ics", tmp_path / "no" / "dir" / "x.ics"), "x.ics"
    )


# -- payers ------------------------------------------------------------------------------------
def test_payers_list_and_show() -> None:
    listed = run("--plain", "payers", "list", "--payers", PAYERS)
    assert listed.exit_code == 0
    for pid in ketacost.load_payers(PAYERS):
        assert pid in listed.stdout
    data = json.loads(run("payers", "list", "--payers", PAYERS, "--format", "json").stdout)
    assert {d["id"] for d in data} == set(ketacost.load_payers(PAYERS))
    shown = run("--plain", "payers", "show", "commercial-ppo", "--payers", PAYERS)
    assert shown.exit_code == 0
    assert "Coverage rules" in shown.stdout and "Source: Aetna" in shown.stdout
    as_json = run("payers", "show", "medicare-part-b", "--format", "json", "--payers", PAYERS)
    assert json.loads(as_json.stdout)["id"] == "medicare-part-b"


def test_payers_show_says_what_a_payer_without_networks_is() -> None:
    # A Medigap plan pays only second: its table says after what and what it pays, with its
    # source; a self-pay payer says it bills no plan. Neither shows an empty table.
    medigap = run("--plain", "payers", "show", "medigap-plan-n", "--payers", PAYERS)
    assert medigap.exit_code == 0, medigap.output
    text = " ".join(medigap.stdout.split())
    assert "As a second payer" in text and "Medigap supplement" in text
    assert "pays the Part B coinsurance" in text
    assert "the patient pays up to $20.00 of the coinsurance per office visit" in text
    assert "the patient still owes the Part B deductible and excess charges" in text
    assert "Pays only as a second payer, after Original Medicare" in text
    assert "Networks" not in text and "Coverage rules" not in text
    self_pay = run("--plain", "payers", "show", "self-pay", "--payers", PAYERS)
    text = " ".join(self_pay.stdout.split())
    assert "Self-pay: no plan is billed" in text
    assert "Networks" not in text and "Cost sharing" not in text
    # A first payer that also pays second (Medicare after a group plan) shows both.
    medicare = " ".join(run("--plain", "payers", "show", "medicare-part-b").stdout.split())
    assert "Networks" in medicare and "As a second payer" in medicare
    assert "Medicare as second payer (42 CFR 411.33(a))" in medicare
    medicaid = " ".join(run("--plain", "payers", "show", "medicaid").stdout.split())
    assert "the whole cost share on a code it has no rate for" in medicaid


def test_payers_show_unknown_is_a_user_error() -> None:
    assert_user_error(run("payers", "show", "acme"), "unknown payer 'acme'; known payers:")


def test_payers_check_good_folder(tmp_path: Path) -> None:
    result = run("payers", "check", PAYERS, "--today", "2026-11-21")
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 stale" in result.stderr


def test_payers_check_reports_every_error_with_a_position(tmp_path: Path) -> None:
    shutil.copytree(PAYERS, tmp_path, dirs_exist_ok=True)
    ppo = tmp_path / "commercial-ppo.yaml"
    ppo.write_text(ppo.read_text().replace("coinsurance: 0.2,", "coinsurance: 1.2,"))
    (tmp_path / "acme.yaml").write_text("id: other\n")
    result = run("payers", "check", tmp_path, "--today", "2026-11-21")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    expected = [str(i) for i in ketacost.check_payers(tmp_path)]
    assert lines == expected and len(lines) >= 2
    assert any(line.startswith(f"{ppo}:") and "coinsurance" in line for line in lines)
    assert "Traceback" not in result.output


def test_payers_check_reports_stale_review_dates() -> None:
    result = run("payers", "check", PAYERS, "--today", "2028-01-01", "--max-age-days", "365")
    assert result.exit_code == 1
    stale = ketacost.stale_payers(
        ketacost.load_payers(PAYERS), today=date(2028, 1, 1), max_age_days=365
    )
    assert len(stale) == len(result.stdout.splitlines()) > 0
    assert "metadata.last_reviewed" in result.stdout and "days old" in result.stdout


def test_payers_check_missing_folder(tmp_path: Path) -> None:
    assert_user_error(run("payers", "check", tmp_path / "none"), "does not exist")


# -- serve ---------------------------------------------------------------------------------------
def test_serve_without_the_web_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ketacost.web", None)
    assert_user_error(run("serve"), "pip install 'ketacost[web]'")


def test_serve_on_a_busy_port_is_one_line_and_exit_2() -> None:
    pytest.importorskip("uvicorn")
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert_user_error(
            run("serve", "--host", "127.0.0.1", "--port", str(port)),
            f"cannot listen on 127.0.0.1:{port}: address already in use",
        )


def test_serve_on_an_unknown_host_is_one_line_and_exit_2() -> None:
    pytest.importorskip("uvicorn")
    # .invalid never resolves (RFC 2606); the resolver fails without a network, too
    assert_user_error(
        run("serve", "--host", "no-such-host.invalid", "--port", "8123"),
        "cannot listen on no-such-host.invalid:8123: ",
    )


def test_serve_bad_port() -> None:
    assert_user_error(run("serve", "--port", "0"), "--port")


# -- schemas and the entry points ---------------------------------------------------------
def test_schemas_writes_the_checked_in_schemas(tmp_path: Path) -> None:
    result = run("schemas", tmp_path)
    assert result.exit_code == 0
    for checked_in in (ROOT / "schemas").glob("*.json"):
        assert (tmp_path / checked_in.name).read_text() == checked_in.read_text()


def test_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plain", "estimate", str(IV_SELF_PAY)]) == 0
    assert "Self-pay" in capsys.readouterr().out
    assert main(["payers", "show", "acme"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown payer" in err


def test_python_dash_m_ketacost_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ketacost", "estimate", str(IV_SELF_PAY), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["patient"] == "7600.00"


# -- documents -------------------------------------------------------------------------------
def test_gfe_html_pdf_and_json(tmp_path: Path) -> None:
    from ketacost.documents import GoodFaithEstimate

    html = tmp_path / "gfe.html"
    result = run("gfe", IV_SELF_PAY, "-o", html, "--issued", "2026-11-21")
    assert result.exit_code == 0, result.output
    # The self-pay IV year: intake $250 + 6-infusion package $2,400 + 11 boosters at $450
    # ($4,950) = $7,600, all within 12 months of the first session.
    assert "Good Faith Estimate for Alex Example: $7,600.00 expected" in result.stdout
    text = html.read_text()
    assert "Alex Example" in text and "$7,600.00" in text
    pdf = tmp_path / "gfe.pdf"
    assert run("gfe", IV_SELF_PAY, "--format", "pdf", "-o", pdf).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    data = tmp_path / "gfe.json"
    assert run("gfe", IV_SELF_PAY, "--format", "json", "-o", data).exit_code == 0
    doc = GoodFaithEstimate.model_validate_json(data.read_text())
    assert doc.total_expected == ketacost.Money("7600.00")
    assert doc.issued == date(2026, 11, 21)  # the request's issue date


def test_gfe_expected_visits_gives_a_range(tmp_path: Path) -> None:
    from ketacost.documents import GoodFaithEstimate

    out = tmp_path / "gfe.json"
    result = run("gfe", IV_SELF_PAY, "--format", "json", "-o", out, "--expected-visits", "15-20")
    assert result.exit_code == 0, result.output
    assert GoodFaithEstimate.model_validate_json(out.read_text()).range is not None


def test_gfe_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "gfe.html"
    assert_user_error(run("gfe", ESKETAMINE, "-o", out), "for uninsured or self-pay patients")
    assert_user_error(run("gfe", IV_SELF_PAY), "Missing option '-o'")
    assert_user_error(run("gfe", IV_SELF_PAY, "-o", out, "--expected-visits", "many"), "LOW-HIGH")
    monkeypatch.setitem(sys.modules, "fpdf", None)
    result = run("gfe", IV_SELF_PAY, "--format", "pdf", "-o", tmp_path / "g.pdf")
    assert_user_error(result, "pip install 'ketacost[pdf]'")


def test_superbill_month_in_every_format(tmp_path: Path) -> None:
    from ketacost.documents import Superbill

    month = ["--from", "2027-01-01", "--to", "2027-01-31"]
    out = tmp_path / "bill.csv"
    result = run("superbill", IV_SELF_PAY, *month, "--format", "csv", "-o", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert len(rows) > 2
    as_json = tmp_path / "bill.json"
    assert run("superbill", IV_SELF_PAY, *month, "--format", "json", "-o", as_json).exit_code == 0
    bill = Superbill.model_validate_json(as_json.read_text())
    assert all(date(2027, 1, 1) <= ln.date <= date(2027, 1, 31) for ln in bill.lines)
    # January 2027: intake (1 line) + 6 induction infusions (2 lines each) = 13 lines.
    assert len(bill.lines) == 13
    html = tmp_path / "bill.html"
    assert run("superbill", IV_SELF_PAY, *month, "-o", html).exit_code == 0
    assert "Alex Example" in html.read_text()
    pdf = tmp_path / "bill.pdf"
    assert run("superbill", IV_SELF_PAY, "--format", "pdf", "-o", pdf).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")


def test_superbill_user_errors(tmp_path: Path) -> None:
    out = tmp_path / "bill.html"
    assert_user_error(run("superbill", ESKETAMINE, "-o", out), "patient")
    assert_user_error(run("superbill", IV_SELF_PAY, "--from", "2030-01-01", "-o", out), "no visit")
    assert_user_error(run("superbill", IV_SELF_PAY, "--format", "docx", "-o", out), "docx")


def test_estimate_shows_savings_and_the_range(tmp_path: Path) -> None:
    text = ESKETAMINE.read_text().replace("../clinics", str(ROOT / "examples" / "clinics"))
    text = text.replace("  prior_authorization: approved\n", "  prior_authorization: pending\n")
    text = text.replace("  network: in\n", "  network: in\n  savings_program: spravato-withme\n")
    text += "unknowns:\n  prior_authorization: [approved, denied]\n"
    path = tmp_path / "unknown.yaml"
    path.write_text(text)
    est = library_estimate(path)
    assert est.range is not None and est.range.low < est.range.high
    result = run("--plain", "estimate", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    r = est.range
    assert f"you may pay from {format(r.low, '$')} to {format(r.high, '$')}" in out
    assert "Savings" in out
    if est.totals.assistance:
        assert "paid by the manufacturer's savings program" in out
