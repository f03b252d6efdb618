"""Edges of the command line's pipes and files, each found in review of issue 15.

A closed pipe is not an error; ``./-`` is a file; a failed write saves nothing; a payer on
standard input is checked against the library; files written are owner-only.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ketacost.cli import cli

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ROOT / "examples" / "requests"
ESKETAMINE = REQUESTS / "esketamine-commercial.yaml"
IV_SELF_PAY = REQUESTS / "iv-series-self-pay.yaml"


def run(*args: str | Path, stdin: bytes | str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=stdin)


def assert_user_error(result: Result, *expected: str) -> None:
    """Exit 2, one line on stderr holding each expected text, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


# -- a closed pipe (``| head -1``) ends the command quietly, exit 0 ---------------------------
@pytest.mark.parametrize(
    "args",
    [
        ("estimate", ESKETAMINE, "--format", "jsonl"),
        ("estimate", ESKETAMINE, "--format", "csv"),
        ("schedule", IV_SELF_PAY, "--format", "jsonl"),
        (
            "compare",
            ESKETAMINE,
            "--payer",
            "commercial-ppo",
            "--payer",
            "self-pay",
            "--format",
            "jsonl",
        ),
    ],
    ids=["estimate-jsonl", "estimate-csv", "schedule-jsonl", "compare-jsonl"],
)
def test_output_into_a_closed_pipe_exits_0(args: tuple[str | Path, ...]) -> None:
    # The reader closes the pipe before the command writes: every write after fails EPIPE.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ketacost", *map(str, args)],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b""


def test_head_reads_the_first_record() -> None:
    cmd = f"{sys.executable} -m ketacost estimate {ESKETAMINE} --format jsonl | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b'{"record":"line"') and done.stdout.count(b"\n") == 1
    assert done.stderr == b""


