"""The billing procedure for one visit under one coverage.

In the order a billing office follows it (contract rules 2 to 7, 11 and 12):

1. decide, line by line, whether the plan covers it (the rule in force, its conditions);
2. count the visit against each session limit its covered lines belong to;
3. price each covered line: the allowed amount (and a balance bill out of network, or what a
   superbill claim does not reimburse);
4. give back a counted session when pricing left none of its lines covered;
5. share the cost, line by line: the copay (once per visit per category), the deductible,
   coinsurance, then the out-of-pocket maximum's cap;
6. a second payer pays on what the first left (coordination of benefits, ``_coordination``);
7. let a manufacturer savings program pay its part of what the patient still owes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ketacost._money import cents_times_rate
from ketacost._payer import (
    CostShare,
    FeeSchedule,
    MedicareFeeSchedule,
    PercentOfCharge,
    PercentOfPayer,
)

from . import _explain as explain
from ._coverage import CoverageInForce, plan_year_value, value_on
from ._ledger import Accumulated, BillLine
from ._medicare import bill_unassigned, liability_notices, non_participating, reduce_payments
from ._pharmacy import price_at_pharmacy, share_at_pharmacy
from ._remaining import remaining, settle
from ._savings import Assistance

__all__ = ["bill_visit", "pay_assistance", "unit_rate"]


def bill_visit(
    coverage: CoverageInForce,
    lines: list[BillLine],
    on: date,
    age: int,
    accumulated: Accumulated,
    warnings: list[str] | None = None,
) -> None:
    """Bill one visit's lines (already charged) under ``coverage``, moving ``accumulated``.

    Steps 1 to 5; a second payer (:mod:`._coordination`) and a savings program
    (:func:`pay_assistance`) come after. ``warnings`` gets the estimate's warnings (an
    Advance Beneficiary Notice to get); none for a second payer's own adjudication.
    """
    for line in lines:
        line.covered, line.rule, line.reason, line.category = coverage.decide(
            line.code, on, age, line.template.units
        )
    if coverage.network is None:  # no benefits in this network at all
        return
    liability_notices(coverage, lines, on, [] if warnings is None else warnings)
    counted = count_limits(coverage, lines, on, accumulated)
    for line in lines:
        if line.covered:
            if line.pharmacy:
                price_at_pharmacy(coverage, line, on)
            else:
                price(coverage, line, on)
    if counted:
        give_back(coverage, lines, counted, accumulated)
    share_costs(coverage, lines, on, accumulated)
    reduce_payments(coverage, lines, on)


# ---- 6: manufacturer savings ----------------------------------------------------------------
def pay_assistance(
    coverage: CoverageInForce,
    lines: list[BillLine],
    on: date,
    accumulated: Accumulated,
    assistance: Assistance,
    number: int,
    warnings: list[str],
) -> None:
    """Let a savings program pay its part of what the patient still owes.

    After any second payer: the program pays on what is left to the patient.
    """
    if coverage.program is not None:
        patient = coverage.request.patient
        state = patient.state or coverage.request.clinic.address.state
        assistance.pay(coverage.program, coverage.payer, lines, number, on, accumulated, state)
    elif coverage.program_note is not None and coverage.program_note not in warnings:
        warnings.append(coverage.program_note)


# ---- 2 and 4: session limits ------------------------------------------------------------
def count_limits(
    coverage: CoverageInForce, lines: list[BillLine], on: date, accumulated: Accumulated
) -> list[str]:
    """Count this visit against each session limit its covered lines belong to.

    Lines under a limit already reached become not covered. Returns the limits counted.
    """
    payer = coverage.payer
    counted: list[str] = []
    start = payer.plan_year_start.year_of(on)  # the plan year's limits (plan_year_value)
    for name, limit in payer.limits.items():
        group = [line for line in lines if line.covered and line.code in limit.codes]
        if not group:
            continue
        cap = plan_year_value(limit.sessions_per_plan_year, on, start, f"limits.{name}")
        used = accumulated.sessions.get(name, 0)
        if used >= cap:
            for line in group:
                line.covered = False
                line.rule = f"{payer.id}:limits.{name}"
                line.reason = f"limit: {cap} sessions per plan year reached"
        else:
            accumulated.sessions[name] = used + 1
            counted.append(name)
    return counted


def give_back(
    coverage: CoverageInForce, lines: list[BillLine], counted: list[str], accumulated: Accumulated
) -> None:
    """Give back a counted session when pricing left none of its group covered."""
    for name in counted:
        codes = coverage.payer.limits[name].codes
        if not any(line.covered and line.code in codes for line in lines):
            accumulated.sessions[name] -= 1


# ---- 3: the allowed amount ----------------------------------------------------------------
def price(coverage: CoverageInForce, line: BillLine, on: date) -> None:
    """The allowed amount of a covered line: min(charge, rate × units) (rule 4).

    Also what the patient owes above it out of network or on a superbill (rule 11).
    """
    network = coverage.network
    assert network is not None
    basis = network.allowed
    limiting = None  # a non-participating clinic's limiting charge, on an unassigned claim
    if isinstance(basis, PercentOfCharge):
        rate = value_on(basis.percent, on, "allowed.percent")
        amount = cents_times_rate(line.charge, rate)
        how: tuple[Any, ...] = (explain.percent_of_charge, rate, line.charge, amount)
        if coverage.non_participating is not None:  # the line's amount is its one unit
            words = explain.percent_of_charge(rate, line.charge, amount)
            amount, words, limiting = non_participating(coverage, amount, words, 1, on)
            how = (explain.per_unit, words, amount, 1, amount)
    else:
        found = _unit_rate(coverage, line, on)
        if found is None:
            line.covered = False
            line.rule = f"{coverage.payer.id}:networks.{coverage.cov.network}.allowed"
            line.reason = f"no allowed amount for code {line.code} in the {_source(coverage, on)}"
            return
        unit, source = found
        if coverage.non_participating is not None:
            unit, source, limiting = non_participating(
                coverage, unit, source, line.template.units, on
            )
        amount = unit * line.template.units
        how = (explain.per_unit, source, unit, line.template.units, amount)
    line.allowed = min(line.charge, amount)
    capped_at = line.charge if line.allowed < amount else None
    line.note(explain.allowed_note, line.allowed, how, capped_at)
    if coverage.superbill:
        line.balance_bill = line.charge - line.allowed
        if line.balance_bill:
            line.note(explain.superbill_unpaid_note, line.balance_bill, line.charge, line.allowed)
    elif limiting is not None:
        bill_unassigned(line, limiting)
    elif coverage.cov.network == "out" and network.balance_billing:
        line.balance_bill = line.charge - line.allowed
        if line.balance_bill:
            line.note(explain.balance_bill_note, line.balance_bill, line.charge, line.allowed)


def _source(coverage: CoverageInForce, on: date) -> str:
    """Where the coverage's per-unit rates come from, in words."""
    basis = coverage.network.allowed if coverage.network is not None else None
    if isinstance(basis, PercentOfPayer):
        rate = value_on(basis.percent, on, "allowed.percent")
        return explain.allowed_source(coverage.payer.id, rate, basis.payer)
    return explain.allowed_source(coverage.payer.id, None, None)


