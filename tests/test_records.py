"""The records database (issue 14 section 2), on SQLite and on a real PostgreSQL server.

Every test taking ``db_url`` runs twice: a SQLite file in a temporary folder, and a fresh
database on the throw-away server of ``tests/_postgres.py``.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from _postgres import fresh_database

from ketacost import estimate, load_payers
from ketacost._library import PayerLibrary
from ketacost._loader import load_request, request_from_data
from ketacost._money import Money
from ketacost._request import EstimateRequest
from ketacost.documents import FinalBill, GoodFaithEstimate, build_gfe, render_gfe_html
from ketacost.records import (
    NotInitialisedError,
    RecordNotFoundError,
    RecordsError,
    RetentionError,
    RuleFilesError,
    _migrate,
    init_records,
    open_records,
    rule_files_of,
    used_rule_paths,
)
from ketacost.records._audit import verify_chain
from ketacost.records._schema import metadata

ROOT = Path(__file__).resolve().parent.parent
SELF_PAY = ROOT / "examples" / "requests" / "iv-series-self-pay.yaml"
CLINIC_NPI = "1234567893"
FIXED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def clock_at(day: date) -> Any:
    """A clock for ``Records(clock=...)`` reading noon UTC on ``day``."""
    return lambda: datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


LATER = clock_at(date(2040, 1, 1))


@functools.lru_cache(maxsize=1)
def _bundled() -> PayerLibrary:
    return load_payers(ROOT / "payers")


@functools.lru_cache(maxsize=1)
def _self_pay() -> tuple[EstimateRequest, Any, GoodFaithEstimate, str]:
    payers = _bundled()
    req = load_request(SELF_PAY, payers=payers)
    est = estimate(req, payers=payers)
    gfe = build_gfe(req, est, issued=date(2026, 11, 21))
    return req, est, gfe, render_gfe_html(gfe)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/records/records.sqlite3"
    else:
        with fresh_database() as url:
            yield url


def _save_self_pay(
    rec: Any,
    *,
    issued: date = date(2026, 11, 21),
    pdf: bytes | None = None,
    patient: str | None = None,
    birth_date: date | None = None,
    reuse_identical: bool = False,
) -> str:
    """Save the self-pay GFE (Alex Example, born 1988-04-12), or one for another patient."""
    req, est, gfe, html = _self_pay()
    if issued != gfe.issued:
        gfe = build_gfe(req, est, issued=issued)
        html = render_gfe_html(gfe)
    if patient is not None or birth_date is not None:
        who = gfe.patient.model_copy(
            update={
                "name": patient or gfe.patient.name,
                "birth_date": birth_date or gfe.patient.birth_date,
            }
        )
        gfe = gfe.model_copy(update={"patient": who})
        html = render_gfe_html(gfe)
    payers = _bundled()
    return str(
        rec.save_gfe(
            request=req,
            estimate=est,
            gfe=gfe,
            html=html,
            pdf=pdf,
            rule_files=rule_files_of(req, payers),
            used=used_rule_paths(req, payers),
            # Most tests save the same GFE more than once to get several records.
            reuse_identical=reuse_identical,
        )
    )


# -- migrations ---------------------------------------------------------------------------


def test_migrations_run_up_down_and_up_again_and_match_the_tables(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    rec = init_records(db_url)
    engine = rec.engine
    assert _migrate.current_revision(engine) == _migrate.head_revision()
    with engine.connect() as conn:
        # What the migration made is what _schema.py declares (columns, types, indexes).
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    _migrate.downgrade(engine, "base")
    assert _migrate.current_revision(engine) is None
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    _migrate.upgrade(engine)
    assert set(sa.inspect(engine).get_table_names()) >= set(metadata.tables)
    rec.close()


def test_install_postgres_accepts_postgresql_on_path(tmp_path: Path) -> None:
    import subprocess

    fake = tmp_path / "bin" / "initdb"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    fake.chmod(0o755)
    # Only the fake initdb on PATH (no apt-get, no id) and no Debian binaries: nothing to
    # install, exit 0 (without the PATH check it went on to "not root with apt-get", exit 1).
    done = subprocess.run(
        ["/bin/bash", str(ROOT / "tests" / "install_postgres.sh")],
        env={"PATH": str(fake.parent), "KETACOST_PG_LIB": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_open_records_creates_nothing_and_says_to_init(tmp_path: Path) -> None:
    path = tmp_path / "none" / "records.sqlite3"
    with pytest.raises(NotInitialisedError, match="ketacost records init"):
        open_records(f"sqlite:///{path}")
    assert not path.parent.exists()


def test_open_records_refuses_an_uninitialised_postgres_database() -> None:
    with fresh_database() as url, pytest.raises(NotInitialisedError, match="is empty"):
        open_records(url)


def test_sqlite_file_and_new_folders_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "records.sqlite3"
    init_records(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700


def test_default_database_is_in_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ketacost.records import _db

    if sys.platform != "linux":
        pytest.skip("platformdirs follows XDG_DATA_HOME on Linux only")
    monkeypatch.delenv("KETACOST_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert _db.default_url() == "sqlite:////srv/data/ketacost/records.sqlite3"
    monkeypatch.setenv("KETACOST_DB", "postgresql://clinic@db/records")
    assert _db.default_url() == "postgresql://clinic@db/records"
    assert _db.parse(_db.default_url()).drivername == "postgresql+psycopg"


def test_a_missing_extra_names_ketacost_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketacost._errors import MissingExtraError

    monkeypatch.setitem(__import__("sys").modules, "sqlalchemy", None)
    with pytest.raises(MissingExtraError, match=r"ketacost\[records\]"):
        open_records("sqlite:///nowhere.sqlite3")


# -- saving and reading back ----------------------------------------------------------------


def test_a_saved_gfe_comes_back_byte_for_byte_and_re_derives(db_url: str, tmp_path: Path) -> None:
    rec = init_records(db_url, clock=lambda: FIXED)
    pdf = b"%PDF-1.7 exact bytes \x00\xff"
    gfe_id = _save_self_pay(rec, pdf=pdf)
    _, est, gfe, html = _self_pay()
    with open_records(db_url) as other:
        got = other.show(gfe_id[:8])
    assert got.html == html.encode("utf-8")
    assert got.pdf == pdf
    assert got.gfe == gfe
    # Issued 2026-11-21: kept until 2026-11-21 + 6 years = 2032-11-21.
    assert got.summary.keep_until == date(2032, 11, 21)
    assert got.summary.total_expected == Money("7600.00")
    assert {f.path for f in got.rule_files if f.used} == {"clinic.json", "self-pay.yaml"}
    assert len(got.rule_files) == len(_bundled().file_hashes) + 1  # + clinic.json
    # Years later: the stored rule files and request give the same estimate, byte for byte.
    folder = tmp_path / "rules"
    rec.write_rule_files(gfe_id, folder)
    payers = load_payers(folder)
    again = estimate(request_from_data(got.request_json, payers=payers), payers=payers)
    assert again.model_dump_json() == got.estimate_json == est.model_dump_json()
    assert again.rules_hash == got.rules_hash == gfe.rules_hash
    assert rec.verify() == []
    rec.close()


def test_rule_files_are_stored_once_by_content_hash(db_url: str) -> None:
    from ketacost.records._schema import rule_files

    rec = init_records(db_url)
    _save_self_pay(rec)
    _save_self_pay(rec)
    with rec.engine.connect() as conn:
        stored = conn.scalar(sa.select(sa.func.count()).select_from(rule_files))
    assert stored == len(_bundled().file_hashes) + 1
    rec.close()


def test_rule_files_of_refuses_a_file_changed_after_loading(tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    shutil.copytree(ROOT / "payers", folder)
    payers = load_payers(folder)
    req = load_request(SELF_PAY, payers=payers)
    (folder / "self-pay.yaml").write_text(
        (folder / "self-pay.yaml").read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8"
    )
    with pytest.raises(RuleFilesError, match=r"self-pay\.yaml .* changed after"):
        rule_files_of(req, payers)


def test_records_shadow_no_builtin_and_bills_do_not_import_the_store() -> None:
    import builtins
    import subprocess
    import sys

    from ketacost.records import Records

    assert {n for n in vars(Records) if not n.startswith("_")} & set(vars(builtins)) == set()
    code = (
        "import sys, ketacost.records._bills, ketacost.records._maintain\n"
        "print('ketacost.records._store' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_list_and_an_unknown_id(db_url: str) -> None:
    rec = init_records(db_url)
    first = _save_self_pay(rec, issued=date(2026, 11, 21))
    second = _save_self_pay(rec, issued=date(2026, 12, 1))
    assert [s.id for s in rec.list_gfes()] == [second, first]  # newest issue first
    assert [s.id for s in rec.list_gfes(patient="alex example")] == [second, first]
    assert rec.list_gfes(patient="Someone Else") == []
    with pytest.raises(RecordNotFoundError, match="no Good Faith Estimate"):
        rec.show("abcdef0123")
    with pytest.raises(RecordNotFoundError, match="not a record id"):
        rec.show("x")
    rec.close()


def test_a_patient_is_found_by_any_case_and_spacing_of_a_non_ascii_name(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec, patient="Élodie Durand", birth_date=date(1990, 5, 6))
    _save_self_pay(rec)  # Alex Example
    # SQLite's lower() folds ASCII only ("ÉLODIE" stays "Élodie" upper-case É); the key is
    # computed in Python: NFC, case-folded, whitespace collapsed.
    decomposed = "E\u0301LODIE   DURAND "  # E + combining acute, extra spaces
    for spelling in ("Élodie Durand", "ÉLODIE DURAND", "élodie durand", decomposed):
        assert [s.id for s in rec.list_gfes(patient=spelling)] == [gfe_id], spelling
    found = rec.find_gfe("ÉLODIE  durand", service_date=date(2027, 1, 4))
    assert found == gfe_id
    rec.close()


# -- the $400 check -------------------------------------------------------------------------


def test_a_bill_400_01_above_the_gfe_is_found_and_stored(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    # The GFE expects $7,600.00 from the clinic (NPI 1234567893): the intake $250.00, six
    # induction infusions at $400.00 and eleven boosters at $450.00 in its 12 months:
    # 250 + 6 x 400 + 11 x 450 = 250 + 2,400 + 4,950 = $7,600.00.
    # Billed $8,000.01: 8,000.01 - 7,600.00 = $400.01 >= $400.00 (45 CFR 149.620(a)(2)(ii)).
    bill = FinalBill(
        bill_date=date(2027, 3, 1),
        lines=({"npi": CLINIC_NPI, "amount": "8000.01", "date": date(2027, 1, 4)},),  # type: ignore[arg-type]
    )
    # Found by the patient and the date of service (no GFE id given).
    result = rec.check_bill(bill, patient_name="Alex Example", birth_date=date(1988, 4, 12))
    assert result.gfe_id == gfe_id
    (finding,) = result.findings
    assert finding.over == Money("400.01")
    assert finding.expected == Money("7600.00")
    # 120 days from 2027-03-01: 30 (rest of March) + 30 + 31 + 29 = 2027-06-29.
    assert finding.deadline == date(2027, 6, 29)
    with open_records(db_url) as other:
        stored = other.show(gfe_id).checks
    assert [c.findings for c in stored] == [result.findings]
    assert stored[0].billed == Money("8000.01")
    # On another GFE, $399.99 above ($7,999.99) is no finding, and is stored too.
    other_id = _save_self_pay(rec)
    under = FinalBill(totals={CLINIC_NPI: Money("7999.99")})
    assert rec.check_bill(under, gfe_id=other_id[:10]).findings == ()
    assert [len(c.findings) for c in rec.show(other_id).checks] == [0]
    assert rec.verify() == []
    rec.close()


def test_bills_for_one_gfe_are_summed_per_provider_from_the_initial_bill(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    first = FinalBill(bill_date=date(2027, 2, 1), totals={CLINIC_NPI: Money("4000.00")})
    second = FinalBill(bill_date=date(2027, 5, 1), totals={CLINIC_NPI: Money("4000.00")})
    # $4,000.00 alone is $3,600.00 under the $7,600.00 expected: no finding.
    assert rec.check_bill(first, gfe_id=gfe_id).findings == ()
    result = rec.check_bill(second, gfe_id=gfe_id)
    assert result.bills_counted == 2
    (finding,) = result.findings
    # 4,000.00 + 4,000.00 = $8,000.00 billed; 8,000.00 - 7,600.00 = $400.00 >= $400.00.
    assert finding.billed == Money("8000.00")
    assert finding.over == Money("400.00")
    # 120 days from the initial bill (2027-02-01), not the second: 27 (rest of February)
    # + 31 + 30 + 31 = 119 -> 2027-05-31, + 1 = 2027-06-01.
    assert finding.deadline == date(2027, 6, 1)
    # The same bill again is not counted twice.
    with pytest.raises(RecordsError, match="already checked"):
        rec.check_bill(second, gfe_id=gfe_id)
    assert rec.verify() == []
    rec.close()


def test_two_patients_of_one_name_need_a_birth_date(db_url: str) -> None:
    rec = init_records(db_url)
    older = _save_self_pay(rec, patient="Sam Lee", birth_date=date(1950, 1, 1))
    younger = _save_self_pay(rec, patient="Sam Lee", birth_date=date(2000, 1, 1))
    bill = FinalBill(totals={CLINIC_NPI: Money("100.00")})
    day = date(2027, 1, 4)
    with pytest.raises(RecordsError, match=r"2 patients of this name .* birth date .*--gfe ID"):
        rec.check_bill(bill, patient_name="Sam Lee", service_date=day)
    found = rec.check_bill(
        bill, patient_name="sam lee", birth_date=date(1950, 1, 1), service_date=day
    )
    assert found.gfe_id == older
    # --gfe must be the bill's patient when the bill names one.
    with pytest.raises(RecordsError, match="not for the bill's patient \\(birth date\\)"):
        rec.check_bill(bill, gfe_id=younger, patient_name="Sam Lee", birth_date=date(1950, 1, 1))
    with pytest.raises(RecordsError, match="not for the bill's patient \\(name\\)"):
        rec.check_bill(bill, gfe_id=younger, patient_name="Alex Example")
    rec.close()


def test_the_gfe_in_force_on_the_service_date_is_chosen(db_url: str) -> None:
    rec = init_records(db_url)
    # Both cover 2027-01-04 to 2028-01-03; the second was re-issued on 2027-02-01.
    first = _save_self_pay(rec, issued=date(2026, 11, 21))
    req, est, gfe, _ = _self_pay()
    again = gfe.model_copy(update={"issued": date(2027, 2, 1)})
    reissued = rec.save_gfe(
        request=req,
        estimate=est,
        gfe=again,
        html=render_gfe_html(again),
        pdf=None,
        rule_files=rule_files_of(req, _bundled()),
    )
    bill = FinalBill(totals={CLINIC_NPI: Money("100.00")})

    def found(day: date) -> str:
        return rec.find_gfe("Alex Example", service_date=day, npis={CLINIC_NPI})

    # A service on 2027-01-04 was before the re-issue: the GFE then in force is the first.
    assert found(date(2027, 1, 4)) == first
    # From 2027-02-01 the re-issued GFE replaces it.
    assert found(date(2027, 2, 1)) == reissued
    assert found(date(2027, 6, 1)) == reissued
    # Named by id, a GFE issued after the date of service is refused.
    with pytest.raises(RecordsError, match="issued 2027-02-01, after the date of service"):
        rec.check_bill(bill, gfe_id=reissued, service_date=date(2027, 1, 4))
    rec.close()


def test_a_bill_none_of_whose_providers_is_on_the_gfe_is_refused(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    elsewhere = FinalBill(totals={"1245319599": Money("900.00")})
    with pytest.raises(RecordsError, match="NPI 1245319599\\) is on this patient's"):
        rec.check_bill(elsewhere, patient_name="Alex Example", service_date=date(2027, 1, 4))
    with pytest.raises(RecordsError, match="NPI 1245319599\\) is on Good Faith Estimate"):
        rec.check_bill(elsewhere, gfe_id=gfe_id)
    # A provider not on the GFE billed together with one that is: compared with $0.00.
    both = FinalBill(totals={CLINIC_NPI: Money("1.00"), "1245319599": Money("400.00")})
    (finding,) = rec.check_bill(both, gfe_id=gfe_id).findings
    assert (finding.npi, finding.expected, finding.over) == ("1245319599", Money(0), Money("400"))
    rec.close()


def test_a_bill_with_no_amounts_or_lines_outside_the_period_is_refused(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    with pytest.raises(RecordsError, match="no amounts"):
        rec.check_bill(FinalBill(bill_date=date(2027, 3, 1)), gfe_id=gfe_id)
    # The GFE covers 2027-01-04 to 2028-01-03: a line of 2028-01-04 is another GFE's.
    lines = (
        {"npi": CLINIC_NPI, "amount": "400.00", "date": date(2027, 1, 4)},
        {"npi": CLINIC_NPI, "amount": "450.00", "date": date(2028, 1, 4)},
    )
    straddling = FinalBill(lines=lines)  # type: ignore[arg-type]
    with pytest.raises(RecordsError, match=r"lines dated 2028-01-04, outside .* 2028-01-03"):
        rec.check_bill(straddling, gfe_id=gfe_id)
    with pytest.raises(RecordsError, match="outside the Good Faith Estimate's period"):
        rec.check_bill(straddling, patient_name="Alex Example")
    assert rec.show(gfe_id).checks == ()
    rec.close()


def test_checks_are_shown_by_id_and_open_disputes_listed(db_url: str) -> None:
    rec = init_records(db_url, clock=clock_at(date(2027, 6, 1)))
    gfe_id = _save_self_pay(rec)
    bill = FinalBill(bill_date=date(2027, 3, 1), totals={CLINIC_NPI: Money("8000.00")})
    result = rec.check_bill(bill, gfe_id=gfe_id)
    for name in (result.check_id, result.check_id[:6], result.bill_id[:8]):
        shown = rec.show_check(name)
        assert (shown.check_id, shown.gfe_id, shown.bill_id) == (
            result.check_id,
            gfe_id,
            result.bill_id,
        )
        assert shown.findings == result.findings
    with pytest.raises(RecordNotFoundError, match="no Good Faith Estimate or bill check"):
        rec.show_check("abcdef0123")
    # 2027-03-01 + 120 days = 2027-06-29: open through that day, closed the day after.
    assert [c.check_id for c in rec.open_disputes()] == [result.check_id]  # 2027-06-01
    assert [c.check_id for c in rec.open_disputes(date(2027, 6, 29))] == [result.check_id]
    assert rec.open_disputes(date(2027, 6, 30)) == []
    # A check with no finding is never open.
    other = _save_self_pay(rec)
    rec.check_bill(FinalBill(totals={CLINIC_NPI: Money("1.00")}), gfe_id=other)
    assert len(rec.open_disputes()) == 1
    rec.close()


def test_today_is_the_clocks_local_date_and_the_service_date_is_stored(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    # 03:00 UTC on 2027-01-01 is 22:00 on 2026-12-31 in New York (UTC-5).
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        rec = init_records(db_url, clock=lambda: datetime(2027, 1, 1, 3, 0, tzinfo=UTC))
        assert rec.today() == date(2026, 12, 31)
        gfe_id = _save_self_pay(rec)  # kept until 2032-11-21
        lines = ({"npi": CLINIC_NPI, "amount": "400.00", "date": date(2027, 1, 11)},)
        undated = FinalBill(lines=lines)  # type: ignore[arg-type]
        result = rec.check_bill(undated, patient_name="Alex Example")
        # An undated bill is kept from today's local date: 2026-12-31 + 6 years.
        assert rec.kept_until(gfe_id) == date(2032, 12, 31)
        with rec.engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT service_date FROM bills WHERE id = :id"), {"id": result.bill_id}
            ).scalar_one()
        # The date of service the GFE was found by (the first dated line) is stored.
        assert str(stored) == "2027-01-11"
        rec.close()
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_finding_keeps_a_provider_name_of_any_length(db_url: str) -> None:
    rec = init_records(db_url)
    req, est, gfe, _ = _self_pay()
    long_name = "Ketamine and Esketamine Infusion Center " * 8  # 320 characters
    (first, *rest) = gfe.providers
    named = first.model_copy(
        update={"provider": first.provider.model_copy(update={"name": long_name})}
    )
    gfe = gfe.model_copy(update={"providers": (named, *rest)})
    gfe_id = rec.save_gfe(
        request=req,
        estimate=est,
        gfe=gfe,
        html=render_gfe_html(gfe),
        pdf=None,
        rule_files=rule_files_of(req, _bundled()),
    )
    bill = FinalBill(totals={CLINIC_NPI: Money("8000.00")})
    (finding,) = rec.check_bill(bill, gfe_id=gfe_id).findings
    assert finding.provider == long_name
    assert rec.show(gfe_id).checks[0].findings == (finding,)
    rec.close()


def test_a_bill_outside_every_gfe_period_is_not_matched(db_url: str) -> None:
    rec = init_records(db_url)
    _save_self_pay(rec)
    bill = FinalBill(totals={CLINIC_NPI: Money("9000.00")})
    # The GFE covers 2027-01-04 to 2028-01-03.
    with pytest.raises(RecordNotFoundError, match="2028-01-04"):
        rec.check_bill(bill, patient_name="Alex Example", service_date=date(2028, 1, 4))
    rec.close()


# -- retention ------------------------------------------------------------------------------


def test_purge_refuses_a_record_inside_retention_and_deletes_one_past_it(db_url: str) -> None:
    rec = init_records(db_url, clock=LATER)
    old = _save_self_pay(rec, issued=date(2026, 11, 21))  # kept until 2032-11-21
    new = _save_self_pay(rec, issued=date(2026, 12, 15))  # kept until 2032-12-15
    # On its keep-until day a record is still inside retention.
    with pytest.raises(RetentionError, match="kept until 2032-11-21"):
        rec.purge(date(2032, 11, 21), record_id=old)
    assert rec.purge(date(2032, 11, 21)).deleted == ()
    result = rec.purge(date(2032, 11, 22))
    assert result.deleted == (old,)
    assert result.kept == 1
    assert [s.id for s in rec.list_gfes()] == [new]
    with pytest.raises(RetentionError):
        rec.purge(date(2032, 11, 22), record_id=new)
    # The audit log says what was purged, and still verifies.
    assert [e.action for e in rec.audit_entries()][-1] == "purge"
    assert rec.verify() == []
    rec.close()


def test_a_later_bill_extends_retention(db_url: str) -> None:
    rec = init_records(db_url, retention_years=6, clock=LATER)
    gfe_id = _save_self_pay(rec)
    rec.check_bill(
        FinalBill(bill_date=date(2027, 3, 1), totals={CLINIC_NPI: Money("1.00")}), gfe_id=gfe_id
    )
    # The GFE alone would go after 2032-11-21; its bill (2027-03-01) is kept to 2033-03-01.
    with pytest.raises(RetentionError, match="2033-03-01"):
        rec.purge(date(2033, 1, 1), record_id=gfe_id)
    assert rec.purge(date(2033, 3, 2), record_id=gfe_id).deleted == (gfe_id,)
    rec.close()


def test_purge_never_runs_ahead_of_the_clock(db_url: str) -> None:
    rec = init_records(db_url, clock=clock_at(date(2030, 6, 1)))
    gfe_id = _save_self_pay(rec, issued=date(2026, 11, 21))  # kept until 2032-11-21
    # A date after the clock's (2030-06-01) is refused, for all records and for one.
    with pytest.raises(RecordsError, match="after today's date \\(2030-06-01\\)"):
        rec.purge(date(2032, 11, 22))
    with pytest.raises(RecordsError, match="never purged ahead of the clock"):
        rec.purge(date(2030, 6, 2), record_id=gfe_id)
    # The clock's own date, an earlier one, and no date at all delete nothing inside retention.
    assert rec.purge(date(2030, 6, 1)).deleted == ()
    assert rec.purge(date(2027, 1, 1)).deleted == ()
    assert rec.purge().deleted == ()
    assert [s.id for s in rec.list_gfes()] == [gfe_id]
    # Once the clock is past 2032-11-21 the same record goes, with no date given.
    with open_records(db_url, clock=clock_at(date(2032, 11, 22))) as later:
        assert later.purge().deleted == (gfe_id,)
    rec.close()


def test_an_estimate_saved_without_a_gfe_is_kept_and_purged_like_one(db_url: str) -> None:
    rec = init_records(db_url, clock=LATER)
    req, est, _, _ = _self_pay()
    payers = _bundled()
    alone = rec.save_estimate(
        request=req, estimate=est, rule_files=rule_files_of(req, payers), issued=date(2025, 1, 2)
    )
    gfe_id = _save_self_pay(rec)  # kept until 2032-11-21
    # 2025-01-02 + 6 years = 2031-01-02: kept on that day, purged the day after.
    assert rec.purge(date(2031, 1, 2)).estimates_deleted == ()
    result = rec.purge(date(2031, 1, 3))
    assert (result.deleted, result.estimates_deleted) == ((), (alone,))
    assert [r.estimate_id for r in rec.reestimate(payers)] == [rec.show(gfe_id).estimate_id]
    assert [e.action for e in rec.audit_entries()][-1] == "purge"
    assert rec.verify() == []
    rec.close()


def test_retention_years_is_configurable(tmp_path: Path) -> None:
    rec = init_records(f"sqlite:///{tmp_path}/r.sqlite3", retention_years=10)
    gfe_id = _save_self_pay(rec)
    assert rec.show(gfe_id).summary.keep_until == date(2036, 11, 21)
    rec.close()


# -- re-estimating under changed rule files ------------------------------------------------


def _commercial_request(payers: PayerLibrary, tmp_path: Path) -> EstimateRequest:
    """The example commercial request cut to its 8 induction sessions (OOP max not reached)."""
    text = (ROOT / "examples" / "requests" / "esketamine-commercial.yaml").read_text(
        encoding="utf-8"
    )
    text = text.replace(
        "../clinics/example-clinic.yaml", str(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    )
    head, _, _ = text.partition("    - {name: optimisation")
    path = tmp_path / "commercial.yaml"
    path.write_text(head, encoding="utf-8")
    return load_request(path, payers=payers)


def test_reestimate_changed_rules_after_a_copay_change(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    shutil.copytree(ROOT / "payers", folder)
    payers = load_payers(folder)
    req = _commercial_request(payers, tmp_path)
    est = estimate(req, payers=payers)
    rec = init_records(db_url)
    commercial = rec.save_estimate(
        request=req,
        estimate=est,
        rule_files=rule_files_of(req, payers),
        used=used_rule_paths(req, payers),
    )
    self_pay_gfe = _save_self_pay(rec)
    # Before: 8 visits. Visits 1-2: $40 copay + $588.00 of drug to the deductible = $628.00;
    # visit 3: $40 + the last $324.00 of the $1,500 deductible + 20% of (588 - 324) = $52.80
    # -> $416.80; visits 4-8: $40 + 20% of $588.00 = $157.60. Patient: 2 x 628 + 416.80 +
    # 5 x 157.60 = $2,460.80 (the 99214 visit copay is outside the deductible).
    assert est.totals.patient_net == Money("2460.80")
    before_plan = est.totals.payer

    ppo = folder / "commercial-ppo.yaml"
    text = ppo.read_text(encoding="utf-8")
    assert "office-visit: {copay: 40.00," in text
    ppo.write_text(
        text.replace("office-visit: {copay: 40.00,", "office-visit: {copay: 55.00,"),
        encoding="utf-8",
    )
    changed = load_payers(folder)

    results = {r.estimate_id: r for r in rec.reestimate(changed, changed_rules_only=True)}
    mine = results[commercial]
    assert mine.status == "changed"
    assert mine.changed_files == ("commercial-ppo.yaml",)
    # $15.00 more copay on each of 8 visits: 8 x 15 = $120.00 more for the patient,
    # $120.00 less from the plan.
    assert mine.after is not None
    assert mine.after.patient == Money("2580.80")
    delta = mine.change()
    assert delta is not None
    assert delta.patient == Money("120.00")
    assert delta.payer == Money("-120.00")
    assert mine.after.payer == before_plan - Money("120.00")
    # The self-pay GFE read self-pay.yaml only: listed unchanged, not re-run.
    (other,) = [r for r in results.values() if r.gfe_ids == (self_pay_gfe,)]
    assert other.status == "rules unchanged"
    assert other.after is None
    # Without --changed-rules every estimate is re-run; the self-pay one does not change.
    everything = {r.estimate_id: r.status for r in rec.reestimate(changed)}
    assert sorted(everything.values()) == ["changed", "unchanged"]
    rec.close()


# -- the audit log -------------------------------------------------------------------------


def _tamper(rec: Any, statement: str) -> None:
    """Change the audit table as someone with direct access could (bypassing the triggers)."""
    with rec.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(sa.text(statement))


def test_the_database_refuses_to_change_or_delete_audit_entries(db_url: str) -> None:
    rec = init_records(db_url)
    _save_self_pay(rec)
    for statement in ("UPDATE audit_log SET actor = 'someone'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), rec.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(rec.audit_entries()) == 2
    rec.close()


def test_a_changed_audit_entry_is_detected(db_url: str) -> None:
    rec = init_records(db_url)
    _save_self_pay(rec)
    _save_self_pay(rec)
    assert rec.verify() == []
    _tamper(rec, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2")
    assert rec.verify() == ["entry 2: its content does not match its hash (changed)"]
    rec.close()


def test_a_deleted_audit_entry_is_detected(db_url: str) -> None:
    rec = init_records(db_url)
    first = _save_self_pay(rec)
    second = _save_self_pay(rec)
    head = rec.audit_entries()[-1].hash
    _tamper(rec, "DELETE FROM audit_log WHERE seq = 2")
    problems = rec.verify()
    assert "entry 3: expected entry 2 (an entry is missing)" in problems
    assert "entry 3: does not follow the entry before it (broken link)" in problems
    # The newest entry removed: the chain alone still verifies, only a head noted elsewhere
    # shows it; the GFEs whose entries went are reported as saved by no entry.
    _tamper(rec, "DELETE FROM audit_log WHERE seq = 3")
    assert verify_chain(rec.audit_entries()) == []
    unaudited = sorted(f"GFE {g}: no audit entry saved it" for g in (first, second))
    assert rec.verify() == unaudited
    assert rec.verify(anchor=head) == [
        f"the noted head {head[:12]}… is not in the chain (entries removed)",
        *unaudited,
    ]
    rec.close()


def test_changed_stored_document_bytes_are_detected(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec, pdf=b"%PDF original")
    with rec.engine.begin() as conn:
        conn.execute(sa.text("UPDATE gfes SET pdf = :pdf"), {"pdf": b"%PDF altered"})
    assert rec.verify() == [f"GFE {gfe_id}: its PDF is not the PDF that was saved"]
    rec.close()


def test_a_gfe_row_changed_with_its_own_hashes_is_detected(db_url: str) -> None:
    import hashlib

    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    other = _save_self_pay(rec)
    forged = b"<html>a cheaper estimate</html>"
    with rec.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE gfes SET html = :html, html_sha256 = :digest, total_cents = 100, "
                "keep_until = :early WHERE id = :id"
            ),
            {
                "html": forged,
                "digest": hashlib.sha256(forged).hexdigest(),
                "early": date(2027, 1, 1),
                "id": gfe_id,
            },
        )
    assert rec.verify() == [
        f"GFE {gfe_id}: its HTML is not the HTML that was saved",
        f"GFE {gfe_id}: its keep-until date is not the keep-until date that was saved",
        f"GFE {gfe_id}: its total is not the total that was saved",
    ]
    # Purge recomputes keep-until from the issue date (2026-11-21 + 6 years = 2032-11-21):
    # the earlier keep-until written in the row deletes nothing early.
    with open_records(db_url, clock=clock_at(date(2030, 1, 1))) as later:
        assert later.purge().deleted == ()
        with pytest.raises(RetentionError, match="kept until 2032-11-21"):
            later.purge(record_id=gfe_id)
    assert {s.id for s in rec.list_gfes()} == {gfe_id, other}
    rec.close()


def test_a_deleted_or_unaudited_gfe_row_is_detected(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    kept = _save_self_pay(rec)
    columns = ", ".join(c.name for c in metadata.tables["gfes"].columns)  # id first
    with rec.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM gfes WHERE id = :id"), {"id": gfe_id})
        # A row copied in with no audit entry of its own.
        conn.execute(
            sa.text(
                f"INSERT INTO gfes ({columns}) SELECT 'f00d' || substr(id, 5), "
                f"{columns.partition(',')[2]} FROM gfes WHERE id = :id"
            ),
            {"id": kept},
        )
    assert rec.verify() == [
        f"GFE f00d{kept[4:]}: no audit entry saved it",
        f"GFE {gfe_id}: deleted without a purge",
    ]
    rec.close()


def test_a_changed_bill_or_finding_is_detected(db_url: str) -> None:
    rec = init_records(db_url)
    gfe_id = _save_self_pay(rec)
    over = rec.check_bill(FinalBill(totals={CLINIC_NPI: Money("8000.00")}), gfe_id=gfe_id)
    assert rec.verify() == []
    with rec.engine.begin() as conn:
        conn.execute(sa.text("UPDATE dispute_findings SET over_cents = 1"))
        conn.execute(sa.text("UPDATE bills SET body = '{}'"))
    assert rec.verify() == [
        f"bill {over.bill_id}: its bill is not the bill that was saved",
        f"bill {over.bill_id}: its findings is not the findings that was saved",
    ]
    with rec.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM dispute_findings"))
        conn.execute(sa.text("DELETE FROM dispute_checks"))
        conn.execute(sa.text("DELETE FROM bills"))
    assert rec.verify() == [
        f"bill {over.bill_id}: deleted without a purge",
        f"check {over.check_id}: deleted without a purge",
    ]
    rec.close()


def test_audit_entries_hold_no_patient_data(db_url: str) -> None:
    rec = init_records(db_url, clock=LATER)
    gfe_id = _save_self_pay(rec)
    rec.check_bill(FinalBill(totals={CLINIC_NPI: Money("1.00")}), gfe_id=gfe_id)
    rec.purge(date(2040, 1, 1))
    dumped = repr(rec.audit_entries())
    for private in ("Alex", "Example", "1988-04-12", "F33"):  # not "1988": hex digests
        assert private not in dumped
    rec.close()


def test_records_files_never_reach_a_log(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    rec = init_records(db_url)
    _save_self_pay(rec)
    rec.list_gfes()
    assert "Alex" not in caplog.text
    rec.close()


def test_env_names_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/env.sqlite3"
    monkeypatch.setenv("KETACOST_DB", url)
    init_records().close()
    assert os.path.exists(tmp_path / "env.sqlite3")
    with open_records() as rec:
        assert rec.list_gfes() == []


def test_the_same_gfe_saved_again_is_the_record_already_kept(db_url: str) -> None:
    rec = init_records(db_url)

    def save(pdf: bytes | None) -> str:
        return _save_self_pay(rec, pdf=pdf, reuse_identical=True)

    first = save(None)
    assert save(None) == first  # the command run twice: one record
    with_pdf = save(b"%PDF-1.7 handed out")
    assert with_pdf != first  # a PDF handed out that the first record lacks: kept
    assert save(b"%PDF-1.7 handed out") == with_pdf
    assert save(None) in {first, with_pdf}
    assert len(rec.list_gfes()) == 2
    assert rec.verify() == []
    rec.close()
