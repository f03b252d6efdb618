"""Inputs that contradict each other are refused, not adjusted (issue 11, section 6).

A birth date after the first visit, an age the dates make impossible, starting accumulators
that contradict each other or the plan's own amounts: each is one error naming the field(s).
The loader's messages (with their file positions) are in the table of ``test_bad_files.py``;
here are the same checks on the other ways in (a request built in code, the web calculator's
answers), worked examples of what is still accepted, and properties.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import _builders as b
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import plan_data

import ketacost
from ketacost import EstimateError, EstimateRequest, Money, RequestFileError, expand
from ketacost.web import CalculatorInput, load_web_config
from ketacost.web._config import resolve
from ketacost.web._service import Calculator

#: A plan with a $500 deductible ($1,000 family) and a $3,000 maximum ($6,000 family).
PAYERS = b.payers(
    b.payer(
        "test-plan",
        networks={
            "in": b.network(
                deductible="500.00",
                family_deductible="1000.00",
                oop="3000.00",
                family_oop="6000.00",
                rates={"99214": "150.00"},
            )
        },
        coverage=[b.covered("99214", category="all")],
    )
)
CLINIC = b.clinic({"99214": "200.00"}, {"visit": b.session(b.line("99214"))})
#: Two weekly visits: Mon 2026-03-02 and Mon 2026-03-09.
WEEKLY_2 = [{"session": "visit", "sessions": 2, "every_days": 7}]


def _request(**parts: Any) -> dict[str, Any]:
    return b.request(CLINIC, WEEKLY_2, start="2026-03-02", **parts)


def _built_in_code(data: dict[str, Any]) -> EstimateRequest:
    """A request validated by its model only, as a program builds one (no loader checks)."""
    return EstimateRequest.model_validate({**data, "clinic": ketacost.clinic_from_data(CLINIC)})


# -- the patient's dates ---------------------------------------------------------------------
def test_the_issues_example_a_patient_born_in_2030_is_refused_not_minus_4() -> None:
    # Today's failure: birth_date 2030-01-01 with 2026 visits was accepted and a drug rule
    # said "not covered: patient is -4".
    data = _request(patient={"birth_date": "2030-01-01"})
    with pytest.raises(RequestFileError) as refused:
        ketacost.request_from_data(data, payers=PAYERS)
    assert str(refused.value) == (
        "<request>: patient.birth_date: the patient is born (2030-01-01) after the first visit "
        "(2026-03-02)"
    )
    # Built in code, it reaches adjudicate unchecked: one EstimateError with the same words.
    with pytest.raises(EstimateError) as unchecked:
        ketacost.adjudicate(_built_in_code(data), PAYERS)
    assert str(unchecked.value) == (
        "patient.birth_date: the patient is born (2030-01-01) after the first visit (2026-03-02)"
    )


def test_a_birth_date_on_the_day_of_the_first_visit_or_130_years_before_the_last_is_accepted() -> (
    None
):
    # Born on the first visit's day: 0 years old, not after it.
    ketacost.request_from_data(_request(patient={"birth_date": "2026-03-02"}), payers=PAYERS)
    # Born 1896-03-09: exactly 130 on the last visit, 2026-03-09.
    ketacost.request_from_data(_request(patient={"birth_date": "1896-03-09"}), payers=PAYERS)
    # Born a year earlier, 1895-03-09: 131 on the last visit.
    with pytest.raises(RequestFileError, match="would be 131 on the last visit"):
        ketacost.request_from_data(_request(patient={"birth_date": "1895-03-09"}), payers=PAYERS)


def test_an_age_given_with_a_birth_date_is_the_age_on_the_first_visit() -> None:
    # Born 1990-06-15: 35 on 2026-03-02. Age 35 agrees; 36 (the age in June) does not.
    patient = {"birth_date": "1990-06-15", "age": 35}
    ketacost.request_from_data(_request(patient=patient), payers=PAYERS)
    with pytest.raises(RequestFileError) as refused:
        ketacost.request_from_data(_request(patient={**patient, "age": 36}), payers=PAYERS)
    assert refused.value.field == "patient.age"
    assert "the patient is 35 on the first visit (2026-03-02)" in str(refused.value)


# -- starting accumulators -----------------------------------------------------------------
def _accumulators(deductible: dict[str, str], out_of_pocket: dict[str, str]) -> dict[str, Any]:
    return {"as_of": "2026-03-01", "deductible_met": deductible, "out_of_pocket_met": out_of_pocket}


def test_amounts_not_given_are_the_least_the_others_allow_and_accepted() -> None:
    # $400 of the deductible met, nothing said of the maximum (0 = not given): the $400 counts
    # toward the maximum, as it always did, so the first visit starts from $400 met of each.
    acc = _accumulators({"individual": "400.00"}, {})
    request = ketacost.request_from_data(_request(accumulators=acc), payers=PAYERS)
    first = ketacost.adjudicate(request, PAYERS).visits[0].lines[0]
    assert first.accumulators_before.deductible_individual == Money("400.00")
    assert first.accumulators_before.out_of_pocket_individual == Money("400.00")


def test_a_deductible_met_above_the_maximum_met_is_refused_in_code_too() -> None:
    acc = _accumulators({"individual": "400.00"}, {"individual": "300.00"})
    # The model itself refuses it, however the request is built.
    with pytest.raises(ValueError, match=r"out_of_pocket_met.individual \(300.00\) is below"):
        _built_in_code(_request(accumulators=acc))


def test_met_above_the_plans_amount_is_refused_by_adjudicate_when_built_in_code() -> None:
    acc = _accumulators({"individual": "500.01"}, {})
    with pytest.raises(EstimateError) as unchecked:
        ketacost.adjudicate(_built_in_code(_request(accumulators=acc)), PAYERS)
    assert str(unchecked.value) == (
        "coverage.accumulators.deductible_met.individual: 500.01 is above the plan's individual "
        "amount, 500.00 (payer 'test-plan': networks.in.deductible.individual on 2026-03-01)"
    )
    # At the plan's amount exactly, the deductible is met: accepted.
    met = _accumulators({"individual": "500.00"}, {})
    ketacost.adjudicate(_built_in_code(_request(accumulators=met)), PAYERS)


# -- the web calculator's answers ------------------------------------------------------------
_CALCULATOR = Calculator(resolve(load_web_config(None)))


def _answers(**changes: Any) -> CalculatorInput:
    answers = {
        "treatment": "kap",
        "insurance": "commercial-ppo",
        "prior_authorization": "approved",
        "age": 45,
        "start": "2026-03-02",
    }
    return CalculatorInput.model_validate(answers | changes)


def test_the_web_refuses_a_deductible_met_above_the_maximum_met_naming_both_answers() -> None:
    with pytest.raises(RequestFileError) as refused:
        _CALCULATOR.estimate_input(_answers(deductible_met="1000.00", out_of_pocket_met="900.00"))
    assert str(refused.value) == (
        "request body: out_of_pocket_met: out_of_pocket_met (900.00) is below deductible_met "
        "(1000.00): deductible paid counts toward the out-of-pocket maximum"
    )


def test_what_is_met_is_checked_against_the_plan_years_amount() -> None:
    # The HDHP's deductible is 1,650.00 from 2025 and 1,700.00 from 2026. On a July plan year
    # the amount for 2026-02-02 is 2025's (the plan year began 2025-07-01), as the estimate
    # uses it: 1,650.00 is accepted, 1,690.00 refused naming 1,650.00 (a review found 1,690.00
    # accepted and 1,710.00 refused naming 1,700.00).
    from pathlib import Path

    clinic = Path(__file__).resolve().parent.parent / "examples" / "clinics" / "example-clinic.yaml"
    payers = ketacost.load_payers(Path(__file__).resolve().parent.parent / "payers")

    def request(met: str) -> EstimateRequest:
        coverage = {
            "payer": "hdhp",
            "network": "in",
            "plan_year_start": {"month": 7, "day": 1},
            "accumulators": {"as_of": "2026-02-02", "deductible_met": {"individual": met}},
        }
        return ketacost.request_from_data(
            {
                "patient": {"age": 40, "diagnoses": ["F33.2"], "failed_trials": 2},
                "coverage": coverage,
                "clinic": str(clinic),
                "plan": {"start": "2026-02-02", "phases": [{"session": "intake", "sessions": 1}]},
            },
            payers=payers,
        )

    year = ketacost.estimate(request("1650.00"), payers=payers).plan_years[0]
    assert (str(year.start), str(year.deductible_individual)) == ("2025-07-01", "1650.00")
    with pytest.raises(RequestFileError, match=r"1690\.00 is above the plan's individual amount, "
                       r"1650\.00 \(payer 'hdhp'"):  # fmt: skip
        request("1690.00")


def test_the_web_refuses_more_met_than_the_plans_amount_naming_the_answer() -> None:
    # The example PPO's in-network deductible is $1,500 and its maximum $6,000 in 2026.
    with pytest.raises(RequestFileError) as refused:
        _CALCULATOR.estimate_input(_answers(deductible_met="1500.01"))
    assert refused.value.field == "deductible_met"
    assert str(refused.value).endswith(
        "1500.01 is above the plan's individual amount, 1500.00 (payer 'commercial-ppo': "
        "networks.in.deductible.individual on 2026-03-02)"
    )
    with pytest.raises(RequestFileError) as refused:
        _CALCULATOR.estimate_input(_answers(out_of_pocket_met="6000.01"))
    assert refused.value.field == "out_of_pocket_met"
    # The whole deductible and maximum are accepted.
    _CALCULATOR.estimate_input(_answers(deductible_met="1500.00", out_of_pocket_met="6000.00"))


# -- properties ----------------------------------------------------------------------------
@given(
    plan=plan_data(sessions=("visit",), explicit_starts="any"),
    days_after=st.integers(min_value=1, max_value=3000),
)
def test_a_birth_date_after_the_first_visit_is_always_refused(
    plan: dict[str, Any], days_after: int
) -> None:
    data = _request(patient={"birth_date": "2000-01-01"})
    data["plan"] = plan
    first = expand(ketacost.Plan.model_validate(plan))[0].date
    data["patient"] = {"birth_date": (first + timedelta(days=days_after)).isoformat()}
    with pytest.raises(RequestFileError) as refused:
        ketacost.request_from_data(data, payers=PAYERS)
    assert refused.value.field == "patient.birth_date"
    assert f"after the first visit ({first.isoformat()})" in str(refused.value)


@given(
    plan=plan_data(sessions=("visit",), explicit_starts="any"),
    days_before=st.integers(min_value=0, max_value=365 * 90),
)
def test_a_birth_date_on_or_before_the_first_visit_is_accepted(
    plan: dict[str, Any], days_before: int
) -> None:
    # (Up to 90 years before the first visit: a plan lasts well under 40 more years.)
    data = _request()
    data["plan"] = plan
    first = expand(ketacost.Plan.model_validate(plan))[0].date
    data["patient"] = {"birth_date": (first - timedelta(days=days_before)).isoformat()}
    request = ketacost.request_from_data(data, payers=PAYERS)
    assert request.patient.age_on(first) >= 0


_CENTS = st.integers(min_value=1, max_value=50_000).map(lambda c: Money.from_cents(c))


@given(deductible=_CENTS, out_of_pocket=_CENTS)
def test_the_maximum_met_below_the_deductible_met_is_always_refused(
    deductible: Money, out_of_pocket: Money
) -> None:
    acc = _accumulators({"individual": str(deductible)}, {"individual": str(out_of_pocket)})
    data = _request(accumulators=acc)
    if out_of_pocket >= deductible and deductible <= Money("500.00"):
        ok = ketacost.request_from_data(data, payers=PAYERS)
        assert ok.coverage.accumulators is not None
        return
    with pytest.raises(RequestFileError) as refused:
        ketacost.request_from_data(data, payers=PAYERS)
    if out_of_pocket < deductible:
        assert refused.value.field == "coverage.accumulators"
    else:  # consistent, but above the plan's $500 deductible
        assert refused.value.field == "coverage.accumulators.deductible_met.individual"
