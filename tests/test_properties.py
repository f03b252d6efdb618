"""Properties of the engine, over random payers, clinics, plans and requests.

Each test states one invariant of the contract in the module docstring of
``ketacost/_engine.py`` (cited by rule number) and checks it on every estimate drawn. The
strategies are in ``strategies.py``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from strategies import SELF_PAY_PAYER, Case, cases, phase_data, raised_amounts

from ketacost import (
    Accumulators,
    Clinic,
    Estimate,
    EstimateLine,
    EstimateRequest,
    Money,
    Payer,
    Totals,
    adjudicate,
    clinic_from_data,
    expand,
    request_from_data,
)
from ketacost._money import MONEY_PATTERN

#: Every amount a line and a total carry, from the model itself.
LINE_AMOUNTS = tuple(Totals.model_fields)


def _estimate(case: Case) -> Estimate:
    return adjudicate(case.request, case.payers)


def _cost_share(line: EstimateLine) -> int:
    return line.copay.cents + line.deductible.cents + line.coinsurance.cents


def _met_before(case: Case, year: date) -> tuple[int, int, int, int]:
    """(deductible individual, family, out-of-pocket individual, family) met before the first
    visit of the plan year starting ``year``: the request's starting accumulators if that plan
    year contains their ``as_of`` date (rule 1), else nothing. A family amount of 0 means
    'not given'; the family amount includes the individual's, so it is at least that."""
    acc = case.request.coverage.accumulators
    if acc is None or case.payer.plan_year_start.year_of(acc.as_of) != year:
        return 0, 0, 0, 0
    d, o = acc.deductible_met, acc.out_of_pocket_met
    return (
        d.individual.cents,
        max(d.family.cents, d.individual.cents),
        o.individual.cents,
        max(o.family.cents, o.individual.cents),
    )


def _remaining_bounds(
    case: Case, ind_limit: int, fam_limit: int | None, family_type: str, ind_met: int, fam_met: int
) -> int:
    """What may still be paid (rule 6): the individual amount for individual coverage; for
    family coverage both amounts when embedded, the family amount alone when aggregate."""
    ind_left = max(0, ind_limit - ind_met)
    if case.request.coverage.tier == "individual" or fam_limit is None:
        return ind_left
    fam_left = max(0, fam_limit - fam_met)
    return min(ind_left, fam_left) if family_type == "embedded" else fam_left


# -- 1. line identities ---------------------------------------------------------------------------
@given(cases())
def test_every_line_balances(case: Case) -> None:
    # Rule 9, and rules 3 and 4 for what a line may hold.
    for line in _estimate(case).lines():
        assert line.patient + line.payer + line.write_off == line.charge
        assert line.patient == (
            line.copay + line.deductible + line.coinsurance + line.balance_bill + line.non_covered
        )
        for name in LINE_AMOUNTS:
            assert getattr(line, name).cents >= 0, name
        assert line.allowed <= line.charge
        if line.covered:
            assert line.non_covered == Money(0)
            assert _cost_share(line) <= line.allowed.cents
        else:
            assert line.patient == line.charge == line.non_covered
            assert line.payer == line.allowed == Money(0)


# -- 2, 3. caps within a plan year ----------------------------------------------------------------
@given(cases(self_pay=False))
def test_cost_share_never_exceeds_the_out_of_pocket_max(case: Case) -> None:
    # Rule 7: cumulative cost share in a plan year ≤ the maximum − what was met before.
    net = case.payer.networks.get(case.request.coverage.network)
    if net is None or net.out_of_pocket_max is None:
        return  # nothing covered, or no cap (Original Medicare)
    oop = net.out_of_pocket_max
    paid: dict[date, int] = defaultdict(int)
    for line in _estimate(case).lines():
        year = case.payer.plan_year_start.year_of(line.date)
        paid[year] += _cost_share(line)
        _, _, ind_met, fam_met = _met_before(case, year)
        fam = None if oop.family is None else oop.family.at(line.date).cents
        left = _remaining_bounds(
            case, oop.individual.at(line.date).cents, fam, oop.family_type, ind_met, fam_met
        )
        assert paid[year] <= left, f"plan year {year}: {paid[year]} > {left} at {line.visit}"


@given(cases(self_pay=False))
def test_deductible_paid_never_exceeds_what_remained(case: Case) -> None:
    # Rules 5 and 6: cumulative deductible in a plan year ≤ the deductible − what was met.
    net = case.payer.networks.get(case.request.coverage.network)
    if net is None:
        return
    ded = net.deductible
    paid: dict[date, int] = defaultdict(int)
    for line in _estimate(case).lines():
        year = case.payer.plan_year_start.year_of(line.date)
        paid[year] += line.deductible.cents
        ind_met, fam_met, _, _ = _met_before(case, year)
        fam = None if ded.family is None else ded.family.at(line.date).cents
        left = _remaining_bounds(
            case, ded.individual.at(line.date).cents, fam, ded.family_type, ind_met, fam_met
        )
        assert paid[year] <= left, f"plan year {year}: {paid[year]} > {left} at {line.visit}"


