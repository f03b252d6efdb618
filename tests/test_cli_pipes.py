"""The command line in pipelines: ``-`` for standard input and output, and ``--format jsonl``.

Every file a command reads may be ``-`` (an error in it names ``<stdin>``); every file it
writes may be ``-`` (the document alone on standard output, the messages on standard error,
and no file named ``-``). JSON lines: one complete JSON object per line, money as strings, the
same bytes every run, and the line records add up to the totals record.
"""

from __future__ import annotations

import json
import re
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given, settings
from strategies import Case, rich_cases

import ketacost
from ketacost._estimate import Totals
from ketacost._i18n import translator
from ketacost._schema import json_schemas
from ketacost.cli import cli
from ketacost.cli._jsonl import estimate_records
from ketacost.cli._streams import jsonl_line

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ROOT / "examples" / "requests"
ESKETAMINE = REQUESTS / "esketamine-commercial.yaml"
IV_SELF_PAY = REQUESTS / "iv-series-self-pay.yaml"
ELIGIBILITY = ROOT / "examples" / "eligibility"
PAYERS = ROOT / "payers"

#: The money fields of a totals record (every one is also a field of a line).
MONEY = tuple(Totals.model_fields)


def run(*args: str | Path, stdin: bytes | str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=stdin)


def assert_user_error(result: Result, *expected: str) -> None:
    """Exit 2, one line on stderr holding each expected text, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


def jsonl(result: Result) -> list[dict[str, Any]]:
    """The records of a JSON-lines output: one object per line, every line ends in \\n."""
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(isinstance(r, dict) and r["record"] for r in records)
    return records


def covers(full: Any, part: Any) -> bool:
    """Whether ``full`` holds ``part``: the same values, and maybe more keys, at every depth."""
    if isinstance(part, dict):
        return isinstance(full, dict) and all(
            k in full and covers(full[k], v) for k, v in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(full, list)
            and len(full) == len(part)
            and all(covers(f, p) for f, p in zip(full, part, strict=True))
        )
    return bool(full == part)


@pytest.fixture
def in_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from examples/requests: a request on stdin names its clinic from here."""
    monkeypatch.chdir(REQUESTS)


# -- reading standard input ------------------------------------------------------------------
@pytest.mark.usefixtures("in_requests")
def test_request_from_stdin_is_the_request_from_its_file() -> None:
    from_file = run("estimate", IV_SELF_PAY, "--format", "json")
    from_stdin = run("estimate", "-", "--format", "json", stdin=IV_SELF_PAY.read_bytes())
    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stdout == from_file.stdout


def test_json_request_from_stdin(tmp_path: Path) -> None:
    # The request as JSON with its clinic inline: no file to look for.
    payers = ketacost.load_payers(PAYERS)
    request = ketacost.load_request(ESKETAMINE, payers=payers)
    text = request.model_dump_json()
    assert text.startswith("{")
    result = run("estimate", "-", "--format", "jsonl", stdin=text)
    totals = jsonl(result)[-1]
    expected = ketacost.estimate(request, payers=payers).totals
    # The PPO's in-network out-of-pocket maximum, $6,000, caps the year.
    assert totals["patient"] == str(expected.patient) == "6000.00"


@pytest.mark.usefixtures("in_requests")
def test_an_error_on_stdin_names_stdin() -> None:
    text = ESKETAMINE.read_text().replace("failed_trials: 2", "failed_trials: -1")
    # Line 7, column 18 of the document: the same place `estimate FILE` names.
    assert_user_error(run("estimate", "-", stdin=text), "<stdin>:7:18: patient.failed_trials:")
    assert_user_error(run("estimate", "-", stdin=b"\xff"), "<stdin>:1:1:", "not UTF-8")
    assert_user_error(run("estimate", "-", stdin="{"), "<stdin>:")


def test_the_clinic_a_stdin_request_names_is_looked_for_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("estimate", "-", stdin=ESKETAMINE.read_bytes())
    assert_user_error(result, "<stdin>:", "clinic file '../clinics/example-clinic.yaml'")


@pytest.mark.usefixtures("in_requests")
def test_eligibility_from_stdin_is_the_file() -> None:
    response = ELIGIBILITY / "commercial-ppo-fhir.json"
    args = ("estimate", ESKETAMINE, "--format", "json", "--eligibility")
    from_file = run(*args, response)
    from_stdin = run(*args, "-", stdin=response.read_bytes())
    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stdout == from_file.stdout
    assert from_stdin.stderr == from_file.stderr  # what it used, on stderr both times


