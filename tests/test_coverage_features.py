"""Issue 3 worked examples and properties: manufacturer savings, superbill reimbursement, code
sets over time, ranges, and coverage that changes during the plan.

Every amount is pinned to the cent with its arithmetic written out; every estimate is also
checked for the line identities (``patient_net == patient - assistance`` among them).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import _builders as b
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_worked_examples import amounts, check_identities

import ketacost
from ketacost import Estimate, Money

# A clinic billing esketamine the commercial way (J0013 x 56 + an office visit) and, for a
# payer that takes the Medicare variant, as the all-in G2082.
CLINIC = b.clinic(
    {
        "J0013": "12.00",  # 56 mg: 672.00
        "S0013": "12.00",
        "99214": "400.00",
        "90833": "200.00",
        "G2082": "900.00",
        "96365": "650.00",
    },
    {
        "esketamine": {
            "description": "esketamine 56 mg",
            "lines": [
                b.line("J0013", 56),
                b.line("99214"),
            ],
            "variants": {"medicare-g-code": [b.line("G2082")]},
        },
        "esketamine-dated": b.session(
            {
                "code": {"2019-03-05": "S0013", "2026-01-01": "J0013"},
                "units": 56,
                "description": "esketamine 1 mg",
            }
        ),
        "therapy": b.session(b.line("99214"), b.line("90833"), self_pay="450.00"),
        "infusion": b.session(b.line("96365"), self_pay="450.00"),
    },
)


def program(*, floor: str = "10.00", annual_max: str = "1000.00", **extra: Any) -> dict[str, Any]:
    """A savings program's data (the shape of payers/programs/<id>.yaml)."""
    return {
        "id": "test-savings",
        "name": "Test savings",
        "sponsor": "Test pharma",
        "metadata": b.METADATA,
        "codes": ["J0013", "S0013"],
        "patient_pays": floor,
        "annual_max": annual_max,
        **extra,
    }


def commercial(*, copay_accumulator: bool = False, **rules: Any) -> dict[str, Any]:
    """Drug: $1,000 deductible then 20%; office visit: $40 copay, no deductible; OOP $6,000."""
    data = b.payer(
        "commercial",
        networks={
            "in": b.network(
                deductible=rules.pop("deductible", "1000.00"),
                oop="6000.00",
                rates={"J0013": "10.50", "99214": "300.00"},
                cost_sharing={
                    "drug": b.share(coinsurance="0.2"),
                    "office": b.share(copay="40.00", deductible_applies=False),
                },
            )
        },
        coverage=[
            b.covered("J0013", category="drug", **rules),
            b.covered("99214", category="office"),
        ],
    )
    data["copay_accumulator"] = copay_accumulator
    return data


def estimate(
    payer_data: list[dict[str, Any]],
    phases: list[dict[str, Any]],
    *,
    start: str,
    coverage: dict[str, Any] | None = None,
    programs: list[dict[str, Any]] = (),  # type: ignore[assignment]
    **extra: Any,
) -> Estimate:
    library = b.payers(*payer_data)
    data = b.request(CLINIC, phases, start=start, payer_id=payer_data[0]["id"])
    data["coverage"].update(coverage or {})
    data.update(extra)
    progs = {p["id"]: ketacost.program_from_data(p) for p in programs}
    req = ketacost.request_from_data(data, payers=library)
    est = ketacost.adjudicate(req, library, progs)
    check_identities(est)
    return est


WEEKLY_3 = [{"session": "esketamine", "sessions": 3, "every_weeks": 1}]


# ------------------------------------------------------------------ manufacturer savings


