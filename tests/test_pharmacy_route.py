"""Issue 11 §4: esketamine through the pharmacy benefit, against the medical route, for one
patient. Worked examples with the arithmetic written out.

commercial-ppo (in network): medical route J0013 10.50/mg allowed (clinic charge 12.00/mg),
drug category: deductible 1,500.00 then 20%; pharmacy route (illustrative specialty tier):
10.00/mg, deductible (integrated with the medical one) then 25%. The clinic bills 99214
(office-visit copay 40.00), 99415 (allowed 40.00) and 99416 (15.00) either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _builders as b
import pytest

import ketacost
from ketacost import Estimate, Money
from ketacost.compare import compare, variants

ROOT = Path(__file__).resolve().parents[1]
PAYERS = ketacost.load_payers()


def _data(route: str, **coverage: Any) -> dict[str, Any]:
    return {
        "patient": {"birth_date": "1980-05-01", "diagnoses": ["F33.2"], "failed_trials": 2},
        "coverage": {"payer": "commercial-ppo", "prior_authorization": "approved",
                     "drug_benefit": route, **coverage},
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {"start": "2026-03-02",
                 "phases": [{"session": "esketamine-56", "sessions": 2, "every_weeks": 1}]},
    }  # fmt: skip


def _estimate(route: str, **coverage: Any) -> Estimate:
    request = ketacost.request_from_data(_data(route, **coverage), payers=PAYERS)
    return ketacost.estimate(request, payers=PAYERS)


def test_the_medical_and_pharmacy_routes_for_one_patient() -> None:
    medical, pharmacy = _estimate("medical"), _estimate("pharmacy")
    # Medical: J0013 56 × 10.50 = 588.00 allowed (charge 672.00), all deductible twice (1,500.00
    # − 588.00 = 912.00 left, then 324.00); 99214 copay 40.00 → patient 2 × 628.00 = 1,256.00
    assert medical.totals.patient == Money("1256.00")
    assert {ln.billed_by for ln in medical.lines()} == {"clinic"}
    # Pharmacy: J0013 billed by the specialty pharmacy at 56 × 10.00 = 560.00 (its charge and
    # allowed amount), all deductible twice (940.00 then 380.00 left); the clinic's 99214
    # copay 40.00 → patient 2 × 600.00 = 1,200.00
    assert pharmacy.totals.patient == Money("1200.00")
    drug = pharmacy.visits[0].lines[0]
    assert (drug.code, drug.billed_by, drug.charge, drug.allowed) == (
        "J0013", "specialty pharmacy", Money("560.00"), Money("560.00")
    )  # fmt: skip
    assert (
        drug.explanation[0] == "allowed 560.00 (specialty tier pharmacy rate: 10.00 × 56 = 560.00)"
    )
    # the deductible is integrated: the pharmacy claim moves the medical accumulator
    assert drug.accumulators_after.deductible_individual == Money("560.00")
    # the clinic's lines are the same on both routes
    clinic = [
        (ln.code, ln.patient, ln.payer) for ln in pharmacy.lines() if ln.billed_by == "clinic"
    ]
    assert clinic == [
        (ln.code, ln.patient, ln.payer) for ln in medical.lines() if ln.code != "J0013"
    ]


def test_the_savings_program_pays_on_the_pharmacy_claim() -> None:
    # Spravato withMe: the patient pays at least 10.00 per treatment for the drug: the program
    # pays 560.00 − 10.00 = 550.00 on each pharmacy claim → patient_net 2 × (10.00 + 40.00)
    est = _estimate("pharmacy", savings_program="spravato-withme")
    assert [str(v.lines[0].assistance) for v in est.visits] == ["550.00", "550.00"]
    assert est.totals.patient_net == Money("100.00")


def test_compare_shows_both_routes_side_by_side() -> None:
    request = ketacost.request_from_data(_data("medical"), payers=PAYERS)
    result = compare(request, variants(drug_benefits=["medical", "pharmacy"]), payers=PAYERS)
    assert [(r.label, str(r.patient_cost)) for r in result.rows] == [
        ("drug from a specialty pharmacy (pharmacy benefit)", "1200.00"),
        ("drug billed by the clinic (medical benefit)", "1256.00"),
    ]


def _route_payer(**pharmacy: Any) -> dict[str, Any]:
    net = b.network(rates={"99214": "100.00"}, deductible="500.00", oop="2000.00",
                    cost_sharing={"all": b.share(coinsurance="0.2")})  # fmt: skip
    data = b.payer(networks={"in": net}, coverage=[b.covered("99214", "J0013", category="all")])
    data["drug_benefits"] = ["medical", "pharmacy"]
    data["pharmacy"] = {"codes": ["J0013"], "rates": {"J0013": "10.00"}, **pharmacy}
    return data


def test_a_separate_pharmacy_deductible_never_moves_the_medical_one() -> None:
    payers = b.payers(_route_payer(accumulators="separate", deductible="100.00",
                                   coinsurance="0.3", copay="5.00"))  # fmt: skip
    clinic = b.clinic({"99214": "150.00", "J0013": "12.00"},
                      {"esk": b.session(b.line("J0013", 56, drug=True), b.line("99214"))})  # fmt: skip
    data = b.request(clinic, [{"session": "esk", "sessions": 1}], start="2026-03-02")
    data["coverage"]["drug_benefit"] = "pharmacy"
    est = ketacost.adjudicate(ketacost.request_from_data(data, payers=payers), payers)
    drug, visit = est.visits[0].lines
    # drug: 56 × 10.00 = 560.00; tier copay 5.00, pharmacy deductible 100.00, then 30% of
    # 455.00 = 136.50 → 241.50; the medical accumulators do not move
    assert (drug.copay, drug.deductible, drug.coinsurance) == (
        Money("5.00"), Money("100.00"), Money("136.50")
    )  # fmt: skip
    assert drug.accumulators_after == drug.accumulators_before
    # 99214: allowed 100.00, all to the medical deductible (500.00 untouched by the drug)
    assert visit.deductible == Money("100.00")


def test_a_separate_pharmacy_deductible_is_the_plan_years() -> None:
    # The benefit's own deductible is 100.00 from 2025 and 300.00 from 2026; on a July plan
    # year the January fill is still in the plan year from 2025-07-01, whose deductible (100.00)
    # the December fill met: it owes no deductible (not 300.00 − 100.00 = 200.00).
    data = _route_payer(accumulators="separate", coinsurance="0.3", copay="5.00",
                        deductible={"2025-01-01": "100.00", "2026-01-01": "300.00"})  # fmt: skip
    data["plan_year_start"] = {"month": 7, "day": 1}
    payers = b.payers(data)
    clinic = b.clinic({"99214": "150.00", "J0013": "12.00"},
                      {"esk": b.session(b.line("J0013", 56, drug=True), b.line("99214"))})  # fmt: skip
    request = b.request(clinic, [{"session": "esk", "sessions": 2, "every_weeks": 4}],
                        start="2025-12-15")  # fmt: skip
    request["coverage"]["drug_benefit"] = "pharmacy"
    est = ketacost.adjudicate(ketacost.request_from_data(request, payers=payers), payers)
    december, january = (v.lines[0] for v in est.visits)
    # December: 560.00; copay 5.00, deductible 100.00, 30% of 455.00 = 136.50
    assert (december.copay, december.deductible, december.coinsurance) == (
        Money("5.00"), Money("100.00"), Money("136.50")
    )  # fmt: skip
    # January: copay 5.00, deductible 0.00, 30% of 555.00 = 166.50
    assert (january.copay, january.deductible, january.coinsurance) == (
        Money("5.00"), Money("0.00"), Money("166.50")
    )  # fmt: skip
    assert est.warnings == ()
    # a plan year beginning in 2027, after the benefit's last yearly figure: said
    request["plan"]["start"] = "2027-08-02"
    later = ketacost.adjudicate(ketacost.request_from_data(request, payers=payers), payers)
    assert [w.split("has no ")[1].split(" of its own")[0] for w in later.warnings] == [
        "pharmacy deductible"
    ]


@pytest.mark.parametrize(
    ("pharmacy", "message"),
    [
        ({"rates": {}}, r"pharmacy\.codes\[0\]: code J0013 has no rate"),
        ({"deductible": "100.00"}, r"pharmacy\.deductible: only with accumulators: separate"),
        ({"accumulators": "separate"}, r"pharmacy\.deductible: a separate deductible needs"),
    ],
)
def test_a_bad_pharmacy_benefit_is_refused(pharmacy: dict[str, Any], message: str) -> None:
    with pytest.raises(ketacost.PayerFileError, match=message):
        ketacost.payer_from_data(_route_payer(**pharmacy))


def test_a_route_without_its_benefit_is_refused() -> None:
    data = _route_payer()
    del data["pharmacy"]
    with pytest.raises(ketacost.PayerFileError, match="drug_benefits lists pharmacy"):
        ketacost.payer_from_data(data)
    request = _data("pharmacy")
    request["coverage"]["payer"] = "commercial-hmo"
    with pytest.raises(
        ketacost.RequestFileError,
        match=r"coverage\.drug_benefit: payer "
        r"'commercial-hmo' does not take the drug through its pharmacy benefit",
    ):
        ketacost.request_from_data(request, payers=PAYERS)  # fmt: skip
