"""Issue 12 §1: Original Medicare's participation, liability notices (ABN), sequestration, and
Part B entitlement at 65. Worked examples with the arithmetic written out, and properties.

The examples use a synthetic Medicare payer (the fee schedule of the bundled file is being
rebuilt from RVUs elsewhere): 99214 at 135.61 a unit, no deductible, 20% coinsurance.
Sources: Noridian JF Part B "Non-participation" (95%; limiting charge 115% on unassigned
claims); CMS-R-131 and Palmetto GBA (GA / GZ); Noridian "Mandatory payment reduction of 2%"
(sequestration after the deductible and coinsurance; on unassigned claims the beneficiary's
payment is cut too); Medicare.gov "When does Medicare coverage start" (birthday on the 1st).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import _builders as b
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import exercises, note

import ketacost
from ketacost import Estimate, Money
from ketacost._money import cents_times_rate
from ketacost._request import medicare_entitlement

ROOT = Path(__file__).resolve().parents[1]

CHARGES = {"99214": "200.00", "96365": "650.00", "J3490": "50.00", "J0013": "10.00"}
SESSIONS = {
    "visit": b.session(b.line("99214"), self_pay="150.00"),
    "infusion": b.session(b.line("96365"), b.line("J3490"), self_pay="450.00"),
    "drug": b.session(b.line("99214"), b.line("J0013", units=56)),
}
SEQUESTRATION = {
    "percent": {"2013-04-01": "0.02", "2020-05-01": "0", "2022-04-01": "0.01",
                "2022-07-01": "0.02"},
    "reason": "sequestration",
}  # fmt: skip


def _medicare(*, reduction: bool = False, coinsurance: str = "0.2") -> dict[str, Any]:
    data = b.payer(
        "medicare",
        kind="medicare",
        networks={
            "in": b.network(
                rates={"99214": "135.61"},
                cost_sharing={"part-b": b.share(coinsurance=coinsurance)},
            )
        },
        coverage=[
            b.covered("99214", category="part-b"),
            {**b.excluded("96365", "J3490", reason="off-label"),
             "liability": "not_reasonable_and_necessary"},
            {**b.excluded("J0013", reason="self-administered drug"), "liability": "statutory"},
        ],
    )  # fmt: skip
    data["non_participating"] = {"allowed": "0.95", "limiting_charge": "1.15"}
    if reduction:
        data["payment_reduction"] = SEQUESTRATION
    return data


def _estimate(
    phases: list[dict[str, Any]],
    *,
    medicare: dict[str, str] | None = None,
    reduction: bool = False,
    abn_signed: bool = False,
    start: str = "2026-03-02",
    charges: dict[str, str] | None = None,
) -> Estimate:
    clinic = b.clinic(charges or CHARGES, SESSIONS)
    if medicare is not None:
        clinic["medicare"] = medicare
    payers = b.payers(_medicare(reduction=reduction))
    data = b.request(clinic, phases, start=start, payer_id="medicare", patient={"age": 70})
    data["coverage"]["abn_signed"] = abn_signed
    return ketacost.estimate(ketacost.request_from_data(data, payers=payers), payers=payers)


def _balances(est: Estimate) -> None:
    for line in est.lines():
        assert line.patient + line.payer + line.write_off == line.charge
        assert line.patient == (
            line.copay + line.deductible + line.coinsurance + line.balance_bill + line.non_covered
        )


VISIT = [{"session": "visit", "sessions": 1}]
NON_PAR_UNASSIGNED = {"participation": "non_participating", "assignment": "not_accepted"}


# -- participation ---------------------------------------------------------------------------
def test_non_participating_unassigned_bills_up_to_the_limiting_charge() -> None:
    est = _estimate(VISIT, medicare=NON_PAR_UNASSIGNED)
    (line,) = est.lines()
    # allowed: 95% × 135.61 = 128.8295 → 128.83 (per unit, half-up)
    # limiting charge: 115% × 128.83 = 148.1545 → 148.15; the charge 200.00 is above it, so
    #   the clinic bills the patient 148.15 and writes off 200.00 − 148.15 = 51.85
    # coinsurance 20% × 128.83 = 25.766 → 25.77; Medicare pays 128.83 − 25.77 = 103.06, to
    #   the patient (the line's reimbursement)
    # balance bill 148.15 − 128.83 = 19.32; patient 25.77 + 19.32 = 45.09 (what the patient is
    #   out once Medicare has paid them: 148.15 − 103.06)
    assert line.allowed == Money("128.83")
    assert (line.coinsurance, line.balance_bill) == (Money("25.77"), Money("19.32"))
    assert (line.patient, line.payer, line.write_off) == (
        Money("45.09"),
        Money("103.06"),
        Money("51.85"),
    )
    assert line.reimbursement == line.payer
    assert any("limiting charge 148.15" in s for s in line.explanation)
    assert any("non-participating" in s for s in line.explanation)
    _balances(est)


def test_an_unassigned_charge_below_the_limiting_charge_is_billed_in_full() -> None:
    est = _estimate(VISIT, medicare=NON_PAR_UNASSIGNED, charges={**CHARGES, "99214": "140.00"})
    (line,) = est.lines()
    # billed min(140.00, 148.15) = 140.00: balance bill 140.00 − 128.83 = 11.17; no write-off
    assert (line.balance_bill, line.write_off) == (Money("11.17"), Money(0))
    # patient 25.77 + 11.17 = 36.94; Medicare 103.06
    assert (line.patient, line.payer) == (Money("36.94"), Money("103.06"))


def test_non_participating_assigned_takes_the_95_percent_amount_and_bills_nothing_more() -> None:
    est = _estimate(
        VISIT, medicare={"participation": "non_participating", "assignment": "accepted"}
    )
    (line,) = est.lines()
    # allowed 128.83; coinsurance 25.77; Medicare 103.06 to the clinic; write-off 200.00 −
    # 128.83 = 71.17
    assert (line.allowed, line.patient, line.payer, line.write_off) == (
        Money("128.83"),
        Money("25.77"),
        Money("103.06"),
        Money("71.17"),
    )
    assert line.balance_bill == line.reimbursement == Money(0)


def test_an_opted_out_clinic_is_paid_its_self_pay_price_under_a_private_contract() -> None:
    est = _estimate(
        [{"session": "visit", "sessions": 2, "every_weeks": 1}, {"session": "infusion", "sessions": 1}],
        medicare={"participation": "opted_out"},
    )  # fmt: skip
    # every visit at the clinic's self-pay price: 150.00 + 150.00 + 450.00 = 750.00 (the
    # infusion's shared by charge: 450 × 650/700 = 417.857 → 417.86, and 32.14); Medicare 0
    assert (est.totals.patient, est.totals.payer) == (Money("750.00"), Money(0))
    assert [str(ln.charge) for ln in est.lines()] == ["150.00", "150.00", "417.86", "32.14"]
    for line in est.lines():
        assert not line.covered
        assert line.reason == "private contract: the clinic has opted out of Test payer medicare"
        assert "pays nothing" in line.explanation[-1]
    # they count as self-pay items: a Good Faith Estimate is owed
    assert {(i.code, i.billed_as) for i in est.self_pay_items} == {
        ("99214", "self-pay"),
        ("96365", "self-pay"),
        ("J3490", "self-pay"),
    }
    _balances(est)


# -- liability notices -----------------------------------------------------------------------
INFUSION = [{"session": "infusion", "sessions": 1}]


def test_with_a_signed_abn_the_patient_owes_the_self_pay_price() -> None:
    est = _estimate(INFUSION, abn_signed=True)
    infusion, drug = est.lines()
    # not reasonable and necessary, ABN signed (GA): the session's 450.00 shared by charge:
    # 96365 450 × 650/700 = 417.86, J3490 32.14; self-pay discount 700.00 − 450.00 = 250.00
    assert infusion.modifiers == drug.modifiers == ("GA",)
    assert (infusion.patient, drug.patient) == (Money("417.86"), Money("32.14"))
    assert est.totals.self_pay_discount == est.totals.write_off == Money("250.00")
    assert "modifier GA" in infusion.explanation[0]
    assert not any("ABN" in w for w in est.warnings)
    assert [i.code for i in est.self_pay_items] == ["96365", "J3490"]  # a GFE is owed


def test_without_an_abn_the_clinic_writes_it_off_and_is_warned() -> None:
    est = _estimate(INFUSION)
    infusion, drug = est.lines()
    # not reasonable and necessary, no ABN (GZ): patient 0.00; the clinic writes off the
    # charges 650.00 + 50.00 = 700.00 (not a self-pay discount)
    assert infusion.modifiers == drug.modifiers == ("GZ",)
    assert est.totals.patient == Money(0)
    assert est.totals.write_off == Money("700.00") and est.totals.self_pay_discount == Money(0)
    assert (
        "modifier GZ" in infusion.explanation[0]
        and "writes off 650.00" in (infusion.explanation[0])
    )
    # the clinic is told to get an ABN before the service, once per code
    warnings = [w for w in est.warnings if "Advance Beneficiary Notice" in w]
    assert [w.split(":")[1].split()[0] for w in warnings] == ["96365", "J3490"]
    assert est.self_pay_items == ()  # the patient owes nothing: no Good Faith Estimate item
    _balances(est)


def test_a_statutory_exclusion_is_owed_without_a_notice() -> None:
    est = _estimate([{"session": "drug", "sessions": 1}])
    _, j0013 = est.lines()
    # J0013 × 56 excluded by statute (GY): owed at its share of the session's price; the
    # session has no self-pay price, so its charge 56 × 10.00 = 560.00; no ABN warning
    assert j0013.modifiers == ("GY",)
    assert j0013.patient == Money("560.00")
    assert "modifier GY" in j0013.explanation[0]
    assert not any("Advance Beneficiary Notice" in w for w in est.warnings)


# -- sequestration ---------------------------------------------------------------------------
def test_sequestration_cuts_medicare_payment_on_one_line_not_the_patients_share() -> None:
    est = _estimate(VISIT, reduction=True)
    (line,) = est.lines()
    # allowed 135.61; coinsurance 20% × 135.61 = 27.122 → 27.12 (the patient's, not cut)
    # Medicare 135.61 − 27.12 = 108.49, less 2% = 2.1698 → 2.17: 106.32
    # write-off 200.00 − 135.61 = 64.39 contractual + 2.17 sequestration = 66.56
    assert (line.patient, line.payer, line.write_off) == (
        Money("27.12"),
        Money("106.32"),
        Money("66.56"),
    )
    assert any("payment reduction 2.17 = 2% of the payer's 108.49" in s for s in line.explanation)
    _balances(est)


@pytest.mark.parametrize(
    ("start", "payer"),
    [
        # 2013-03-29: before the first date, no cut: 108.49
        ("2013-03-29", "108.49"),
        # 2021-06-01: suspended (CARES Act, through 2022-03-31): 108.49
        ("2021-06-01", "108.49"),
        # 2022-05-02: 1% of 108.49 = 1.0849 → 1.08: 107.41
        ("2022-05-02", "107.41"),
        # 2022-07-01: 2% again: 2.17 → 106.32
        ("2022-07-01", "106.32"),
    ],
)
def test_the_sequestration_rate_is_dated(start: str, payer: str) -> None:
    est = _estimate(VISIT, reduction=True, start=start)
    assert est.totals.payer == Money(payer) and est.totals.patient == Money("27.12")


def test_on_an_unassigned_claim_the_patient_bears_the_cut() -> None:
    est = _estimate(VISIT, reduction=True, medicare=NON_PAR_UNASSIGNED)
    (line,) = est.lines()
    # Medicare 103.06 less 2% = 2.0612 → 2.06: it pays the patient 101.00 (Noridian: Medicare's
    # payment to beneficiaries on unassigned claims is reduced). The patient paid the clinic
    # 148.15 and is out 148.15 − 101.00 = 47.15 = coinsurance 25.77 + balance bill (19.32 +
    # 2.06 = 21.38); write-off 51.85 as before
    assert (line.payer, line.reimbursement) == (Money("101.00"), Money("101.00"))
    assert (line.patient, line.balance_bill, line.write_off) == (
        Money("47.15"),
        Money("21.38"),
        Money("51.85"),
    )
    _balances(est)


def test_the_bundled_medicare_file_dates_the_cut_and_names_each_exclusions_liability() -> None:
    payer = ketacost.load_payers(ROOT / "payers")["medicare-part-b"]
    assert payer.payment_reduction is not None
    percent = payer.payment_reduction.percent
    on = {d: percent.at(date.fromisoformat(d)) for d in
          ("2013-04-01", "2020-04-30", "2020-05-01", "2022-03-31", "2022-04-01", "2022-07-01")}  # fmt: skip
    assert on == {
        "2013-04-01": Decimal("0.02"),
        "2020-04-30": Decimal("0.02"),
        "2020-05-01": Decimal(0),
        "2022-03-31": Decimal(0),
        "2022-04-01": Decimal("0.01"),
        "2022-07-01": Decimal("0.02"),
    }
    liability = {r.id: getattr(r, "liability", None) for r in payer.coverage}
    # esketamine is a self-administered drug, outside Part B's incident-to benefit by statute;
    # off-label racemic ketamine and a Category III code are medical-necessity denials
    assert liability["esketamine-per-mg"] == "statutory"
    assert liability["racemic-ketamine"] == "not_reasonable_and_necessary"
    assert liability["psychedelic-monitoring"] == "not_reasonable_and_necessary"


# -- entitlement at 65 ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("born", "starts"),
    [
        ("1962-03-15", "2027-03-01"),  # the first of the birthday month
        ("1962-03-31", "2027-03-01"),
        ("1962-03-01", "2027-02-01"),  # on the 1st: attains 65 on 02-28, so February
        ("1962-01-01", "2026-12-01"),  # on January 1st: the December before
        ("1960-02-29", "2025-02-01"),  # attains 65 on 2025-02-28
    ],
)
def test_medicare_entitlement_is_the_first_of_the_month_the_patient_attains_65(
    born: str, starts: str
) -> None:
    assert medicare_entitlement(date.fromisoformat(born)) == date.fromisoformat(starts)


def _turning_65(patient: dict[str, Any]) -> dict[str, Any]:
    data = b.request(b.clinic(CHARGES, SESSIONS), [{"session": "visit", "sessions": 2,
                     "every_days": 1}], start="2027-01-31", payer_id="self-pay", patient=patient)  # fmt: skip
    data["coverage_periods"] = [{"starts": "medicare_entitlement", "payer": "medicare"}]
    return data


def test_a_65th_birthday_on_the_1st_starts_medicare_the_month_before() -> None:
    payers = {**b.payers(_medicare()), **ketacost.load_payers(ROOT / "payers")}
    payers = {k: payers[k] for k in ("medicare", "self-pay")}
    # born 1962-03-01: attains 65 on 2027-02-28, so Medicare starts 2027-02-01; the visit of
    # 2027-01-31 is self-pay (150.00), that of 02-01 Medicare's (99214: patient 27.12)
    request = ketacost.request_from_data(_turning_65({"birth_date": "1962-03-01"}), payers=payers)
    est = ketacost.estimate(request, payers=payers)
    assert [(v.date.isoformat(), v.payer_id, str(v.totals.patient)) for v in est.visits] == [
        ("2027-01-31", "self-pay", "150.00"),
        ("2027-02-01", "medicare", "27.12"),
    ]
    # the request keeps the words: the date is computed, never written in
    assert request.coverage_periods[0].starts == "medicare_entitlement"


def test_entitlement_without_a_birth_date_names_the_field() -> None:
    payers = {**b.payers(_medicare()), **ketacost.load_payers(ROOT / "payers")}
    with pytest.raises(ketacost.KetacostError) as caught:
        ketacost.request_from_data(_turning_65({"age": 64}), payers=payers)
    assert "coverage_periods[0].starts" in str(caught.value)
    assert "medicare_entitlement is computed from patient.birth_date" in str(caught.value)


def test_the_turning_65_example_computes_its_start() -> None:
    library = ketacost.load_payers(ROOT / "payers")
    request = ketacost.load_request(ROOT / "examples/requests/turning-65.yaml", payers=library)
    (period,) = request.coverage_periods
    assert request.period_start(period) == date(2027, 3, 1)  # born 1962-03-15


# -- properties ------------------------------------------------------------------------------
_STATUS = st.sampled_from(
    [
        None,
        {"participation": "participating"},
        {"participation": "non_participating", "assignment": "accepted"},
        NON_PAR_UNASSIGNED,
        NON_PAR_UNASSIGNED,
        {"participation": "opted_out"},
    ]
)
_CENTS = st.integers(1, 200_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
_SMALL_CENTS = st.integers(0, 20_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
_COINSURANCE = st.sampled_from(["0", "0.2", "0.2", "0.5", "1"])
#: The dated sequestration, or a plain cut (1: the payer pays nothing), or none.
_CUTS = st.sampled_from([None, SEQUESTRATION["percent"], SEQUESTRATION["percent"], "0.02", "1"])
_STARTS = st.sampled_from(["2012-12-03", "2021-01-04", "2022-06-01", "2026-03-02", "2026-03-02"])


@st.composite
def _medicare_requests(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(request data, payer data, whether the claim is unassigned) over every status."""
    status = draw(_STATUS)
    payer = _medicare(coinsurance=draw(_COINSURANCE))
    payer["networks"]["in"]["deductible"]["individual"] = draw(_SMALL_CENTS)
    payer["networks"]["in"]["allowed"]["rates"]["99214"] = draw(_CENTS)
    cut = draw(_CUTS)
    if cut is not None:
        payer["payment_reduction"] = {"percent": cut, "reason": "a cut"}
    clinic = b.clinic({**CHARGES, "99214": draw(_CENTS)}, SESSIONS)
    if status is not None:
        clinic["medicare"] = status
    session = draw(st.sampled_from(sorted(SESSIONS)))
    phases = [{"session": session, "sessions": draw(st.integers(1, 4)), "every_days": 20}]
    data = b.request(clinic, phases, start=draw(_STARTS), payer_id="medicare")
    data["coverage"]["abn_signed"] = draw(st.booleans())
    return data, payer, status == NON_PAR_UNASSIGNED