def test_savings_annual_maximum_runs_out_mid_year() -> None:
    # Allowed: J0013 10.50 x 56 = 588.00; 99214 300.00 (copay 40.00 only).
    # Program: the patient pays at least 10.00 per treatment; at most 1,000.00 a year.
    # Visit 1: deductible 588.00 (1,000 left before) -> program pays 588 - 10 = 578.00.
    # Visit 2: deductible 412.00, coinsurance 20% x 176.00 = 35.20 -> share 447.20; the
    #          program would pay 437.20 but has 1,000 - 578 = 422.00 left: pays 422.00, runs
    #          out here (visit 2).
    # Visit 3: coinsurance 20% x 588 = 117.60; nothing left in the program.
    # Patient (plan rules): 588 + 447.20 + 117.60 + 3 x 40 = 1,272.80; assistance 1,000.00;
    # patient_net 272.80. Assistance counts toward the accumulators (no accumulator plan).
    est = estimate(
        [commercial(prior_authorization=False)],
        WEEKLY_3,
        start="2026-01-05",
        coverage={"savings_program": "test-savings"},
        programs=[program()],
    )
    drug = [ln for ln in est.lines() if ln.code == "J0013"]
    assert [str(ln.assistance) for ln in drug] == ["578.00", "422.00", "0.00"]
    assert [str(ln.patient_net) for ln in drug] == ["10.00", "25.20", "117.60"]
    assert all(ln.assistance == Money(0) for ln in est.lines() if ln.code == "99214")
    assert amounts(est.totals)["patient"] == "1272.80"
    assert amounts(est.totals)["assistance"] == "1000.00"
    assert amounts(est.totals)["patient_net"] == "272.80"
    (year,) = est.assistance
    assert (year.year, str(year.used), str(year.remaining)) == (2026, "1000.00", "0.00")
    assert (year.exhausted_visit, year.exhausted_on) == (2, date(2026, 1, 12))
    # The deductible counts the whole share: met after visit 2.
    assert est.plan_years[0].accumulators_end.deductible_individual == Money("1000.00")
    assert any("used up" in note for note in drug[2].explanation)


def test_savings_with_a_copay_accumulator() -> None:
    # Same plan, but a copay accumulator: only the patient's own payments count.
    # Visit 1: deductible 588.00; program pays 578.00, all of it against the deductible
    #          (there is no coinsurance) -> credited deductible 10.00.
    # Visit 2: 990.00 of deductible left -> deductible 588.00; the program pays its last
    #          422.00 -> credited 166.00 (total 176.00); patient pays 166.00.
    # Visit 3: 824.00 left -> deductible 588.00, no program money: patient pays 588.00
    #          (credited 764.00).
    # Patient (plan rules): 3 x 588 + 3 x 40 = 1,884.00; assistance 1,000.00; net 884.00
    # (272.80 without the accumulator).
    est = estimate(
        [commercial(copay_accumulator=True, prior_authorization=False)],
        WEEKLY_3,
        start="2026-01-05",
        coverage={"savings_program": "test-savings"},
        programs=[program()],
    )
    drug = [ln for ln in est.lines() if ln.code == "J0013"]
    assert [str(ln.deductible) for ln in drug] == ["588.00", "588.00", "588.00"]
    assert [str(ln.assistance) for ln in drug] == ["578.00", "422.00", "0.00"]
    assert [str(ln.accumulators_after.deductible_individual) for ln in drug] == [
        "10.00",
        "176.00",
        "764.00",
    ]
    assert amounts(est.totals)["patient"] == "1884.00"
    assert amounts(est.totals)["patient_net"] == "884.00"
    assert est.assistance[0].exhausted_visit == 2
    assert any("copay accumulator" in n for n in drug[0].explanation)


def test_savings_never_for_government_coverage() -> None:
    # A Medicare-kind payer with the same rules: the program does not apply; a warning says so.
    medicare_like = commercial(prior_authorization=False)
    medicare_like["kind"] = "medicare"
    est = estimate(
        [medicare_like],
        WEEKLY_3,
        start="2026-01-05",
        coverage={"savings_program": "test-savings"},
        programs=[program()],
    )
    assert est.totals.assistance == Money(0)
    assert est.assistance == ()
    assert any("not eligible" in w for w in est.warnings)


def test_a_program_file_cannot_name_government_kinds() -> None:
    with pytest.raises(ketacost.PayerFileError, match="government coverage"):
        ketacost.program_from_data(program(eligible_kinds=["commercial", "medicaid"]))


