"""Issue 11 §3: approvals that renew, authorizations the patient holds, and the renewal as a
range driver. Worked examples on the bundled iv-trd-payer (criteria as BCBS MA policy 087:
initial approval up to 28 days, renewed on documented response; renewal lengths 28 then 90
days, illustrative) and the example clinic, with the arithmetic written out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _builders as b
import pytest

import ketacost
from ketacost import Estimate, Money

ROOT = Path(__file__).resolve().parents[1]
PAYERS = ketacost.load_payers()


def _iv(coverage: dict[str, Any], boosters: int = 2) -> dict[str, Any]:
    """Intake 2026-01-26, 6 infusions every 2 days from 2026-02-02 (02-02 … 02-12), then
    boosters every 4 weeks from 03-07; the deductible and 1,000.00 of the maximum met."""
    return {
        "patient": {"birth_date": "1986-10-10", "diagnoses": ["F33.2"], "failed_trials": 4},
        "coverage": {
            "payer": "iv-trd-payer",
            "prior_authorization": "approved",
            "accumulators": {
                "as_of": "2026-01-01",
                "deductible_met": {"individual": "1000.00"},
                "out_of_pocket_met": {"individual": "1000.00"},
            },
            **coverage,
        },
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {
            "start": "2026-01-26",
            "phases": [
                {"session": "intake-prescriber", "sessions": 1},
                {"session": "iv-infusion", "sessions": 6, "every_days": 2, "start": "2026-02-02"},
                {"session": "iv-infusion", "sessions": boosters, "every_weeks": 4,
                 "start_after_weeks": 3},
            ],
        },
    }  # fmt: skip


def _without_boosters(data: dict[str, Any]) -> dict[str, Any]:
    data["plan"]["phases"] = data["plan"]["phases"][:2]
    return data


def _estimate(data: dict[str, Any]) -> Estimate:
    return ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS)


def test_an_expected_renewal_covers_the_boosters_and_is_a_range_driver() -> None:
    est = _estimate(_iv({}))
    # approval 2026-02-02 to 03-01; renewal 1 (28 days) 03-02 to 03-29 covers the 03-07
    # booster, renewal 2 (90 days) 03-30 to 06-27 the 04-04 one. Each infusion: 96365 20% ×
    # 110.00 = 22.00 + J3490 20% × 15.00 = 3.00 → 25.00. Patient 30.00 + 8 × 25.00 = 230.00.
    assert all(ln.covered for ln in est.lines())
    assert est.totals.patient == Money("230.00")
    (note,) = [w for w in est.warnings if "renewal" in w]
    assert "prior authorization window of 28 days (2026-02-02 to 2026-03-01) has ended" in note
    # the renewal periods the plan needs, for the office to request each in time
    assert "renewals on documented response (2026-03-02 to 2026-03-29, 2026-03-30 to " in note
    assert "2026-06-27); request each before it starts" in note
    # The range: the renewal denied makes the boosters self-pay at 450.00 each:
    # 30.00 + 6 × 25.00 + 2 × 450.00 = 1,080.00
    assert est.range is not None
    assert (est.range.low, est.range.expected, est.range.high) == (
        Money("230.00"), Money("230.00"), Money("1080.00")
    )  # fmt: skip
    (driver,) = est.range.drivers
    assert (driver.input, driver.low_value, driver.high_value) == (
        "authorization_renewal", "approved", "denied"
    )  # fmt: skip


def test_a_renewal_said_approved_is_not_a_range_driver() -> None:
    est = _estimate(_iv({"authorization_renewal": "approved"}))
    assert est.totals.patient == Money("230.00") and est.range is None


def test_a_denied_renewal_leaves_the_later_sessions_self_pay() -> None:
    est = _estimate(_iv({"authorization_renewal": "denied"}))
    booster = est.visits[7].lines[0]
    assert not booster.covered
    assert booster.reason == (
        "prior authorization window of 28 days (2026-02-02 to 2026-03-01) has ended; its "
        "renewal is denied"
    )
    assert est.totals.patient == Money("1080.00") and est.range is None


def test_a_held_authorization_for_four_visits_then_renewal_denied() -> None:
    # The patient holds an approval for 4 visits of the trd group from 2026-02-02: infusions
    # 1-4 covered (4 × 25.00); infusions 5 and 6 and both boosters self-pay, 4 sessions (fewer
    # than the 6-infusion package) at 450.00.
    held = {"group": "trd", "approved_from": "2026-02-02", "visits": 4}
    est = _estimate(_iv({"authorizations": [held], "authorization_renewal": "denied"}))
    covered = [v.date.isoformat() for v in est.visits if v.lines[0].covered]
    assert covered == ["2026-01-26", "2026-02-02", "2026-02-04", "2026-02-06", "2026-02-08"]
    assert est.visits[5].lines[0].reason == (
        "prior authorization for 4 visits from 2026-02-02 is used up; its renewal is denied"
    )
    # 30.00 + 4 × 25.00 + 4 × 450.00 = 1,930.00
    assert est.totals.patient == Money("1930.00")


def test_a_held_authorization_with_dates_starts_and_ends_where_it_says() -> None:
    held = {"codes": ["96365", "J3490"], "approved_from": "2026-02-04", "approved_to": "2026-02-10"}
    est = _estimate(
        _without_boosters(_iv({"authorizations": [held], "authorization_renewal": "denied"}))
    )
    reasons = [v.lines[0].reason for v in est.visits[1:]]
    assert reasons == [
        "prior authorization starts 2026-02-04",  # 02-02
        None, None, None, None,  # 02-04, 02-06, 02-08, 02-10 (the last day it covers)
        "prior authorization (2026-02-04 to 2026-02-10) has ended; its renewal is denied",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("held", "message"),
    [
        ({"approved_from": "2026-02-02"}, "give either codes or group"),
        ({"group": "trd", "codes": ["96365"], "approved_from": "2026-02-02"}, "give either"),
        (
            {"group": "trd", "approved_from": "2026-02-02", "approved_to": "2026-02-01"},
            r"approved_to \(2026-02-01\) is before approved_from \(2026-02-02\)",
        ),
        ({"group": "trd", "approved_from": "2026-02-02", "visits": 0}, "visits"),
    ],
)
def test_a_bad_held_authorization_is_refused(held: dict[str, Any], message: str) -> None:
    with pytest.raises(ketacost.RequestFileError, match=message):
        ketacost.request_from_data(_iv({"authorizations": [held]}), payers=PAYERS)


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"renewal_days": [28]}, "renewal_days: needs prior_authorization: true"),
        ({"prior_authorization": True, "renewal_days": [28]}, "needs an initial length"),
        ({"authorization_visits": 4}, "authorization_visits: needs prior_authorization: true"),
        (
            {"prior_authorization": True, "authorization_days": 28, "renewal_days": [0]},
            "renewal_days",
        ),
    ],
)
def test_a_bad_renewal_rule_is_refused(conditions: dict[str, Any], message: str) -> None:
    rule = b.covered("99214", category="all", **conditions)
    data = b.payer(networks={"in": b.network(rates={"99214": "100.00"})}, coverage=[rule])
    with pytest.raises(ketacost.PayerFileError, match=message):
        ketacost.payer_from_data(data)


def test_two_held_approvals_each_cover_their_own_dates() -> None:
    # The IV year as 17 sessions; approvals held for 02-02 to 02-12 and 03-01 to 04-30, the
    # renewal denied: the induction (02-02 … 02-12) is covered by the first, the boosters of
    # 03-07 and 04-04 by the second; 4 more boosters from 05-02 are past both: self-pay.
    held = [
        {"group": "trd", "approved_from": "2026-02-02", "approved_to": "2026-02-12"},
        {"group": "trd", "approved_from": "2026-03-01", "approved_to": "2026-04-30"},
    ]
    est = _estimate(_iv({"authorizations": held, "authorization_renewal": "denied"}, 6))
    covered = [v.date.isoformat() for v in est.visits[1:] if v.lines[0].covered]
    assert covered[-2:] == ["2026-03-07", "2026-04-04"] and len(covered) == 8
    assert est.visits[9].lines[0].reason == (
        "prior authorization (2026-03-01 to 2026-04-30) has ended; its renewal is denied"
    )
    # 30.00 + 8 × 25.00 + 4 × 450.00 = 2,030.00 (4 self-pay boosters: no 6-session package)
    assert est.totals.patient == Money("2030.00")


def test_a_held_approval_without_an_end_takes_the_payers_initial_length() -> None:
    # approved from 02-02 with no end and no visit count: the payer's 28 days (to 03-01)
    held = {"group": "trd", "approved_from": "2026-02-02"}
    est = _estimate(_iv({"authorizations": [held], "authorization_renewal": "denied"}))
    assert est.visits[7].lines[0].reason == (
        "prior authorization window of 28 days (2026-02-02 to 2026-03-01) has ended; its "
        "renewal is denied"
    )


@pytest.mark.parametrize(
    ("coverage", "message"),
    [
        (
            {"authorizations": [{"group": "nosuch", "approved_from": "2026-02-02"}]},
            r"coverage\.authorizations\[0\]\.group: iv-trd-payer has no authorization group "
            r"'nosuch' \(known: trd\)",
        ),
        (
            {"authorizations": [{"codes": ["99214"], "approved_from": "2026-02-02"}]},
            r"coverage\.authorizations\[0\]\.codes: no rule of iv-trd-payer needs prior "
            r"authorization for 99214",
        ),
        (
            {
                "prior_authorization": "denied",
                "authorizations": [{"group": "trd", "approved_from": "2026-02-02"}],
            },
            r"coverage\.authorizations: an approval is held, but prior_authorization is denied",
        ),
    ],
)
def test_a_held_authorization_the_payer_cannot_use_is_refused(
    coverage: dict[str, Any], message: str
) -> None:
    with pytest.raises(ketacost.RequestFileError, match=message):
        ketacost.request_from_data(_iv(coverage), payers=PAYERS)


def test_boosters_after_a_covered_induction_are_not_the_induction_package() -> None:
    # The clinic's package prices "the first 6 IV infusions". Here the plan covers the
    # induction (the first 6 infusions), and the boosters after the 28-day approval, its
    # renewal denied, are self-pay: each at the session price 450.00, never the package's
    # 400.00 (they are not the first 6 sessions of the template).
    request = ketacost.load_request(
        ROOT / "examples" / "requests" / "iv-series-self-pay.yaml", payers=PAYERS
    )
    patient = request.patient.model_copy(update={"failed_trials": 4})
    coverage = ketacost.Coverage(
        payer="iv-trd-payer", prior_authorization="approved", authorization_renewal="denied"
    )
    est = ketacost.estimate(
        request.model_copy(update={"patient": patient, "coverage": coverage}), payers=PAYERS
    )
    # the first booster (2027-02-01) is still inside the approval (2027-01-05 to 02-01)
    boosters = [v for v in est.visits if v.phase == "boosters" and not v.lines[0].covered]
    assert len(boosters) == 10
    assert {str(v.totals.patient) for v in boosters} == {"450.00"}
    assert not any("package" in " ".join(ln.explanation) for v in boosters for ln in v.lines)


def test_a_held_authorization_for_units_covers_until_they_are_used() -> None:
    # Esketamine 56 mg weekly on the PPO; the patient holds an approval for 112 units (mg) of
    # J0013 from 2026-03-02: sessions 1 and 2 use 56 + 56 = 112; session 3's 56 more are past
    # it (the PPO does not renew), so its drug line is self-pay.
    data = {
        "patient": {"birth_date": "1980-05-01", "diagnoses": ["F33.2"], "failed_trials": 2},
        "coverage": {
            "payer": "commercial-ppo",
            "authorizations": [{"codes": ["J0013"], "approved_from": "2026-03-02", "units": 112}],
        },
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {"start": "2026-03-02",
                 "phases": [{"session": "esketamine-56", "sessions": 3, "every_weeks": 1}]},
    }  # fmt: skip
    est = _estimate(data)
    drugs = [v.lines[0] for v in est.visits]
    assert [ln.covered for ln in drugs] == [True, True, False]
    assert drugs[2].reason == (
        "prior authorization for 112 units from 2026-03-02 is used up (112 used, 56 more billed)"
    )


def test_an_approval_held_for_s0013_and_j0013_counts_its_visits_once_across_the_code_change() -> (
    None
):
    # The commercial PPO covers esketamine under S0013 until 2025-12-31 and J0013 from
    # 2026-01-01 (UnitedHealthcare 2026D0069P), two rules with no authorization group. The
    # patient holds one approval for 8 visits listing both codes, from 2025-12-01; the plan
    # has 16 esketamine sessions every 3 days (S0013 through 2025-12-31, J0013 from the
    # visit of 2026-01-03). One approval, one count: visits 1-8 are covered, 9-16 not
    # ("used up"), whichever code a visit bills. Until 2026-11-30 each rule counted the
    # approval apart, so the J0013 visits 12-16 were covered again: 13 visits on an
    # approval for 8.
    data = {
        "issued": "2025-11-21",
        "patient": {"age": 46, "diagnoses": ["F33.2"], "failed_trials": 2},
        "coverage": {
            "payer": "commercial-ppo",
            "network": "in",
            "prior_authorization": "approved",
            "authorizations": [
                {"codes": ["S0013", "J0013"], "approved_from": "2025-12-01", "visits": 8}
            ],
        },
        "clinic": str(ROOT / "examples" / "clinics" / "example-clinic.yaml"),
        "plan": {
            "start": "2025-12-01",
            "phases": [{"session": "esketamine-56", "sessions": 16, "every_days": 3}],
        },
    }
    est = ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS)
    drug = [ln for visit in est.visits for ln in visit.lines if ln.code in ("S0013", "J0013")]
    assert [ln.code for ln in drug] == ["S0013"] * 11 + ["J0013"] * 5
    assert [ln.covered for ln in drug] == [True] * 8 + [False] * 8
    assert all(
        ln.reason == "prior authorization for 8 visits from 2025-12-01 is used up"
        for ln in drug[8:]
    )


def test_an_approval_held_for_codes_of_two_rules_renews_once() -> None:
    # Two rules without a group, each renewing for 90 days: 90000 until 2026-02-01, 90001
    # from 2026-02-02 (a code change). The patient holds one approval for 2 visits listing
    # both codes, from 2026-01-05; 8 weekly visits. Visits 1-2 (01-05, 01-12) use it up;
    # from 01-19 the visits are covered under a renewal on documented response, one chain
    # from 01-19 to 04-18 for the one approval. (Before 2026-11-30 renewals were kept per
    # rule: two warnings, one starting 01-19 and one 02-02, for one approval.)
    cost_sharing = {"visit": {"copay": "0", "coinsurance": "0", "deductible_applies": False}}
    terms = {"prior_authorization": True, "renewal_days": [90], "authorization_visits": 2}
    rules = [
        {**b.covered("90000", category="visit", **terms), "effective_until": "2026-02-01"},
        {**b.covered("90001", category="visit", **terms), "effective_from": "2026-02-02"},
    ]
    rates = {"90000": "100.00", "90001": "50.00"}
    data = b.payer(
        networks={"in": b.network(rates=rates, cost_sharing=cost_sharing)}, coverage=rules
    )
    library = ketacost.PayerLibrary(b.payers(data))
    req_data = b.request(
        b.clinic(rates, {"visit": b.session(b.line("90000"), b.line("90001"))}),
        [{"name": "weekly", "session": "visit", "sessions": 8, "every_weeks": 1}],
        start="2026-01-05",
        prior_authorization="approved",
    )
    req_data["coverage"]["authorizations"] = [
        {"codes": ["90000", "90001"], "approved_from": "2026-01-05", "visits": 2}
    ]
    est = ketacost.adjudicate(ketacost.request_from_data(req_data, payers=library), library)
    renewals = [w for w in est.warnings if "renewals on documented response" in w]
    assert len(renewals) == 1
    assert "prior authorization for 2 visits from 2026-01-05 is used up" in renewals[0]
    assert "(2026-01-19 to 2026-04-18)" in renewals[0]
