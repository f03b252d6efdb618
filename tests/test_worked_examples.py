"""Worked examples of the engine contract (ketacost/_engine/__init__.py), with the arithmetic written out.

Each test builds a small payer, clinic and request, runs :func:`ketacost.adjudicate` and pins
every amount to the cent. ``amounts(x)`` shows only the non-zero money fields, so a line that
is not listed (say ``balance_bill``) is 0.00. Every estimate is also checked line by line for
the two identities of the contract (rule 9) and for totals that add up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import _builders as b
import pytest

import ketacost
from ketacost import Estimate, EstimateLine, Money

ROOT = Path(__file__).resolve().parents[1]

#: Every amount a line and a total carry, from the model itself.
FIELDS = tuple(ketacost.Totals.model_fields)

# One synthetic clinic for most examples: charge per unit, and four session templates.
CLINIC = b.clinic(
    {
        "99214": "400.00",
        "90833": "200.00",
        "J0013": "12.00",
        "96365": "650.00",
        "J3490": "50.00",
        "96372": "30.00",
        "0820T": "300.00",
    },
    {
        "visit": b.session(b.line("99214")),
        "visit-therapy": b.session(b.line("99214"), b.line("90833")),
        "esketamine": b.session(b.line("J0013", 56), b.line("99214")),
        "infusion": b.session(b.line("96365"), b.line("J3490")),
        "visit-injection": b.session(b.line("99214"), b.line("96372", 3)),
        "kap": b.session(b.line("99214"), b.line("96365"), b.line("0820T")),
    },
)
# In-network fee schedule (per unit) for the synthetic payers.
RATES = {
    "99214": "300.00",
    "90833": "150.00",
    "J0013": "10.50",
    "96365": "200.00",
    "J3490": "20.00",
}


def amounts(item: Any) -> dict[str, str]:
    """The non-zero money fields of a line, visit totals or totals, as text; ``patient_net``
    only where it differs from ``patient`` (that is, where a savings program paid)."""
    return {
        f: str(getattr(item, f))
        for f in FIELDS
        if getattr(item, f) and not (f == "patient_net" and item.patient_net == item.patient)
    }


def check_identities(est: Estimate) -> None:
    """Contract rule 9 on every line, and totals that are the sum of the lines."""
    lines = list(est.lines())
    for ln in lines:
        assert ln.patient + ln.payer + ln.secondary + ln.write_off == ln.charge, ln
        parts = ln.copay + ln.deductible + ln.coinsurance + ln.balance_bill + ln.non_covered
        assert ln.patient == parts, ln
        assert ln.patient_net == ln.patient - ln.assistance, ln
    for f in FIELDS:
        assert getattr(est.totals, f) == sum((getattr(ln, f) for ln in lines), Money(0)), f


def run(
    payer_data: list[dict[str, Any]],
    phases: list[dict[str, Any]],
    *,
    start: str,
    clinic: dict[str, Any] | ketacost.Clinic = CLINIC,
    **request: Any,
) -> Estimate:
    """Validate everything through the public loaders, adjudicate, check the identities."""
    library = b.payers(*payer_data)
    request.setdefault("payer_id", payer_data[0]["id"])
    data = b.request(clinic, phases, start=start, **request)
    est = ketacost.adjudicate(ketacost.request_from_data(data, payers=library), library)
    check_identities(est)
    return est


def lines_of(est: Estimate) -> list[EstimateLine]:
    return list(est.lines())


def acc(**met: str) -> dict[str, Any]:
    """Starting accumulators as of 2026-01-01 (``ded``/``oop``/``ded_fam``/``oop_fam``)."""
    return {
        "as_of": "2026-01-01",
        "deductible_met": {
            "individual": met.get("ded", "0.00"),
            "family": met.get("ded_fam", "0.00"),
        },
        "out_of_pocket_met": {
            "individual": met.get("oop", "0.00"),
            "family": met.get("oop_fam", "0.00"),
        },
    }


def simple_payer(**net: Any) -> dict[str, Any]:
    """A payer with one in-network category ``all`` covering every code of RATES."""
    cost = net.pop("share", b.share(coinsurance="0.2"))
    plan_year_start = net.pop("plan_year_start", None)
    net.setdefault("rates", RATES)
    return b.payer(
        networks={"in": b.network(cost_sharing={"all": cost}, **net)},
        coverage=[b.covered(*RATES, category="all")],
        plan_year_start=plan_year_start,
    )


# --------------------------------------------------------------------------- 1. deductible


def test_deductible_met_in_the_middle_of_a_visit() -> None:
    p = simple_payer(deductible="500.00", oop="6000.00")
    est = run(
        [p],
        [{"session": "visit-therapy", "sessions": 1}],
        start="2026-03-02",
        accumulators=acc(ded="300.00", oop="300.00"),
    )
    first, second = lines_of(est)
    # 99214: allowed 300.00; deductible min(300.00, 500.00 − 300.00 = 200.00) = 200.00;
    # coinsurance 20% × 100.00 = 20.00; patient 220.00; payer 80.00;
    # write-off 400.00 − 300.00 = 100.00
    assert amounts(first) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "200.00",
        "coinsurance": "20.00",
        "patient": "220.00",
        "payer": "80.00",
        "write_off": "100.00",
    }
    assert str(first.accumulators_after.deductible_individual) == "500.00"
    # 90833: allowed 150.00; deductible 0 (met on the line before);
    # coinsurance 20% × 150.00 = 30.00; payer 120.00; write-off 200.00 − 150.00 = 50.00
    assert amounts(second) == {
        "charge": "200.00",
        "allowed": "150.00",
        "coinsurance": "30.00",
        "patient": "30.00",
        "payer": "120.00",
        "write_off": "50.00",
    }
    # out of pocket: 300.00 + 220.00 + 30.00 = 550.00
    assert str(second.accumulators_after.out_of_pocket_individual) == "550.00"


# --------------------------------------------------------------------------- 2. copay + coinsurance


def test_copay_once_per_visit_per_category_and_coinsurance() -> None:
    p = b.payer(
        networks={
            "in": b.network(
                rates={"99214": "30.00", "90833": "25.00", "J0013": "10.50"},
                cost_sharing={
                    "visit": b.share(copay="40.00", coinsurance="0.1", deductible_applies=False),
                    "drug": b.share(coinsurance="0.2"),
                },
            )
        },
        coverage=[
            b.covered("99214", "90833", category="visit"),
            b.covered("J0013", category="drug"),
        ],
    )
    clinic = b.clinic(
        {"99214": "400.00", "90833": "200.00", "J0013": "12.00"},
        {
            "combined": b.session(b.line("99214"), b.line("90833"), b.line("J0013", 10)),
            "cheap": b.session(b.line("99214")),
        },
    )
    est = run(
        [p],
        [
            {"session": "combined", "sessions": 1},
            {"session": "cheap", "sessions": 1, "start_after_days": 6},
        ],
        start="2026-03-02",
        clinic=clinic,
    )
    v1, v2 = est.visits
    em, therapy, drug = v1.lines
    # Visit 1, category visit (copay 40.00 once for the visit):
    # 99214: allowed 30.00; copay min(40.00, 30.00) = 30.00; coinsurance 10% × 0 = 0;
    #        payer 0; write-off 400.00 − 30.00 = 370.00
    assert amounts(em) == {
        "charge": "400.00",
        "allowed": "30.00",
        "copay": "30.00",
        "patient": "30.00",
        "write_off": "370.00",
    }
    # 90833: allowed 25.00; copay the rest of the visit's copay 40.00 − 30.00 = 10.00;
    #        coinsurance 10% × 15.00 = 1.50; patient 11.50; payer 13.50; write-off 175.00
    assert amounts(therapy) == {
        "charge": "200.00",
        "allowed": "25.00",
        "copay": "10.00",
        "coinsurance": "1.50",
        "patient": "11.50",
        "payer": "13.50",
        "write_off": "175.00",
    }
    # category drug: J0013 × 10: charge 120.00; allowed 10.50 × 10 = 105.00; no copay;
    #        deductible 0.00; coinsurance 20% × 105.00 = 21.00; payer 84.00; write-off 15.00
    assert amounts(drug) == {
        "charge": "120.00",
        "allowed": "105.00",
        "coinsurance": "21.00",
        "patient": "21.00",
        "payer": "84.00",
        "write_off": "15.00",
    }
    # visit copay 30.00 + 10.00 = 40.00 (taken once, spread over the category's lines)
    assert str(v1.totals.copay) == "40.00"
    # Visit 2: the category's allowed in the visit is 30.00 < copay 40.00, so copay 30.00;
    # nothing left for coinsurance; payer 0.00; write-off 370.00
    assert amounts(v2.lines[0]) == {
        "charge": "400.00",
        "allowed": "30.00",
        "copay": "30.00",
        "patient": "30.00",
        "write_off": "370.00",
    }


# --------------------------------------------------------------------------- 3. out-of-pocket cap


@pytest.mark.parametrize(
    ("ded_met", "oop_met", "first", "second"),
    [
        pytest.param(
            # copay 20.00; deductible 0 (met); coinsurance 20% × 280.00 = 56.00;
            # 76.00 > remaining 1,000.00 − 950.00 = 50.00: excess 26.00 off coinsurance → 30.00;
            # patient 20.00 + 30.00 = 50.00; payer 250.00
            "500.00",
            "950.00",
            {"copay": "20.00", "coinsurance": "30.00", "patient": "50.00", "payer": "250.00"},
            {"payer": "300.00"},
            id="cap-cuts-coinsurance",
        ),
        pytest.param(
            # copay 20.00; deductible min(280.00, 500.00 − 400.00) = 100.00;
            # coinsurance 20% × 180.00 = 36.00; 156.00 > remaining 1,000.00 − 900.00 = 100.00:
            # excess 56.00 removes coinsurance 36.00, then 20.00 of deductible → 80.00;
            # patient 20.00 + 80.00 = 100.00; payer 200.00
            "400.00",
            "900.00",
            {"copay": "20.00", "deductible": "80.00", "patient": "100.00", "payer": "200.00"},
            # next visit: deductible remaining 20.00, but the maximum is reached: all cut
            {"payer": "300.00"},
            id="cap-cuts-into-deductible",
        ),
        pytest.param(
            # copay 20.00; deductible 0; coinsurance 56.00; 76.00 > remaining 10.00:
            # excess 66.00 removes coinsurance 56.00, deductible 0, then 10.00 of the copay;
            # patient 10.00; payer 290.00
            "500.00",
            "990.00",
            {"copay": "10.00", "patient": "10.00", "payer": "290.00"},
            {"payer": "300.00"},
            id="cap-cuts-into-copay",
        ),
    ],
)
def test_out_of_pocket_maximum_reached_in_a_line(
    ded_met: str, oop_met: str, first: dict[str, str], second: dict[str, str]
) -> None:
    p = simple_payer(
        deductible="500.00", oop="1000.00", share=b.share(copay="20.00", coinsurance="0.2")
    )
    est = run(
        [p],
        [{"session": "visit", "sessions": 2, "every_days": 7}],
        start="2026-03-02",
        accumulators=acc(ded=ded_met, oop=oop_met),
    )
    v1, v2 = lines_of(est)
    # both lines: charge 400.00, allowed 300.00, write-off 100.00
    same = {"charge": "400.00", "allowed": "300.00", "write_off": "100.00"}
    assert amounts(v1) == {**same, **first}
    assert str(v1.accumulators_after.out_of_pocket_individual) == "1000.00"
    # second visit: copay 20.00 + coinsurance 56.00 (and any deductible) all cut: patient 0
    assert amounts(v2) == {**same, **second}


# --------------------------------------------------------------------------- 4./5. plan years


def test_series_across_december_january_resets_accumulators() -> None:
    p = simple_payer(deductible="200.00", oop="3000.00")
    est = run(
        [p],
        [{"session": "visit", "sessions": 2, "every_days": 14}],
        start="2026-12-22",
        accumulators=acc(ded="150.00", oop="150.00"),
    )
    dec, jan = lines_of(est)
    # 2026-12-22 (plan year 2026, starting accumulators apply): deductible 200.00 − 150.00 =
    # 50.00; coinsurance 20% × 250.00 = 50.00; patient 100.00; payer 200.00; write-off 100.00
    assert amounts(dec) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "50.00",
        "coinsurance": "50.00",
        "patient": "100.00",
        "payer": "200.00",
        "write_off": "100.00",
    }
    # 2027-01-05 (plan year 2027: reset; the 2026 accumulators do not carry over):
    # deductible 200.00; coinsurance 20% × 100.00 = 20.00; patient 220.00; payer 80.00
    assert amounts(jan) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "200.00",
        "coinsurance": "20.00",
        "patient": "220.00",
        "payer": "80.00",
        "write_off": "100.00",
    }
    assert str(jan.accumulators_before.deductible_individual) == "0.00"
    y2026, y2027 = est.plan_years
    assert (y2026.start.isoformat(), y2026.end.isoformat()) == ("2026-01-01", "2026-12-31")
    assert str(y2026.accumulators_start.deductible_individual) == "150.00"
    assert str(y2026.accumulators_end.deductible_individual) == "200.00"
    assert y2027.start.isoformat() == "2027-01-01"
    assert str(y2027.accumulators_start.out_of_pocket_individual) == "0.00"
    # out of pocket 2027: 200.00 + 20.00 = 220.00
    assert str(y2027.accumulators_end.out_of_pocket_individual) == "220.00"
    assert [v.plan_year.isoformat() for v in est.visits] == ["2026-01-01", "2027-01-01"]


def test_plan_year_starting_july_first() -> None:
    p = simple_payer(deductible="200.00", plan_year_start={"month": 7, "day": 1})
    est = run(
        [p],
        [
            {"session": "visit", "sessions": 2, "every_days": 14},
            {"session": "visit", "sessions": 1, "start": "2027-01-06"},
        ],
        start="2026-06-24",
    )
    june, july, january = lines_of(est)
    # 2026-06-24 (plan year from 2025-07-01): deductible 200.00; coinsurance 20% × 100.00 =
    # 20.00; patient 220.00; payer 80.00
    # 2026-07-08 (plan year from 2026-07-01: reset): the same 220.00 / 80.00
    for ln in (june, july):
        assert amounts(ln) == {
            "charge": "400.00",
            "allowed": "300.00",
            "deductible": "200.00",
            "coinsurance": "20.00",
            "patient": "220.00",
            "payer": "80.00",
            "write_off": "100.00",
        }
    # 2027-01-06: still the plan year from 2026-07-01 (no reset on January 1):
    # deductible 0; coinsurance 20% × 300.00 = 60.00; payer 240.00
    assert amounts(january) == {
        "charge": "400.00",
        "allowed": "300.00",
        "coinsurance": "60.00",
        "patient": "60.00",
        "payer": "240.00",
        "write_off": "100.00",
    }
    assert [v.plan_year.isoformat() for v in est.visits] == [
        "2025-07-01",
        "2026-07-01",
        "2026-07-01",
    ]
    assert [(y.start.isoformat(), y.end.isoformat()) for y in est.plan_years] == [
        ("2025-07-01", "2026-06-30"),
        ("2026-07-01", "2027-06-30"),
    ]


# --------------------------------------------------------------------------- 6. family


@pytest.mark.parametrize(
    ("family_type", "met", "expected"),
    [
        pytest.param(
            # remaining = min(individual 500.00 − 450.00 = 50.00, family 1,000.00 − 600.00 =
            # 400.00) = 50.00; deductible 50.00; coinsurance 20% × 250.00 = 50.00; patient 100.00
            "embedded",
            {"ded": "450.00", "ded_fam": "600.00"},
            {"deductible": "50.00", "coinsurance": "50.00", "patient": "100.00", "payer": "200.00"},
            id="embedded-individual-nearly-met",
        ),
        pytest.param(
            # aggregate: only the family amount counts: remaining 1,000.00 − 600.00 = 400.00;
            # deductible min(300.00, 400.00) = 300.00; coinsurance 0; patient 300.00; payer 0
            "aggregate",
            {"ded": "450.00", "ded_fam": "600.00"},
            {"deductible": "300.00", "patient": "300.00"},
            id="aggregate-individual-nearly-met",
        ),
        pytest.param(
            # other members met 900.00 of the family's 1,000.00: remaining = min(500.00,
            # 100.00) = 100.00; deductible 100.00; coinsurance 20% × 200.00 = 40.00;
            # patient 140.00; payer 160.00
            "embedded",
            {"ded_fam": "900.00"},
            {
                "deductible": "100.00",
                "coinsurance": "40.00",
                "patient": "140.00",
                "payer": "160.00",
            },
            id="embedded-family-met-by-others",
        ),
        pytest.param(
            # aggregate: remaining family 1,000.00 − 900.00 = 100.00; the same 140.00 / 160.00
            "aggregate",
            {"ded_fam": "900.00"},
            {
                "deductible": "100.00",
                "coinsurance": "40.00",
                "patient": "140.00",
                "payer": "160.00",
            },
            id="aggregate-family-met-by-others",
        ),
    ],
)
def test_family_deductible_embedded_and_aggregate(
    family_type: str, met: dict[str, str], expected: dict[str, str]
) -> None:
    p = simple_payer(deductible="500.00", family_deductible="1000.00", family_type=family_type)
    est = run(
        [p],
        [{"session": "visit", "sessions": 1}],
        start="2026-03-02",
        tier="family",
        accumulators=acc(**met),
    )
    (ln,) = lines_of(est)
    assert amounts(ln) == {
        "charge": "400.00",
        "allowed": "300.00",
        "write_off": "100.00",
        **expected,
    }
    # the family accumulator moves with the individual's: 600.00 or 900.00 + the deductible
    start_family = Money(met["ded_fam"])
    assert ln.accumulators_after.deductible_family == start_family + ln.deductible


# --------------------------------------------------------------------------- 7./8. conditions


def _esketamine_payer() -> dict[str, Any]:
    return b.payer(
        networks={
            "in": b.network(
                deductible="1000.00",
                rates=RATES,
                cost_sharing={"drug": b.share(coinsurance="0.2"), "visit": b.share()},
            )
        },
        coverage=[
            b.covered("J0013", category="drug", prior_authorization=True, min_failed_trials=2),
            b.covered("99214", category="visit"),
        ],
    )


def test_prior_authorization_denied() -> None:
    est = run(
        [_esketamine_payer()],
        [{"session": "esketamine", "sessions": 1}],
        start="2026-03-02",
        prior_authorization="denied",
        patient={"age": 40, "failed_trials": 2},
    )
    drug, visit = lines_of(est)
    # J0013 × 56: not covered; the patient owes the charge 12.00 × 56 = 672.00
    assert amounts(drug) == {"charge": "672.00", "non_covered": "672.00", "patient": "672.00"}
    assert drug.reason == "prior authorization denied (required)"
    assert not drug.covered
    # nothing accumulates: the next line starts from zero
    assert drug.accumulators_after == drug.accumulators_before
    assert str(visit.accumulators_before.deductible_individual) == "0.00"
    # 99214: allowed 300.00; deductible min(300.00, 1,000.00) = 300.00; payer 0;
    # write-off 100.00
    assert amounts(visit) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "300.00",
        "patient": "300.00",
        "write_off": "100.00",
    }
    # only the covered line moved the accumulators: 300.00
    assert str(est.plan_years[0].accumulators_end.deductible_individual) == "300.00"
    assert str(est.plan_years[0].accumulators_end.out_of_pocket_individual) == "300.00"


@pytest.mark.parametrize("failed_trials", [1, 2])
def test_step_therapy(failed_trials: int) -> None:
    est = run(
        [_esketamine_payer()],
        [{"session": "esketamine", "sessions": 1}],
        start="2026-03-02",
        prior_authorization="approved",
        accumulators=acc(ded="1000.00"),
        patient={"age": 40, "failed_trials": failed_trials},
    )
    drug = lines_of(est)[0]
    if failed_trials == 1:
        assert drug.reason == "step therapy: 1 of 2 required failed trials"
        assert amounts(drug) == {"charge": "672.00", "non_covered": "672.00", "patient": "672.00"}
    else:
        # allowed 10.50 × 56 = 588.00; deductible met; coinsurance 20% × 588.00 = 117.60;
        # payer 470.40; write-off 672.00 − 588.00 = 84.00
        assert drug.reason is None
        assert amounts(drug) == {
            "charge": "672.00",
            "allowed": "588.00",
            "coinsurance": "117.60",
            "patient": "117.60",
            "payer": "470.40",
            "write_off": "84.00",
        }


# --------------------------------------------------------------------------- 9. session limit


@pytest.mark.parametrize(
    ("used", "covered"),
    [
        # limit 2 per plan year; a visit bills 96365 and J3490 (both in the group) and counts
        # once: 2026-11-02 (1st), 2026-11-23 (2nd), 2026-12-14 (limit reached),
        # 2027-01-04 (new plan year, 1st)
        pytest.param(0, [True, True, False, True], id="fresh"),
        # one session already used in 2026: 2026-11-02 (2nd), then the limit is reached for
        # the rest of 2026; the count does not carry into 2027
        pytest.param(1, [True, False, False, True], id="sessions-used"),
    ],
)
def test_session_limit(used: int, covered: list[bool]) -> None:
    p = simple_payer(share=b.share(coinsurance="0.1"))
    p["limits"] = {"infusions": {"codes": ["96365", "J3490"], "sessions_per_plan_year": 2}}
    accumulators = {"as_of": "2026-01-01", "sessions_used": {"infusions": used}}
    est = run(
        [p],
        [{"session": "infusion", "sessions": 4, "every_days": 21}],
        start="2026-11-02",
        accumulators=accumulators,
    )
    assert [v.date.isoformat() for v in est.visits] == [
        "2026-11-02",
        "2026-11-23",
        "2026-12-14",
        "2027-01-04",
    ]
    for visit, is_covered in zip(est.visits, covered, strict=True):
        infusion, drug = visit.lines
        if is_covered:
            # 96365: allowed 200.00; coinsurance 10% × 200.00 = 20.00; payer 180.00;
            #        write-off 650.00 − 200.00 = 450.00
            # J3490: allowed 20.00; coinsurance 2.00; payer 18.00; write-off 30.00
            assert amounts(infusion) == {
                "charge": "650.00",
                "allowed": "200.00",
                "coinsurance": "20.00",
                "patient": "20.00",
                "payer": "180.00",
                "write_off": "450.00",
            }
            assert amounts(drug) == {
                "charge": "50.00",
                "allowed": "20.00",
                "coinsurance": "2.00",
                "patient": "2.00",
                "payer": "18.00",
                "write_off": "30.00",
            }
        else:
            # both lines not covered: the patient owes 650.00 + 50.00 = 700.00
            for ln in (infusion, drug):
                assert ln.reason == "limit: 2 sessions per plan year reached"
                assert ln.rule == "test-plan:limits.infusions"
            assert amounts(visit.totals) == {
                "charge": "700.00",
                "non_covered": "700.00",
                "patient": "700.00",
            }


# --------------------------------------------------------------------------- 10. out of network


def test_out_of_network_percent_of_medicare_with_balance_billing() -> None:
    medicare = b.payer(
        "test-medicare",
        kind="medicare",
        networks={
            "in": b.network(
                rates={"99214": "135.61", "96372": "15.37"},
                cost_sharing={"part-b": b.share(coinsurance="0.2")},
            )
        },
        coverage=[b.covered("99214", "96372", category="part-b")],
    )
    plan = b.payer(
        "oon-plan",
        networks={
            "out": b.network(
                deductible="100.00",
                oop="5000.00",
                allowed={"basis": "percent_of_payer", "payer": "test-medicare", "percent": "1.4"},
                balance_billing=True,
                cost_sharing={"all": b.share(coinsurance="0.4")},
            )
        },
        coverage=[b.covered("99214", "96372", category="all")],
    )
    est = run(
        [plan, medicare],
        [{"session": "visit-injection", "sessions": 1}],
        start="2026-03-02",
        network="out",
    )
    em, injection = lines_of(est)
    # 99214: allowed 140% × 135.61 = 189.854 → 189.85 (per unit, half-up); deductible 100.00;
    # coinsurance 40% × 89.85 = 35.94; balance bill = charge 400.00 − 189.85 = 210.15;
    # patient 100.00 + 35.94 + 210.15 = 346.09; payer 189.85 − 135.94 = 53.91;
    # write-off 0 (the difference is billed to the patient)
    assert amounts(em) == {
        "charge": "400.00",
        "allowed": "189.85",
        "deductible": "100.00",
        "coinsurance": "35.94",
        "balance_bill": "210.15",
        "patient": "346.09",
        "payer": "53.91",
    }
    # 96372 × 3: allowed per unit 140% × 15.37 = 21.518 → 21.52; × 3 = 64.56 (rounding the
    # line instead would give 64.554 → 64.55); deductible 0 (met); coinsurance 40% × 64.56 =
    # 25.824 → 25.82; balance 3 × 30.00 − 64.56 = 25.44; patient 51.26; payer 38.74
    assert amounts(injection) == {
        "charge": "90.00",
        "allowed": "64.56",
        "coinsurance": "25.82",
        "balance_bill": "25.44",
        "patient": "51.26",
        "payer": "38.74",
    }
    # balance bills never accumulate: deductible 100.00; out of pocket 100.00 + 35.94 + 25.82
    after = injection.accumulators_after
    assert (str(after.deductible_individual), str(after.out_of_pocket_individual)) == (
        "100.00",
        "161.76",
    )
    # the hash covers the payer whose fee schedule was used, too
    library = b.payers(plan, medicare)
    used = [library["oon-plan"], library["test-medicare"]]
    clinic = ketacost.clinic_from_data(CLINIC)
    assert est.rules_hash == ketacost.rules_hash(used, clinic)
    assert est.rules_hash != ketacost.rules_hash(used[:1], clinic)


# --------------------------------------------------------------------------- 11. Medicare


def test_original_medicare_esketamine_series() -> None:
    library = ketacost.load_payers(ROOT / "payers")
    clinic = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    data = b.request(
        clinic,
        [
            {"session": "esketamine-56", "sessions": 1},
            {"session": "esketamine-84", "sessions": 7, "every_days": 3, "start_after_days": 2},
        ],
        start="2026-01-05",
        payer_id="medicare-part-b",
        patient={"age": 70, "diagnoses": ["F33.2"], "failed_trials": 2},
    )
    est = ketacost.estimate(data, payers=library)
    check_identities(est)
    first, *rest = lines_of(est)
    assert len(rest) == 7
    # G2082 (56 mg, billed as the medicare-g-code variant): charge 1,000.00; allowed 952.59
    # (28.52 RVU × 33.4009, Neolytix; illustrative); deductible 283.00 (2026); coinsurance
    # 20% × 669.59 = 133.918 → 133.92; patient 416.92; Medicare 952.59 − 416.92 = 535.67,
    # less the 2% sequestration 10.7134 → 10.71 = 524.96; write-off 1,000.00 − 952.59 = 47.41
    # + 10.71 = 58.12
    assert (first.code, first.variant, first.modifiers) == ("G2082", "medicare-g-code", ("KX",))
    assert amounts(first) == {
        "charge": "1000.00",
        "allowed": "952.59",
        "deductible": "283.00",
        "coinsurance": "133.92",
        "patient": "416.92",
        "payer": "524.96",
        "write_off": "58.12",
    }
    # G2083 (84 mg) × 7: charge 1,400.00; allowed 1,356.08 (40.60 RVU × 33.4009); coinsurance
    # 20% × 1,356.08 = 271.216 → 271.22; Medicare 1,084.86 less 2% (21.6972 → 21.70) =
    # 1,063.16; write-off 43.92 + 21.70 = 65.62; no cap, so no line's cost share is cut
    for ln in rest:
        assert ln.code == "G2083"
        assert amounts(ln) == {
            "charge": "1400.00",
            "allowed": "1356.08",
            "coinsurance": "271.22",
            "patient": "271.22",
            "payer": "1063.16",
            "write_off": "65.62",
        }
    # allowed 952.59 + 7 × 1,356.08 = 10,445.15 (the domain figure with these rates).
    # Coinsurance is rounded per line (a named rounding point): 133.92 + 7 × 271.22 =
    # 2,032.46, where 20% of the total 10,162.15 is 2,032.43: each line adds 0.002 or 0.004
    # (0.002 + 7 × 0.004 = 0.030), so the patient owes 283.00 + 2,032.46 = 2,315.46 (domain:
    # 2,315.43) and Medicare 10,445.15 − 2,315.46 = 8,129.69 before sequestration, less
    # 10.71 + 7 × 21.70 = 162.61: 7,967.08. The cut leaves the patient's figures as they were.
    # write-off 10,800.00 − 10,445.15 = 354.85 + 162.61 = 517.46
    assert amounts(est.totals) == {
        "charge": "10800.00",
        "allowed": "10445.15",
        "deductible": "283.00",
        "coinsurance": "2032.46",
        "patient": "2315.46",
        "payer": "7967.08",
        "write_off": "517.46",
    }
    (year,) = est.plan_years
    assert str(year.deductible_individual) == "283.00"
    assert year.out_of_pocket_max_individual is None


def test_original_medicare_prescriber_intake_at_the_corrected_90792_amount() -> None:
    # Issue 11: 90792 was a 180.00 placeholder; the 2026 national non-facility amount is
    # 6.05 RVU (work 4.16 + PE 1.72 + MP 0.17) × 33.4009 = 202.075445 → 202.08; issue 12
    # prices it at the clinic's locality.
    library = ketacost.load_payers(ROOT / "payers")
    clinic = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    data = b.request(
        clinic,
        [
            {"session": "intake-prescriber", "sessions": 1},  # 2026-03-02: 90792
            {"session": "at-home-month", "sessions": 1, "start_after_days": 7},  # 99214
        ],
        start="2026-03-02",
        payer_id="medicare-part-b",
        patient={"age": 70, "diagnoses": ["F33.2"], "failed_trials": 2},
    )
    est = ketacost.estimate(data, payers=library)
    check_identities(est)
    intake, visit = lines_of(est)
    # The example clinic is in Metropolitan Boston (GPCIs 1.048 / 1.186 / 0.796, issue 12):
    # 90792: (4.16 × 1.048 + 1.72 × 1.186 + 0.17 × 0.796) × 33.4009 = 6.53488 × 33.4009 =
    # 218.272 → 218.27 (202.08 national); charge 400.00; all of it to the 283.00 deductible
    # (64.73 left); Medicare 0.00; write-off 400.00 − 218.27 = 181.73
    assert intake.code == "90792"
    assert amounts(intake) == {
        "charge": "400.00",
        "allowed": "218.27",
        "deductible": "218.27",
        "patient": "218.27",
        "write_off": "181.73",
    }
    # 99214 (telehealth at home, place of service 10: the non-facility rate): allowed
    # (1.92 × 1.048 + 2.00 × 1.186 + 0.14 × 0.796) × 33.4009 = 150.157 → 150.16; deductible
    # 64.73; coinsurance 20% × 85.43 = 17.086 → 17.09; patient 81.82; Medicare
    # 150.16 − 81.82 = 68.34 less the 2% sequestration (1.3668 → 1.37) = 66.97; write-off
    # 200.00 − 150.16 = 49.84 + 1.37 = 51.21
    assert amounts(visit) == {
        "charge": "200.00",
        "allowed": "150.16",
        "deductible": "64.73",
        "coinsurance": "17.09",
        "patient": "81.82",
        "payer": "66.97",
        "write_off": "51.21",
    }
    # patient 218.27 + 81.82 = 300.09; Medicare 66.97
    assert (str(est.totals.patient), str(est.totals.payer)) == ("300.09", "66.97")


# --------------------------------------------------------------------------- 12. self-pay


def test_self_pay_package_then_boosters() -> None:
    library = ketacost.load_payers(ROOT / "payers")
    clinic = ketacost.load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")
    data = b.request(
        clinic,
        [
            {"session": "intake", "sessions": 1},
            {"session": "iv-infusion", "sessions": 6, "every_days": 2},
            {"session": "iv-infusion", "sessions": 2, "every_weeks": 4, "start_after_weeks": 2},
        ],
        start="2027-01-04",
        payer_id="self-pay",
    )
    est = ketacost.estimate(data, payers=library)
    check_identities(est)
    intake, *package, booster1, booster2 = est.visits
    # intake: self-pay price 250.00 on 90791
    assert amounts(intake.totals) == {
        "charge": "250.00",
        "non_covered": "250.00",
        "patient": "250.00",
    }
    # package iv-induction-6: 2,400.00 / 6 = 400.00 a session, split by chargemaster weight
    # 650 : 50 → 400.00 × 650 / 700 = 371.428… and 400.00 × 50 / 700 = 28.571…: whole cents
    # 371.42 + 28.57 = 399.99, the leftover cent to the larger remainder (96365) → 371.43
    assert len(package) == 6
    for visit in package:
        assert [(ln.code, str(ln.patient)) for ln in visit.lines] == [
            ("96365", "371.43"),
            ("J3490", "28.57"),
        ]
        assert "package iv-induction-6" in visit.lines[0].rule
    # boosters at the self-pay price 450.00: 450 × 650 / 700 = 417.857… and 32.142…:
    # 417.85 + 32.14 = 449.99, leftover cent to 96365 → 417.86 + 32.14
    for visit in (booster1, booster2):
        assert [(ln.code, str(ln.patient)) for ln in visit.lines] == [
            ("96365", "417.86"),
            ("J3490", "32.14"),
        ]
    # total 250.00 + 2,400.00 + 2 × 450.00 = 3,550.00, all owed by the patient; nothing
    # accumulates and no payer pays
    assert amounts(est.totals) == {
        "charge": "3550.00",
        "non_covered": "3550.00",
        "patient": "3550.00",
    }
    assert all(not ln.covered and ln.reason == "self-pay" for ln in est.lines())
    assert str(est.plan_years[0].accumulators_end.out_of_pocket_individual) == "0.00"


def test_self_pay_package_price_that_does_not_divide() -> None:
    sp = b.payer("self-pay", kind="self-pay")
    clinic = b.clinic(
        {"96365": "650.00"},
        {"iv": b.session(b.line("96365"), self_pay="450.00")},
        packages=[{"id": "three", "session": "iv", "sessions": 3, "price": "1000.00"}],
    )
    est = run(
        [sp], [{"session": "iv", "sessions": 4, "every_days": 2}], start="2026-03-02", clinic=clinic
    )
    # 1,000.00 / 3 = 333.33 remainder 0.01: the remainder cent to the earliest session →
    # 333.34, 333.33, 333.33; the 4th session is outside the package: 450.00
    assert [str(v.totals.patient) for v in est.visits] == ["333.34", "333.33", "333.33", "450.00"]
    # 1,000.00 + 450.00 = 1,450.00
    assert str(est.totals.patient) == "1450.00"


# --------------------------------------------------------------------------- more rules


def test_dated_deductible_applies_by_date_of_service() -> None:
    p = simple_payer(deductible={"2025-01-01": "257.00", "2026-01-01": "283.00"})
    est = run([p], [{"session": "visit", "sessions": 2, "every_days": 21}], start="2025-12-15")
    dec, jan = lines_of(est)
    # 2025-12-15: deductible 257.00 (2025); coinsurance 20% × 43.00 = 8.60; patient 265.60;
    # payer 34.40
    assert amounts(dec) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "257.00",
        "coinsurance": "8.60",
        "patient": "265.60",
        "payer": "34.40",
        "write_off": "100.00",
    }
    # 2026-01-05: deductible 283.00 (2026, new plan year); coinsurance 20% × 17.00 = 3.40;
    # patient 286.40; payer 13.60
    assert amounts(jan) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "283.00",
        "coinsurance": "3.40",
        "patient": "286.40",
        "payer": "13.60",
        "write_off": "100.00",
    }
    assert [str(y.deductible_individual) for y in est.plan_years] == ["257.00", "283.00"]


def test_a_dated_deductible_and_maximum_hold_for_the_whole_plan_year() -> None:
    # A July-June plan year beginning in 2025 keeps the amounts in force on 2025-07-01 until
    # it ends (the IRS figures apply "for plan years beginning in" a year); the engine once
    # read them on the date of service, so a January visit met 2026's deductible and cap
    # while the plan year's summary showed 2025's.
    p = simple_payer(
        deductible={"2025-01-01": "257.00", "2026-01-01": "283.00"},
        oop={"2025-01-01": "300.00", "2026-01-01": "400.00"},
        plan_year_start={"month": 7, "day": 1},
    )
    est = run([p], [{"session": "visit", "sessions": 2, "every_days": 21}], start="2025-12-15")
    dec, jan = lines_of(est)
    # 2025-12-15: deductible 257.00; coinsurance 20% × (300.00 − 257.00 = 43.00) = 8.60;
    # patient 265.60 (under the 300.00 maximum); payer 34.40
    assert amounts(dec) == {
        "charge": "400.00",
        "allowed": "300.00",
        "deductible": "257.00",
        "coinsurance": "8.60",
        "patient": "265.60",
        "payer": "34.40",
        "write_off": "100.00",
    }
    # 2026-01-05, the same plan year: deductible 257.00 − 257.00 = 0 left (not 283.00 −
    # 257.00 = 26.00); coinsurance 20% × 300.00 = 60.00, capped at what is left of the
    # 300.00 maximum (not 400.00): 300.00 − 265.60 = 34.40; payer 300.00 − 34.40 = 265.60
    assert amounts(jan) == {
        "charge": "400.00",
        "allowed": "300.00",
        "coinsurance": "34.40",
        "patient": "34.40",
        "payer": "265.60",
        "write_off": "100.00",
    }
    (year,) = est.plan_years
    assert (str(year.deductible_individual), str(year.out_of_pocket_max_individual)) == (
        "257.00",
        "300.00",
    )
    assert str(year.accumulators_end.out_of_pocket_individual) == "300.00"


def test_a_plan_year_after_the_last_of_a_yearly_amount_warns_and_uses_the_last() -> None:
    # A review found 2027 visits priced with Medicare's 2026 Part B deductible without a
    # word. An amount dated on January 1 of consecutive years is set each year; a plan year
    # beginning in a later year uses the last one, and the estimate says so.
    yearly = {"2025-01-01": "257.00", "2026-01-01": "283.00"}
    p = simple_payer(deductible=yearly, oop={"2025-01-01": "900.00", "2026-01-01": "1000.00"})
    est = run([p], [{"session": "visit", "sessions": 2, "every_days": 21}], start="2026-12-21")
    dec, jan = lines_of(est)
    # 2026-12-21: deductible 283.00; 2027-01-11: a new plan year, still 283.00 (the last)
    assert (str(dec.deductible), str(jan.deductible)) == ("283.00", "283.00")
    name = p["name"]
    assert est.warnings == tuple(
        f"{name}: the plan year from 2027-01-01 has no {what} of its own in the payer file, "
        f"which sets it each year (the last, {amount}, from 2026-01-01): that amount is used; "
        "check the 2027 figure before relying on this estimate"
        for what, amount in (("deductible", "283.00"), ("out-of-pocket maximum", "1000.00"))
    )
    # within the years the file knows: no warning
    est = run([p], [{"session": "visit", "sessions": 2, "every_days": 21}], start="2026-03-02")
    assert est.warnings == ()
    # a July plan year beginning in 2026 has its 2026 figures; one beginning in 2027 has none
    july = simple_payer(deductible=yearly, plan_year_start={"month": 7, "day": 1})
    est = run([july], [{"session": "visit", "sessions": 2, "every_days": 200}], start="2026-12-21")
    assert [w.split(": the plan year from ")[1][:10] for w in est.warnings] == ["2027-07-01"]
    # a family amount set each year, on family coverage (the individual one plain)
    family = simple_payer(deductible="200.00", family_deductible={"2025-01-01": "500.00",
                          "2026-01-01": "600.00"})  # fmt: skip
    est = run([family], [{"session": "visit", "sessions": 1}], start="2027-03-01", tier="family")
    assert [w.split(" of its own")[0].split("has no ")[1] for w in est.warnings] == [
        "family deductible"
    ]
    est = run([family], [{"session": "visit", "sessions": 1}], start="2027-03-01")
    assert est.warnings == ()  # individual coverage: the family amount plays no part
    # not set each year (two dates that are not a year apart, or one date): no warning
    for dated in ({"2025-01-01": "257.00", "2026-07-01": "283.00"}, {"2025-01-01": "257.00"}):
        est = run([simple_payer(deductible=dated)], [{"session": "visit", "sessions": 1}],
                  start="2028-03-06")  # fmt: skip
        assert est.warnings == ()


def test_a_dated_session_limit_holds_for_the_whole_plan_year() -> None:
    # A July-June plan year beginning in 2025 keeps 2025's limit (2 sessions) after the
    # payer file's 2026 one (4) takes effect on January 1: the 3rd and 4th infusions of the
    # plan year are over it. (Read on the date of service, the 4th was covered.)
    p = simple_payer(share=b.share(coinsurance="0.1"), plan_year_start={"month": 7, "day": 1})
    limit = {"2025-01-01": 2, "2026-01-01": 4}
    p["limits"] = {"infusions": {"codes": ["96365", "J3490"], "sessions_per_plan_year": limit}}
    est = run([p], [{"session": "infusion", "sessions": 4, "every_days": 21}], start="2025-11-03")
    assert [v.date.isoformat() for v in est.visits] == [
        "2025-11-03",
        "2025-11-24",
        "2025-12-15",
        "2026-01-05",
    ]
    assert [[ln.covered for ln in v.lines] for v in est.visits] == [
        [True, True],
        [True, True],
        [False, False],
        [False, False],
    ]
    assert est.visits[3].lines[0].reason == "limit: 2 sessions per plan year reached"


def test_copay_after_deductible_hdhp() -> None:
    p = b.payer(
        networks={
            "in": b.network(
                deductible="250.00",
                rates={"99214": "200.00"},
                cost_sharing={
                    "visit": b.share(copay="30.00", coinsurance="0.1", copay_after_deductible=True)
                },
            )
        },
        coverage=[b.covered("99214", category="visit")],
    )
    est = run([p], [{"session": "visit", "sessions": 3, "every_days": 7}], start="2026-03-02")
    v1, v2, v3 = lines_of(est)
    same = {"charge": "400.00", "allowed": "200.00", "write_off": "200.00"}
    # visit 1: deductible min(200.00, 250.00) = 200.00; deductible not met (50.00 left), so
    # no copay; coinsurance 10% × 0 = 0; patient 200.00; payer 0
    assert amounts(v1) == {**same, "deductible": "200.00", "patient": "200.00"}
    # visit 2: deductible 50.00 (now met); copay 30.00 from what is left; coinsurance
    # 10% × (200.00 − 50.00 − 30.00 = 120.00) = 12.00; patient 92.00; payer 108.00
    assert amounts(v2) == {
        **same,
        "copay": "30.00",
        "deductible": "50.00",
        "coinsurance": "12.00",
        "patient": "92.00",
        "payer": "108.00",
    }
    # visit 3: copay 30.00; coinsurance 10% × 170.00 = 17.00; patient 47.00; payer 153.00
    assert amounts(v3) == {
        **same,
        "copay": "30.00",
        "coinsurance": "17.00",
        "patient": "47.00",
        "payer": "153.00",
    }


def test_percent_of_charge_allowed() -> None:
    p = b.payer(
        networks={
            "in": b.network(
                allowed={"basis": "percent_of_charge", "percent": "0.5"},
                cost_sharing={"all": b.share(coinsurance="0.2")},
            )
        },
        coverage=[b.covered("99214", category="all")],
    )
    clinic = b.clinic({"99214": "333.33"}, {"visit": b.session(b.line("99214"))})
    est = run([p], [{"session": "visit", "sessions": 1}], start="2026-03-02", clinic=clinic)
    # allowed 50% × 333.33 = 166.665 → 166.67 (half-up; half-even would give 166.66);
    # coinsurance 20% × 166.67 = 33.334 → 33.33; payer 133.34; write-off 333.33 − 166.67 =
    # 166.66
    assert amounts(lines_of(est)[0]) == {
        "charge": "333.33",
        "allowed": "166.67",
        "coinsurance": "33.33",
        "patient": "33.33",
        "payer": "133.34",
        "write_off": "166.66",
    }


def test_excluded_rule_and_missing_rule_reasons() -> None:
    p = b.payer(
        networks={"in": b.network(rates=RATES, cost_sharing={"all": b.share()})},
        coverage=[
            b.covered("99214", category="all"),
            b.excluded("96365", reason="IV ketamine is investigational under this plan"),
        ],
    )
    est = run([p], [{"session": "kap", "sessions": 1}], start="2026-03-02")
    em, infusion, monitoring = lines_of(est)
    # 99214: allowed 300.00; no cost sharing; payer 300.00; write-off 100.00
    assert amounts(em) == {
        "charge": "400.00",
        "allowed": "300.00",
        "payer": "300.00",
        "write_off": "100.00",
    }
    # 96365: excluded, the payer's reason shown; the patient owes the charge 650.00
    assert (infusion.rule, infusion.reason) == (
        "test-plan:coverage[1]",
        "IV ketamine is investigational under this plan",
    )
    assert amounts(infusion) == {"charge": "650.00", "non_covered": "650.00", "patient": "650.00"}
    # 0820T: no rule at all; the patient owes the charge 300.00
    assert (monitoring.rule, monitoring.reason) == (
        "test-plan:coverage",
        "no coverage rule for code 0820T under Test payer test-plan",
    )
    assert amounts(monitoring) == {
        "charge": "300.00",
        "non_covered": "300.00",
        "patient": "300.00",
    }


def test_hmo_out_of_network_covers_nothing() -> None:
    hmo = {**simple_payer(), "id": "hmo", "name": "Example HMO"}
    est = run(
        [hmo], [{"session": "visit-therapy", "sessions": 1}], start="2026-03-02", network="out"
    )
    # no "out" network: every line not covered; patient 400.00 + 200.00 = 600.00
    for ln in est.lines():
        assert not ln.covered
        assert ln.rule == "hmo:networks"
        assert ln.reason == "Example HMO pays nothing out of network"
    assert amounts(est.totals) == {
        "charge": "600.00",
        "non_covered": "600.00",
        "patient": "600.00",
    }


# --------------------------------------------------------------------------- reproducibility


def test_same_request_gives_byte_identical_json() -> None:
    p = simple_payer(deductible="500.00", oop="6000.00")
    library = b.payers(p)
    data = b.request(
        CLINIC,
        [{"session": "esketamine", "sessions": 5, "every_days": 3}],
        start="2026-12-20",
        accumulators=acc(ded="100.00"),
    )
    one = ketacost.estimate(data, payers=library).model_dump_json()
    two = ketacost.estimate(ketacost.request_from_data(data), payers=b.payers(p))
    assert one == two.model_dump_json()


def test_estimate_records_version_and_rules_hash() -> None:
    def estimate_with(deductible: str) -> Estimate:
        return run(
            [simple_payer(deductible=deductible)],
            [{"session": "visit", "sessions": 1}],
            start="2026-03-02",
        )

    first = estimate_with("200.00")
    assert first.library_version == ketacost.__version__
    assert re.fullmatch(r"[0-9a-f]{64}", first.rules_hash)
    # the same rules give the same hash; one payer figure changed gives another
    assert estimate_with("200.00").rules_hash == first.rules_hash
    assert estimate_with("201.00").rules_hash != first.rules_hash