def test_the_bundled_program_loads_with_the_payers() -> None:
    lib = ketacost.load_payers()
    prog = lib.programs["spravato-withme"]
    assert prog.patient_pays.at(date(2026, 1, 1)) == Money("10.00")
    assert prog.metadata.illustrative  # the 2026 maximum is not published


# ------------------------------------------------------------- superbill reimbursement


def oon_payers() -> list[dict[str, Any]]:
    reference = b.payer(
        "ref-medicare",
        kind="medicare",
        networks={"in": b.network(rates={"99214": "128.44", "90833": "75.00"})},
        coverage=[b.covered("99214", "90833", category="all")],
    )
    ppo = b.payer(
        "ppo",
        networks={
            "out": b.network(
                deductible="500.00",
                oop="3000.00",
                allowed={"basis": "percent_of_payer", "payer": "ref-medicare", "percent": "1.4"},
                balance_billing=True,
                cost_sharing={"all": b.share(coinsurance="0.4")},
            )
        },
        coverage=[
            b.covered("99214", "90833", category="all"),
            b.excluded("96365", reason="IV ketamine is investigational"),
        ],
    )
    return [ppo, reference]


def test_out_of_network_superbill_reimbursement() -> None:
    # The patient pays the self-pay price 450.00, shared over the chargemaster 400:200 ->
    # 99214 300.00, 90833 150.00. Allowed at 140% of the reference schedule, per unit:
    # 99214 128.44 x 1.4 = 179.816 -> 179.82; 90833 75.00 x 1.4 = 105.00.
    # Not reimbursed above allowed: 300 - 179.82 = 120.18 and 150 - 105 = 45.00 per visit.
    # Visit 1: OON deductible 500: 179.82 + 105.00 (215.18 left) -> reimbursed 0.00.
    # Visit 2: 99214 deductible 179.82 (35.36 left); 90833 deductible 35.36, coinsurance
    #          40% x 69.64 = 27.856 -> 27.86 -> reimbursed 105.00 - 63.22 = 41.78.
    # Visit 3: coinsurance 40% x 179.82 = 71.928 -> 71.93 (reimbursed 107.89) and 40% x 105
    #          = 42.00 (reimbursed 63.00) -> 170.89.
    # Paid 1,350.00; reimbursed 41.78 + 170.89 = 212.67; net cost 1,137.33.
    est = estimate(
        oon_payers(),
        [{"session": "therapy", "sessions": 3, "every_weeks": 1}],
        start="2026-01-05",
        coverage={"network": "out", "superbill": True},
    )
    assert [str(v.totals.reimbursement) for v in est.visits] == ["0.00", "41.78", "170.89"]
    assert [str(v.totals.charge) for v in est.visits] == ["450.00"] * 3
    assert amounts(est.totals) == {
        "charge": "1350.00",
        "allowed": "854.46",  # 3 x (179.82 + 105.00)
        "deductible": "500.00",
        "coinsurance": "141.79",  # 27.86 + 71.93 + 42.00
        "balance_bill": "495.54",  # 3 x 165.18, kept by the patient
        "patient": "1137.33",
        "payer": "212.67",
        "reimbursement": "212.67",
    }
    for ln in est.lines():
        assert ln.reimbursement <= ln.charge  # never more than the patient paid


def test_superbill_excluded_code_reimburses_nothing() -> None:
    # 96365 is excluded: the patient paid 450.00 and gets nothing back.
    est = estimate(
        oon_payers(),
        [{"session": "infusion", "sessions": 1, "every_weeks": 1}],
        start="2026-01-05",
        coverage={"network": "out", "superbill": True},
    )
    (line,) = est.lines()
    assert amounts(line) == {"charge": "450.00", "non_covered": "450.00", "patient": "450.00"}
    assert "nothing is reimbursed" in line.explanation[-1]


# ----------------------------------------------------------------- code sets over time


