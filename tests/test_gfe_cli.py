"""``ketacost gfe --format fhir`` and ``ketacost gfe --save``: the GFE handed out is the one kept.

Issue 14 §2-§3: the records keep "the exact PDF and HTML bytes handed to the patient"; the
FHIR export is the same document as a Da Vinci PCT GFE Bundle.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ketacost.cli import cli
from ketacost.documents import validate_gfe_fhir
from ketacost.records import open_records

ROOT = Path(__file__).resolve().parent.parent
SELF_PAY = ROOT / "examples" / "requests" / "iv-series-self-pay.yaml"
COMMERCIAL = ROOT / "examples" / "requests" / "iv-series-commercial.yaml"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/db/records.sqlite3"
    assert run("records", "init", "--db", url).exit_code == 0
    return url


def _saved_id(output: str) -> str:
    line = next(ln for ln in output.splitlines() if ln.startswith("Saved as record "))
    return line.split()[3].rstrip(",")


@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_gfe_save_keeps_the_bytes_written(db: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"gfe.{fmt}"
    result = run("gfe", SELF_PAY, "--format", fmt, "-o", out, "--save", "--db", db)
    assert result.exit_code == 0, result.output
    # Issued 2026-11-21 (the request's date): kept six years, to 2032-11-21.
    assert "kept until 2032-11-21" in result.output
    with open_records(db) as rec:
        stored = rec.show(_saved_id(result.output))
    if fmt == "pdf":
        assert stored.pdf == out.read_bytes()
    else:
        assert stored.html == out.read_bytes()
        assert stored.pdf is None  # no PDF was handed out


def test_gfe_save_of_an_insured_patients_excluded_items(db: str, tmp_path: Path) -> None:
    # The commercial plan excludes IV ketamine: the series is self-pay in law (45 CFR
    # 149.610(a)(2)), so its GFE is owed and kept like any other.
    out = tmp_path / "gfe.html"
    result = run("gfe", COMMERCIAL, "-o", out, "--save", "--db", db)
    assert result.exit_code == 0, result.output
    with open_records(db) as rec:
        stored = rec.show(_saved_id(result.output))
    assert stored.html == out.read_bytes()


def test_gfe_save_without_a_database_says_to_init(tmp_path: Path) -> None:
    out = tmp_path / "gfe.html"
    url = f"sqlite:///{tmp_path}/none.sqlite3"
    result = run("gfe", SELF_PAY, "-o", out, "--save", "--db", url)
    assert result.exit_code == 2, result.output
    assert "run 'ketacost records init'" in result.stderr
    assert "Traceback" not in result.output
    # Nothing handed out that the records lack.
    assert not out.exists()


def test_db_without_save_is_refused(tmp_path: Path) -> None:
    result = run("gfe", SELF_PAY, "-o", tmp_path / "g.html", "--db", "sqlite:///x.db")
    assert result.exit_code == 2
    assert "give --save too" in result.stderr


def test_gfe_format_fhir_writes_a_valid_pct_bundle(tmp_path: Path) -> None:
    out = tmp_path / "gfe.json"
    result = run("gfe", SELF_PAY, "--format", "fhir", "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    validate_gfe_fhir(text)
    bundle = json.loads(text)
    assert bundle["resourceType"] == "Bundle"
    # A PCT GFE Packet (a document) whose GFE Bundles hold the Claims.
    assert bundle["type"] == "document"
    gfe_bundles = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Bundle"
    ]
    claims = [
        e["resource"]
        for b in gfe_bundles
        for e in b["entry"]
        if e["resource"]["resourceType"] == "Claim"
    ]
    assert claims and all(c["use"] == "predetermination" for c in claims)
    # The same GFE twice gives the same bytes.
    again = tmp_path / "again.json"
    assert run("gfe", SELF_PAY, "--format", "fhir", "-o", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    ("command", "fmt"),
    [
        ("gfe", "html"),
        ("gfe", "pdf"),
        ("gfe", "json"),
        ("gfe", "fhir"),
        ("superbill", "csv"),
        ("superbill", "pdf"),
    ],
)
def test_patient_documents_are_written_owner_only(tmp_path: Path, command: str, fmt: str) -> None:
    # A GFE or superbill names the patient: never readable by other users (0600), even when a
    # file of that name was there with wider permissions.
    out = tmp_path / f"doc.{fmt}"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    result = run(command, SELF_PAY, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes() != b"old"


def test_the_same_gfe_saved_twice_is_one_record_and_its_bills_add_up(
    db: str, tmp_path: Path
) -> None:
    # The command run twice keeps one record: a second copy would take the second bill alone.
    out = tmp_path / "gfe.pdf"
    first = run("gfe", COMMERCIAL, "--format", "pdf", "-o", out, "--save", "--db", db)
    again = run("gfe", COMMERCIAL, "--format", "pdf", "-o", out, "--save", "--db", db)
    assert first.exit_code == 0 and again.exit_code == 0, (first.output, again.output)
    assert _saved_id(first.output) == _saved_id(again.output)
    # Two $4,000.00 bills for the infusions: $8,000.00 billed - $7,350.00 expected = $650.00,
    # at least $400 above (45 CFR 149.620(a)(2)(ii)), found on the second bill.
    for n, day in enumerate(("2027-02-01", "2027-06-01")):
        bill = tmp_path / f"bill{n}.yaml"
        bill.write_text(
            "patient: {name: Jordan Example, birth_date: 1985-06-02}\n"
            f"bill_date: {day}\n"
            f'lines:\n  - {{npi: "1234567893", amount: "4000.00", date: {day}}}\n',
            encoding="utf-8",
        )
        checked = run("bill", "check", bill, "--db", db)
        assert checked.exit_code == 0, checked.output
    assert "$650.00" in checked.output


def test_save_refuses_an_output_folder_that_is_not_there_before_keeping_anything(
    db: str, tmp_path: Path
) -> None:
    out = tmp_path / "no-such-folder" / "gfe.pdf"
    result = run("gfe", SELF_PAY, "--format", "pdf", "-o", out, "--save", "--db", db)
    assert result.exit_code == 2
    assert "nothing was saved" in result.stderr
    listed = run("records", "list", "--db", db)
    assert "Alex Example" not in listed.output


def test_save_says_when_the_issue_date_is_the_requests_not_today(db: str, tmp_path: Path) -> None:
    # The example request is dated 2026-11-21: kept with that date, and the command says so
    # unless --issued names the day it is handed out.
    result = run("gfe", SELF_PAY, "-o", tmp_path / "g.html", "--save", "--db", db)
    assert "the request's date, not today" in result.output
    given = run(
        "gfe", SELF_PAY, "-o", tmp_path / "g.html", "--save", "--db", db, "--issued", "2026-11-22"
    )
    assert given.exit_code == 0, given.output
    assert "not today" not in given.output
