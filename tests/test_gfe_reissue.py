"""A new Good Faith Estimate after a change of scope, with what changed (45 CFR 149.610(b)(1)).

The first GFE is the self-pay IV series' (examples/requests/iv-series-self-pay.yaml, issued
2026-11-21, $7,600.00 = intake 250 + package 2,400 + 11 boosters × 450). Mid-course the plan
changes: 8 boosters instead of 11, and two integration psychotherapy sessions (90837, $200
self-pay each) every 2 weeks after the boosters.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError

import ketacost
from ketacost.cli import cli
from ketacost.documents import (
    DocumentError,
    GfeItem,
    GoodFaithEstimate,
    build_gfe,
    reissue_gfe,
    render_gfe_html,
)
from ketacost.documents._gfe import build_gfe_unchecked
from ketacost.documents._gfe_reissue import diff_gfes

ROOT = Path(__file__).resolve().parents[1]
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
CLINIC = ROOT / "examples/clinics/example-clinic.yaml"
M = ketacost.Money


@pytest.fixture(scope="module")
def payers() -> ketacost.PayerLibrary:
    return ketacost.load_payers()


@pytest.fixture(scope="module")
def first(payers: Any) -> GoodFaithEstimate:
    request = ketacost.load_request(IV_SELF_PAY, payers=payers)
    return build_gfe(request, ketacost.estimate(request, payers=payers), issued=date(2026, 11, 21))


def _changed_data(clinic: Any = None) -> dict[str, Any]:
    data = yaml.safe_load(IV_SELF_PAY.read_text(encoding="utf-8"))
    data["clinic"] = str(CLINIC) if clinic is None else clinic
    phases = data["plan"]["phases"]
    phases[2]["sessions"] = 8
    phases.append({"name": "integration", "session": "psychotherapy", "sessions": 2,
                   "every_weeks": 2})  # fmt: skip
    return data


def _changed(payers: Any) -> tuple[ketacost.EstimateRequest, ketacost.Estimate]:
    data = _changed_data(ketacost.load_clinic(CLINIC))
    request = ketacost.request_from_data(data, payers=payers)
    return request, ketacost.estimate(request, payers=payers)


def test_reissue_diff_worked_example(first: GoodFaithEstimate, payers: Any) -> None:
    request, estimate = _changed(payers)
    gfe = reissue_gfe(first, request, estimate, issued=date(2027, 2, 15))
    # 7,600 − 3 boosters × 450 + 2 × 200 = 7,600 − 1,350 + 400 = 6,650.00
    assert gfe.total_expected == M("6650.00")
    assert gfe.reissue is not None
    assert gfe.reissue.replaces.issued == date(2026, 11, 21)
    assert gfe.reissue.replaces.total_expected == M("7600.00")
    rows = [
        (c.change, c.phase, c.service_code, c.old_quantity, c.new_quantity, c.old_charge,
         c.new_charge, c.affects_from)
        for c in gfe.reissue.changes
    ]  # fmt: skip
    # Boosters every 4 weeks from 2027-02-01: the 8th is 2027-02-01 + 7 × 28 days = 08-16, so
    # the first booster that differs is the 9th, removed: 08-16 + 28 days = Mon 2027-09-13
    # (the 10th and 11th, 10-11 and 11-08, go too). The integration phase starts where the
    # boosters' period ends, 2027-02-01 + 8 × 28 days = 2027-09-13 (a Monday), then 09-27.
    assert rows == [
        ("added", "integration", "90837", None, 2, None, M("400.00"), date(2027, 9, 13)),
        # 11 × 417.86 = 4,596.46 → 8 × 417.86 = 3,342.88
        ("re-priced", "boosters", "96365", 11, 8, M("4596.46"), M("3342.88"), date(2027, 9, 13)),
        # 11 × 32.14 = 353.54 → 8 × 32.14 = 257.12
        ("re-priced", "boosters", "J3490", 11, 8, M("353.54"), M("257.12"), date(2027, 9, 13)),
    ]
    # The boosters' change lists the dates it takes away; none is added.
    removed_dates = (date(2027, 9, 13), date(2027, 10, 11), date(2027, 11, 8))
    assert [(c.old_dates, c.new_dates) for c in gfe.reissue.changes[1:]] == [
        (removed_dates, ()),
        (removed_dates, ()),
    ]
    # The first affected service is Mon 2027-09-13: due 1 business day before, Fri 09-10.
    assert (gfe.reissue.first_affected, gfe.reissue.must_issue_by) == (
        date(2027, 9, 13),
        date(2027, 9, 10),
    )
    assert gfe.reissue.on_time
    assert gfe.timing is not None and gfe.timing.rule == "change"
    assert gfe.timing.due_by == date(2027, 9, 10) and gfe.timing.on_time
    # Issued on the affected day itself is late.
    late = reissue_gfe(first, request, estimate, issued=date(2027, 9, 13))
    assert late.reissue is not None and not late.reissue.on_time
    # The HTML has the changes section, before the patient's.
    page = render_gfe_html(gfe)
    assert page.index('id="changes"') < page.index('id="patient"')
    assert "What changed from the Good Faith Estimate of November 21, 2026" in page
    assert "$4,596.46" in page and "$3,342.88" in page
    # JSON round trip.
    assert GoodFaithEstimate.model_validate_json(gfe.model_dump_json()) == gfe


def _weekly(payers: Any, *phases: dict[str, Any]) -> GoodFaithEstimate | Any:
    data = yaml.safe_load(IV_SELF_PAY.read_text(encoding="utf-8"))
    data["clinic"] = ketacost.load_clinic(CLINIC)
    data["plan"] = {"start": "2027-06-07", "phases": list(phases)}
    request = ketacost.request_from_data(data, payers=payers)
    return request, ketacost.estimate(request, payers=payers)


def test_reissue_due_across_a_holiday_weekend(payers: Any) -> None:
    # Four weekly infusions from Mon 2027-06-07 (the last on 06-28), then an integration
    # session added on Tue 2027-07-06. One business day before it: Mon 07-05 is Independence
    # Day observed (07-04 is a Sunday), Sun 07-04 and Sat 07-03 are the weekend: Fri 07-02.
    infusions = {"session": "iv-infusion", "sessions": 4, "every_weeks": 1}
    before = build_gfe(*_weekly(payers, infusions), issued=date(2027, 5, 3))
    added = {"session": "psychotherapy", "sessions": 1, "start": "2027-07-06"}
    request, estimate = _weekly(payers, infusions, added)
    gfe = reissue_gfe(before, request, estimate, issued=date(2027, 7, 2))
    assert gfe.reissue is not None
    [change] = gfe.reissue.changes
    assert (change.change, change.service_code, change.new_charge) == (
        "added",
        "90837",
        M("200.00"),
    )
    assert (gfe.reissue.first_affected, gfe.reissue.must_issue_by) == (
        date(2027, 7, 6),
        date(2027, 7, 2),
    )
    assert gfe.reissue.on_time
    # Issued on the holiday, Mon 07-05: late.
    late = reissue_gfe(before, request, estimate, issued=date(2027, 7, 5))
    assert late.reissue is not None and not late.reissue.on_time
    # And back: the session removed again, from the estimate that added it.
    back = reissue_gfe(gfe, *_weekly(payers, infusions), issued=date(2027, 7, 2))
    assert back.reissue is not None
    assert [
        (c.change, c.old_charge, c.new_charge, c.affects_from) for c in back.reissue.changes
    ] == [("removed", M("200.00"), None, date(2027, 7, 6))]
    assert back.total_expected == before.total_expected  # 4 × 450 = 1,800.00
    assert back.total_expected == M("1800.00")


def test_reissue_errors(first: GoodFaithEstimate, payers: Any) -> None:
    request = ketacost.load_request(IV_SELF_PAY, payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    with pytest.raises(DocumentError, match="nothing changed from the Good Faith Estimate"):
        reissue_gfe(first, request, estimate, issued=date(2026, 12, 1))
    with pytest.raises(DocumentError, match="dated before the one it replaces"):
        reissue_gfe(first, *_changed(payers), issued=date(2026, 11, 20))
    other = first.model_copy(update={"patient": first.patient.model_copy(update={"name": "B"})})
    with pytest.raises(DocumentError, match="is B's"):
        reissue_gfe(other, *_changed(payers), issued=date(2027, 2, 15))


def test_cli_replaces(tmp_path: Path) -> None:
    runner = CliRunner()
    old = tmp_path / "old.json"
    result = runner.invoke(
        cli, ["gfe", str(IV_SELF_PAY), "--format", "json", "-o", str(old), "--issued", "2026-11-21"]
    )
    assert result.exit_code == 0, result.output
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(_changed_data()), encoding="utf-8")
    new = tmp_path / "new.json"
    result = runner.invoke(
        cli,
        ["gfe", str(changed), "--replaces", str(old), "--issued", "2027-02-15", "--format",
         "json", "-o", str(new)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "Replaces the estimate of 2026-11-21: 1 added, 0 removed, 2 re-priced, 0 rescheduled"
        in result.output
    )
    assert "by 2027-09-10" in result.output and "on time" in result.output
    data = json.loads(new.read_text(encoding="utf-8"))
    # The sha256 names the old file's bytes exactly as written.
    assert data["reissue"]["replaces"]["sha256"] == hashlib.sha256(old.read_bytes()).hexdigest()
    # The file is written with "\n" line ends on every OS (newline=""): its bytes are the
    # JSON's, so its sha256 is gfe_digest's.
    assert b"\r\n" not in old.read_bytes()
    # A file with other bytes (CRLF line ends, as a Windows editor saves it): the sha256 is of
    # the bytes read, not of the estimate written again.
    crlf = tmp_path / "old-crlf.json"
    crlf.write_bytes(old.read_bytes().replace(b"\n", b"\r\n"))
    result = runner.invoke(
        cli,
        ["gfe", str(changed), "--replaces", str(crlf), "--issued", "2027-02-15", "--format",
         "json", "-o", str(new)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(new.read_text(encoding="utf-8"))
    assert data["reissue"]["replaces"]["sha256"] == hashlib.sha256(crlf.read_bytes()).hexdigest()
    assert data["reissue"]["replaces"]["sha256"] != hashlib.sha256(old.read_bytes()).hexdigest()
    # A file that is not a GFE's JSON is a user error naming it.
    bad = tmp_path / "bad.json"
    bad.write_text('{"document": "superbill"}', encoding="utf-8")
    result = runner.invoke(cli, ["gfe", str(changed), "--replaces", str(bad), "-o", str(new)])
    assert result.exit_code == 2
    assert "not a Good Faith Estimate's JSON" in result.output
    result = runner.invoke(
        cli, ["gfe", str(changed), "--replaces", str(tmp_path / "none.json"), "-o", str(new)]
    )
    assert result.exit_code == 2 and "cannot read it" in result.output


def _variant(payers: Any, change: Any) -> tuple[ketacost.EstimateRequest, ketacost.Estimate]:
    """The self-pay IV series with ``change(data)`` applied to its request data."""
    data = yaml.safe_load(IV_SELF_PAY.read_text(encoding="utf-8"))
    data["clinic"] = ketacost.load_clinic(CLINIC)
    change(data)
    request = ketacost.request_from_data(data, payers=payers)
    return request, ketacost.estimate(request, payers=payers)


def test_a_change_of_frequency_is_a_change_of_scope(first: GoodFaithEstimate, payers: Any) -> None:
    # Boosters every 3 weeks instead of 4, from Mon 2027-02-01: the same 11 sessions and the
    # same charges (11 × 417.86 and 11 × 32.14) on other dates: rescheduled.
    def every_three_weeks(data: dict[str, Any]) -> None:
        data["plan"]["phases"][2]["every_weeks"] = 3

    gfe = reissue_gfe(first, *_variant(payers, every_three_weeks), issued=date(2027, 1, 12))
    assert gfe.reissue is not None
    assert [(c.change, c.phase, c.service_code) for c in gfe.reissue.changes] == [
        ("rescheduled", "boosters", "96365"),
        ("rescheduled", "boosters", "J3490"),
    ]
    change = gfe.reissue.changes[0]
    assert (change.old_quantity, change.new_quantity) == (11, 11)
    assert change.old_charge == change.new_charge == M("4596.46")
    # Every 28 days from 02-01: 03-01, 03-29, 04-26, 05-24, 06-21, 07-19, 08-16, 09-13, 10-11,
    # 11-08; every 21 days: 02-22, 03-15, 04-05, 04-26, 05-17, 06-07, 06-28, 07-19, 08-09,
    # 08-30. Common to both: 02-01, 04-26, 07-19.
    d = date
    assert change.old_dates == (d(2027, 3, 1), d(2027, 3, 29), d(2027, 5, 24), d(2027, 6, 21),
                                d(2027, 8, 16), d(2027, 9, 13), d(2027, 10, 11),
                                d(2027, 11, 8))  # fmt: skip
    assert change.new_dates == (d(2027, 2, 22), d(2027, 3, 15), d(2027, 4, 5), d(2027, 5, 17),
                                d(2027, 6, 7), d(2027, 6, 28), d(2027, 8, 9),
                                d(2027, 8, 30))  # fmt: skip
    # The first session that differs is the 2nd booster: 03-01 before, Mon 02-22 now. One
    # business day before Mon 02-22 (Sat, Sun skipped): Fri 2027-02-19.
    assert (gfe.reissue.first_affected, gfe.reissue.must_issue_by) == (
        date(2027, 2, 22),
        date(2027, 2, 19),
    )
    assert "2027-02-22, 2027-03-15" in render_gfe_html(gfe)


def test_a_seventh_induction_session_reschedules_the_boosters(
    first: GoodFaithEstimate, payers: Any
) -> None:
    # Induction every 2 days from Tue 2027-01-05 (weekends closed): 01-05, 01-07, 01-11, 01-13,
    # 01-15, 01-18; a 7th on Wed 01-20. The boosters start 2 weeks after the induction's last
    # session, so each moves by a day: Mon 02-01 → Tue 02-02, …, Mon 11-08 → Tue 11-09.
    def seven(data: dict[str, Any]) -> None:
        data["plan"]["phases"][1]["sessions"] = 7

    gfe = reissue_gfe(first, *_variant(payers, seven), issued=date(2027, 1, 12))
    assert gfe.reissue is not None
    rows = [(c.change, c.phase, c.service_code, c.affects_from) for c in gfe.reissue.changes]
    assert rows == [
        ("re-priced", "induction", "96365", date(2027, 1, 20)),
        ("re-priced", "induction", "J3490", date(2027, 1, 20)),
        ("rescheduled", "boosters", "96365", date(2027, 2, 1)),
        ("rescheduled", "boosters", "J3490", date(2027, 2, 1)),
    ]
    induction, _, boosters, _ = gfe.reissue.changes
    assert (induction.old_dates, induction.new_dates) == ((), (date(2027, 1, 20),))
    assert boosters.old_dates[0] == date(2027, 2, 1) and boosters.new_dates[0] == date(2027, 2, 2)
    assert len(boosters.old_dates) == len(boosters.new_dates) == 11
    # Only the 7th session, Wed 2027-01-20, is new: due 1 business day before, Tue 01-19
    # (not the day after the 6th, Tue 01-19, whose day before is Mon 01-18, Martin Luther
    # King Jr. Day, so Fri 01-15).
    assert (gfe.reissue.first_affected, gfe.reissue.must_issue_by) == (
        date(2027, 1, 20),
        date(2027, 1, 19),
    )
    assert gfe.reissue.on_time  # issued 2027-01-12


def _uneven(gfe: GoodFaithEstimate) -> GoodFaithEstimate:
    """``gfe`` with the induction's first session $10.00 dearer (its charge each varies)."""
    providers = []
    for p in gfe.providers:
        items = []
        for i in p.items:
            if i.phase == "induction":
                first_charge = i.session_charges[0] + M("10")
                i = i.model_copy(
                    update={
                        "session_charges": (first_charge, *i.session_charges[1:]),
                        "charge_each": None,
                        "expected_charge": i.expected_charge + M("10"),
                    }
                )
            items.append(i)
        providers.append(p.model_copy(update={"items": tuple(items)}))
    return gfe.model_copy(update={"providers": tuple(providers)})