def test_plan_crossing_2026_codes_and_values() -> None:
    # S0013 for dates of service to 2025-12-31, J0013 from 2026-01-01; the deductible is
    # 257.00 in 2025 and 283.00 in 2026 (dated values); S0013 allowed 10.00/mg, J0013 10.50.
    # 2025-12-22: S0013 560.00 allowed: deductible 257.00, 20% x 303.00 = 60.60 -> 317.60.
    # 2025-12-29: 20% x 560 = 112.00.
    # 2026-01-05 (new plan year): J0013 588.00: deductible 283.00, 20% x 305 = 61.00 -> 344.00.
    # 2026-01-12: 20% x 588 = 117.60.    Patient 891.20; payer 2,240 - 891.20 ... see below.
    payer = b.payer(
        "dated",
        networks={
            "in": {
                **b.network(rates={}),
                "deductible": {"individual": {"2025-01-01": "257.00", "2026-01-01": "283.00"}},
                "allowed": {
                    "basis": "fee_schedule",
                    "rates": {"S0013": {"2025-01-01": "10.00"}, "J0013": "10.50"},
                },
                "cost_sharing": {"drug": b.share(coinsurance="0.2")},
            }
        },
        coverage=[
            {**b.covered("S0013", category="drug"), "effective_until": "2025-12-31"},
            {**b.covered("J0013", category="drug"), "effective_from": "2026-01-01"},
        ],
    )
    est = estimate(
        [payer],
        [{"session": "esketamine-dated", "sessions": 4, "every_weeks": 1}],
        start="2025-12-22",
    )
    assert [ln.code for ln in est.lines()] == ["S0013", "S0013", "J0013", "J0013"]
    assert [str(v.totals.patient) for v in est.visits] == ["317.60", "112.00", "344.00", "117.60"]
    assert str(est.totals.patient) == "891.20"
    # Payer: allowed 2 x 560 + 2 x 588 = 2,296.00, less the patient's 891.20 = 1,404.80.
    assert str(est.totals.payer) == "1404.80"
    assert [str(y.deductible_individual) for y in est.plan_years] == ["257.00", "283.00"]


# ---------------------------------------------------------------------------- ranges


def test_range_differs_by_the_prior_authorization_outcome() -> None:
    # No deductible here. Approved: J0013 20% x 588 = 117.60 + copay 40.00 = 157.60 a visit.
    # Denied: J0013 not covered, the charge 672.00 + copay 40.00 = 712.00 a visit.
    # Two visits: approved 315.20, denied 1,424.00.
    def run(status: str) -> Estimate:
        return estimate(
            [commercial(deductible="0.00", prior_authorization=True)],
            [{"session": "esketamine", "sessions": 2, "every_weeks": 1}],
            start="2026-01-05",
            coverage={"prior_authorization": status},
            unknowns={"prior_authorization": ["approved", "denied"]},
        )

    approved = run("approved")
    rng = approved.range
    assert rng is not None
    assert (str(rng.low), str(rng.expected), str(rng.high)) == ("315.20", "315.20", "1424.00")
    assert rng.low_inputs == {"prior_authorization": "approved"}
    assert rng.high_inputs == {"prior_authorization": "denied"}
    (driver,) = rng.drivers
    assert (driver.input, driver.low_value, driver.high_value) == (
        "prior_authorization",
        "approved",
        "denied",
    )
    # Pending is the expected case as written (not covered yet): expected is the high end.
    pending = run("pending").range
    assert pending is not None
    assert (str(pending.low), str(pending.expected), str(pending.high)) == (
        "315.20",
        "1424.00",
        "1424.00",
    )
    assert pending.combinations == 3  # pending, approved, denied


def test_range_names_the_input_that_drives_it() -> None:
    # Sessions 2 to 4 (expected 3) and PA approved/denied: four inputs' swings are ranked.
    # Approved, no deductible: 157.60 a visit; denied: 712.00 a visit.
    # low = 2 approved visits = 315.20; high = 4 denied = 2,848.00; expected 3 x 157.60 = 472.80.
    est = estimate(
        [commercial(deductible="0.00", prior_authorization=True)],
        [{"name": "induction", "session": "esketamine", "sessions": 3, "every_weeks": 1}],
        start="2026-01-05",
        coverage={"prior_authorization": "approved"},
        unknowns={
            "prior_authorization": ["denied"],
            "sessions": [{"phase": "induction", "low": 2, "high": 4}],
        },
    )
    rng = est.range
    assert rng is not None
    assert (str(rng.low), str(rng.expected), str(rng.high)) == ("315.20", "472.80", "2848.00")
    # PA alone: 472.80 -> 3 x 712 = 2,136.00 (swing 1,663.20); sessions alone: 315.20 ->
    # 630.40 (swing 315.20). The PA decision drives the range most.
    assert [d.input for d in rng.drivers] == ["prior_authorization", "sessions:induction"]
    assert (str(rng.drivers[1].low), str(rng.drivers[1].high)) == ("315.20", "630.40")