# -- 4. more visits never cost less ---------------------------------------------------------------
def _one_more_session(phase: Mapping[str, Any]) -> dict[str, Any]:
    longer = dict(phase)
    if "per_week" in longer:
        longer["weeks"] += 1
    else:
        longer["sessions"] += 1
        if "every_days" not in longer and "every_weeks" not in longer:
            longer["every_days"] = 1  # a one-session phase has a 1-day period
    return longer


@given(cases(packages=False), st.data())
def test_adding_a_visit_never_lowers_the_patient_total(case: Case, data: st.DataObject) -> None:
    # Packages are left out: a package prices its first N sessions together, so the N-th
    # session can lower the total (see test_a_package_can_make_one_more_visit_cheaper).
    plan = case.data["plan"]
    phases = list(plan["phases"])
    if data.draw(st.booleans(), label="extra phase"):
        sessions = tuple(case.request.clinic.sessions)
        phases.append(data.draw(phase_data(sessions=sessions), label="phase"))
    else:
        phases[-1] = _one_more_session(phases[-1])
    more = case.with_changes(plan={**plan, "phases": phases})
    before, after = _estimate(case), adjudicate(more, case.payers)
    assert len(after.visits) > len(before.visits)
    assert after.totals.patient >= before.totals.patient
    # Why: visits are processed in date order (rule 1), so later visits cannot change earlier
    # ones.
    assert after.visits[: len(before.visits)] == before.visits


def test_a_package_can_make_one_more_visit_cheaper() -> None:
    # Not a bug: a package prices the first N sessions of a template together (rule 8).
    # Five infusions at $450 = $2,250; the sixth brings the 6-for-$2,000 package into force.
    clinic = clinic_from_data(
        {
            "name": "Package clinic",
            "npi": "1234567893",
            "tin": "12-3456789",
            "address": {"line1": "1 Main St", "city": "Boston", "state": "MA", "zip": "02134"},
            "chargemaster": {"96365": "650.00"},
            "sessions": {
                "iv": {
                    "description": "IV",
                    "lines": [{"code": "96365", "description": "IV infusion"}],
                    "self_pay": "450.00",
                }
            },
            "packages": [{"id": "six", "session": "iv", "sessions": 6, "price": "2000.00"}],
        }
    )
    payers = {SELF_PAY_PAYER.id: SELF_PAY_PAYER}

    def total(n: int) -> Money:
        request = request_from_data(
            {
                "patient": {"age": 40},
                "coverage": {"payer": "self-pay"},
                "clinic": clinic,
                "plan": {
                    "start": "2027-01-04",
                    "phases": [{"session": "iv", "sessions": n, "every_days": 2}],
                },
            },
            payers=payers,
        )
        return adjudicate(request, payers).totals.patient

    assert total(5) == Money("2250.00")  # 5 × 450
    assert total(6) == Money("2000.00")  # the package
    assert total(7) == Money("2450.00")  # the package + 450


# -- 5. more already met never costs more ---------------------------------------------------------
@given(cases(self_pay=False, accumulators=True), st.data())
def test_more_already_met_never_raises_the_patient_total(case: Case, data: st.DataObject) -> None:
    # Raise the deductible met, then (separately) the out-of-pocket amount met.
    acc = case.data["coverage"]["accumulators"]
    total = _estimate(case).totals.patient
    for field in ("deductible_met", "out_of_pocket_met"):
        higher = {**acc, field: data.draw(raised_amounts(acc[field]), label=field)}
        raised = case.with_coverage(accumulators=higher)
        assert adjudicate(raised, case.payers).totals.patient <= total, field


# -- 6. money in JSON -----------------------------------------------------------------------------
def _money_in(model: BaseModel, dumped: Any, path: str) -> Iterator[tuple[str, Money, Any]]:
    """(path, Money, its JSON value) for every Money field of ``model``, however deep."""
    for name in type(model).model_fields:
        yield from _money_value(getattr(model, name), dumped[name], f"{path}.{name}")


def _money_value(value: Any, dumped: Any, path: str) -> Iterator[tuple[str, Money, Any]]:
    if isinstance(value, Money):
        yield path, value, dumped
    elif isinstance(value, BaseModel):
        yield from _money_in(value, dumped, path)
    elif isinstance(value, tuple):
        assert len(value) == len(dumped)
        for i, (v, d) in enumerate(zip(value, dumped, strict=True)):
            yield from _money_value(v, d, f"{path}[{i}]")


@given(cases())
def test_every_money_field_in_the_json_has_two_places(case: Case) -> None:
    estimate = _estimate(case)
    dumped = json.loads(estimate.model_dump_json())
    found = list(_money_in(estimate, dumped, "estimate"))
    assert len(found) >= 10  # the totals, at least
    for path, value, text in found:
        assert isinstance(text, str), path
        assert re.fullmatch(MONEY_PATTERN, text), (path, text)
        assert Money(text) == value, path