def _unit_rate(coverage: CoverageInForce, line: BillLine, on: date) -> tuple[int, str] | None:
    """(allowed per unit in cents, where it comes from), or None when nothing prices the line.

    A percent of another schedule is rounded per unit (the named rounding point
    ``allowed-rate``), after the schedule's own rounding (``fee-schedule``).
    """
    network = coverage.network
    assert network is not None
    basis = network.allowed
    code = line.code
    if isinstance(basis, FeeSchedule | MedicareFeeSchedule):
        unit = _schedule_rate(coverage, basis, line, on)
        if unit is None:
            return None
        return unit, explain.allowed_source(coverage.payer.id, None, None)
    assert isinstance(basis, PercentOfPayer)
    reference = coverage.payers[basis.payer].networks["in"].allowed
    assert isinstance(reference, FeeSchedule | MedicareFeeSchedule)
    percent = value_on(basis.percent, on, "allowed.percent")
    unit = _schedule_rate(coverage, reference, line, on)
    if unit is not None:
        source = explain.allowed_source(coverage.payer.id, percent, basis.payer)
        return cents_times_rate(unit, percent), source
    rate = basis.fallback_rates.get(code)
    if rate is None:
        return None
    unit = value_on(rate, on, f"fee schedule rate for {code}").cents
    return unit, explain.fallback_source(coverage.payer.id, coverage.cov.network, basis.payer, code)