def test_unknowns_name_a_phase_the_plan_does_not_have() -> None:
    with pytest.raises(ketacost.RequestFileError, match="the plan has no phase 'boosters'"):
        estimate(
            [commercial()],
            WEEKLY_3,
            start="2026-01-05",
            unknowns={"sessions": [{"phase": "boosters", "low": 6, "high": 12}]},
        )


# --------------------------------------------------------------- coverage periods


def test_switch_to_medicare_mid_plan() -> None:
    # Commercial until the 65th birthday (2026-03-01), then Original Medicare-like rules:
    # G2082 all-in at 600.00, deductible 283.00 then 20%, no cap.
    # 02-16 commercial: J0013 20% x 588 = 117.60 (no deductible here) + copay 40 = 157.60.
    # 03-02 Medicare: allowed min(900, 600) = 600: deductible 283.00 + 20% x 317 = 63.40
    #       = 346.40. 03-16 and 03-30: 20% x 600 = 120.00 each.   Patient 744.00.
    medicare = b.payer(
        "medicare",
        kind="medicare",
        billing_variants=["medicare-g-code"],
        networks={
            "in": b.network(
                deductible="283.00",
                rates={"G2082": "600.00"},
                cost_sharing={"all": b.share(coinsurance="0.2")},
            )
        },
        coverage=[b.covered("G2082", category="all")],
    )
    est = estimate(
        [commercial(deductible="0.00", prior_authorization=True), medicare],
        [{"session": "esketamine", "sessions": 4, "every_weeks": 2}],
        start="2026-02-16",
        coverage={"prior_authorization": "approved"},
        patient={"birth_date": "1961-03-01"},
        coverage_periods=[{"starts": "2026-03-01", "payer": "medicare"}],
    )
    assert [v.payer_id for v in est.visits] == ["commercial", "medicare", "medicare", "medicare"]
    assert [[ln.code for ln in v.lines] for v in est.visits] == [
        ["J0013", "99214"],
        ["G2082"],
        ["G2082"],
        ["G2082"],
    ]
    assert [str(v.totals.patient) for v in est.visits] == ["157.60", "346.40", "120.00", "120.00"]
    assert str(est.totals.patient) == "744.00"
    assert [(y.payer_id, y.visits) for y in est.plan_years] == [("commercial", 1), ("medicare", 3)]
    assert est.payer_id == "commercial"


def test_coverage_ending_then_self_pay() -> None:
    # Insurance ends 2026-01-31; the February visit is self-pay at the session price.
    selfpay = b.payer("self-pay", kind="self-pay")
    est = estimate(
        [*oon_payers(), selfpay],
        [{"session": "therapy", "sessions": 2, "every_weeks": 4}],
        start="2026-01-05",
        coverage={"network": "out", "superbill": True},
        coverage_periods=[{"starts": "2026-02-01", "payer": "self-pay"}],
    )
    assert [v.payer_id for v in est.visits] == ["ppo", "self-pay"]
    assert str(est.visits[1].totals.patient) == "450.00"


def test_coverage_periods_must_be_in_order() -> None:
    with pytest.raises(ketacost.RequestFileError, match="strictly increasing"):
        estimate(
            [commercial()],
            WEEKLY_3,
            start="2026-01-05",
            coverage_periods=[
                {"starts": "2026-03-01", "payer": "commercial"},
                {"starts": "2026-02-01", "payer": "commercial"},
            ],
        )


