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
