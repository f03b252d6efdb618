"""The drug through a specialty pharmacy, under the payer's pharmacy benefit (issue 11 §4).

The pharmacy's rate × units is both the line's charge and its allowed amount; its cost share
follows the benefit's tier (copay per claim, deductible, coinsurance, the maximum).
"""

from __future__ import annotations

from datetime import date

from . import _explain as explain
from ._coverage import CoverageInForce, plan_year_value, value_on
from ._ledger import Accumulated, BillLine
from ._remaining import remaining, settle

__all__ = ["price_at_pharmacy", "share_at_pharmacy"]


def price_at_pharmacy(coverage: CoverageInForce, line: BillLine, on: date) -> None:
    """A drug the pharmacy bills: its rate × units is both its charge and the allowed amount."""
    ph = coverage.pharmacy
    assert ph is not None
    unit = value_on(ph.rates[line.code], on, f"pharmacy rate for {line.code}").cents
    line.allowed = line.charge
    how = (explain.pharmacy_rate, ph.tier, unit, line.template.units, line.charge)
    line.note(explain.allowed_note, line.allowed, how, None)


def share_at_pharmacy(
    coverage: CoverageInForce, line: BillLine, on: date, accumulated: Accumulated
) -> None:
    """The drug's cost share under the pharmacy benefit (issue 11 §4).

    The tier's copay per claim line, then the deductible where it applies, then coinsurance,
    capped at the maximum: the medical deductible and maximum (integrated) or the benefit's
    own (separate, individual amounts).
    """
    ph = coverage.pharmacy
    assert ph is not None
    separate = ph.accumulators == "separate"
    if separate:  # the benefit's own amounts: the plan year's (plan_year_value)
        start = coverage.payer.plan_year_start.year_of(on)
        ded_left = 0
        if ph.deductible is not None:
            amount = plan_year_value(ph.deductible, on, start, "pharmacy.deductible").cents
            ded_left = max(0, amount - accumulated.pharmacy_deductible)
        oop_left: int | None = None
        if ph.out_of_pocket_max is not None:
            cap = plan_year_value(
                ph.out_of_pocket_max, on, start, "pharmacy.out_of_pocket_max"
            ).cents
            oop_left = max(0, cap - accumulated.pharmacy_out_of_pocket)
    else:
        ded_left, oop_left = remaining(coverage, on, accumulated)
    base = line.allowed
    copay = min(value_on(ph.copay, on, "pharmacy.copay").cents, base)
    base -= copay
    ded = min(base, ded_left) if ph.deductible_applies else 0
    base -= ded
    rate = value_on(ph.coinsurance, on, "pharmacy.coinsurance")
    note = (explain.pharmacy_copay_note, (ph.tier,))
    cost = settle(line, copay, ded, base, rate, ded_left, oop_left, ph.deductible_applies, note)
    ded = line.deductible
    if separate:
        line.accumulates = "pharmacy"
        accumulated.pharmacy_deductible += ded
        accumulated.pharmacy_out_of_pocket += cost
    else:
        line.credit_deductible, line.credit_out_of_pocket = ded, cost
        accumulated.add(ded, cost)