def test_a_period_naming_an_unknown_payer_is_an_error_at_its_position() -> None:
    with pytest.raises(
        ketacost.RequestFileError, match=r"coverage_periods\[0\]\.payer: unknown payer .nobody."
    ):
        estimate(
            [commercial()],
            WEEKLY_3,
            start="2026-01-05",
            coverage_periods=[{"starts": "2026-03-01", "payer": "nobody"}],
        )


# -------------------------------------------------------------------------- properties

money = st.integers(min_value=0, max_value=300_000)


@given(
    floor=st.integers(min_value=0, max_value=5_000),
    cap=st.integers(min_value=0, max_value=400_000),
    deductible=money,
    sessions=st.integers(min_value=1, max_value=30),
    accumulator=st.booleans(),
    coinsurance=st.sampled_from(["0", "0.1", "0.2", "0.5"]),
)
def test_assistance_never_exceeds_the_drug_share_nor_the_annual_maximum(
    floor: int, cap: int, deductible: int, sessions: int, accumulator: bool, coinsurance: str
) -> None:
    payer = commercial(
        copay_accumulator=accumulator,
        deductible=str(Money.from_cents(deductible)),
        prior_authorization=False,
    )
    payer["networks"]["in"]["cost_sharing"]["drug"]["coinsurance"] = coinsurance
    est = estimate(
        [payer],
        [{"session": "esketamine", "sessions": sessions, "every_weeks": 2}],
        start="2026-06-01",
        coverage={"savings_program": "test-savings"},
        programs=[
            program(floor=str(Money.from_cents(floor)), annual_max=str(Money.from_cents(cap)))
        ],
    )
    per_year: dict[int, Money] = {}
    for ln in est.lines():
        share = ln.copay + ln.deductible + ln.coinsurance
        assert Money(0) <= ln.assistance <= share
        if ln.code != "J0013":
            assert ln.assistance == Money(0)
        per_year[ln.date.year] = per_year.get(ln.date.year, Money(0)) + ln.assistance
    for year, used in per_year.items():
        assert used <= Money.from_cents(cap), year
    for visit in est.visits:
        (drug,) = [ln for ln in visit.lines if ln.code == "J0013"]
        share = drug.copay + drug.deductible + drug.coinsurance
        # The patient pays at least the program's floor (or the whole share if smaller).
        assert drug.patient_net >= min(share, Money.from_cents(floor))


@given(
    price=st.integers(min_value=0, max_value=200_000),
    deductible=money,
    coinsurance=st.sampled_from(["0", "0.3", "0.4", "1"]),
    percent=st.sampled_from(["0.5", "1.1", "1.4", "3"]),
    sessions=st.integers(min_value=1, max_value=12),
)
def test_reimbursement_never_exceeds_what_the_patient_paid(
    price: int, deductible: int, coinsurance: str, percent: str, sessions: int
) -> None:
    payers = oon_payers()
    out = payers[0]["networks"]["out"]
    out["deductible"]["individual"] = str(Money.from_cents(deductible))
    out["allowed"]["percent"] = percent
    out["cost_sharing"]["all"]["coinsurance"] = coinsurance
    clinic = dict(CLINIC)
    clinic["sessions"] = {**CLINIC["sessions"]}
    clinic["sessions"]["therapy"] = {
        **CLINIC["sessions"]["therapy"],
        "self_pay": str(Money.from_cents(price)),
    }
    library = b.payers(*payers)
    data = b.request(
        clinic,
        [{"session": "therapy", "sessions": sessions, "every_weeks": 1}],
        start="2026-01-05",
        payer_id="ppo",
        network="out",
    )
    data["coverage"]["superbill"] = True
    est = ketacost.adjudicate(ketacost.request_from_data(data, payers=library), library)
    check_identities(est)
    for ln in est.lines():
        assert Money(0) <= ln.reimbursement <= ln.charge
        assert ln.reimbursement == ln.payer
        assert ln.patient == ln.charge - ln.reimbursement
    for visit in est.visits:
        assert visit.totals.charge == Money.from_cents(price)


