"""Issue 11 §5: the Spravato withMe program on plans that bill the all-in G-codes, and its
observation rebate with the states it excludes. Worked examples with the arithmetic written
out (payers/programs/spravato-withme.yaml; the shares and the rebate's limit are
illustrative, as the file says).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ketacost
from ketacost import Estimate, Money

ROOT = Path(__file__).resolve().parents[1]
PAYERS = ketacost.load_payers()


def _estimate(payer: str, state: str | None = None) -> Estimate:
    patient: dict[str, Any] = {
        "birth_date": "1980-05-01",
        "diagnoses": ["F33.2"],
        "failed_trials": 4,
    }
    if state is not None:
        patient["state"] = state
    data = {
        "patient": patient,
        "coverage": {"payer": payer, "prior_authorization": "approved",
                     "savings_program": "spravato-withme"},
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {"start": "2026-03-02", "phases": [{"session": "esketamine-56", "sessions": 1}]},
    }  # fmt: skip
    return ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS)


def test_the_program_pays_the_medication_inside_a_g_code() -> None:
    # iv-trd-payer bills G2082 (allowed 950.00), all of it to the deductible. The program
    # counts the medication's share, 62% × 950.00 = 589.00, and pays it above the 10.00 the
    # patient pays per treatment: 579.00 → the patient pays 950.00 − 579.00 = 371.00.
    est = _estimate("iv-trd-payer")
    (g_code,) = est.visits[0].lines
    assert (g_code.code, g_code.patient, g_code.assistance) == (
        "G2082", Money("950.00"), Money("579.00")
    )  # fmt: skip
    assert est.totals.patient_net == Money("371.00")


def test_the_observation_rebate_pays_residents_of_a_state_it_does_not_exclude() -> None:
    # HDHP before its deductible: J0013 588.00, 99214 175.00, 99415 40.00, 99416 15.00, all
    # deductible (818.00). Medication: 588.00 − 10.00 = 578.00. Observation rebate (New York
    # resident): 40.00 + 15.00 above a 0.00 floor = 55.00. Patient 818.00 − 633.00 = 185.00.
    est = _estimate("hdhp", "NY")
    assert [str(ln.assistance) for ln in est.visits[0].lines] == [
        "578.00",
        "0.00",
        "40.00",
        "15.00",
    ]
    assert est.totals.patient_net == Money("185.00")
    assert [(a.program_id, str(a.used)) for a in est.assistance] == [
        ("spravato-withme", "578.00"), ("spravato-withme:observation", "55.00")
    ]  # fmt: skip


@pytest.mark.parametrize("state", ["MA", None])  # None: the clinic's state, Massachusetts
def test_the_observation_rebate_is_not_valid_in_the_excluded_states(state: str | None) -> None:
    # "Not valid for residents of MA, MI, MN or RI": only the medication savings, 578.00;
    # the patient pays 818.00 − 578.00 = 240.00.
    est = _estimate("hdhp", state)
    assert est.totals.patient_net == Money("240.00")
    assert [a.program_id for a in est.assistance] == ["spravato-withme"]


def test_a_state_must_be_two_capital_letters() -> None:
    with pytest.raises(ketacost.RequestFileError, match=r"patient\.state"):
        _estimate("hdhp", "New York")
