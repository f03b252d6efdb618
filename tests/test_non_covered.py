"""Issue 11 §1-2: items a plan does not cover are owed at the clinic's self-pay price, and one
copay a visit. Worked examples with the arithmetic written out.

A patient whose plan does not cover an item is, for that item, a self-pay patient (45 CFR
149.610(a)(2)): the clinic charges its cash price and owes a Good Faith Estimate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _builders as b
import pytest

import ketacost
from ketacost import Estimate, Money
from ketacost.render import estimate_report, render_markdown

ROOT = Path(__file__).resolve().parents[1]
PAYERS = ketacost.load_payers()

# A synthetic clinic: the KAP session bills an E/M, the psychotherapy add-on and the
# in-session monitoring; the infusion has a self-pay price and a 3-session package.
CHARGES = {"99214": "200.00", "90833": "150.00", "0820T": "300.00", "96365": "650.00",
           "J3490": "50.00"}  # fmt: skip
SESSIONS = {
    "kap": b.session(b.line("99214"), b.line("90833"), b.line("0820T"), self_pay="900.00"),
    "infusion": b.session(b.line("96365"), b.line("J3490"), self_pay="450.00"),
}
PACKAGE = {"id": "three", "session": "infusion", "sessions": 3, "price": "1200.00"}
RATES = {"99214": "175.00", "90833": "105.00"}
SHARES = {
    "office-visit": b.share(copay="40.00", deductible_applies=False),
    "behavioral-health": b.share(copay="30.00", deductible_applies=False),
}
COVERAGE = [
    b.covered("99214", category="office-visit"),
    b.covered("90833", category="behavioral-health"),
    b.excluded("0820T", "96365", "J3490", reason="investigational"),
]


def _clinic(**extra: Any) -> dict[str, Any]:
    return {**b.clinic(CHARGES, SESSIONS, packages=[PACKAGE]), **extra}


def _payers(scope: str = "visit") -> dict[str, ketacost.Payer]:
    net = b.network(rates=RATES, cost_sharing=SHARES)
    net["copay_scope"] = scope
    return b.payers(b.payer(networks={"in": net}, coverage=COVERAGE))


def _estimate(
    clinic: dict[str, Any], phases: list[dict[str, Any]], scope: str = "visit"
) -> Estimate:
    payers = _payers(scope)
    request = ketacost.request_from_data(
        b.request(clinic, phases, start="2026-03-02"), payers=payers
    )
    return ketacost.adjudicate(request, payers)


def _balances(estimate: Estimate) -> None:
    for line in estimate.lines():
        assert line.patient + line.payer + line.write_off == line.charge
        assert line.self_pay_discount <= line.write_off


# -- §1: the cash price ----------------------------------------------------------------------------
def test_a_mixed_kap_visit_owes_the_excluded_item_at_its_per_code_price() -> None:
    est = _estimate(
        _clinic(self_pay_codes={"0820T": "150.00"}), [{"session": "kap", "sessions": 1}]
    )
    e_m, add_on, monitoring = est.visits[0].lines
    # 99214: allowed 175.00, the visit's one copay 40.00, plan 135.00, write-off 25.00
    assert (e_m.copay, e_m.payer, e_m.write_off) == (
        Money("40.00"),
        Money("135.00"),
        Money("25.00"),
    )
    # 90833: allowed 105.00; the visit's copay is taken (one a visit), plan 105.00
    assert (add_on.copay, add_on.payer) == (Money(0), Money("105.00"))
    # 0820T: excluded; owed at the clinic's per-code self-pay price 150.00 (charge 300.00):
    # self-pay discount 150.00, which is the line's whole write-off
    assert not monitoring.covered
    assert (monitoring.patient, monitoring.non_covered) == (Money("150.00"), Money("150.00"))
    assert monitoring.self_pay_discount == monitoring.write_off == Money("150.00")
    assert "self-pay 150.00 (Test Clinic self-pay price for 0820T)" in monitoring.explanation[-1]
    assert "self-pay discount of 150.00 off the charge 300.00" in monitoring.explanation[-1]
    # patient 40.00 + 150.00 = 190.00; plan 135.00 + 105.00 = 240.00
    assert (est.totals.patient, est.totals.payer) == (Money("190.00"), Money("240.00"))
    # the Good Faith Estimate is owed for the self-pay item
    (item,) = est.self_pay_items
    assert (item.code, item.lines, item.price) == ("0820T", 1, Money("150.00"))
    assert item.why == "not covered: investigational"
    _balances(est)


def test_without_a_per_code_price_the_item_owes_its_share_of_the_session_price() -> None:
    est = _estimate(_clinic(), [{"session": "kap", "sessions": 1}])
    monitoring = est.visits[0].lines[2]
    # the kap session's 900.00 shared by charge over 200 + 150 + 300 = 650:
    # 0820T 900.00 × 300/650 = 415.38, above its 300.00 charge, so owed at 300.00
    assert monitoring.patient == Money("300.00") and monitoring.self_pay_discount == Money(0)


def test_excluded_infusions_count_toward_the_package_then_the_session_price() -> None:
    est = _estimate(_clinic(), [{"session": "infusion", "sessions": 4, "every_weeks": 1}])
    # Each infusion is wholly excluded, so it is a self-pay visit: the first 3 are the
    # package (1,200.00 / 3 = 400.00 each), the 4th the session price 450.00. Each is shared
    # by charge over 96365 650.00 and J3490 50.00: 400.00 → 371.43 + 28.57; 450.00 →
    # 417.86 + 32.14.
    assert [v.totals.patient for v in est.visits] == [Money("400.00")] * 3 + [Money("450.00")]
    first = est.visits[0].lines
    assert (first[0].patient, first[1].patient) == (Money("371.43"), Money("28.57"))
    assert "package three" in first[0].explanation[-1]
    # charge 4 × 700.00 = 2,800.00; patient 1,650.00; self-pay discount 1,150.00
    t = est.totals
    assert (t.charge, t.patient, t.self_pay_discount) == (
        Money("2800.00"), Money("1650.00"), Money("1150.00")
    )  # fmt: skip
    assert t.write_off == t.self_pay_discount
    (infusion, drug) = est.self_pay_items
    assert (infusion.code, infusion.lines, infusion.price) == ("96365", 4, Money("1532.15"))
    assert (drug.code, drug.price) == ("J3490", Money("117.85"))  # 1,532.15 + 117.85 = 1,650.00
    _balances(est)


def test_gross_charge_billing_keeps_the_old_figures() -> None:
    # non_covered_price: charge: the clinic bills an item the plan does not cover at its
    # gross charge, as before issue 11: 4 × 700.00 = 2,800.00, no self-pay discount.
    est = _estimate(
        _clinic(non_covered_price="charge"),
        [{"session": "infusion", "sessions": 4, "every_weeks": 1}],
    )
    assert (est.totals.patient, est.totals.self_pay_discount) == (Money("2800.00"), Money(0))
    assert est.totals.write_off == Money(0)
    assert est.visits[0].lines[0].explanation == ("not covered: investigational",)


def _through_the_pharmacy(coverage: list[dict[str, Any]], **clinic: Any) -> Estimate:
    # Esketamine 56 mg with 99214 and the first observation hour (charges 56 × 12.00 = 672.00,
    # 200.00 and 100.00: 972.00) at a self-pay price of 800.00; the payer takes the drug
    # through its pharmacy benefit (specialty pharmacy rate 10.00/mg) and the coverage says so.
    charges = {"99214": "200.00", "99415": "100.00", "J0013": "12.00"}
    esk = b.session(b.line("J0013", 56, drug=True), b.line("99214"), b.line("99415"),
                    self_pay="800.00")  # fmt: skip
    data = b.payer(networks={"in": b.network(rates={"99214": "100.00", "99415": "40.00"})},
                   coverage=coverage)  # fmt: skip
    data["drug_benefits"] = ["medical", "pharmacy"]
    data["pharmacy"] = {"codes": ["J0013"], "rates": {"J0013": "10.00"}}
    payers = b.payers(data)
    request = b.request({**b.clinic(charges, {"esk": esk}), **clinic},
                        [{"session": "esk", "sessions": 1}], start="2026-03-02")  # fmt: skip
    request["coverage"]["drug_benefit"] = "pharmacy"
    return ketacost.adjudicate(ketacost.request_from_data(request, payers=payers), payers)


def test_a_pharmacy_claim_the_plan_does_not_cover_is_owed_at_the_pharmacys_price() -> None:
    # Regression (the property test_a_non_covered_item_never_costs_more_than_its_charge_or_
    # its_self_pay_price): every rule needs diagnosis F33.2 and the patient has none, so the
    # plan covers nothing of the visit. The clinic's session price covers what the clinic
    # bills; the drug is the specialty pharmacy's claim, at the pharmacy's price.
    est = _through_the_pharmacy(
        [b.covered("99214", "99415", "J0013", category="all", diagnoses=["F33.2"])]
    )
    drug, e_m, observation = est.visits[0].lines
    # the drug: the pharmacy's 56 × 10.00 = 560.00, its charge, owed whole (no discount)
    assert (drug.billed_by, drug.covered) == ("specialty pharmacy", False)
    assert (drug.charge, drug.patient, drug.self_pay_discount) == (
        Money("560.00"), Money("560.00"), Money(0)
    )  # fmt: skip
    # the clinic's lines: 800.00 shared by the clinic's charges, the drug's 672.00 included,
    # so the drug's share stays out of the clinic's bill: 800.00 × 672/972 = 553.086 → 553.09
    # (not billed), 800.00 × 200/972 = 164.609 → 164.61, 800.00 × 100/972 = 82.304 → 82.30
    # (floors 553.08 + 164.60 + 82.30 = 799.98; the 2 cents to the largest remainders)
    assert (e_m.patient, e_m.self_pay_discount) == (Money("164.61"), Money("35.39"))
    assert (observation.patient, observation.self_pay_discount) == (
        Money("82.30"), Money("17.70")
    )  # fmt: skip
    # the clinic: 164.61 + 82.30 = 246.91, within its 800.00; the visit: + 560.00 = 806.91,
    # above the session's price, because 560.00 of it is the pharmacy's, not the clinic's
    assert est.visits[0].totals.patient == Money("806.91")
    # the Good Faith Estimate lists the clinic's items only (a pharmacy gives its own)
    assert [(i.code, i.price) for i in est.self_pay_items] == [
        ("99214", Money("164.61")), ("99415", Money("82.30"))
    ]  # fmt: skip
    _balances(est)


def test_a_clinic_per_code_price_does_not_price_a_pharmacy_claim() -> None:
    # The plan covers the visit and the observation, not the drug (diagnosis F33.2 missing);
    # the clinic's per-code price for J0013 (300.00) is for a drug the clinic bills, so the
    # pharmacy's claim stays at its 560.00, not min(300.00, 560.00).
    est = _through_the_pharmacy(
        [b.covered("99214", "99415", category="all"),
         b.covered("J0013", category="all", diagnoses=["F33.2"])],
        self_pay_codes={"J0013": "300.00"},
    )  # fmt: skip
    drug, e_m, observation = est.visits[0].lines
    assert not drug.covered
    assert (drug.patient, drug.self_pay_discount) == (Money("560.00"), Money(0))
    # 99214 and 99415 covered: allowed 100.00 and 40.00, no cost share → plan 140.00
    assert (e_m.payer, observation.payer) == (Money("100.00"), Money("40.00"))
    assert (est.totals.patient, est.totals.payer) == (Money("560.00"), Money("140.00"))
    assert est.self_pay_items == ()
    _balances(est)


def _iv_year(payer: str) -> Estimate:
    request = ketacost.load_request(
        ROOT / "examples" / "requests" / "iv-series-self-pay.yaml", payers=PAYERS
    )
    coverage = request.coverage.model_copy(update={"payer": payer})
    return ketacost.estimate(request.model_copy(update={"coverage": coverage}), payers=PAYERS)


def test_the_iv_year_on_the_ppo_costs_what_the_clinic_would_sign() -> None:
    # examples/requests/iv-series-self-pay.yaml on the commercial PPO, which excludes IV
    # ketamine (as Aetna CPB 0938): intake 90791 covered (allowed 225.00, behavioral-health
    # copay 30.00, plan 195.00); the 6 induction infusions, wholly excluded, are the clinic's
    # 6-infusion package (2,400.00); the 11 boosters its self-pay price (11 × 450.00 = 4,950.00).
    # patient 30.00 + 2,400.00 + 4,950.00 = 7,380.00 (was 11,930.00 at the 700.00 gross
    # charge); self-pay the same plan is 250.00 + 2,400.00 + 4,950.00 = 7,600.00
    est = _iv_year("commercial-ppo")
    assert (est.totals.patient, est.totals.payer) == (Money("7380.00"), Money("195.00"))
    # charge 350.00 + 17 × 700.00 = 12,250.00; discount 17 × 700.00 − 7,350.00 = 4,550.00
    assert (est.totals.charge, est.totals.self_pay_discount) == (
        Money("12250.00"),
        Money("4550.00"),
    )
    assert est.self_pay_comparison is None  # 7,380.00 through the plan < 7,600.00 cash
    assert [i.code for i in est.self_pay_items] == ["96365", "J3490"]
    assert sum((i.price for i in est.self_pay_items), Money(0)) == Money("7350.00")


def test_cash_cheaper_than_the_plan_is_said_with_both_totals() -> None:
    # One 60-minute psychotherapy session on the HDHP before its deductible: 90837 allowed
    # 215.00, all of it deductible → 215.00; the clinic's self-pay price is 200.00.
    data = {
        "patient": {"age": 40, "diagnoses": ["F33.2"]},
        "coverage": {"payer": "hdhp"},
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {"start": "2026-03-02", "phases": [{"session": "psychotherapy", "sessions": 1}]},
    }
    est = ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS)
    compared = est.self_pay_comparison
    assert compared is not None
    assert (compared.self_pay, compared.through_plan, compared.saving) == (
        Money("200.00"), Money("215.00"), Money("15.00")
    )  # fmt: skip
    assert compared.note.startswith(
        "Paying the clinic's self-pay prices for the whole plan would cost $200.00, $15.00 less "
        "than the $215.00 estimated through the plan."
    )


# -- §2: copays ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "copays", "patient"),
    [
        # visit: one copay, the highest of the visit's covered categories: max(40, 30) = 40
        ("visit", ["40.00", "0.00"], "340.00"),
        # category: an office copay and a behavioral-health copay on one date: 40 + 30 = 70
        ("category", ["40.00", "30.00"], "370.00"),
        # line: each covered line its own category's copay (here the same as category)
        ("line", ["40.00", "30.00"], "370.00"),
    ],
)
def test_copay_scope(scope: str, copays: list[str], patient: str) -> None:
    est = _estimate(_clinic(), [{"session": "kap", "sessions": 1}], scope)
    lines = est.visits[0].lines
    assert [str(ln.copay) for ln in lines[:2]] == copays
    # + 0820T owed at 300.00 (its share of 900.00 is above its charge)
    assert est.totals.patient == Money(patient)


def test_a_line_scope_takes_a_copay_on_every_line_of_one_category() -> None:
    # Two 99214 lines in one visit: line scope takes 40.00 on each; visit and category one.
    clinic = b.clinic(CHARGES, {"double": b.session(b.line("99214"), b.line("99214"))})
    figures = {s: _estimate(clinic, [{"session": "double", "sessions": 1}], s).totals.copay
               for s in ("visit", "category", "line")}  # fmt: skip
    assert figures == {"visit": Money("40.00"), "category": Money("40.00"), "line": Money("80.00")}


def test_a_drug_line_never_carries_the_office_copay() -> None:
    # The drug (coinsurance, no copay) comes first on the line list; the visit's 40.00 copay
    # is taken from the office visit, not from the drug line.
    charges = {**CHARGES, "J0013": "12.00"}
    clinic = b.clinic(charges, {"esk": b.session(b.line("J0013", 56), b.line("99214"))})
    net = b.network(
        rates={**RATES, "J0013": "10.50"},
        cost_sharing={**SHARES, "drug": b.share(coinsurance="0.2", deductible_applies=False)},
    )
    payers = b.payers(b.payer(networks={"in": net}, coverage=[
        *COVERAGE, b.covered("J0013", category="drug")]))  # fmt: skip
    request = ketacost.request_from_data(
        b.request(clinic, [{"session": "esk", "sessions": 1}], start="2026-03-02"), payers=payers
    )
    drug, visit = ketacost.adjudicate(request, payers).visits[0].lines
    # drug: allowed 56 × 10.50 = 588.00, coinsurance 20% = 117.60, no copay
    assert (drug.copay, drug.coinsurance) == (Money(0), Money("117.60"))
    assert visit.copay == Money("40.00")


def test_a_clinic_per_code_price_must_name_a_charged_code() -> None:
    with pytest.raises(ketacost.ClinicFileError, match=r"self_pay_codes.*99999.*no charge"):
        ketacost.clinic_from_data(_clinic(self_pay_codes={"99999": "10.00"}))


# -- §6: coverage periods name their payer ----------------------------------------------------------
def test_the_coverage_period_example_credits_each_payer_its_own_figures() -> None:
    # examples/requests/turning-65.yaml: esketamine 84 mg every 2 weeks from 2026-11-02, on
    # the commercial PPO until Medicare Part B starts 2027-03-01.
    request = ketacost.load_request(
        ROOT / "examples" / "requests" / "turning-65.yaml", payers=PAYERS
    )
    est = ketacost.estimate(request, payers=PAYERS)
    rows = [(y.start.isoformat(), y.payer_name, y.visits, str(y.totals.patient), str(y.totals.payer))
            for y in est.plan_years]  # fmt: skip
    # PPO 2026, 5 visits: J0013 84 × 10.50 = 882.00 allowed, 99214 copay 40.00 a visit, the
    #   observation 99415 + 99416 allowed 40.00 + 15.00 (no second copay; issue 11 §5);
    #   deductible 882.00 + 618.00, coinsurance 20% × 264.00 = 52.80, then 3 × 176.40
    #   → 1,500.00 + 582.00 + 5 × 40.00 = 2,282.00; plan 5 × (882.00 + 175.00 + 55.00)
    #   − 2,282.00 = 3,278.00
    # PPO 2027 (a new deductible), 4 visits: deductible 882.00 + 618.00 = 1,500.00;
    #   coinsurance 52.80 + 2 × 176.40 = 405.60; copays 4 × 40.00 = 160.00 → 2,065.60;
    #   plan 4 × (882.00 + 175.00 + 55.00) − 2,065.60 = 2,382.40
    # Medicare from 2027-03-01, 11 visits of G2083 (allowed 1,356.08): deductible 283.00, then
    #   20% × 1,073.08 = 214.62 and 10 × 20% × 1,356.08 = 10 × 271.22 → 283.00 + 2,926.82
    #   = 3,209.82; Medicare 11 × 1,356.08 − 3,209.82 = 11,707.06 before the 2% sequestration
    #   cut of each line's payment: 858.46 → 17.17, 10 × 1,084.86 → 10 × 21.70; 11,707.06 −
    #   234.17 = 11,472.89
    assert rows == [
        ("2026-01-01", "Example Commercial PPO", 5, "2282.00", "3278.00"),
        ("2027-01-01", "Example Commercial PPO", 4, "2065.60", "2382.40"),
        ("2027-01-01", "Original Medicare (Part B)", 11, "3209.82", "11472.89"),
    ]
    text = render_markdown(estimate_report(est))
    assert "Estimate: Example Commercial PPO, then Original Medicare (Part B)" in text
    assert "$283.00 goes to your Original Medicare (Part B) deductible" in text
    assert "$3,000.00 goes to your Example Commercial PPO deductible" in text
    assert "$11,472.89 is paid by Original Medicare (Part B) to the clinic." in text
    assert "$5,660.40 is paid by Example Commercial PPO to the clinic." in text  # 3,278 + 2,382.40