@pytest.mark.usefixtures("in_requests")
def test_an_eligibility_error_names_the_file_or_stdin() -> None:
    args = ("estimate", ESKETAMINE, "--eligibility")
    from_file = run(*args, ESKETAMINE)
    assert_user_error(from_file, f"--eligibility {ESKETAMINE}: FHIR $: not JSON")
    from_stdin = run(*args, "-", stdin=ESKETAMINE.read_bytes())
    assert_user_error(from_stdin, "--eligibility <stdin>: FHIR $: not JSON")


def test_standard_input_is_read_once() -> None:
    result = run("estimate", "-", "--eligibility", "-", stdin="")
    assert_user_error(result, "only one input can be standard input", "REQUEST and --eligibility")


def test_payers_check_reads_one_payer_file_from_stdin() -> None:
    good = (PAYERS / "commercial-ppo.yaml").read_bytes()
    result = run("payers", "check", "-", "--today", "2026-12-01", stdin=good)
    assert result.exit_code == 0, result.output
    assert "the payer file on standard input: 0 errors, 0 stale" in result.stderr
    bad = good.replace(b"kind: commercial", b"kind: commercal", 1)
    assert bad != good
    result = run("payers", "check", "-", stdin=bad)
    assert result.exit_code == 2
    assert result.stdout.startswith("<stdin>:") and "kind" in result.stdout
    # Reviewed 2026-11-29; on 2028-12-01 that is 365 + 366 (29 February 2028) + 2 = 733 days.
    stale = run("payers", "check", "-", "--today", "2028-12-01", stdin=good)
    assert stale.exit_code == 1
    assert stale.stdout.startswith("<stdin>: metadata.last_reviewed: 2026-11-29 is 733 days old")


