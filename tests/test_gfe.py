"""Who is owed a Good Faith Estimate, for which items (45 CFR 149.610(a)(2)).

A GFE is built from the self-paid lines of any estimate; the lines billed to a plan are listed
as not part of it. The example clinic's IV series (examples/requests/iv-series-self-pay.yaml):
an intake ($250 self-pay, 90791), six infusions in the iv-induction-6 package ($2,400, so $400
each) and eleven boosters at the $450 self-pay price; each infusion's price is shared over its
two lines by chargemaster (96365 $650, J3490 $50):
  package session: 400 × 650/700 = 371.428… → $371.43 and 400 − 371.43 = $28.57
  booster:         450 × 650/700 = 417.857… → $417.86 and 450 − 417.86 = $32.14
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import strategies as gen
import yaml
from hypothesis import given

import ketacost
from ketacost.documents import DocumentError, GoodFaithEstimate, build_gfe, render_gfe_html

ROOT = Path(__file__).resolve().parents[1]
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
IV_COMMERCIAL = ROOT / "examples/requests/iv-series-commercial.yaml"
ISSUED = date(2026, 11, 21)
M = ketacost.Money


@pytest.fixture(scope="module")
def payers() -> ketacost.PayerLibrary:
    return ketacost.load_payers()


def _estimate(path: Path, payers: Any, **changes: Any) -> Any:
    request = ketacost.load_request(path, payers=payers)
    if changes:
        data = request.model_dump(mode="json", exclude_unset=True)
        data["clinic"] = request.clinic
        for key, value in changes.items():
            data[key] = data.get(key, {}) | value if isinstance(value, dict) else value
        request = ketacost.request_from_data(data, payers=payers)
    return request, ketacost.estimate(request, payers=payers)


def _items(gfe: GoodFaithEstimate) -> list[tuple[str, str, int, Any, Any]]:
    return [
        (i.phase, i.service_code, i.quantity, i.charge_each, i.expected_charge)
        for p in gfe.providers
        for i in p.items
    ]


#: The 17 infusions of the series, as the GFE lists them (6 package sessions, 11 boosters).
INFUSIONS = [
    ("induction", "96365", 6, M("371.43"), M("2228.58")),  # 6 × 371.43
    ("induction", "J3490", 6, M("28.57"), M("171.42")),  # 6 × 28.57
    ("boosters", "96365", 11, M("417.86"), M("4596.46")),  # 11 × 417.86
    ("boosters", "J3490", 11, M("32.14"), M("353.54")),  # 11 × 32.14
]


def test_gfe_for_an_insured_patients_excluded_iv_infusions(payers: Any) -> None:
    # The commercial PPO covers the intake and excludes IV ketamine (investigational). The
    # infusions are self-paid: visits the plan covers nothing of are priced as self-pay
    # visits, so the package applies: 2,400 + 11 × 450 = 2,400 + 4,950 = $7,350.00.
    request, estimate = _estimate(IV_COMMERCIAL, payers)
    gfe = build_gfe(request, estimate, issued=ISSUED)
    assert _items(gfe) == INFUSIONS
    # 2,228.58 + 171.42 + 4,596.46 + 353.54 = 7,350.00
    assert gfe.total_expected == M("7350.00")
    # The period starts with the first self-paid session (the intake is the plan's).
    assert (gfe.period_start, gfe.period_end) == (date(2027, 1, 5), date(2028, 1, 4))
    assert [r.sessions for r in gfe.recurring] == [6, 11]
    [intake] = gfe.not_included
    assert (intake.service_code, intake.service_code_type, intake.payer, intake.sessions) == (
        "90791",
        "CPT",
        "Example Commercial PPO",
        1,
    )
    assert (intake.first_date, intake.last_date) == (date(2027, 1, 4), date(2027, 1, 4))
    assert intake.why == "billed to Example Commercial PPO; your plan's estimate applies"
    page = render_gfe_html(gfe)
    assert "Not part of this Good Faith Estimate" in page
    assert "billed to Example Commercial PPO; your plan&#39;s estimate applies" in page


def test_gfe_for_a_medicare_patients_excluded_iv_infusions(payers: Any) -> None:
    # Original Medicare denies IV ketamine as not reasonable and necessary. With a signed ABN
    # (GA) the patient owes the clinic's self-pay price for the infusions, the same
    # 2,400 + 11 × 450 = $7,350.00; the intake is billed to Medicare.
    request, estimate = _estimate(
        IV_COMMERCIAL,
        payers,
        patient={"birth_date": "1955-04-12"},
        coverage={"payer": "medicare-part-b", "abn_signed": True},
    )
    gfe = build_gfe(request, estimate, issued=ISSUED)
    assert _items(gfe) == INFUSIONS
    assert gfe.total_expected == M("7350.00")
    assert [(n.service_code, n.payer) for n in gfe.not_included] == [
        ("90791", "Original Medicare (Part B)")
    ]
    # Without an ABN (GZ) the clinic is liable for the denied infusions: nothing is self-paid,
    # so there is no GFE; the GZ lines are not the patient's.
    request, estimate = _estimate(
        IV_COMMERCIAL,
        payers,
        patient={"birth_date": "1955-04-12"},
        coverage={"payer": "medicare-part-b"},
    )
    with pytest.raises(DocumentError, match=r"uninsured or self-pay patients.*has none"):
        build_gfe(request, estimate, issued=ISSUED)


def test_gfe_for_a_medicare_patient_of_a_clinic_that_opted_out(payers: Any) -> None:
    # A clinic that has opted out of Medicare files no claims: every visit is a private
    # contract at the self-pay prices, so the whole series is on the GFE:
    # 250 + 2,400 + 11 × 450 = $7,600.00, and nothing is billed to Medicare.
    request = ketacost.load_request(IV_COMMERCIAL, payers=payers)
    clinic = request.clinic.model_dump(mode="json", exclude_unset=True)
    clinic["medicare"] = {"participation": "opted_out"}
    data = request.model_dump(mode="json", exclude_unset=True)
    data["clinic"] = ketacost.clinic_from_data(clinic)
    data["patient"]["birth_date"] = "1955-04-12"
    data["coverage"] = {"payer": "medicare-part-b"}
    request = ketacost.request_from_data(data, payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    assert estimate.visits[0].lines[0].reason.startswith("private contract")
    gfe = build_gfe(request, estimate, issued=ISSUED)
    assert gfe.total_expected == M("7600.00")
    assert gfe.not_included == ()


def test_gfe_for_an_out_of_network_superbill_patient(payers: Any) -> None:
    # Out of network, claimed on a superbill: the patient pays the clinic every visit at its
    # self-pay price and claims it; the clinic submits no claim, so everything is on the GFE:
    # 250 + 2,400 + 11 × 450 = 250 + 2,400 + 4,950 = $7,600.00, the self-pay figure.
    request, estimate = _estimate(
        IV_COMMERCIAL, payers, coverage={"network": "out", "superbill": True}
    )
    gfe = build_gfe(request, estimate, issued=ISSUED)
    assert _items(gfe) == [("intake", "90791", 1, M("250.00"), M("250.00")), *INFUSIONS]
    assert gfe.total_expected == M("7600.00")
    assert gfe.not_included == ()
    # The same figure as a self-pay patient's GFE of the series.
    self_pay = _estimate(IV_SELF_PAY, payers)
    assert build_gfe(*self_pay, issued=ISSUED).total_expected == gfe.total_expected


def test_mixed_estimate_lists_covered_esketamine_as_not_included(payers: Any) -> None:
    # Four weekly esketamine 56 mg sessions the plan covers (prior authorization approved),
    # then two weekly IV infusions it excludes. Two infusions are too few for the 6-session
    # package, so each is the session's $450 (417.86 + 32.14): 2 × 450 = $900.00.
    plan = {
        "start": "2027-01-04",
        "closed_weekdays": ["sat", "sun"],
        "phases": [
            {"name": "esketamine", "session": "esketamine-56", "sessions": 4, "every_weeks": 1},
            {"name": "iv", "session": "iv-infusion", "sessions": 2, "every_weeks": 1},
        ],
    }
    request, estimate = _estimate(
        IV_COMMERCIAL, payers, plan=plan, coverage={"prior_authorization": "approved"}
    )
    gfe = build_gfe(request, estimate, issued=ISSUED)
    assert _items(gfe) == [
        ("iv", "96365", 2, M("417.86"), M("835.72")),  # 2 × 417.86
        ("iv", "J3490", 2, M("32.14"), M("64.28")),  # 2 × 32.14
    ]
    assert gfe.total_expected == M("900.00")
    assert gfe.period_start == date(2027, 2, 1)  # the first infusion
    assert gfe.primary_service.startswith("IV ketamine infusion")
    # The esketamine lines (drug J0013, a HCPCS code, and the E/M and monitoring CPT codes)
    # are billed to the plan on the four Mondays 2027-01-04 to 01-25.
    rows = [
        (n.service_code, n.service_code_type, n.sessions, n.first_date, n.last_date)
        for n in gfe.not_included
    ]
    assert rows == [
        (code, kind, 4, date(2027, 1, 4), date(2027, 1, 25))
        for code, kind in (("J0013", "HCPCS"), ("99214", "CPT"), ("99415", "CPT"), ("99416", "CPT"))
    ]
    assert {n.payer for n in gfe.not_included} == {"Example Commercial PPO"}


def test_gfe_range_counts_only_self_paid_lines(payers: Any) -> None:
    # The mixed plan above with 1 to 4 infusions instead of 2: the range of the GFE's 12
    # months counts the infusions only (the covered esketamine sessions never enter it):
    # low 1 × 450 = 450, expected 2 × 450 = 900, high 4 × 450 = 1,800 (four weekly
    # infusions, fewer than the package's six, each at the session price).
    plan = {
        "start": "2027-01-04",
        "phases": [
            {"name": "esketamine", "session": "esketamine-56", "sessions": 4, "every_weeks": 1},
            {"name": "iv", "session": "iv-infusion", "sessions": 2, "every_weeks": 1},
        ],
    }
    request, estimate = _estimate(
        IV_COMMERCIAL,
        payers,
        plan=plan,
        coverage={"prior_authorization": "approved"},
        unknowns={"sessions": [{"phase": "iv", "low": 1, "high": 4}]},
    )
    found = ketacost.good_faith_range(request, estimate, payers=payers)
    assert (found.low, found.expected, found.high) == (M("450.00"), M("900.00"), M("1800.00"))
    assert (found.low_sessions, found.high_sessions) == (1, 4)
    gfe = build_gfe(request, estimate, issued=ISSUED, period_range=found)
    assert gfe.range == found


def test_gfe_range_when_a_combination_self_pays_nothing(payers: Any) -> None:
    # Esketamine alone, prior authorization pending (not covered: self-paid) or approved
    # (covered: nothing self-paid). The GFE's range runs from $0.00 (approved) to the
    # expected case, four sessions at the esketamine-56 self-pay price.
    plan = {
        "start": "2027-01-04",
        "phases": [{"session": "esketamine-56", "sessions": 4, "every_weeks": 1}],
    }
    request, estimate = _estimate(
        IV_COMMERCIAL,
        payers,
        plan=plan,
        coverage={"prior_authorization": "pending"},
        unknowns={"prior_authorization": ["approved"]},
    )
    gfe_charges = build_gfe(request, estimate, issued=ISSUED, expected_visits=(4, 4))
    found = ketacost.good_faith_range(request, estimate, payers=payers)
    assert found.low == M("0.00") and found.low_sessions == 0
    assert found.expected == found.high == gfe_charges.total_expected


# ---- properties -------------------------------------------------------------------------


@given(case=gen.cases(self_pay=None, periods=True, superbill=None))
def test_every_line_of_the_period_is_on_the_gfe_or_listed_as_not_part_of_it(
    case: gen.Case,
) -> None:
    request = case.request.model_copy(
        update={
            "patient": case.request.patient.model_copy(
                update={"name": "P", "birth_date": date(1980, 2, 29), "age": None}
            ),
            "unknowns": None,
        }
    )
    estimate = ketacost.adjudicate(request, case.payers, case.programs)
    # Refused exactly when nothing is self-paid.
    nothing_self_paid = all(
        ln.covered or ln.billed_by != "clinic" or "GZ" in ln.modifiers or ln.secondary.cents
        for v in estimate.visits
        if not request.coverage_on(v.date).superbill
        for ln in v.lines
        if ln.reason != "self-pay"
    ) and not any(
        request.coverage_on(v.date).superbill or ln.reason == "self-pay"
        for v in estimate.visits
        for ln in v.lines
    )
    if nothing_self_paid:
        with pytest.raises(DocumentError, match="has none"):
            build_gfe(request, estimate, issued=estimate.visits[0].date)
        return
    gfe = build_gfe(request, estimate, issued=estimate.visits[0].date)
    in_period = [v for v in estimate.visits if v.date <= gfe.period_end]
    on_gfe = sum(i.quantity for p in gfe.providers for i in p.items)
    not_on = sum(n.sessions for n in gfe.not_included)
    # Each line of a visit up to the period's end is counted once, on one side.
    assert on_gfe + not_on == sum(len(v.lines) for v in in_period)
    # A self-pay patient's GFE lists nothing as billed to a plan, and totals every charge.
    if all(v.payer_id == "self-pay" for v in estimate.visits):
        assert gfe.not_included == ()
        assert gfe.total_expected == sum(
            (v.totals.charge for v in in_period if v.date >= gfe.period_start), M(0)
        )
    # The items add up to the total, which never exceeds what the patient owes the clinic
    # before any reimbursement (self-paid lines are owed whole).
    assert sum((p.expected_total for p in gfe.providers), M(0)) == gfe.total_expected
    assert gfe.total_expected <= sum((v.totals.charge for v in in_period), M(0))


def test_refusal_names_a_denied_pharmacy_drug_as_the_pharmacys_own() -> None:
    # Esketamine through the pharmacy benefit with prior authorization denied: J0013 is billed
    # by the specialty pharmacy (not the clinic) and denied; the clinic's 99214, 99415 and
    # 99416 are covered. The clinic self-bills nothing, so no GFE of its own: the refusal says
    # the drug's cost (and any GFE for it) is the pharmacy's, not that the plan is billed.
    payers = ketacost.load_payers()
    data = yaml.safe_load(
        (ROOT / "examples/requests/esketamine-commercial.yaml").read_text(encoding="utf-8")
    )
    data["clinic"] = ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml")
    data["patient"]["name"] = "Sam Example"
    data["coverage"] |= {"drug_benefit": "pharmacy", "prior_authorization": "denied"}
    request = ketacost.request_from_data(data, payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    with pytest.raises(DocumentError) as exc:
        build_gfe(request, estimate, issued=date(2025, 12, 1))
    message = str(exc.value)
    assert "every line is billed to" not in message
    assert "every line the clinic bills is billed to Example Commercial PPO" in message
    assert (
        "J0013 (Esketamine nasal spray, 1 mg (56 mg)) is billed by the specialty pharmacy, not "
        "the clinic, and Example Commercial PPO does not cover it (prior authorization denied "
        "(required)): what you pay for it is the specialty pharmacy's charge, and a Good Faith "
        "Estimate for it is the specialty pharmacy's own"
    ) in message