def test_a_varying_session_price_affects_from_the_first_session_that_differs(
    first: GoodFaithEstimate, payers: Any
) -> None:
    # The induction's sessions do not all cost the same (the first is $10.00 dearer) in the
    # old estimate and the new one; a 7th session is added on Wed 2027-01-20. The first
    # (date, charge) that differs is that 7th session, not the item's first date (01-05).
    def seven(data: dict[str, Any]) -> None:
        data["plan"]["phases"][1]["sessions"] = 7

    request, estimate = _variant(payers, seven)
    new = build_gfe_unchecked(request, estimate, issued=date(2027, 1, 12))
    changes = diff_gfes(_uneven(first), _uneven(new))
    assert [(c.phase, c.change, c.affects_from) for c in changes[:2]] == [
        ("induction", "re-priced", date(2027, 1, 20)),
        ("induction", "re-priced", date(2027, 1, 20)),
    ]
    # And an estimate written before sessions were kept: from the item's first date, 01-05.
    bare = _uneven(first)
    bare = bare.model_copy(
        update={
            "providers": tuple(
                p.model_copy(
                    update={
                        "items": tuple(
                            i.model_copy(update={"session_dates": (), "session_charges": ()})
                            for i in p.items
                        )
                    }
                )
                for p in bare.providers
            )
        }
    )
    assert diff_gfes(bare, _uneven(new))[0].affects_from == date(2027, 1, 5)


def test_session_dates_and_charges_must_pair(first: GoodFaithEstimate) -> None:
    # An item's session_dates and session_charges are one list of (date, charge): as many of
    # each (the intake: one date, one charge of 250.00; a second charge is refused).
    item = first.providers[0].items[0]
    data = item.model_dump(mode="json")
    data["session_charges"] = [*data["session_charges"], "250.00"]
    with pytest.raises(ValidationError, match="session_dates and session_charges must be"):
        GfeItem.model_validate(data)
    # A GFE written before they were kept (neither given) still reads.
    old = {k: v for k, v in item.model_dump(mode="json").items() if not k.startswith("session")}
    assert GfeItem.model_validate(old).session_dates == ()