@given(
    expected_pa=st.sampled_from(["approved", "denied", "pending"]),
    sessions=st.integers(min_value=1, max_value=8),
    low=st.integers(min_value=1, max_value=8),
    extra=st.integers(min_value=0, max_value=6),
    met=st.tuples(money, money),
    deductible=money,
)
def test_low_expected_high_are_ordered(
    expected_pa: str,
    sessions: int,
    low: int,
    extra: int,
    met: tuple[int, int],
    deductible: int,
) -> None:
    lo_met, hi_met = sorted(met)
    est = estimate(
        [commercial(deductible=str(Money.from_cents(deductible)), prior_authorization=True)],
        [{"name": "course", "session": "esketamine", "sessions": sessions, "every_weeks": 1}],
        start="2026-11-02",  # crosses into 2027: the deductible resets
        coverage={"prior_authorization": expected_pa},
        unknowns={
            "prior_authorization": ["approved", "denied"],
            "sessions": [{"phase": "course", "low": low, "high": low + extra}],
            "deductible_met": {
                "low": str(Money.from_cents(lo_met)),
                "high": str(Money.from_cents(hi_met)),
            },
        },
    )
    rng = est.range
    assert rng is not None
    assert rng.low <= rng.expected <= rng.high
    assert rng.expected == est.totals.patient_net
    for d in rng.drivers:
        assert rng.low <= d.low <= d.high <= rng.high


def test_estimates_with_the_new_fields_survive_a_json_round_trip() -> None:
    est = estimate(
        [commercial(prior_authorization=False)],
        WEEKLY_3,
        start="2026-01-05",
        coverage={"savings_program": "test-savings"},
        programs=[program()],
        unknowns={"sessions": [{"phase": "phase 1", "low": 2, "high": 5}]},
    )
    assert Estimate.model_validate_json(est.model_dump_json()) == est


def test_a_bad_program_file_fails_the_whole_payer_folder(tmp_path: Any) -> None:
    # payers/programs/<id>.yaml: the id must equal the file name, and the loader reports the
    # file, line and column; nothing is loaded.
    import shutil

    root = Path(__file__).resolve().parents[1]
    folder = tmp_path / "payers"
    shutil.copytree(root / "payers", folder)
    bad = folder / "programs" / "spravato-withme.yaml"
    bad.write_text(bad.read_text().replace("id: spravato-withme", "id: other-program"))
    with pytest.raises(ketacost.PayerFileError) as err:
        ketacost.load_payers(folder)
    (issue,) = err.value.issues
    assert issue.path.endswith("spravato-withme.yaml")
    id_line = bad.read_text().splitlines().index("id: other-program") + 1
    assert (issue.line, issue.field) == (id_line, "id")
    assert "must equal the file name 'spravato-withme'" in str(err.value)


# ------------------------------------------------------------- review fixes, worked


def test_a_rule_overlapping_any_earlier_rule_is_an_error() -> None:
    # 99214 from 2026, until 2020, excluded from 2027: the third overlaps the first (not the
    # second, the last one seen for the code), so the exclusion would be dead. An error.
    data = b.payer(
        networks={"in": b.network(rates={"99214": "100.00"})},
        coverage=[
            {**b.covered("99214", category="all"), "effective_from": "2026-01-01"},
            {**b.covered("99214", category="all"), "effective_until": "2020-12-31"},
            {**b.excluded("99214", reason="x"), "effective_from": "2027-01-01"},
        ],
    )
    with pytest.raises(
        ketacost.PayerFileError, match=r"coverage\[2\]\.codes\[0\]: .*coverage\[0\]"
    ):
        ketacost.payer_from_data(data)


def test_deductible_met_counts_toward_the_maximum_met() -> None:
    # Deductible $1,000 (met: 1,000.00), maximum $6,000; the request says 0 of the maximum is
    # met, but the deductible paid is part of it: the engine starts the maximum at 1,000.00.
    # Each visit: J0013 20% x 588 = 117.60 + copay 40.00 = 157.60; 40 visits would be
    # 6,304.00, capped at the 6,000 - 1,000 = 5,000.00 left of the maximum.
    def run(oop_met: str) -> Estimate:
        return estimate(
            [commercial(prior_authorization=False)],
            [{"session": "esketamine", "sessions": 40, "every_days": 3}],
            start="2026-01-05",
            coverage={
                "accumulators": {
                    "as_of": "2026-01-01",
                    "deductible_met": {"individual": "1000.00"},
                    "out_of_pocket_met": {"individual": oop_met},
                }
            },
        )

    said_zero, said_thousand = run("0.00"), run("1000.00")
    assert said_zero.totals == said_thousand.totals
    assert str(said_zero.totals.patient) == "5000.00"  # 6,000 - 1,000 already met