# -- a PDF is refused on a terminal before anything is saved ----------------------------------
def _on_a_terminal(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``ketacost ARGS`` with standard output on a pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    try:
        return subprocess.run(
            [sys.executable, "-m", "ketacost", *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)


def test_gfe_save_of_a_pdf_to_a_terminal_saves_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/records.sqlite3"
    assert run("records", "init", "--db", db).exit_code == 0
    done = _on_a_terminal("gfe", IV_SELF_PAY, "--format", "pdf", "-o", "-", "--save", "--db", db)
    assert done.returncode == 2, done.stderr.decode()
    assert b"refusing to write a PDF to a terminal" in done.stderr
    assert b"Saved" not in done.stderr
    listed = run("records", "list", "--format", "jsonl", "--db", db)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout == ""


# -- ``./-`` is a file named ``-``, never standard input or output ----------------------------
def test_dot_slash_dash_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clinic = ROOT / "examples" / "clinics" / "example-clinic.yaml"
    text = ESKETAMINE.read_text().replace("../clinics/example-clinic.yaml", str(clinic))
    Path("-").write_text(text)
    from_file = run("estimate", ESKETAMINE, "--format", "json")
    # Standard input is empty: were ./- read as standard input, this would be an error.
    from_dash_file = run("estimate", "./-", "--format", "json", stdin="")
    assert from_dash_file.exit_code == 0, from_dash_file.output
    assert from_dash_file.stdout == from_file.stdout
    Path("-").unlink()
    written = run("gfe", IV_SELF_PAY, "--format", "json", "-o", "./-")
    assert written.exit_code == 0, written.output
    assert Path("-").read_text().startswith("{")
    assert "written to -" in written.stdout and "{" not in written.stdout


def test_batch_dot_slash_dash_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = (ROOT / "examples" / "batch" / "patients.csv").read_text()
    Path("-").write_text(rows)
    # Standard input is empty: were ./- read as standard input, there would be no header row.
    read = run("batch", "./-", "out.csv", "--jobs", "1", "-q", stdin="")
    assert "no header row" not in read.output
    assert Path("out.csv").read_text().startswith("row_id,")
    Path("-").unlink()
    written = run(
        "batch", str(ROOT / "examples" / "batch" / "patients.csv"), "./-", "--jobs", "1", "-q"
    )
    assert Path("-").read_bytes() == Path("out.csv").read_bytes()
    assert "row_id," not in written.stdout


# -- a payer file on standard input is checked against the library ---------------------------
def test_payers_check_stdin_checks_what_the_payer_names(tmp_path: Path) -> None:
    good = (ROOT / "payers" / "commercial-ppo.yaml").read_text()
    assert "payer: medicare-part-b" in good
    ok = run("payers", "check", "-", "--today", "2026-12-01", stdin=good)
    assert ok.exit_code == 0, ok.output
    bad = good.replace("payer: medicare-part-b", "payer: no-such-payer")
    result = run("payers", "check", "-", "--today", "2026-12-01", stdin=bad)
    assert result.exit_code == 2, result.output
    assert result.stdout.startswith("<stdin>:")
    assert "<stdin>:70:14: networks.out.allowed.payer: payer 'no-such-payer' does not" in (
        result.stdout
    )
    # The folder scan says the same of the same file.
    folder = tmp_path / "payers"
    folder.mkdir()
    (folder / "commercial-ppo.yaml").write_text(bad)
    scanned = run("payers", "check", folder, "--today", "2026-12-01")
    assert scanned.exit_code == 2
    assert "payer 'no-such-payer' does not exist" in scanned.stdout
    # A fee schedule it names must be in the library's fee-schedules/ folder.
    medicare = (ROOT / "payers" / "medicare-part-b.yaml").read_text()
    assert "medicare-pfs-2026" in medicare
    missing = medicare.replace("medicare-pfs-2026", "medicare-pfs-1999")
    result = run("payers", "check", "-", "--today", "2026-12-01", stdin=missing)
    assert result.exit_code == 2, result.output
    assert "fee schedule 'medicare-pfs-1999' does not exist" in result.stdout


def test_payers_check_payers_is_for_stdin() -> None:
    result = run("payers", "check", ROOT / "payers", "--payers", ROOT / "payers")
    assert_user_error(result, "--payers names the library for 'payers check -'")


# -- schedule --ics: owner-only, errors name the option, one thing on standard output ---------
def test_schedule_ics_file_is_owner_only(tmp_path: Path) -> None:
    ics = tmp_path / "sessions.ics"
    result = run("schedule", IV_SELF_PAY, "--ics", ics)
    assert result.exit_code == 0, result.output
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    # Treatment dates are patient data: read and written by the owner alone.
    assert stat.S_IMODE(ics.stat().st_mode) == 0o600


def test_schedule_ics_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    # As -o (tests/test_errors.py pins "error: PATH: reason"); no table, no traceback.
    missing = tmp_path / "no-such-folder" / "x.ics"
    result = run("schedule", IV_SELF_PAY, "--ics", missing)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {missing}: No such file or directory\n"
    assert result.stdout == ""


@pytest.mark.parametrize("fmt", ["table", "markdown", "jsonl"])
def test_schedule_ics_to_stdout_with_a_format_is_a_user_error(fmt: str) -> None:
    result = run("schedule", IV_SELF_PAY, "--format", fmt, "--ics", "-")
    assert_user_error(result, f"--ics - and --format {fmt} both write to standard output")


# -- JSON lines: every record of a kind has the same keys, at every depth ---------------------
def _shape(value: object) -> object:
    """The keys of a record at every depth (a list by its first item; a null is any shape)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], dict) else []
    return None


def _merge_shapes(shapes: dict[str, object], record: dict[str, object]) -> None:
    kind = str(record["record"])
    shape = _shape(record)
    assert _loose_equal(shapes.setdefault(kind, shape), shape), kind


def _loose_equal(a: object, b: object) -> bool:
    """Equal shapes, where an empty list or a null on one side matches anything."""
    if a in (None, []) or b in (None, []):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_loose_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return _loose_equal(a[0], b[0])
    return False


def test_every_record_of_a_kind_has_the_same_keys() -> None:
    import json

    medigap = REQUESTS / "medicare-medigap.yaml"
    runs = [
        *(("estimate", r, "--format", "jsonl") for r in sorted(REQUESTS.glob("*.yaml"))),
        ("compare", medigap, "--secondary", "none", "--secondary", "medigap-plan-g"),
        ("compare", ESKETAMINE, "--payer", "self-pay", "--payer", "commercial-ppo"),
    ]
    shapes: dict[str, Any] = {}
    for args in runs:
        fmt = () if args[0] == "estimate" else ("--format", "jsonl")
        result = run(*args, *fmt)
        assert result.exit_code == 0, (args, result.output)
        for line in result.stdout.splitlines():
            _merge_shapes(shapes, json.loads(line))
    assert set(shapes) == {"line", "plan_year", "totals", "option"}
    # Every money field is there, "0.00" when nothing: the totals of a compare option too.
    assert "secondary" in shapes["option"]["totals"]
    assert "secondary" in shapes["plan_year"]["totals"]
    for key in ("secondary_payer_id", "secondary_payer_name", "rules_hash"):
        assert key in shapes["option"] and key in shapes["totals"], key
    assert "secondary_payer_id" in shapes["line"] and "secondary_payer_id" in shapes["plan_year"]


# -- a request on standard input: its clinic file relative to here, or to --base-dir ----------
@pytest.mark.parametrize("command", ["estimate", "compare", "gfe", "schedule", "superbill"])
def test_help_says_where_a_stdin_request_finds_its_clinic(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0, result.output
    assert "--base-dir" in result.stdout
    assert "With REQUEST '-': the folder a clinic file" in " ".join(result.stdout.split())


def test_base_dir_finds_the_clinic_of_a_stdin_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the help's examples run from the repository's root
    text = IV_SELF_PAY.read_bytes()
    from_file = run("estimate", IV_SELF_PAY, "--format", "json")
    here = run("estimate", "-", "--format", "json", stdin=text)
    assert_user_error(here, "clinic file '../clinics/example-clinic.yaml' not found")
    based = run("estimate", "-", "--base-dir", "examples/requests", "--format", "json", stdin=text)
    assert based.exit_code == 0, based.output
    assert based.stdout == from_file.stdout
    args = ("gfe", "-", "--base-dir", "examples/requests", "--format", "json", "-o", "-")
    gfe = run(*args, stdin=text)
    assert gfe.exit_code == 0, gfe.output
    assert gfe.stdout.startswith("{")
    compared = run(
        "compare", "-", "--base-dir", "examples/requests", "--payer", "self-pay", "--payer",
        "hdhp", "--format", "jsonl", stdin=text,
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output
    assert compared.stdout.count('"record":"option"') == 2


def test_base_dir_is_for_a_stdin_request() -> None:
    result = run("estimate", IV_SELF_PAY, "--base-dir", REQUESTS)
    assert_user_error(result, "--base-dir is for a request on standard input")
    missing = run("estimate", "-", "--base-dir", "no-such-folder", stdin="")
    assert missing.exit_code == 2 and "no-such-folder" in missing.stderr


# -- messages name what the user typed --------------------------------------------------------
def test_completion_of_an_unknown_shell_names_shell() -> None:
    result = run("completion", "powershell")
    assert_user_error(result, "Invalid value for 'SHELL': 'powershell' is not one of")


def test_replaces_unreadable_stdin_names_stdin(tmp_path: Path) -> None:
    args = ("gfe", IV_SELF_PAY, "--format", "json", "-o", tmp_path / "g.json", "--replaces", "-")
    read, write = os.pipe()  # standard input is the write end: reading it fails, EBADF
    try:
        done = subprocess.run(
            [sys.executable, "-m", "ketacost", *map(str, args)],
            stdin=write,
            capture_output=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    finally:
        os.close(read)
        os.close(write)
    assert done.returncode == 2, done.stderr.decode()
    assert done.stderr.startswith(b"error: --replaces <stdin>: cannot read it (Bad file")


# -- the CLI reads standard input through the loader's public entry points -------------------
def test_the_cli_imports_no_private_loader_name() -> None:
    import ast

    found = []
    for path in sorted((ROOT / "ketacost" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "ketacost._loader":
                found += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert found == []


def test_bytes_entry_points_are_the_file_loaders(tmp_path: Path) -> None:
    import ketacost
    from ketacost._errors import RequestFileError
    from ketacost._limits import MAX_RULE_FILE_BYTES
    from ketacost._loader import parse_document, request_from_bytes

    payers = ketacost.load_payers(ROOT / "payers")
    raw = ESKETAMINE.read_bytes()
    from_bytes = request_from_bytes(raw, name="<stdin>", base_dir=REQUESTS, payers=payers)
    assert from_bytes == ketacost.load_request(ESKETAMINE, payers=payers)
    # The file's checks, named as given: too large, not UTF-8, bad syntax.
    with pytest.raises(RequestFileError, match=r"<stdin>:1:1: .*not UTF-8 text: byte 0xff"):
        parse_document(b"\xff", "<stdin>", RequestFileError)
    with pytest.raises(RequestFileError, match="<stdin>"):
        parse_document(b"x" * (MAX_RULE_FILE_BYTES + 1), "<stdin>", RequestFileError)
    data, _ = parse_document(b'{"a": [1]}', "<stdin>", RequestFileError, syntax="json")
    assert data == {"a": [1]}
