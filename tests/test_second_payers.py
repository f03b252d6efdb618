"""Issue 12 §2: a second payer on the same lines (coordination of benefits).

Worked examples with the arithmetic written out, the order of benefits, bad inputs, and the
properties: with a second payer the patient never owes more than with the first alone; the
second never pays more than its normal benefit nor more than the first left; every line's
charge is split exactly; a Qualified Medicare Beneficiary owes $0 on every Medicare-covered
line.

The example clinic is in Boston (Medicare locality 14212-01): 90792 allowed 218.27, 99214
150.16, 90833 87.34; G2082 952.59 and G2083 1,356.08 (carrier-priced, national).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import exercises, note

import ketacost
from ketacost import Estimate, EstimateError, Money
from ketacost._clinic import MedicareEnrollment
from ketacost._library import PayerLibrary
from ketacost._order import order_of_benefits
from ketacost._request import Coverage, EstimateRequest
from ketacost._secondary import SecondaryBenefit

ROOT = Path(__file__).resolve().parents[1]
PAYERS = ketacost.load_payers(ROOT / "payers")
CLINIC = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
#: The example clinic, not participating in Medicare and not accepting assignment: Medicare
#: pays the patient.
UNASSIGNED = CLINIC.model_copy(
    update={
        "medicare": MedicareEnrollment(participation="non_participating", assignment="not_accepted")
    }
)


def _library(*extra: ketacost.Payer) -> PayerLibrary:
    """The shipped payers, with ``extra`` payers added (or replacing one of the same id)."""
    payers = {**dict(PAYERS.items()), **{p.id: p for p in extra}}
    return PayerLibrary(
        payers,
        programs=PAYERS.programs,
        edits=PAYERS.edits,
        fee_schedules=PAYERS.fee_schedules,
    )


#: The spouse's plan with non-duplication COB instead of standard (the method is plan data).
SPOUSE_NON_DUPLICATION = PAYERS["spouse-employer-ppo"].model_copy(
    update={
        "id": "spouse-non-duplication",
        "name": "Spouse's Employer PPO (non-duplication)",
        "as_secondary": (
            SecondaryBenefit(
                after=("commercial", "commercial-hdhp", "medicare", "medicare-advantage"),
                method="non_duplication",
                source="plan document: non-duplication (carve-out) of benefits",
            ),
        ),
    }
)
LIBRARY = _library(SPOUSE_NON_DUPLICATION)


def _estimate(
    coverage: dict[str, Any],
    phases: list[dict[str, Any]],
    *,
    start: str = "2026-03-02",
    patient: dict[str, Any] | None = None,
    clinic: Any = CLINIC,
    library: PayerLibrary = LIBRARY,
) -> Estimate:
    request = EstimateRequest.model_validate(
        {
            "patient": patient or {"age": 70, "diagnoses": ["F33.2"], "failed_trials": 2},
            "coverage": coverage,
            "clinic": clinic,
            "plan": {"start": start, "closed_weekdays": ["sat", "sun"], "phases": phases},
        }
    )
    return ketacost.estimate(request, payers=library)


def _split(est: Estimate) -> None:
    """Contract rule 9 on every line: patient + payer + second payer + write-off = charge."""
    for ln in est.lines():
        assert ln.patient + ln.payer + ln.secondary + ln.write_off == ln.charge, ln
        parts = ln.copay + ln.deductible + ln.coinsurance + ln.balance_bill + ln.non_covered
        assert ln.patient == parts, ln


# ---- worked examples --------------------------------------------------------------------------
def test_medicare_and_plan_g_the_patient_owes_exactly_the_part_b_deductible() -> None:
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-g"}},
        [{"name": "induction", "session": "esketamine-56", "per_week": 2, "weeks": 4}],
        start="2026-01-05",
    )
    # Eight G2082 visits, allowed 952.59 each (charge 1,000.00; write-off 47.41 each).
    # Visit 1: Part B deductible 283.00; coinsurance 20% × (952.59 − 283.00 = 669.59) = 133.918
    #   → 133.92; Medicare 952.59 − 416.92 = 535.67; Plan G pays the coinsurance 133.92 (not
    #   the deductible): the patient owes 283.00.
    # Visits 2-8: coinsurance 20% × 952.59 = 190.518 → 190.52, all paid by Plan G; Medicare
    #   762.07; the patient owes 0.00.
    # Patient 283.00 (exactly the 2026 Part B deductible); Plan G 133.92 + 7 × 190.52 =
    # 1,467.56; Medicare 535.67 + 7 × 762.07 = 5,870.16 before the 2% sequestration cut of
    # each payment (10.7134 → 10.71; 15.2414 → 15.24): 5,870.16 − 10.71 − 7 × 15.24 =
    # 5,752.77; write-off 8 × 47.41 = 379.28 + the cut 117.39 = 496.67.
    t = est.totals
    assert t.patient == Money("283.00") == t.deductible
    assert t.secondary == Money("1467.56")
    assert t.payer == Money("5752.77")
    assert t.write_off == Money("496.67")
    assert [ln.secondary_payer_id for ln in est.lines()] == ["medigap-plan-g"] * 8
    (c,) = est.coordination
    assert (c.primary_payer_id, c.secondary_payer_id, c.method) == (
        "medicare-part-b",
        "medigap-plan-g",
        "supplement",
    )
    assert not c.balance_billing_prohibited
    first = next(est.lines())
    assert "Medigap Plan G pays 133.92 as a Medicare supplement" in " ".join(first.explanation)
    _split(est)


def test_plan_n_leaves_up_to_20_dollars_of_an_office_visit() -> None:
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-n"}},
        [
            {"session": "intake-prescriber", "sessions": 1},
            {"session": "med-management-psychotherapy", "sessions": 2, "every_weeks": 2},
        ],
    )
    lines = [(ln.code, ln.patient, ln.secondary) for ln in est.lines()]
    # 90792 allowed 218.27: deductible 218.27 (Plan N does not pay the Part B deductible).
    # Visit 2, 99214 allowed 150.16: deductible 283.00 − 218.27 = 64.73; coinsurance 20% ×
    #   85.43 = 17.086 → 17.09; Plan N leaves the patient up to 20.00 of an office visit's
    #   coinsurance: all 17.09; the patient owes 64.73 + 17.09 = 81.82.
    #   90833 allowed 87.34 (an add-on, not an office visit code): coinsurance 20% × 87.34 =
    #   17.468 → 17.47, paid by Plan N.
    # Visit 3, 99214: coinsurance 20% × 150.16 = 30.032 → 30.03: the patient keeps 20.00,
    #   Plan N pays 10.03; 90833: Plan N pays 17.47.
    assert lines == [
        ("90792", Money("218.27"), Money("0.00")),
        ("99214", Money("81.82"), Money("0.00")),
        ("90833", Money("0.00"), Money("17.47")),
        ("99214", Money("20.00"), Money("10.03")),
        ("90833", Money("0.00"), Money("17.47")),
    ]
    # Patient 218.27 + 81.82 + 20.00 = 320.09; Plan N 17.47 + 10.03 + 17.47 = 44.97.
    assert est.totals.patient == Money("320.09")
    assert est.totals.secondary == Money("44.97")
    _split(est)


def test_a_qualified_medicare_beneficiary_owes_nothing_and_the_clinic_may_not_bill() -> None:
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medicaid", "qmb": True}},
        [
            {"session": "intake-prescriber", "sessions": 1},
            {"session": "esketamine-84", "sessions": 2, "every_weeks": 1},
        ],
    )
    got = [(ln.code, ln.patient, ln.payer, ln.secondary, ln.write_off) for ln in est.lines()]
    # 90792 allowed 218.27, all deductible (Medicare pays 0.00). Medicaid "lesser of": its own
    #   rate 141.00 − Medicare's 0.00 = 141.00 < 218.27: it pays 141.00, and the clinic writes
    #   off the other 77.27 (plus the contractual 400.00 − 218.27 = 181.73): 259.00.
    # G2083 #1 allowed 1,356.08: deductible 283.00 − 218.27 = 64.73; coinsurance 20% ×
    #   1,291.35 = 258.27; Medicare 1,033.08 less the 2% sequestration (20.6616 → 20.66) =
    #   1,012.42. Medicaid has no G2083 rate: it pays the cost share 64.73 + 258.27 = 323.00.
    # G2083 #2: coinsurance 271.22 (20% × 1,356.08 = 271.216), Medicare 1,084.86 less 2%
    #   (21.6972 → 21.70) = 1,063.16; Medicaid pays 271.22. Write-off 1,400.00 − 1,356.08 =
    #   43.92 each, plus the cut: 64.58 and 65.62.
    assert got == [
        ("90792", Money("0.00"), Money("0.00"), Money("141.00"), Money("259.00")),
        ("G2083", Money("0.00"), Money("1012.42"), Money("323.00"), Money("64.58")),
        ("G2083", Money("0.00"), Money("1063.16"), Money("271.22"), Money("65.62")),
    ]
    assert est.totals.patient == Money("0.00")
    assert est.coordination[0].balance_billing_prohibited
    assert any("Qualified Medicare Beneficiary" in w for w in est.warnings)
    _split(est)


def _spouse(method_payer: str) -> Estimate:
    return _estimate(
        {
            "payer": "commercial-ppo",
            "prior_authorization": "approved",
            "secondary": {"payer": method_payer, "prior_authorization": "approved"},
        },
        [{"session": "intake-prescriber", "sessions": 1}],
        patient={"age": 40, "diagnoses": ["F33.2"], "failed_trials": 2},
    )


def test_a_spouses_plan_under_standard_and_non_duplication_cob() -> None:
    # 90792 under the patient's own PPO: allowed 263.00, behavioral-health copay 30.00 (no
    # deductible): the PPO pays 233.00, 30.00 is left to the patient.
    # The spouse's PPO as if it paid first: allowed 263.00, copay 25.00: its normal benefit is
    # 263.00 − 25.00 = 238.00.
    # Standard COB: it pays the lesser of 238.00 and the 30.00 left: 30.00; the patient 0.00.
    standard = _spouse("spouse-employer-ppo")
    (ln,) = standard.lines()
    assert (ln.payer, ln.secondary, ln.patient) == (
        Money("233.00"),
        Money("30.00"),
        Money("0.00"),
    )
    # Non-duplication: its normal benefit minus what the first plan paid: 238.00 − 233.00 =
    # 5.00 (never below zero, never above the 30.00 left); the patient owes 25.00.
    carve_out = _spouse("spouse-non-duplication")
    (ln,) = carve_out.lines()
    assert (ln.payer, ln.secondary, ln.patient) == (
        Money("233.00"),
        Money("5.00"),
        Money("25.00"),
    )
    assert "238.00 minus the first payer's 233.00 = 5.00" in " ".join(ln.explanation)
    _split(standard)
    _split(carve_out)


def test_an_item_the_first_plan_denies_is_paid_by_the_spouses_plan_as_primary() -> None:
    est = _estimate(
        {
            "payer": "commercial-ppo",
            "prior_authorization": "denied",
            "secondary": {"payer": "spouse-employer-ppo", "prior_authorization": "approved"},
        },
        [{"session": "esketamine-56", "sessions": 1}],
        patient={"age": 40, "diagnoses": ["F33.2"], "failed_trials": 2},
    )
    j0013 = next(ln for ln in est.lines() if ln.code == "J0013")
    # The patient's PPO denies J0013 (prior authorization denied). The spouse's PPO pays it as
    # the only payer: allowed 56 × 10.50 = 588.00, all to its 1,000.00 deductible: the patient
    # owes 588.00 (below the item's self-pay price, so it is filed), the spouse's plan 0.00.
    assert j0013.covered and j0013.rule.startswith("spouse-employer-ppo:")
    assert (j0013.patient, j0013.payer, j0013.secondary) == (
        Money("588.00"),
        Money("0.00"),
        Money("0.00"),
    )
    assert "not covered by the first payer" in j0013.explanation[0]
    assert not any(item.code == "J0013" for item in est.self_pay_items)
    _split(est)


def test_tricare_for_life_pays_first_on_an_item_medicare_excludes() -> None:
    # A clinic that bills esketamine to Medicare split (J0013 + 99214), not as G2082: Medicare
    # excludes J0013 (it pays esketamine only inside G2082/G2083) and covers 99214.
    clinic = CLINIC.model_copy(
        update={
            "sessions": {
                **CLINIC.sessions,
                "split": CLINIC.sessions["esketamine-56"].model_copy(update={"variants": {}}),
            }
        }
    )
    est = _estimate(
        {
            "payer": "medicare-part-b",
            "secondary": {"payer": "tricare-for-life", "prior_authorization": "approved"},
        },
        [{"session": "split", "sessions": 1}],
        clinic=clinic,
    )
    got = [
        (ln.code, ln.rule.split(":")[0], ln.patient, ln.payer, ln.secondary) for ln in est.lines()
    ]
    # J0013 × 56: Medicare excludes it; TRICARE covers it, so TRICARE pays first with its own
    #   cost sharing: the TRICARE allowable 56 × 10.00 = 560.00; the TFL deductible 150.00;
    #   25% × (560.00 − 150.00 = 410.00) = 102.50; the patient owes 252.50, TFL pays 307.50.
    # 99214: Medicare covers it: allowed 150.16, all to the Part B deductible (Medicare pays
    #   0.00); TFL pays that Medicare cost share: the patient owes 0.00.
    # 99415 / 99416 (prolonged clinical staff time): no Medicare rule; TRICARE covers them:
    #   allowables 30.00 and 11.00, TFL deductible met, 25%: 7.50 and 2.75 to the patient.
    assert got == [
        ("J0013", "tricare-for-life", Money("252.50"), Money("0.00"), Money("307.50")),
        ("99214", "medicare-part-b", Money("0.00"), Money("0.00"), Money("150.16")),
        ("99415", "tricare-for-life", Money("7.50"), Money("0.00"), Money("22.50")),
        ("99416", "tricare-for-life", Money("2.75"), Money("0.00"), Money("8.25")),
    ]
    assert not est.self_pay_items  # TFL covers every item Medicare does not: no GFE items
    _split(est)


# ---- who pays first ---------------------------------------------------------------------------
def _cov(payer: str, **holder: Any) -> Coverage:
    return Coverage.model_validate({"payer": payer, "holder": holder})


def test_the_birthday_rule_puts_first_the_parent_born_earlier_in_the_year() -> None:
    # A child on both parents' plans: the mother born 1985-03-14, the father 1980-09-02. The
    # year does not count: 14 March comes before 2 September, so the mother's plan pays first.
    mother = _cov("spouse-employer-ppo", relationship="child", birth_date=dt.date(1985, 3, 14))
    father = _cov("commercial-ppo", relationship="child", birth_date=dt.date(1980, 9, 2))
    for a, b in ((mother, father), (father, mother)):
        found = order_of_benefits(a, b, PAYERS)
        assert (found.primary.payer, found.secondary.payer) == (
            "spouse-employer-ppo",
            "commercial-ppo",
        )
        assert "birthday rule" in found.rule and "March 14" in found.rule
        assert "NAIC" in found.source
    # A shared birthday: the plan that has covered its holder longer.
    twin = _cov("commercial-ppo", relationship="child", birth_date=dt.date(1983, 3, 14))
    with pytest.raises(EstimateError, match="covered_since"):
        order_of_benefits(mother, twin, PAYERS)
    older = twin.model_copy(
        update={"holder": twin.holder.model_copy(update={"covered_since": dt.date(2010, 1, 1)})}
    )
    newer = mother.model_copy(
        update={"holder": mother.holder.model_copy(update={"covered_since": dt.date(2015, 1, 1)})}
    )
    assert order_of_benefits(newer, older, PAYERS).primary.payer == "commercial-ppo"
    with pytest.raises(EstimateError, match="birth dates"):
        order_of_benefits(_cov("commercial-ppo", relationship="child"), father, PAYERS)


def test_medicare_against_an_employer_plan_turns_on_work_and_employer_size() -> None:
    medicare = _cov("medicare-part-b")
    big = _cov("spouse-employer-ppo", relationship="spouse", employment="active", employer_size=250)
    small = _cov(
        "spouse-employer-ppo", relationship="spouse", employment="active", employer_size=12
    )
    retired = _cov("spouse-employer-ppo", employment="retired")
    assert order_of_benefits(medicare, big, PAYERS).primary.payer == "spouse-employer-ppo"
    assert "20 or more" in order_of_benefits(medicare, big, PAYERS).rule
    assert order_of_benefits(big, medicare, PAYERS).secondary.payer == "medicare-part-b"
    assert order_of_benefits(medicare, small, PAYERS).primary.payer == "medicare-part-b"
    assert order_of_benefits(retired, medicare, PAYERS).primary.payer == "medicare-part-b"
    assert "411.172" in order_of_benefits(medicare, small, PAYERS).source
    with pytest.raises(EstimateError, match="employment"):
        order_of_benefits(medicare, _cov("spouse-employer-ppo"), PAYERS)
    with pytest.raises(EstimateError, match="employer_size"):
        order_of_benefits(medicare, _cov("spouse-employer-ppo", employment="active"), PAYERS)


def test_supplements_and_medicaid_always_pay_after() -> None:
    medicare = _cov("medicare-part-b")
    for second in ("medigap-plan-g", "tricare-for-life", "medicaid"):
        found = order_of_benefits(_cov(second), medicare, PAYERS)
        assert (found.primary.payer, found.secondary.payer) == ("medicare-part-b", second)
    found = order_of_benefits(_cov("medicaid"), _cov("commercial-ppo"), PAYERS)
    assert found.primary.payer == "commercial-ppo" and "last resort" in found.source
    # Own plan before a spouse's (non-dependent before dependent).
    found = order_of_benefits(
        _cov("spouse-employer-ppo", relationship="spouse"), _cov("commercial-ppo"), PAYERS
    )
    assert found.primary.payer == "commercial-ppo"
    with pytest.raises(EstimateError, match="state the order"):
        order_of_benefits(_cov("commercial-ppo"), _cov("spouse-employer-ppo"), PAYERS)


def test_a_request_may_let_the_library_decide_the_order() -> None:
    # Written with the spouse's plan of a large employer second; the library puts it first.
    est = _estimate(
        {
            "payer": "medicare-part-b",
            "order": "decide",
            "secondary": {
                "payer": "spouse-employer-ppo",
                "holder": {"relationship": "spouse", "employment": "active", "employer_size": 500},
            },
        },
        [{"session": "intake-prescriber", "sessions": 1}],
    )
    (c,) = est.coordination
    assert (c.primary_payer_id, c.secondary_payer_id) == ("spouse-employer-ppo", "medicare-part-b")
    assert "500 employees" in c.order_rule
    (ln,) = est.lines()
    # 90792 under the spouse's PPO first: allowed 263.00, copay 25.00: it pays 238.00.
    # Medicare second (42 CFR 411.33) pays the lowest of: what it would pay first (allowed
    # 218.27, all to the 283.00 Part B deductible: 0.00), its approved 218.27 minus the plan's
    # 238.00 (below zero: 0.00), and the 25.00 left: 0.00. The patient owes the 25.00 copay.
    assert (ln.payer, ln.secondary, ln.patient) == (Money("238.00"), Money("0.00"), Money("25.00"))
    assert "42 CFR 411.33" in ln.explanation[-1]


# ---- bad inputs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("coverage", "message"),
    [
        (
            {"payer": "commercial-ppo", "secondary": {"payer": "medigap-plan-g"}},
            "medigap-plan-g does not pay after a commercial payer",
        ),
        (
            {
                "payer": "medicare-part-b",
                "secondary": {"payer": "spouse-employer-ppo", "qmb": True},
            },
            "secondary.qmb",
        ),
        (
            {"payer": "self-pay", "secondary": {"payer": "medicaid"}},
            "does not pay after a self-pay payer",
        ),
    ],
)
def test_a_second_payer_that_cannot_follow_the_first_is_refused(
    coverage: dict[str, Any], message: str
) -> None:
    with pytest.raises(EstimateError, match=message):
        _estimate(coverage, [{"session": "intake", "sessions": 1}])


@pytest.mark.parametrize(
    ("coverage", "message"),
    [
        (
            {"payer": "a", "secondary": {"payer": "b", "secondary": {"payer": "c"}}},
            "a third payer is not modelled",
        ),
        ({"payer": "a", "secondary": {"payer": "a"}}, "the same payer as the first"),
        ({"payer": "a", "secondary": {"payer": "b", "superbill": True}}, "secondary.superbill"),
        ({"payer": "a", "order": "decide"}, "needs a secondary coverage"),
        ({"payer": "a", "drug_benefit": "pharmacy", "secondary": {"payer": "b"}}, "pharmacy"),
    ],
)
def test_a_malformed_secondary_is_refused(coverage: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Coverage.model_validate(coverage)


def test_plan_f_is_refused_for_someone_eligible_from_2020() -> None:
    with pytest.raises(EstimateError, match="Medicare at 65 starts 2021-03-01"):
        _estimate(
            {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-f"}},
            [{"session": "intake", "sessions": 1}],
            patient={"birth_date": "1956-03-10", "diagnoses": ["F33.2"], "failed_trials": 2},
        )
    # Eligible in 2015: Plan F pays the Part B deductible too; the patient owes nothing.
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-f"}},
        [{"session": "intake", "sessions": 1}],
        patient={"birth_date": "1950-03-10", "diagnoses": ["F33.2"], "failed_trials": 2},
    )
    assert est.totals.patient == Money("0.00")


# ---- properties -------------------------------------------------------------------------------
#: (first payer, second payer, extra facts of the second coverage): every pairing the shipped
#: files allow, and the non-duplication variant of the spouse's plan.
PAIRS: list[tuple[str, str, dict[str, Any]]] = [
    ("medicare-part-b", "medigap-plan-g", {}),
    ("medicare-part-b", "medigap-plan-n", {}),
    ("medicare-part-b", "medigap-plan-f", {}),
    ("medicare-part-b", "tricare-for-life", {}),
    ("medicare-part-b", "medicaid", {"qmb": True}),
    ("medicare-part-b", "medicaid", {}),
    ("medicare-part-b", "spouse-employer-ppo", {}),
    ("commercial-ppo", "spouse-employer-ppo", {}),
    ("hdhp", "spouse-employer-ppo", {}),
    ("commercial-ppo", "spouse-non-duplication", {}),
    ("hdhp", "spouse-non-duplication", {}),
    ("commercial-ppo", "medicaid", {}),
    ("medicare-advantage", "medicaid", {}),
    ("tricare-select-retiree", "medicaid", {}),
    ("spouse-employer-ppo", "medicare-part-b", {}),
]
#: Every session, esketamine (the sessions plans cover behind authorization) four times over.
SESSIONS = sorted(CLINIC.sessions) + ["esketamine-56", "esketamine-84"] * 3


@st.composite
def second_payer_cases(draw: st.DrawFn) -> tuple[EstimateRequest, EstimateRequest]:
    """A request with a second payer, and the same request with the first payer alone."""
    first, second, extra = draw(st.sampled_from(PAIRS))
    start = dt.date(2026, 1, 5) + dt.timedelta(days=draw(st.integers(0, 300)))
    phases = [
        {
            "session": draw(st.sampled_from(SESSIONS)),
            "sessions": draw(st.integers(1, 5)),
            "every_days": draw(st.sampled_from([2, 7, 14])),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    statuses = st.sampled_from(["approved", "denied", "not_requested"])
    coverage: dict[str, Any] = {"payer": first, "prior_authorization": draw(statuses)}
    met = draw(st.sampled_from([0, 0, 100]))
    if met and first not in ("medicaid", "medicare-advantage", "tricare-select-retiree"):
        coverage["accumulators"] = {"as_of": start, "deductible_met": {"individual": met}}
    second_status = draw(st.sampled_from(["approved", "approved", "denied"]))
    second_coverage = {"payer": second, "prior_authorization": second_status, **extra}
    patient = {
        "birth_date": "1950-01-15",
        "diagnoses": ["F33.2"],
        "failed_trials": draw(st.sampled_from([0, 2])),
    }
    data = {
        "patient": patient,
        "clinic": CLINIC,
        "plan": {"start": start, "phases": phases},
    }
    both = EstimateRequest.model_validate(
        {**data, "coverage": {**coverage, "secondary": second_coverage}}
    )
    alone = EstimateRequest.model_validate({**data, "coverage": coverage})
    return both, alone


@exercises(a_second_payer_paid=0.3, the_second_pays_as_primary=0.02)
@given(second_payer_cases())
def test_a_second_payer_never_leaves_the_patient_worse_off(
    case: tuple[EstimateRequest, EstimateRequest],
) -> None:
    both, alone = case
    with_second = ketacost.estimate(both, payers=LIBRARY)
    first_only = ketacost.estimate(alone, payers=LIBRARY)
    _split(with_second)
    paired = list(zip(with_second.lines(), first_only.lines(), strict=True))
    taken_over = False
    for ln, solo in paired:
        assert ln.code == solo.code
        # The patient never owes more on a line; the second pays at most what the first left.
        assert ln.patient <= solo.patient, (ln, solo)
        assert ln.secondary <= solo.patient, (ln, solo)
        # The first payer pays what it pays alone, or nothing when the second took the line.
        assert ln.payer in (solo.payer, Money("0.00"))
        taken_over |= ln.covered and not solo.covered
    assert with_second.totals.patient <= first_only.totals.patient
    note("a second payer paid", with_second.totals.secondary > Money("0.00"))
    note("the second pays as primary", taken_over)


@exercises(a_medicare_covered_line=0.3)
@given(second_payer_cases())
def test_a_qualified_medicare_beneficiary_owes_nothing_on_a_medicare_covered_line(
    case: tuple[EstimateRequest, EstimateRequest],
) -> None:
    both, _ = case
    qmb = both.model_copy(
        update={
            "coverage": Coverage.model_validate(
                {"payer": "medicare-part-b", "secondary": {"payer": "medicaid", "qmb": True}}
            )
        }
    )
    est = ketacost.estimate(qmb, payers=LIBRARY)
    _split(est)
    seen = False
    for ln in est.lines():
        if ln.covered and ln.rule.startswith("medicare-part-b:"):
            seen = True
            assert ln.patient == Money("0.00"), ln
    assert est.coordination[0].balance_billing_prohibited
    note("a medicare covered line", seen)


def _normal(both: EstimateRequest) -> EstimateRequest:
    """The second coverage alone: its normal benefit, as if it paid first."""
    second = both.coverage.secondary
    assert second is not None
    return both.model_copy(update={"coverage": second})


@exercises(a_normal_benefit_above_zero=0.2)
@given(
    second_payer_cases().filter(
        lambda c: (
            c[0].coverage.payer in ("commercial-ppo", "hdhp")
            and c[0].coverage.secondary is not None
            and c[0].coverage.secondary.payer.startswith("spouse")
        )
    )
)
def test_a_second_plan_never_pays_more_than_its_normal_benefit(
    case: tuple[EstimateRequest, EstimateRequest],
) -> None:
    # Standard and non-duplication COB: per line, the second plan pays at most what it would
    # pay as the only plan (its normal benefit, with its own deductible and maximum).
    both, _ = case
    with_second = ketacost.estimate(both, payers=LIBRARY)
    normal = ketacost.estimate(_normal(both), payers=LIBRARY)
    above = False
    for ln, own in zip(with_second.lines(), normal.lines(), strict=True):
        assert ln.code == own.code
        assert ln.secondary <= own.payer, (ln, own)
        above |= own.payer > Money("0.00")
    note("a normal benefit above zero", above)


def test_fee_schedule_pairs_cover_every_method() -> None:
    methods = {
        LIBRARY[second].secondary_method(LIBRARY[first].kind).method  # type: ignore[union-attr]
        for first, second, _ in PAIRS
    }
    assert methods == {
        "supplement",
        "medicare_crossover",
        "tricare_for_life",
        "standard",
        "non_duplication",
        "medicare_secondary_payer",
        "last_resort",
    }


@pytest.mark.parametrize(
    ("secondary", "message"),
    [
        ("{payer: nobody}", "4:22: coverage.secondary.payer: unknown payer 'nobody'"),
        (
            "{payer: medigap-plan-g, qmb: true}",
            "4:43: coverage.secondary.qmb: qmb belongs on the Medicaid coverage that pays "
            "after Original Medicare (its secondary)",
        ),
        (
            "{payer: spouse-employer-ppo, network: moon}",
            "4:52: coverage.secondary.network: must be one of 'in', 'out' (got 'moon')",
        ),
    ],
)
def test_a_bad_secondary_in_a_request_file_names_where(
    tmp_path: Path, secondary: str, message: str
) -> None:
    path = tmp_path / "r.yaml"
    clinic = ROOT / "examples" / "clinics" / "example-clinic.yaml"
    path.write_text(
        "patient: {age: 70}\n"
        "coverage:\n"
        "  payer: medicare-part-b\n"
        f"  secondary: {secondary}\n"
        f"clinic: {clinic}\n"
        "plan: {start: 2026-03-02, phases: [{session: intake, sessions: 1}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ketacost.RequestFileError) as caught:
        ketacost.load_request(path, payers=PAYERS)
    assert str(caught.value).startswith(f"{path}:{message}")


# ---- review fixes (issue 12) ------------------------------------------------------------------
def test_plan_f_goes_by_when_medicare_starts_not_the_65th_birthday() -> None:
    # Born 1955-01-01: 65 on 2020-01-01, but Medicare starts 2019-12-01 (a birthday on the
    # 1st: the month before), before 2020: Plan F may be sold.
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-f"}},
        [{"session": "intake", "sessions": 1}],
        patient={"birth_date": "1955-01-01", "diagnoses": ["F33.2"], "failed_trials": 2},
    )
    assert est.totals.patient == Money("0.00")


def test_full_medicaid_without_qmb_is_still_payment_in_full() -> None:
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medicaid"}},
        [{"session": "intake-prescriber", "sessions": 1}],
    )
    (ln,) = est.lines()
    # 90792: Medicare allows 218.27, all deductible. Medicaid pays 141.00 (its rate − 0.00,
    # lesser of); the patient owes at most Medicaid's own cost share, its 4.00 copay; the
    # clinic accepts Medicaid's payment as payment in full (42 CFR 447.15) and writes off
    # 218.27 − 141.00 − 4.00 = 73.27 (with the contractual 181.73: 255.00).
    assert (ln.patient, ln.secondary, ln.write_off) == (
        Money("4.00"),
        Money("141.00"),
        Money("255.00"),
    )
    assert not est.coordination[0].balance_billing_prohibited


#: A patient of 70 still working for an employer of 500: the group plan first, Medicare (its
#: Part B deductible met) second under the Medicare Secondary Payer rules; one intake.
_WORKING_AT_65: tuple[dict[str, Any], list[dict[str, Any]]] = (
    {
        "payer": "spouse-employer-ppo",
        "holder": {"relationship": "self", "employment": "active", "employer_size": 500},
        "secondary": {
            "payer": "medicare-part-b",
            "accumulators": {"as_of": "2026-03-01", "deductible_met": {"individual": 283}},
        },
    },
    [{"session": "intake-prescriber", "sessions": 1}],
)


def test_medicare_as_second_payer_uses_the_higher_allowed_amount() -> None:
    est = _estimate(
        *_WORKING_AT_65,
    )
    (ln,) = est.lines()
    # The PPO allows 263.00 and pays 238.00 (copay 25.00). Medicare (Part B deductible met)
    # would pay 80% × 218.27 = 174.616 → 174.62 as primary; 42 CFR 411.33(a): the higher of
    # Medicare's approved 218.27 and the plan's allowed 263.00, minus the plan's 238.00 =
    # 25.00; the 25.00 left to the patient: Medicare's amount is 25.00. Sequestration comes
    # after the secondary payment adjustment: 2% × 25.00 = 0.50 is not paid, and the clinic
    # writes it off (an assigned claim): Medicare pays 24.50, the patient owes nothing.
    assert (ln.payer, ln.secondary, ln.patient) == (Money("238.00"), Money("24.50"), Money("0.00"))
    # write-off: the charge 400.00 − the plan's allowed 263.00 = 137.00, plus the 0.50 cut
    assert (ln.charge, ln.write_off) == (Money("400.00"), Money("137.50"))
    assert "payment reduction 0.50 = 2% of the payer's 25.00" in ln.explanation[-1]


def test_medicare_second_on_an_unassigned_claim_leaves_its_cut_to_the_patient() -> None:
    # As above, from a clinic that does not accept assignment: Medicare pays the patient, so
    # its 2% cut (0.50 of 25.00) is the patient's to bear, not the clinic's to write off:
    # Medicare 24.50, the patient 0.50, the write-off the contractual 137.00 alone.
    est = _estimate(
        *_WORKING_AT_65,
        clinic=UNASSIGNED,
    )
    (ln,) = est.lines()
    assert (ln.payer, ln.secondary, ln.patient, ln.write_off) == (
        Money("238.00"),
        Money("24.50"),
        Money("0.50"),
        Money("137.00"),
    )
    assert "the patient bears it (the payer pays the patient)" in ln.explanation[-1]
    _split(est)


def test_medicare_paying_a_line_the_group_plan_does_not_cover_is_cut_too() -> None:
    # Out of the HMO's network nothing is covered, and Medicare (second under the MSP rules)
    # pays the 90792 as if first: allowed 218.27 (Boston), Part B deductible met, 80% =
    # 174.616 → 174.62, less its 2% cut 3.4924 → 3.49 = 171.13 (a review found 174.62, the
    # cut in the explanation but not in the money); the patient owes the 20%, 43.65; the
    # clinic writes off 400.00 − 43.65 − 171.13 = 185.22.
    est = _estimate(
        {
            "payer": "commercial-hmo",
            "network": "out",
            "holder": {"relationship": "self", "employment": "active", "employer_size": 500},
            "secondary": {
                "payer": "medicare-part-b",
                "accumulators": {"as_of": "2026-03-01", "deductible_met": {"individual": 283}},
            },
        },
        [{"session": "intake-prescriber", "sessions": 1}],
    )
    (ln,) = est.lines()
    assert (ln.payer, ln.secondary, ln.patient, ln.write_off) == (
        Money("0.00"),
        Money("171.13"),
        Money("43.65"),
        Money("185.22"),
    )
    _split(est)


def test_a_second_payers_yearly_amount_not_yet_known_is_warned_of() -> None:
    # Medicare second behind an employer plan in 2027: its Part B deductible is the 2026
    # figure (the payer file's last), and the estimate says so, as when Medicare is first.
    est = _estimate(
        {
            "payer": "spouse-employer-ppo",
            "holder": {"relationship": "self", "employment": "active", "employer_size": 500},
            "secondary": {"payer": "medicare-part-b"},
        },
        [{"session": "intake-prescriber", "sessions": 1}],
        start="2027-03-01",
    )
    assert est.warnings == (
        "Original Medicare (Part B): the plan year from 2027-01-01 has no deductible of its own "
        "in the payer file, which sets it each year (the last, 283.00, from 2026-01-01): that "
        "amount is used; check the 2027 figure before relying on this estimate",
    )


def test_a_disabled_patient_under_65_needs_100_employees_for_the_group_plan_first() -> None:
    medicare = _cov("medicare-part-b")
    mid = _cov("spouse-employer-ppo", relationship="spouse", employment="active", employer_size=50)
    assert order_of_benefits(medicare, mid, PAYERS, age=70).primary.payer == "spouse-employer-ppo"
    found = order_of_benefits(medicare, mid, PAYERS, age=50)
    assert found.primary.payer == "medicare-part-b"
    assert "fewer than 100" in found.rule and "411.101" in found.source


def test_tricare_pays_after_other_health_insurance() -> None:
    found = order_of_benefits(
        _cov("tricare-select-retiree"), _cov("spouse-employer-ppo", relationship="spouse"), PAYERS
    )
    assert (found.primary.payer, found.secondary.payer) == (
        "spouse-employer-ppo",
        "tricare-select-retiree",
    )
    assert "1079(j)(1)" in found.source


def test_decide_puts_a_supplement_written_first_second() -> None:
    est = _estimate(
        {"payer": "medigap-plan-g", "order": "decide", "secondary": {"payer": "medicare-part-b"}},
        [{"session": "esketamine-56", "sessions": 1}],
        start="2026-01-05",
    )
    (c,) = est.coordination
    assert (c.primary_payer_id, c.secondary_payer_id) == ("medicare-part-b", "medigap-plan-g")
    assert est.totals.patient == Money("283.00")


@pytest.mark.parametrize(
    ("coverage", "message"),
    [
        ({"payer": "medigap-plan-g"}, "coverage.payer: Medigap Plan G pays only after Original"),
        ({"payer": "medicare-part-b", "qmb": True}, "coverage.qmb: qmb belongs on the Medicaid"),
    ],
)
def test_a_supplement_alone_or_a_qmb_flag_in_the_wrong_place_is_refused(
    tmp_path: Path, coverage: dict[str, Any], message: str
) -> None:
    data = {
        "patient": {"age": 70},
        "coverage": coverage,
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {"start": "2026-03-02", "phases": [{"session": "intake", "sessions": 1}]},
    }
    path = tmp_path / "r.json"
    import json

    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ketacost.RequestFileError, match=message):
        ketacost.load_request(path, payers=PAYERS)


def test_medigap_never_pays_the_sequestration_cut_on_an_unassigned_claim() -> None:
    est = _estimate(
        {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-g"}},
        [{"session": "esketamine-84", "sessions": 1}],
        start="2026-01-05",
        clinic=UNASSIGNED,
    )
    (ln,) = est.lines()
    # G2083 non-participating: allowed 95% × 1,356.08 = 1,288.28 (per unit, half-up); the
    # limiting charge 115% × 1,288.28 = 1,481.52 is above the 1,400.00 charge: the patient is
    # billed 1,400.00, excess 1,400.00 − 1,288.28 = 111.72. Deductible 283.00, coinsurance 20%
    # × 1,005.28 = 201.06; Medicare pays the patient 1,288.28 − 484.06 = 804.22 less 2%
    # (16.0844 → 16.08): the patient bears the cut. Plan G pays the coinsurance and the excess
    # (201.06 + 111.72 = 312.78), never the cut: the patient owes 283.00 + 16.08 = 299.08.
    assert ln.patient == Money("299.08")
    assert ln.secondary == Money("312.78")
    assert ln.patient >= Money("16.08")
