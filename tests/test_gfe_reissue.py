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

import ketacost
from ketacost.cli import cli
from ketacost.documents import (
    DocumentError,
    GoodFaithEstimate,
    build_gfe,
    reissue_gfe,
    render_gfe_html,
)

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
    # the first booster that differs is after it (the change affects from 08-17). The
    # integration phase starts where the boosters' period ends, 2027-02-01 + 8 × 28 days =
    # 2027-09-13 (a Monday), then 09-27.
    assert rows == [
        ("added", "integration", "90837", None, 2, None, M("400.00"), date(2027, 9, 13)),
        # 11 × 417.86 = 4,596.46 → 8 × 417.86 = 3,342.88
        ("re-priced", "boosters", "96365", 11, 8, M("4596.46"), M("3342.88"), date(2027, 8, 17)),
        # 11 × 32.14 = 353.54 → 8 × 32.14 = 257.12
        ("re-priced", "boosters", "J3490", 11, 8, M("353.54"), M("257.12"), date(2027, 8, 17)),
    ]
    # The first affected service is Tue 2027-08-17: due 1 business day before, Mon 08-16.
    assert (gfe.reissue.first_affected, gfe.reissue.must_issue_by) == (
        date(2027, 8, 17),
        date(2027, 8, 16),
    )
    assert gfe.reissue.on_time
    assert gfe.timing is not None and gfe.timing.rule == "change"
    assert gfe.timing.due_by == date(2027, 8, 16) and gfe.timing.on_time
    # Issued on the affected day itself is late.
    late = reissue_gfe(first, request, estimate, issued=date(2027, 8, 17))
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
    assert "Replaces the estimate of 2026-11-21: 1 added, 0 removed, 2 re-priced" in result.output
    assert "by 2027-08-16" in result.output and "on time" in result.output
    data = json.loads(new.read_text(encoding="utf-8"))
    # The sha256 names the old file's bytes exactly as written.
    assert data["reissue"]["replaces"]["sha256"] == hashlib.sha256(old.read_bytes()).hexdigest()
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