def _run(data: dict[str, Any], payer: dict[str, Any]) -> Estimate:
    payers = b.payers(payer)
    return ketacost.estimate(ketacost.request_from_data(data, payers=payers), payers=payers)


@exercises(a_gz_line=0.08, a_line_paid_to_the_patient=0.04)
@given(_medicare_requests())
def test_every_line_balances_under_every_status_notice_and_cut(
    found: tuple[dict[str, Any], dict[str, Any], bool],
) -> None:
    # patient + payer + write-off = charge per line, whatever the participation, the ABN and
    # the payment cut; GZ lines are the clinic's alone; an unassigned line pays the patient.
    data, payer, unassigned = found
    est = _run(data, payer)
    _balances(est)
    gz = paid_to_patient = False
    for line in est.lines():
        assert min(line.patient, line.payer, line.write_off) >= Money(0)
        if "GZ" in line.modifiers:
            gz = True
            assert line.patient == Money(0) and line.write_off == line.charge
        assert line.reimbursement == (line.payer if unassigned and line.covered else Money(0))
        paid_to_patient |= line.reimbursement > Money(0)
    note("a gz line", gz)
    note("a line paid to the patient", paid_to_patient)


@exercises(a_cut=0.06)
@given(_medicare_requests())
def test_the_payment_cut_never_changes_what_the_patient_owes_on_an_assigned_claim(
    found: tuple[dict[str, Any], dict[str, Any], bool],
) -> None:
    # Sequestration cuts Medicare's payment after the deductible and coinsurance: the
    # patient's cost share never moves; on an assigned claim nothing the patient owes does,
    # and the cut is written off; on an unassigned one the patient bears exactly the cut.
    data, payer, unassigned = found
    cut = _run(data, payer)
    whole = _run(data, {k: v for k, v in payer.items() if k != "payment_reduction"})
    note("a cut", cut.totals.payer < whole.totals.payer)
    for a, b_ in zip(cut.lines(), whole.lines(), strict=True):
        assert (a.copay, a.deductible, a.coinsurance) == (b_.copay, b_.deductible, b_.coinsurance)
        lost = b_.payer - a.payer
        if unassigned and a.covered:
            assert a.patient - b_.patient == lost and a.write_off == b_.write_off
        else:
            assert a.patient == b_.patient and a.write_off - b_.write_off == lost
        if a.covered and payer.get("payment_reduction"):
            dated = ketacost.payer_from_data(payer).payment_reduction
            assert dated is not None
            try:
                rate = dated.percent.at(a.date)
            except LookupError:
                rate = Decimal(0)
            payment = a.allowed.cents - (a.copay + a.deductible + a.coinsurance).cents
            assert lost.cents == cents_times_rate(payment, rate)