# -- writing standard output -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "fmt"),
    [
        ("gfe", "html"),
        ("gfe", "json"),
        ("gfe", "fhir"),
        ("gfe", "pdf"),
        ("superbill", "csv"),
        ("superbill", "json"),
        ("superbill", "pdf"),
    ],
)
def test_documents_to_stdout_are_the_file_bytes(
    command: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"doc.{fmt}"
    to_file = run(command, IV_SELF_PAY, "--format", fmt, "-o", out)
    assert to_file.exit_code == 0, to_file.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # a file stays owner-only
    to_stdout = run(command, IV_SELF_PAY, "--format", fmt, "-o", "-")
    assert to_stdout.exit_code == 0, to_stdout.output
    assert to_stdout.stdout_bytes == out.read_bytes()
    assert "written to standard output" in to_stdout.stderr
    assert not (tmp_path / "-").exists()


def test_gfe_replaces_read_from_stdin(tmp_path: Path) -> None:
    # The first GFE priced one more session of the last phase than the request now plans.
    data = yaml.safe_load(IV_SELF_PAY.read_text(encoding="utf-8"))
    data["clinic"] = str(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    data["plan"]["phases"][-1]["sessions"] += 1
    earlier = tmp_path / "earlier.yaml"
    earlier.write_text(yaml.safe_dump(data), encoding="utf-8")
    first = tmp_path / "first.json"
    assert run("gfe", earlier, "--format", "json", "-o", first).exit_code == 0
    args = ("gfe", IV_SELF_PAY, "--format", "json", "-o", "-", "--replaces")
    from_file = run(*args, first)
    assert from_file.exit_code == 0, from_file.output
    from_stdin = run(*args, "-", stdin=first.read_bytes())
    assert from_stdin.exit_code == 0, from_stdin.output
    # The same document, with the same sha256 of the replaced one's bytes.
    assert from_stdin.stdout == from_file.stdout
    assert json.loads(from_stdin.stdout)["reissue"] is not None
    assert "Replaces the estimate of" in from_stdin.stderr
    bad = run(*args, "-", stdin="{}")
    assert_user_error(bad, "--replaces <stdin>: not a Good Faith Estimate's JSON")


def test_schedule_ics_to_stdout(tmp_path: Path) -> None:
    ics = tmp_path / "s.ics"
    assert run("schedule", IV_SELF_PAY, "--ics", ics).exit_code == 0
    result = run("schedule", IV_SELF_PAY, "--ics", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == ics.read_bytes()  # the calendar alone, no table
    assert result.stderr == "Calendar written to standard output (18 events).\n"


def test_schemas_to_stdout_are_the_schemas() -> None:
    result = run("schemas", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(json_schemas()))


def test_a_pdf_is_not_written_to_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketacost.cli import _streams

    class Terminal:
        def isatty(self) -> bool:
            return True

        def write(self, data: bytes) -> int:
            raise AssertionError("written to the terminal")

    class Stdout:
        buffer = Terminal()

    monkeypatch.setattr(_streams.sys, "stdout", Stdout())
    with pytest.raises(Exception, match="refusing to write a PDF to a terminal"):
        _streams.write_output(_streams.STDIO_PATH, b"%PDF-1.7", binary=True)


# -- JSON lines ------------------------------------------------------------------------------
def test_estimate_jsonl_records_in_order_and_adding_up() -> None:
    result = run("estimate", ESKETAMINE, "--format", "jsonl")
    records = jsonl(result)
    kinds = [r["record"] for r in records]
    # 34 visits x 4 lines (J0013, 99214, 99415, 99416), one plan year, one totals record.
    assert kinds == ["line"] * 136 + ["plan_year", "totals"]
    totals = records[-1]
    assert (totals["visits"], totals["lines"]) == (34, 136)
    lines = records[:136]
    for name in MONEY:
        assert sum(Decimal(r[name]) for r in lines) == Decimal(totals[name]), name
    assert totals["patient"] == "6000.00"  # money is a string
    assert lines[0]["plan_year"] == "2026-01-01" and lines[0]["payer_id"] == "commercial-ppo"
    # The same input, the same bytes.
    assert run("estimate", ESKETAMINE, "--format", "jsonl").stdout_bytes == result.stdout_bytes


def test_compare_jsonl_is_the_json_rows() -> None:
    args = ("compare", ESKETAMINE, "--payer", "self-pay", "--payer", "commercial-ppo")
    rows = json.loads(run(*args, "--format", "json").stdout)["rows"]
    records = jsonl(run(*args, "--format", "jsonl"))
    assert [r["record"] for r in records] == ["option", "option"]
    # Each record holds its JSON row, and also what the JSON leaves out when empty.
    for record, row in zip(records, rows, strict=True):
        assert covers(record, row)
        assert record["totals"]["secondary"] == "0.00" and "secondary" not in row["totals"]
        assert record["secondary_payer_id"] is None and "secondary_payer_id" not in row
        assert len(record["rules_hash"]) == 64
    assert [r["payer_id"] for r in records] == ["commercial-ppo", "self-pay"]  # cheapest first


def test_payers_list_jsonl_is_the_json_list() -> None:
    listed = json.loads(run("payers", "list", "--format", "json").stdout)
    records = jsonl(run("payers", "list", "--format", "jsonl"))
    assert [{k: v for k, v in r.items() if k != "record"} for r in records] == listed
    assert {r["id"] for r in records} >= {"commercial-ppo", "medicare-part-b", "self-pay"}


def test_schedule_jsonl_is_the_table_and_the_estimate(tmp_path: Path) -> None:
    records = jsonl(run("schedule", IV_SELF_PAY, "--format", "jsonl"))
    visits = json.loads(run("estimate", IV_SELF_PAY, "--format", "json").stdout)["visits"]
    assert [r["record"] for r in records] == ["session"] * len(visits) == ["session"] * 18
    assert [r["date"] for r in records] == [v["date"] for v in visits]
    assert [r["patient"] for r in records] == [v["totals"]["patient"] for v in visits]
    table = run("--plain", "schedule", IV_SELF_PAY).stdout
    # Issue 16: the table's dates and weekdays in words ("Jan 4, 2027  Monday").
    t = translator("en", "cli")
    for r in records:
        on = date.fromisoformat(r["date"])
        assert re.search(rf"{t.date(on, 'medium')} +{t.date(on, 'weekday')}", table)
        assert t.date(on, "weekday").startswith(r["day"])
    # With a calendar file too: the records still alone on stdout, the note on stderr.
    both = run("schedule", IV_SELF_PAY, "--format", "jsonl", "--ics", tmp_path / "s.ics")
    assert jsonl(both) == records
    assert "Calendar written to" in both.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("estimate", ESKETAMINE, "--json", "--format", "jsonl"), "--json is --format json"),
        (("payers", "show", "self-pay", "--format", "jsonl"), "'jsonl' is not one of"),
        (("gfe", IV_SELF_PAY, "--format", "jsonl", "-o", "-"), "'jsonl' is not one of"),
        (("schedule", IV_SELF_PAY, "--format", "jsonl", "--ics", "-"), "both write to standard"),
        (("payers", "check", "--format", "jsonl"), "No such option '--format'"),
        (("estimate", ESKETAMINE, "--member", "x", "--format", "jsonl"), "need --eligibility"),
    ],
)
def test_jsonl_where_it_cannot_be_is_a_user_error(args: tuple[Any, ...], message: str) -> None:
    assert_user_error(run(*args), message)


