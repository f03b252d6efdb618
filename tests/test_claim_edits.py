"""Claim edits (``payers/edits/*.yaml``): worked examples of the warnings they give.

An edit never drops or changes a line: the estimate still counts every line and amount, and
a warning says where the payer will likely deny part of the claim. The synthetic edits here
are fixtures; the shipped ones are checked at the end.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import _builders as b
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from strategies import Case, claim_edit_files, exercises, note, rich_cases

import ketacost
from ketacost._claim_edits import ClaimEdits
from ketacost._edit_files import edits_from_data
from ketacost._edit_warnings import claim_edit_warnings, with_claim_edit_warnings
from ketacost.cli import cli

ROOT = Path(__file__).resolve().parents[1]

REF = [{"title": "synthetic test edit", "href": "urn:ketacost:test"}]


def pair(edit_id: str, col1: str, col2: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": edit_id,
        "kind": "same-day-pair",
        "name": f"{col2} is part of {col1}",
        "payer_kinds": ["medicare"],
        "column_1": col1,
        "column_2": col2,
        "effective_from": "2020-01-01",
        "reference": REF,
        **extra,
    }


def limit(edit_id: str, code: str, most: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": edit_id,
        "kind": "unit-limit",
        "name": f"{code} units a day",
        "payer_kinds": ["commercial"],
        "code": code,
        "max_units_per_day": most,
        "effective_from": "2020-01-01",
        "reference": REF,
        **extra,
    }


def edit_file(*edits: dict[str, Any], name: str = "Test NCCI") -> ClaimEdits:
    return edits_from_data(
        {
            "id": "test-edits",
            "name": name,
            "metadata": {"reference": REF, "last_reviewed": "2026-11-29"},
            "edits": list(edits),
        }
    )


# An infusion day that also bills an IM injection; an esketamine day; drugs at $1 a unit.
CLINIC = b.clinic(
    {"96365": "650.00", "96372": "150.00", "J3490": "50.00", "J0013": "12.00", "99214": "200.00"},
    {
        "iv-and-im": b.session(b.line("96365"), b.line("96372"), b.line("J3490")),
        "iv-and-im-59": b.session(b.line("96365"), b.line("96372", modifiers=["59"])),
        "esketamine-112": b.session(b.line("J0013", units=112), b.line("99214")),
        "esketamine-56": b.session(b.line("J0013", units=56), b.line("99214")),
    },
)


def _payer(kind: str, *codes: str) -> dict[str, Any]:
    rates = dict.fromkeys(codes, "100.00")
    return b.payer(
        "test-plan",
        kind=kind,
        networks={"in": b.network(rates=rates)},
        coverage=[b.covered(*codes, category="all")],
    )


def estimate(
    session: str, edits: ClaimEdits | None, *, kind: str = "medicare", sessions: int = 1
) -> ketacost.Estimate:
    payers = b.payers(_payer(kind, "96365", "96372", "J3490", "J0013", "99214"))
    library = ketacost.PayerLibrary(payers, edits={"test-edits": edits} if edits else None)
    request = ketacost.request_from_data(
        b.request(
            CLINIC,
            [{"session": session, "sessions": sessions, "every_days": 7}],
            start="2027-01-04",
        ),
        payers=library,
    )
    return ketacost.adjudicate(request, library)


NCCI = pair("96365-96372", "96365", "96372", bypass_modifiers=["59", "XU"])


def test_a_same_day_pair_gives_exactly_one_warning() -> None:
    est = estimate("iv-and-im", edit_file(NCCI))
    assert est.warnings == (
        "2027-01-04: 96372 with 96365 on the same day: 96372 is part of 96365 "
        "[Test NCCI edit 96365-96372]: 96372 is denied unless billed with modifier 59 or XU "
        "for a distinct service — the estimate still counts both; expect a denial",
    )
    # nothing else moved: the same estimate without edits differs only in its warnings
    bare = estimate("iv-and-im", None)
    assert bare.warnings == ()
    assert est.model_dump(exclude={"warnings"}) == bare.model_dump(exclude={"warnings"})
    assert [line.code for line in est.lines()] == ["96365", "96372", "J3490"]


def test_a_bypass_modifier_on_either_line_gives_no_warning() -> None:
    # 96372-59: the clinic says the injection was a distinct service; NCCI modifier indicator 1
    # lets both be paid when the record supports it, so the estimate does not warn.
    assert estimate("iv-and-im-59", edit_file(NCCI)).warnings == ()


def test_a_pair_no_modifier_bypasses_says_so() -> None:
    est = estimate("iv-and-im-59", edit_file(pair("never", "96365", "96372")))
    assert est.warnings == (
        "2027-01-04: 96372 with 96365 on the same day: 96372 is part of 96365 "
        "[Test NCCI edit never]: 96372 is denied; no modifier lets both be paid — the "
        "estimate still counts both; expect a denial",
    )


def test_a_pair_denied_either_way_says_one_is_paid() -> None:
    est = estimate("iv-and-im", edit_file(pair("lcd", "96365", "96372", denied="either")))
    assert "the payer pays only one of them" in est.warnings[0]


def test_a_unit_limit_exceeded() -> None:
    # J0013 × 112 units on 2027-01-04 against 84 a day: 112 > 84
    est = estimate("esketamine-112", edit_file(limit("j0013", "J0013", 84)), kind="commercial")
    assert est.warnings == (
        "2027-01-04: J0013 × 112 units in one day, above the 84 a day the payer pays: "
        "J0013 units a day [Test NCCI edit j0013] — the estimate still counts all 112 units; "
        "expect a denial",
    )
    (drug, _) = est.visits[0].lines
    assert (drug.code, drug.units, drug.covered) == ("J0013", 112, True)


def test_a_unit_limit_met_exactly_gives_nothing() -> None:
    # 56 units against 56 a day: not above the limit
    edits = edit_file(limit("j0013", "J0013", 56))
    assert estimate("esketamine-56", edits, kind="commercial").warnings == ()


def test_an_edit_not_yet_in_force_gives_nothing() -> None:
    later = edit_file({**NCCI, "effective_from": "2027-01-05"})
    assert estimate("iv-and-im", later).warnings == ()
    ended = edit_file({**NCCI, "effective_until": "2027-01-03"})
    assert estimate("iv-and-im", ended).warnings == ()


def test_a_dated_limit_uses_the_value_in_force_on_the_date() -> None:
    # 112 a day until 2027-01-10, then 84: the visit of 2027-01-04 is within 112, the one of
    # 2027-01-11 is not
    edits = edit_file(limit("j0013", "J0013", {"2020-01-01": 112, "2027-01-10": 84}))
    est = estimate("esketamine-112", edits, kind="commercial", sessions=2)
    assert [w[:10] for w in est.warnings] == ["2027-01-11"]


def test_an_edit_for_another_payer_or_kind_gives_nothing() -> None:
    assert estimate("iv-and-im", edit_file(NCCI), kind="commercial").warnings == ()
    other = edit_file({**NCCI, "payer_kinds": [], "payers": ["test-plan"]})
    assert len(estimate("iv-and-im", other, kind="commercial").warnings) == 1


def test_one_warning_per_edit_names_every_date() -> None:
    # four weekly visits: counted, with the first and last date
    est = estimate("iv-and-im", edit_file(NCCI), sessions=4)
    (warning,) = est.warnings
    assert warning.startswith("4 dates from 2027-01-04 to 2027-01-25: 96372 with 96365")
    est = estimate("iv-and-im", edit_file(NCCI), sessions=3)
    assert est.warnings[0].startswith("2027-01-04, 2027-01-11 and 2027-01-18: 96372")


def test_a_line_the_plan_does_not_cover_is_not_checked() -> None:
    payers = b.payers(
        b.payer(
            "test-plan",
            kind="medicare",
            networks={"in": b.network(rates={"96365": "100.00"})},
            coverage=[b.covered("96365", category="all"), b.excluded("96372", reason="no")],
        )
    )
    library = ketacost.PayerLibrary(payers, edits={"test-edits": edit_file(NCCI)})
    request = ketacost.request_from_data(
        b.request(CLINIC, [{"session": "iv-and-im", "sessions": 1}], start="2027-01-04"),
        payers=library,
    )
    assert ketacost.adjudicate(request, library).warnings == ()


def test_without_edits_the_estimate_is_the_same_object() -> None:
    est = estimate("iv-and-im", None)
    assert with_claim_edit_warnings(est, {}) is est
    library = ketacost.PayerLibrary({}, edits={"test-edits": edit_file(NCCI)})
    clean = estimate("esketamine-56", None, kind="commercial")
    assert with_claim_edit_warnings(clean, library) is clean


def test_illustrative_edits_say_so() -> None:
    edits = edit_file({**NCCI, "illustrative": True})
    (text,) = claim_edit_warnings(estimate("iv-and-im", None), [edits], {"test-plan": "medicare"})
    assert "[Test NCCI edit 96365-96372 (illustrative)]" in text


# ------------------------------------------------------------- the shipped edits


def test_the_shipped_edits_load_with_the_payers() -> None:
    library = ketacost.load_payers(ROOT / "payers")
    assert sorted(library.edits) == ["esketamine-dose", "medicare-psychiatry"]
    assert library.file_hashes.keys() >= {"edits/esketamine-dose", "edits/medicare-psychiatry"}
    for edits in library.edits.values():
        for edit in edits.edits:
            assert edit.reference, edit.id
    dose = library.edits["esketamine-dose"]
    assert dose.metadata.illustrative
    assert all(edit.illustrative for edit in dose.edits)


def test_medicare_intake_and_em_on_one_day_warns() -> None:
    # Original Medicare: a prescriber's intake (90792) and an office visit (99214) billed on
    # one date. LCD L31887: not on the same day, and 90792 once a day (one unit: no warning).
    library = ketacost.load_payers(ROOT / "payers")
    clinic = b.clinic(
        {"90792": "400.00", "99214": "200.00"},
        {"intake-with-visit": b.session(b.line("90792"), b.line("99214"))},
    )
    request = ketacost.request_from_data(
        b.request(
            clinic,
            [{"session": "intake-with-visit", "sessions": 1}],
            start="2026-03-02",
            payer_id="medicare-part-b",
            patient={"age": 70},
        ),
        payers=library,
    )
    est = ketacost.estimate(request, payers=library)
    assert est.warnings[-1] == (
        "2026-03-02: 99214 with 90792 on the same day: a psychiatric diagnostic evaluation and "
        "an E/M visit by the same clinician [Medicare outpatient psychiatry (LCD L31887) edit "
        "90792-with-99214]: the payer pays only one of them — the estimate still counts both; "
        "expect a denial"
    )
    assert [w for w in est.warnings if "90792" in w] == [est.warnings[-1]]


def test_a_bad_edit_file_fails_the_folder_and_payers_check_names_it(tmp_path: Path) -> None:
    # All or nothing, like a payer or program file: the folder does not load, and
    # `ketacost payers check` prints the problem as file:line:col (exit 2).
    folder = tmp_path / "payers"
    shutil.copytree(ROOT / "payers", folder)
    bad = folder / "edits" / "esketamine-dose.yaml"
    bad.write_text(bad.read_text().replace('code: "J0013"', 'code: "J13"'))
    with pytest.raises(ketacost.PayerFileError) as err:
        ketacost.load_payers(folder)
    (issue,) = err.value.issues
    assert (Path(issue.path), issue.field) == (bad, "edits[1].code")
    assert issue.message == "must match '^[0-9A-Z]{5}$' (got 'J13')"
    result = CliRunner().invoke(cli, ["payers", "check", str(folder), "--today", "2026-11-29"])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [str(issue)]
    assert "Traceback" not in result.output


def test_an_edit_naming_a_payer_not_in_the_folder_fails_it(tmp_path: Path) -> None:
    # A misspelt payer id would never apply: refused, like a percent-of-payer basis.
    folder = tmp_path / "payers"
    shutil.copytree(ROOT / "payers", folder)
    bad = folder / "edits" / "esketamine-dose.yaml"
    text = bad.read_text().replace(
        'payer_kinds: [commercial, commercial-hdhp]\n    code: "J0013"',
        'payers: [commercial-pp0]\n    code: "J0013"',
    )
    bad.write_text(text)
    (issue,) = ketacost.check_payers(folder)
    assert issue.field == "edits[1].payers[0]"
    assert issue.message.startswith("payer 'commercial-pp0' does not exist (known: commercial-hmo")


# ------------------------------------------------------------- properties


def _first_date(warning: str) -> str:
    head = warning.split(": ", 1)[0]
    return head.split(" from ", 1)[1][:10] if " dates from " in head else head[:10]


@exercises(an_edit_met=0.15)  # 19% to 26% over clean runs of the ci profile
@given(rich_cases(), st.data())
def test_edits_only_ever_add_sorted_warnings(case: Case, data: st.DataObject) -> None:
    # Over any estimate and any edits drawn over the codes it bills: no line, amount or total
    # changes; the estimate's own warnings come first and unchanged; the edit warnings are
    # sorted by their first date, then text, each once, and the same whatever the order of the
    # files; without edits nothing is added (the same object).
    est = case.estimate()
    days = tuple(
        tuple((line.code, line.units) for line in visit.lines if line.covered)
        for visit in est.visits
    )
    ids = tuple(sorted({visit.payer_id for visit in est.visits}))
    kinds = tuple(sorted({case.payers[pid].kind for pid in ids}))
    around = est.visits[0].date if est.visits else date(2026, 6, 1)
    files = data.draw(claim_edit_files(days, payer_ids=ids, kinds=kinds, around=around))
    library = ketacost.PayerLibrary(
        case.payers, programs=case.programs, edits={f.id: f for f in files}
    )
    found = with_claim_edit_warnings(est, library)
    if not files:
        assert found is est
    assert found.model_dump(exclude={"warnings"}) == est.model_dump(exclude={"warnings"})
    assert found.warnings[: len(est.warnings)] == est.warnings
    added = found.warnings[len(est.warnings) :]
    kinds = {pid: payer.kind for pid, payer in case.payers.items()}
    assert added == claim_edit_warnings(est, list(reversed(files)), kinds)
    assert added == claim_edit_warnings(est, files, kinds)
    assert list(added) == sorted(added, key=lambda w: (_first_date(w), w))
    assert len(set(added)) == len(added)
    for warning in added:
        assert warning.endswith("expect a denial")
    if any(days):  # judged among estimates with a covered line (nothing else can meet one)
        note("an edit met", bool(added))
