"""The visit memo and the session shapes the engine keeps per stretch between change dates.

The engine repeats a covered visit an earlier one settled, and keeps a session's codes,
charges and rules per stretch between the dates on which a payer's dated value or coverage
rule, or the clinic's code or charge, changes (``ketacost._engine._memo``). These worked
examples change one thing alone mid-plan, on a date nothing else changes, so a stretch that
missed it would repeat the old figures. Each is also estimated with the memo off
(``_memo.ENABLED = False``): the bytes must be the same.

The plan: 10 weekly visits of one line (code 90000) from Monday 2026-01-05; the plan has no
deductible and no out-of-pocket maximum, so every visit after the first repeats the one
before it until something changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _builders import clinic, covered, excluded, line, network, payer, payers, request, session

import ketacost
from ketacost._engine import _memo

ROOT = Path(__file__).resolve().parent.parent

WEEKLY = [{"name": "weekly", "session": "visit", "sessions": 10, "every_weeks": 1}]
CHANGE = "2026-02-02"  # the fifth visit (Mondays: Jan 5, 12, 19, 26, Feb 2, ...)


def _estimate(
    payer_data: dict[str, Any],
    chargemaster: dict[str, Any],
    library: ketacost.PayerLibrary | None = None,
    code: str = "90000",
) -> ketacost.Estimate:
    library = library or ketacost.PayerLibrary(payers(payer_data))
    data = request(clinic(chargemaster, {"visit": session(line(code))}), WEEKLY, start="2026-01-05")
    req = ketacost.request_from_data(data, payers=library)
    found = ketacost.adjudicate(req, library)
    _memo.ENABLED = False
    try:
        fresh = ketacost.adjudicate(req, library)
    finally:
        _memo.ENABLED = True
    assert found.model_dump_json() == fresh.model_dump_json()
    return found


def _plan(*rules: dict[str, Any], rate: Any = "100.00") -> dict[str, Any]:
    cost_sharing = {"visit": {"copay": "20.00", "coinsurance": "0", "deductible_applies": True}}
    return payer(
        networks={"in": network(rates={"90000": rate}, cost_sharing=cost_sharing)},
        coverage=rules,
    )


def test_a_rule_that_ends_mid_plan_stops_covering_on_its_last_day() -> None:
    # Covered through Sunday 2026-02-01, excluded from the 2nd: visits 1-4 pay the $20
    # copay of the $100 allowed (the plan pays $80); visits 5-10 are not covered, so the
    # patient owes the $150 charge (the clinic bills gross charges without a self-pay price).
    until = {**covered("90000", category="visit"), "effective_until": "2026-02-01"}
    then = {**excluded("90000", reason="not a benefit from February"), "effective_from": CHANGE}
    est = _estimate(_plan(until, then), {"90000": "150.00"})
    lines = [visit.lines[0] for visit in est.visits]
    assert [ln.covered for ln in lines] == [True] * 4 + [False] * 6
    assert [str(ln.payer) for ln in lines[:4]] == ["80.00"] * 4
    assert {ln.reason for ln in lines[4:]} == {"not a benefit from February"}


def test_a_payer_rate_that_changes_mid_plan_prices_from_its_date() -> None:
    # Allowed $100 until 2026-02-01, $120 from the 2nd: the plan pays $80, then $100.
    est = _estimate(
        _plan(covered("90000", category="visit"), rate={"2026-01-01": "100.00", CHANGE: "120.00"}),
        {"90000": "150.00"},
    )
    assert [str(v.lines[0].payer) for v in est.visits] == ["80.00"] * 4 + ["100.00"] * 6


def test_a_clinic_charge_that_changes_mid_plan_is_charged_from_its_date() -> None:
    # The charge goes from $150 to $90 on 2026-02-02: the allowed amount is the lesser of
    # the charge and the $100 rate, so the plan pays $80, then $70 (90 - 20).
    est = _estimate(
        _plan(covered("90000", category="visit")),
        {"90000": {"2026-01-01": "150.00", CHANGE: "90.00"}},
    )
    lines = [visit.lines[0] for visit in est.visits]
    assert [str(ln.charge) for ln in lines] == ["150.00"] * 4 + ["90.00"] * 6
    assert [str(ln.payer) for ln in lines] == ["80.00"] * 4 + ["70.00"] * 6


def test_a_fee_schedule_that_starts_pricing_a_code_mid_plan_covers_it_from_its_date() -> None:
    # Priced from a physician fee schedule chosen by date: until 2026-02-01 one that lacks
    # 99214 (the line has no allowed amount, so it is not covered and the patient owes the
    # $300 charge), from 2026-02-02 one that prices it (covered: the patient pays the $20
    # copay). The first visits are not covered by a rule that covers the code, so the memo
    # must tell the stretches apart even before any visit was covered (it did not before
    # 2026-11-30: all ten visits were repeated as not covered).
    bundled = ketacost.load_payers(ROOT / "payers")
    full = bundled.fee_schedules["medicare-pfs-2026"]
    lacking = {code: rvu for code, rvu in full.codes.items() if code != "99214"}
    schedules = {
        "pfs-a": full.model_copy(update={"id": "pfs-a", "codes": lacking}),
        "pfs-b": full.model_copy(update={"id": "pfs-b"}),
    }
    allowed = {
        "basis": "medicare_fee_schedule",
        "schedule": {"2026-01-01": "pfs-a", CHANGE: "pfs-b"},
        "rates": {},
    }
    cost_sharing = {"visit": {"copay": "20.00", "coinsurance": "0", "deductible_applies": True}}
    data = payer(
        networks={"in": network(allowed=allowed, cost_sharing=cost_sharing)},
        coverage=[covered("99214", category="visit")],
    )
    library = ketacost.PayerLibrary(payers(data), fee_schedules=schedules)
    est = _estimate(data, {"99214": "300.00"}, library, code="99214")
    lines = [visit.lines[0] for visit in est.visits]
    assert [ln.covered for ln in lines] == [False] * 4 + [True] * 6
    assert [str(ln.patient) for ln in lines] == ["300.00"] * 4 + ["20.00"] * 6


def test_two_rules_of_one_approval_group_count_a_repeated_visit_as_deciding_would() -> None:
    # Two codes billed together, each under its own rule of authorization group "grp": up to
    # 6 visits under 90000's rule, 3 under 90001's. The patient holds two group approvals
    # with neither an end nor a visit count, so each takes its rule's visit count (the two
    # approvals are each one approval for both rules). Deciding a visit counts
    # 90000 first: against the first approval with room for a visit; 90001 then finds its
    # date already counted there and is within it too. So visits 1-6 count against the
    # first approval, 7-12 against the second, and 13-14 find both used up: not covered,
    # the patient pays the charges ($100 + $50 = $150 a visit, $300 in all).
    # A repeated visit must count the same. A first version of the memo's check (never
    # released) did not see that 90000 had counted the date, put 90001 on the second
    # approval from visit 4, and left visits 10-14 not covered ($750 instead of $300).
    found = _group_estimate(
        [{"authorization_visits": 6}, {"authorization_visits": 3}],
        [{"group": "grp", "approved_from": "2026-01-05"}] * 2,
        visits=14,
    )
    covered_visits = [all(ln.covered for ln in visit.lines) for visit in found.visits]
    assert covered_visits == [True] * 12 + [False] * 2
    assert not any(ln.covered for visit in found.visits[12:] for ln in visit.lines)
    assert str(found.totals.patient) == "300.00"


def test_an_approval_held_for_a_group_is_one_approval_for_every_rule_of_it() -> None:
    # Two codes billed together under two rules of group "grp". The patient holds, in this
    # order, an approval for code 90001 alone (2 visits) and one for the group (4 visits).
    # 90000's rule sees only the group approval; 90001's sees both, the codes one first.
    # Visits 1-2: 90000 on the group approval, 90001 on its codes approval. Visits 3-4:
    # 90001's codes approval is used up; it finds the date already counted on the group
    # approval, so both are covered. Visit 5: the group approval has its 4 visits: neither
    # line is covered; nor at visit 6. The patient pays the charges of visits 5 and 6:
    # 2 × ($100 + $50) = $300.
    # Until 2026-11-30 an approval was numbered by its place among those each rule sees, so
    # 90000's group approval shared a number with 90001's codes approval: the group approval
    # was counted apart for each rule and 90001 stayed covered at visits 5 and 6 (the
    # patient paid $200, not $300).
    found = _group_estimate(
        [{}, {}],
        [
            {"codes": ["90001"], "approved_from": "2026-01-05", "visits": 2},
            {"group": "grp", "approved_from": "2026-01-05", "visits": 4},
        ],
        visits=6,
    )
    by_visit = [[ln.covered for ln in visit.lines] for visit in found.visits]
    assert by_visit == [[True, True]] * 4 + [[False, False]] * 2
    assert str(found.totals.patient) == "300.00"


def _group_estimate(
    conditions: list[dict[str, Any]], held: list[dict[str, Any]], *, visits: int
) -> ketacost.Estimate:
    """Weekly visits billing 90000 ($100) and 90001 ($50), each under its own rule of
    authorization group "grp" (with ``conditions``), approved, the approvals ``held``; no
    cost sharing. Checked against the memo off."""
    cost_sharing = {"visit": {"copay": "0", "coinsurance": "0", "deductible_applies": False}}
    rules = [
        covered(code, category="visit", prior_authorization=True, authorization_group="grp",
                **extra)
        for code, extra in zip(("90000", "90001"), conditions, strict=True)
    ]  # fmt: skip
    rates = {"90000": "100.00", "90001": "50.00"}
    data = payer(networks={"in": network(rates=rates, cost_sharing=cost_sharing)}, coverage=rules)
    library = ketacost.PayerLibrary(payers(data))
    req_data = request(
        clinic(rates, {"visit": session(line("90000"), line("90001"))}),
        [{"name": "weekly", "session": "visit", "sessions": visits, "every_weeks": 1}],
        start="2026-01-05",
        prior_authorization="approved",
    )
    req_data["coverage"]["authorizations"] = [dict(h) for h in held]
    req = ketacost.request_from_data(req_data, payers=library)
    found = ketacost.adjudicate(req, library)
    _memo.ENABLED = False
    try:
        assert ketacost.adjudicate(req, library).model_dump_json() == found.model_dump_json()
    finally:
        _memo.ENABLED = True
    return found