@settings(max_examples=40, deadline=None)
@given(case=rich_cases())
def test_jsonl_lines_sum_to_the_totals_and_parse_back(case: Case) -> None:
    result = case.estimate()
    records = list(estimate_records(result))
    text = "".join(jsonl_line(r) + "\n" for r in records)
    assert text.isascii()
    parsed = [json.loads(line) for line in text.splitlines()]
    assert parsed == records  # every record is plain JSON: strings, numbers, lists
    lines = [r for r in parsed if r["record"] == "line"]
    years = [r for r in parsed if r["record"] == "plan_year"]
    totals = parsed[-1]
    assert totals["record"] == "totals" and len(lines) == totals["lines"]
    assert len(years) == len(result.plan_years)
    for name in MONEY:
        assert isinstance(totals[name], str)
        assert sum(Decimal(r[name]) for r in lines) == Decimal(totals[name]), name
        assert totals[name] == str(getattr(result.totals, name))


# -- records ---------------------------------------------------------------------------------
BILL = """\
patient: {name: Alex Example, birth_date: 1988-04-12}
bill_date: 2027-03-01
lines:
  - {npi: "1234567893", amount: "8000.01", date: 2027-01-04}
"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/db/records.sqlite3"
    assert run("records", "init", "--db", url).exit_code == 0
    return url


def _saved(db: str) -> str:
    result = run("records", "save-gfe", IV_SELF_PAY, "--pdf", "--db", db)
    assert result.exit_code == 0, result.output
    return result.output.split()[4]


def test_records_list_jsonl_and_show_to_stdout(db: str, tmp_path: Path) -> None:
    from ketacost.records import open_records

    assert run("records", "list", "--format", "jsonl", "--db", db).stdout == ""
    gfe_id = _saved(db)
    (record,) = jsonl(run("records", "list", "--format", "jsonl", "--db", db))
    assert record["record"] == "gfe" and record["id"] == gfe_id
    # Seven sessions of the example IV series, as the GFE totals them.
    assert record["total_expected"] == "7600.00" and record["has_pdf"] is True
    with open_records(db) as rec:
        stored = rec.show(gfe_id)
    html = run("records", "show", gfe_id, "--html", "-", "--db", db)
    assert html.exit_code == 0, html.output
    assert html.stdout_bytes == stored.html
    assert f"Good Faith Estimate {gfe_id}" in html.stderr
    pdf = run("records", "show", gfe_id, "--pdf", "-", "--db", db)
    assert pdf.stdout_bytes == stored.pdf
    both = run("records", "show", gfe_id, "--pdf", "-", "--html", "-", "--db", db)
    assert_user_error(both, "only one of --html and --pdf")


def test_bill_check_from_stdin_and_open_disputes_jsonl(db: str) -> None:
    _saved(db)
    result = run("bill", "check", "-", "--db", db, stdin=BILL)
    assert result.exit_code == 0, result.output
    # Billed $8,000.01 against $7,600.00 expected: $400.01 over, a dispute can start.
    disputes = run("records", "list", "--open-disputes", "--format", "jsonl", "--db", db)
    (check,) = jsonl(disputes)
    assert check["record"] == "bill_check" and check["billed"] == "8000.01"
    assert check["findings"][0]["over"] == "400.01"
    bad = run(
        "bill", "check", "-", "--db", db, stdin=BILL.replace("bill_date: 2027", "bill_date: x")
    )
    assert_user_error(bad, "<stdin>:2:")


def test_reestimate_with_a_clinic_from_stdin(db: str, tmp_path: Path) -> None:
    _saved(db)
    unchanged = run("records", "reestimate", "--db", db)
    assert unchanged.exit_code == 0, unchanged.output
    assert "0 of 1 stored estimates change." in unchanged.stdout
    # A dearer clinic (the intake evaluation, 90791, $350.00 -> $450.00): the estimate changes.
    text = (ROOT / "examples" / "clinics" / "example-clinic.yaml").read_text()
    dearer = text.replace("self_pay: 450.00", "self_pay: 550.00")
    assert dearer != text
    clinic = tmp_path / "dearer.yaml"
    clinic.write_text(dearer)
    from_file = run("records", "reestimate", "--clinic", clinic, "--db", db)
    assert from_file.exit_code == 1, from_file.output
    assert "1 of 1 stored estimates change." in from_file.stdout
    from_stdin = run("records", "reestimate", "--clinic", "-", "--db", db, stdin=dearer)
    assert from_stdin.exit_code == 1, from_stdin.output
    assert from_stdin.stdout == from_file.stdout
    bad = run("records", "reestimate", "--clinic", "-", "--db", db, stdin="name: [\n")
    assert_user_error(bad, "<stdin>:")