# -- 7. round trips -------------------------------------------------------------------------------
def _same_construction(a: Any, b: Any, path: str = "") -> None:
    """``a`` and ``b`` are alike model for model: same types, same fields set, same values."""
    assert type(a) is type(b), path
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, path
        for name in type(a).model_fields:
            _same_construction(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_construction(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@given(cases())
def test_request_and_estimate_survive_json_round_trips_byte_for_byte(case: Case) -> None:
    request = case.request
    request_again = EstimateRequest.model_validate_json(request.model_dump_json())
    assert request_again == request
    payers_again = {
        k: Payer.model_validate_json(p.model_dump_json()) for k, p in case.payers.items()
    }
    assert payers_again == case.payers

    # The engine builds its output without validation (``trusted``); validating its JSON
    # must give the same objects, built the same way.
    estimate = _estimate(case)
    text = estimate.model_dump_json()
    estimate_again = Estimate.model_validate_json(text)
    assert estimate_again == estimate
    _same_construction(estimate_again, estimate)
    assert estimate_again.model_dump_json() == text

    # Same input, same bytes: twice, and from the input rebuilt from its JSON (new objects,
    # so no cache keyed by identity can help).
    assert _estimate(case).model_dump_json() == text
    assert adjudicate(request_again, payers_again).model_dump_json() == text


# -- 8. totals are sums ---------------------------------------------------------------------------
def _sum(lines: list[EstimateLine], name: str) -> Money:
    return Money.from_cents(sum(getattr(line, name).cents for line in lines))


@given(cases())
def test_totals_are_the_sums_of_their_lines(case: Case) -> None:
    estimate = _estimate(case)
    all_lines = list(estimate.lines())
    by_year: dict[date, list[EstimateLine]] = defaultdict(list)
    visits_in_year: dict[date, int] = defaultdict(int)
    for visit in estimate.visits:
        assert visit.plan_year == case.payer.plan_year_start.year_of(visit.date)
        by_year[visit.plan_year] += visit.lines
        visits_in_year[visit.plan_year] += 1
        for name in LINE_AMOUNTS:
            assert getattr(visit.totals, name) == _sum(list(visit.lines), name), name
    assert [y.start for y in estimate.plan_years] == sorted(by_year)
    for year in estimate.plan_years:
        assert year.visits == visits_in_year[year.start]
        for name in LINE_AMOUNTS:
            assert getattr(year.totals, name) == _sum(by_year[year.start], name), name
    for name in LINE_AMOUNTS:
        assert getattr(estimate.totals, name) == _sum(all_lines, name), name


# -- 9. self-pay ----------------------------------------------------------------------------------
def _session_price(clinic: Clinic, session: str, on: date) -> int:
    """Cents for one session at its self-pay price, else at the chargemaster."""
    tmpl = clinic.sessions[session]
    if tmpl.self_pay is not None:
        return tmpl.self_pay.cents
    return sum(
        clinic.chargemaster[line.code.at(on)].at(on).cents * line.units for line in tmpl.lines
    )


@given(cases(self_pay=True))
def test_self_pay_total_is_the_sum_of_session_prices(case: Case) -> None:
    # Rule 8: the session's self-pay price, or the package price (once) for the first N
    # sessions of its template; nothing accumulates.
    clinic = case.request.clinic
    estimate = _estimate(case)
    packaged: set[int] = set()
    expected = 0
    by_session: dict[str, list[int]] = defaultdict(list)
    for v in expand(case.request.plan):
        by_session[v.session].append(v.number)
    for pkg in clinic.packages:
        numbers = by_session.get(pkg.session, [])
        if len(numbers) >= pkg.sessions:
            expected += pkg.price.cents
            packaged |= set(numbers[: pkg.sessions])
    for visit in estimate.visits:
        if visit.number not in packaged:
            price = _session_price(clinic, visit.session, visit.date)
            assert visit.totals.patient.cents == price, visit.number
            expected += price
    assert estimate.totals.patient.cents == expected

    zero = Accumulators(
        deductible_individual=Money(0),
        deductible_family=Money(0),
        out_of_pocket_individual=Money(0),
        out_of_pocket_family=Money(0),
    )
    for line in estimate.lines():
        assert not line.covered
        assert line.patient == line.charge == line.non_covered
        assert line.payer == line.allowed == line.write_off == Money(0)
        assert _cost_share(line) == 0
        assert line.accumulators_before == line.accumulators_after == zero
    for year in estimate.plan_years:
        assert year.accumulators_start == year.accumulators_end == zero


# -- the engine's visit memo is an optimisation only ------------------------------------------------
@given(cases())
def test_the_visit_memo_changes_no_byte(case: Case) -> None:
    """Visits repeated from an earlier identical visit equal the ones computed afresh."""
    from ketacost import _engine

    with_memo = _estimate(case).model_dump_json()
    _engine.MEMO = False
    try:
        without = _estimate(case).model_dump_json()
    finally:
        _engine.MEMO = True
    assert with_memo == without