def test_out_of_network_esketamine_priced_at_the_plans_own_rate() -> None:
    # Medicare has no J0013 rate, so 140% of Medicare cannot price it; the PPO's fallback
    # rate 10.50/mg does: 56 mg -> allowed 588.00, against the charge 672.00 (balance 84.00).
    library = ketacost.load_payers()
    req = ketacost.load_request("examples/requests/esketamine-commercial.yaml", payers=library)
    out = req.model_copy(update={"coverage": req.coverage.model_copy(update={"network": "out"})})
    est = ketacost.estimate(out, payers=library)
    drug = next(ln for ln in est.lines() if ln.code == "J0013")
    assert drug.covered and drug.rule == "commercial-ppo:esketamine"
    assert (str(drug.allowed), str(drug.balance_bill)) == ("588.00", "84.00")
    assert any("does not price J0013" in n for n in drug.explanation)


def test_percent_of_a_payer_without_a_fee_schedule_is_an_estimate_error() -> None:
    # With a plain dict of payers (no library check), the engine says what is wrong.
    ref = b.payer(
        "ref",
        kind="medicare",
        networks={"in": b.network(allowed={"basis": "percent_of_charge", "percent": "0.5"})},
    )
    ppo = oon_payers()[0]
    ppo["networks"]["out"]["allowed"]["payer"] = "ref"
    library = b.payers(ppo, ref)
    data = b.request(CLINIC, WEEKLY_3, start="2026-01-05", payer_id="ppo", network="out")
    with pytest.raises(ketacost.EstimateError, match="no in-network fee schedule"):
        ketacost.adjudicate(ketacost.request_from_data(data), library)


def test_a_plan_in_the_year_9999_ends_its_plan_year_on_the_last_day() -> None:
    est = estimate([commercial()], WEEKLY_3, start="9999-06-07")
    assert est.plan_years[0].end == date.max


def test_one_approval_window_shared_by_two_drugs() -> None:
    # iv-trd-payer: IV ketamine and the esketamine G-codes share one 28-day approval
    # (authorization_group: trd); a G2082 visit on day 30 is outside the window that the
    # first IV infusion opened. (Issue 11: the payer renews its approval; with the renewal
    # denied the window's end still denies the G-code visit.)
    library = ketacost.load_payers()
    data = {
        "patient": {"age": 40, "diagnoses": ["F33.2"], "failed_trials": 4},
        "coverage": {
            "payer": "iv-trd-payer",
            "prior_authorization": "approved",
            "authorization_renewal": "denied",
        },
        "clinic": ketacost.load_clinic(
            Path(__file__).resolve().parents[1] / "examples/clinics/example-clinic.yaml"
        ),
        "plan": {
            "start": "2026-03-02",
            "phases": [
                {"name": "iv", "session": "iv-infusion", "sessions": 1, "every_days": 1},
                {
                    "name": "esk",
                    "session": "esketamine-56",
                    "sessions": 1,
                    "every_days": 1,
                    "start_after_days": 29,
                },
            ],
        },
    }
    est = ketacost.estimate(data, payers=library)
    iv, esk = est.visits
    assert any(ln.covered for ln in iv.lines)
    g = next(ln for ln in esk.lines if ln.code.startswith("G208"))
    assert not g.covered
    assert g.reason is not None and "has ended" in g.reason


def test_a_sessions_range_starting_at_zero_is_refused_at_its_field() -> None:
    with pytest.raises(ketacost.RequestFileError, match=r"unknowns\.sessions\[0\]\.low"):
        estimate(
            [commercial()],
            WEEKLY_3,
            start="2026-01-05",
            unknowns={"sessions": [{"phase": "phase 1", "low": 0, "high": 3}]},
        )
