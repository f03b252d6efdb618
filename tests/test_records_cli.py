"""``ketacost records ...`` and ``ketacost bill check``, through click's CliRunner (SQLite).

The same commands run on PostgreSQL through the library (tests/test_records.py); one
bill check here runs against the PostgreSQL server too.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _postgres import fresh_database
from click.testing import CliRunner, Result

from ketacost import estimate, load_payers
from ketacost._loader import load_request
from ketacost.cli import cli
from ketacost.records import open_records, rule_files_of, used_rule_paths

ROOT = Path(__file__).resolve().parent.parent
SELF_PAY = ROOT / "examples" / "requests" / "iv-series-self-pay.yaml"

BILL = """\
patient: {name: Alex Example, birth_date: 1988-04-12}
bill_date: 2027-03-01
lines:
  - {npi: "1234567893", amount: "8000.01", date: 2027-01-04}
"""


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_user_error(result: Result, *expected: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/db/records.sqlite3"
    assert run("records", "init", "--db", url).exit_code == 0
    return url


def _saved(db: str) -> str:
    result = run("records", "save-gfe", SELF_PAY, "--pdf", "--db", db)
    assert result.exit_code == 0, result.output
    assert "kept until 2032-11-21" in result.output
    return result.output.split()[4]


def test_list_before_init_says_to_init(tmp_path: Path) -> None:
    result = run("records", "list", "--db", f"sqlite:///{tmp_path}/none.sqlite3")
    assert_user_error(result, "no records database at", "run 'ketacost records init'")
    assert not (tmp_path / "none.sqlite3").exists()


def test_init_save_list_show(db: str, tmp_path: Path) -> None:
    gfe_id = _saved(db)
    listed = run("records", "list", "--db", db)
    assert listed.exit_code == 0
    assert f"{gfe_id[:12]}  2026-11-21  Alex Example (1988-04-12)" in listed.output
    assert "$7,600.00  2032-11-21" in listed.output
    # the whole name, in any case: found; a first name alone says why nothing is listed
    assert gfe_id[:12] in run("records", "list", "--patient", "alex  EXAMPLE", "--db", db).output
    alone = run("records", "list", "--patient", "Alex", "--db", db)
    assert alone.exit_code == 0
    assert alone.output.startswith("No Good Faith Estimate stored for 'Alex': the patient's whole")
    assert "No Good Faith Estimates stored." not in alone.output
    html, pdf = tmp_path / "gfe.html", tmp_path / "gfe.pdf"
    shown = run("records", "show", gfe_id[:8], "--html", html, "--pdf", pdf, "--db", db)
    assert shown.exit_code == 0, shown.output
    assert "read: clinic.json, self-pay.yaml" in shown.output
    with open_records(db) as rec:
        stored = rec.show(gfe_id)
    assert html.read_bytes() == stored.html
    assert pdf.read_bytes() == stored.pdf
    assert pdf.read_bytes().startswith(b"%PDF")
    # The patient's documents are written owner-only.
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600


def test_bill_check_finds_the_gfe_and_stores_the_finding(db: str, tmp_path: Path) -> None:
    gfe_id = _saved(db)
    bill = tmp_path / "bill.yaml"
    bill.write_text(BILL, encoding="utf-8")
    result = run("bill", "check", bill, "--db", db)
    assert result.exit_code == 0, result.output
    assert f"Compared with Good Faith Estimate {gfe_id}" in result.output
    # 8,000.01 - 7,600.00 = 400.01; 2027-03-01 + 120 days = 2027-06-29.
    assert "billed $8,000.01, $400.01 above its expected charges of $7,600.00" in result.output
    assert "by 2027-06-29" in result.output
    shown = run("records", "show", gfe_id, "--db", db)
    assert "(2027-03-01, $8,000.01): 1 finding" in shown.output
    # The check is shown by its own id too, and its dispute window (to 2027-06-29) is open.
    check_id = result.output.split("stored as check ")[1].split()[0]
    check = run("records", "show", check_id[:8], "--db", db)
    assert check.exit_code == 0, check.output
    assert f"bill check {check_id[:12]} of GFE {gfe_id[:12]}" in check.output
    assert "$400.01 above its expected charges" in check.output
    listed = run("records", "list", "--open-disputes", "--db", db)
    assert listed.exit_code == 0, listed.output
    assert f"Alex Example: bill check {check_id[:12]}" in listed.output


def test_bill_check_on_postgresql(tmp_path: Path) -> None:
    bill = tmp_path / "bill.yaml"
    bill.write_text(BILL.replace("8000.01", "7999.99"), encoding="utf-8")
    with fresh_database() as url:
        assert run("records", "init", "--db", url).exit_code == 0
        gfe_id = _saved(url)
        result = run("bill", "check", bill, "--gfe", gfe_id[:6], "--db", url)
        assert result.exit_code == 0, result.output
        # 7,999.99 - 7,600.00 = 399.99: below $400.00, no finding.
        assert "No provider billed $400.00 or more" in result.output


def test_a_bad_bill_file_names_the_line_and_column(db: str, tmp_path: Path) -> None:
    bill = tmp_path / "bill.yaml"
    bill.write_text(BILL.replace('npi: "1234567893"', 'npi: "1234567890"'), encoding="utf-8")
    result = run("bill", "check", bill, "--db", db)
    assert_user_error(result, f"{bill}:4:", "npi")
    bill.write_text(BILL + "totalz: {}\n", encoding="utf-8")
    assert_user_error(run("bill", "check", bill, "--db", db), f"{bill}:5:1", "totalz")


def test_a_bill_file_with_no_amounts_is_refused(db: str, tmp_path: Path) -> None:
    _saved(db)
    bill = tmp_path / "bill.yaml"
    bill.write_text("patient: {name: Alex Example}\nbill_date: 2027-03-01\n", encoding="utf-8")
    assert_user_error(run("bill", "check", bill, "--db", db), f"{bill}:1:1:", "no amounts")


def test_bill_check_without_patient_or_gfe(db: str, tmp_path: Path) -> None:
    _saved(db)
    bill = tmp_path / "bill.yaml"
    bill.write_text('totals: {"1234567893": "9000.00"}\n', encoding="utf-8")
    assert_user_error(run("bill", "check", bill, "--db", db), "give the patient's name")


def test_purge_refuses_inside_retention_and_deletes_past_it(db: str) -> None:
    gfe_id = _saved(db)  # issued 2026-11-21: kept until 2032-11-21
    refused = run("records", "purge", "--record", gfe_id, "--db", db)
    assert_user_error(refused, f"record {gfe_id} is kept until 2032-11-21", "not deleted")
    kept = run("records", "purge", "--db", db)
    assert "Deleted 0 records past retention; 1 kept." in kept.output
    # Issued 2018-01-02: kept until 2024-01-02, before today's date.
    old = run("records", "save-gfe", SELF_PAY, "--issued", "2018-01-02", "--db", db)
    old_id = old.output.split()[4]
    done = run("records", "purge", "--db", db)
    assert done.exit_code == 0, done.output
    assert f"deleted {old_id}" in done.output
    assert "1 kept" in done.output


def test_purge_refuses_a_today_after_the_clock(db: str) -> None:
    gfe_id = _saved(db)
    # A --today later than today's date would delete records still inside retention.
    for args in (("--today", "2032-11-22"), ("--today", "2099-01-01", "--record", gfe_id)):
        refused = run("records", "purge", *args, "--db", db)
        assert_user_error(refused, "is after today's date", "never purged ahead of the clock")
    with open_records(db) as rec:
        assert [s.id for s in rec.list_gfes()] == [gfe_id]


def test_reestimate_changed_rules_shows_the_change_and_the_amount(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    shutil.copytree(ROOT / "payers", folder)
    payers = load_payers(folder)
    text = (ROOT / "examples" / "requests" / "esketamine-commercial.yaml").read_text("utf-8")
    text = text.replace("../clinics/", f"{ROOT}/examples/clinics/")
    (tmp_path / "req.yaml").write_text(text.partition("    - {name: optimisation")[0], "utf-8")
    req = load_request(tmp_path / "req.yaml", payers=payers)
    with open_records(db) as rec:
        est_id = rec.save_estimate(
            request=req,
            estimate=estimate(req, payers=payers),
            rule_files=rule_files_of(req, payers),
            used=used_rule_paths(req, payers),
        )
    _saved(db)
    same = run("records", "reestimate", "--changed-rules", "--payers", folder, "--db", db)
    assert same.exit_code == 0, same.output
    assert "0 of 2 stored estimates change." in same.output
    ppo = folder / "commercial-ppo.yaml"
    ppo.write_text(
        ppo.read_text("utf-8").replace(
            "office-visit: {copay: 40.00,", "office-visit: {copay: 55.00,"
        ),
        "utf-8",
    )
    result = run("records", "reestimate", "--changed-rules", "--payers", folder, "--db", db)
    assert result.exit_code == 1, result.output
    # 8 visits x $15.00 more copay = $120.00 more for the patient, $120.00 less from the plan.
    assert (
        f"estimate {est_id[:12]}: CHANGED (commercial-ppo.yaml changed): "
        "patient $2,460.80 -> $2,580.80 (+$120.00), plan "
    ) in result.output
    assert "(-$120.00)" in result.output
    assert "Alex Example" in result.output
    assert "unchanged (none of its rule files changed)" in result.output
    assert "1 of 2 stored estimates change." in result.output


def test_reestimate_with_a_changed_clinic_file_and_changed_warnings(
    db: str, tmp_path: Path
) -> None:
    import json

    import sqlalchemy as sa

    gfe_id = _saved(db)
    clinic = tmp_path / "clinic.yaml"
    text = (ROOT / "examples" / "clinics" / "example-clinic.yaml").read_text("utf-8")
    assert "    self_pay: 250.00          # intake" in text
    clinic.write_text(text.replace("    self_pay: 250.00 ", "    self_pay: 300.00 "), "utf-8")
    # The stored clinic is the default: nothing changes.
    same = run("records", "reestimate", "--db", db)
    assert "0 of 1 stored estimates change." in same.output, same.output
    # The changed clinic file re-prices the self-pay intake: $250.00 -> $300.00, so the
    # patient's $7,600.00 becomes 7,600.00 + 50.00 = $7,650.00.
    result = run("records", "reestimate", "--changed-rules", "--clinic", clinic, "--db", db)
    assert result.exit_code == 1, result.output
    assert (
        f"Alex Example {gfe_id[:12]}: CHANGED (clinic.json changed): "
        "patient $7,600.00 -> $7,650.00 (+$50.00)"
    ) in result.output
    # A warning the stored estimate had and the re-run does not give is reported.
    with open_records(db) as rec:
        estimate_id = rec.show(gfe_id).estimate_id
        with rec.engine.begin() as conn:
            body = json.loads(
                conn.execute(
                    sa.text("SELECT body FROM estimates WHERE id = :id"), {"id": estimate_id}
                ).scalar_one()
            )
            body["warnings"] = [*body.get("warnings", []), "an old warning"]
            conn.execute(
                sa.text("UPDATE estimates SET body = :body WHERE id = :id"),
                {"body": json.dumps(body), "id": estimate_id},
            )
    warned = run("records", "reestimate", "--db", db)
    assert warned.exit_code == 1, warned.output
    assert "CHANGED: its warnings (the totals are the same)" in warned.output
    assert "    warning gone: an old warning" in warned.output


def test_verify_reports_an_intact_log(db: str) -> None:
    _saved(db)
    result = run("records", "verify", "--db", db)
    assert result.exit_code == 0
    assert "Audit log intact: 2 entries" in result.output
    bad = run("records", "verify", "--anchor", "f" * 64, "--db", db)
    assert bad.exit_code == 1
    assert "TAMPERED: the noted head ffffffffffff" in bad.output


def test_records_help_imports_no_database_library() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from ketacost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for args in (['records', '--help'], ['bill', 'check', '--help']):\n"
        "        main(args)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'psycopg', 'platformdirs')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://clinic:secret@/records?host={tmp_path}"
    result = run("records", "init", "--db", url)
    assert_user_error(result, "cannot open the records database postgresql+psycopg://clinic:***@")
    assert "secret" not in result.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://clinic:s3cret@db.example:notaport/records", "its port is not a number"),
        ("clinic:s3cret@db.example", "cannot be read"),
    ],
)
def test_a_bad_url_is_one_line_without_its_password(url: str, expected: str) -> None:
    result = run("records", "list", "--db", url)
    assert_user_error(result, "not a database URL", expected, "clinic:***@db.example")
    assert "s3cret" not in result.output


def test_a_locked_sqlite_database_is_one_line(db: str) -> None:
    import sqlite3

    path = db.removeprefix("sqlite:///")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        # Wait 0.1 s for the lock, not SQLite's default 5 s.
        result = run("records", "save-gfe", SELF_PAY, "--db", f"{db}?timeout=0.1")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert_user_error(result, "the records database sqlite:///", "database is locked")
    assert "internal error" not in result.output
    assert "OperationalError" not in result.output