def _schedule_rate(
    coverage: CoverageInForce,
    basis: FeeSchedule | MedicareFeeSchedule,
    line: BillLine,
    on: date,
) -> int | None:
    """A schedule's rate per unit in cents, or None when it does not price the line's code.

    A physician fee schedule prices a code at the clinic's Medicare locality and the session's
    place of service (facility or not); its ``rates`` price the codes it does not.
    """
    code = line.code
    if isinstance(basis, MedicareFeeSchedule):
        name = value_on(basis.schedule, on, "allowed.schedule")
        schedule = next(s for s in coverage.used_schedules if s.id == name)
        place = coverage.place_of_service(line.template)
        unit = coverage.schedule_amount(schedule, code, place)
        if unit is not None:
            return unit
        rvu = schedule.codes.get(code)
        if rvu is not None and rvu.pe_facility is None and schedule.facility(place):
            # A figure missing from the data never makes a line "not covered": the schedule
            # has no facility practice expense for the code, so its office amount stands in
            # (higher than the facility one would be), and the line says so.
            unit = coverage.schedule_amount(schedule, code, "11")
            if unit is not None:
                line.note(explain.facility_fallback_note, code, place, schedule.id)
                return unit
    rate = basis.rates.get(code)
    if rate is None:
        return None
    return value_on(rate, on, f"fee schedule rate for {code}").cents


# ---- 5: cost sharing ------------------------------------------------------------------------
def share_costs(
    coverage: CoverageInForce, lines: list[BillLine], on: date, accumulated: Accumulated
) -> None:
    """Copay, deductible, coinsurance and the out-of-pocket cap, line by line (rules 5-7)."""
    network = coverage.network
    assert network is not None
    copays = _copays(network.cost_sharing, lines, on)
    copay_left: dict[object, int] = {}  # per copay pool: what is left of its copay
    for n, line in enumerate(lines):
        if not line.covered:
            continue
        if line.pharmacy:
            share_at_pharmacy(coverage, line, on, accumulated)
            continue
        category = line.category
        assert category is not None
        pool: object = _pool(network.copay_scope, category, n)
        if pool not in copay_left:
            copay_left[pool] = copays[category] if pool != "visit" else max(copays.values())
        # A category without a copay of its own (a drug under coinsurance) never carries
        # another category's visit copay.
        left = copay_left[pool] if copays[category] else 0
        if pool == "visit" and copays[category] and not left:
            line.note(explain.copay_taken_note, category)
        copay_left[pool] -= _share_line(coverage, line, left, on, accumulated)


def _share_line(
    coverage: CoverageInForce, line: BillLine, copay_left: int, on: date, accumulated: Accumulated
) -> int:
    """One covered line's cost share under the medical benefit; returns the copay it took."""
    network = coverage.network
    assert network is not None and line.category is not None
    category = line.category
    terms = network.cost_sharing[category]
    ded_left, oop_left = remaining(coverage, on, accumulated)
    base = line.allowed
    copay = ded = 0
    if not terms.copay_after_deductible:
        copay = min(copay_left, base)
        base -= copay
    if terms.deductible_applies:
        ded = min(base, ded_left)
        base -= ded
    if terms.copay_after_deductible and (ded_left - ded == 0 or not terms.deductible_applies):
        copay = min(copay_left, base)
        base -= copay
    rate = value_on(terms.coinsurance, on, f"cost_sharing.{category}.coinsurance")
    note = (explain.copay_note, (category, network.copay_scope))
    cost = settle(line, copay, ded, base, rate, ded_left, oop_left, terms.deductible_applies, note)
    ded = line.deductible
    line.credit_deductible, line.credit_out_of_pocket = ded, cost
    accumulated.add(ded, cost)
    return copay  # before the cap: what the visit's copay pool gave up


def _copays(
    cost_sharing: Mapping[str, CostShare], lines: list[BillLine], on: date
) -> dict[str, int]:
    """The copay of each category among the visit's covered lines the clinic bills (cents).

    A drug a specialty pharmacy bills has its tier's copay instead.
    """
    return {
        category: value_on(cost_sharing[category].copay, on, f"cost_sharing.{category}.copay").cents
        for category in {
            line.category for line in lines if line.covered and line.category and not line.pharmacy
        }
    }


def _pool(scope: str, category: str, n: int) -> object:
    """Which copay a line draws on: the visit's one, its category's, or its own."""
    if scope == "visit":
        return "visit"
    if scope == "category":
        return category
    return n


def unit_rate(coverage: CoverageInForce, line: BillLine, on: date) -> tuple[int, str] | None:
    """A payer's own allowed amount per unit for ``line`` (a second payer's "lesser of")."""
    if coverage.network is None or isinstance(coverage.network.allowed, PercentOfCharge):
        return None
    return _unit_rate(coverage, line, on)
