"""Original Medicare's own rules on a line: participation, liability notices, payment cuts.

* A clinic that does not participate is allowed ``non_participating.allowed`` (95%) of the
  fee schedule amount per unit; on an unassigned claim it bills the patient up to the
  limiting charge (115% of that, per unit) and Medicare pays its share to the patient
  (Noridian JF Part B "Non-participation"; SSA §1848(g)). Charge above the limiting charge
  is written off.
* A line Medicare excludes is either a statutory exclusion (modifier GY: the patient owes
  it, no notice needed) or a denial as not reasonable and necessary: with a signed Advance
  Beneficiary Notice (modifier GA) the patient owes it, without one (GZ) the clinic does
  (CMS-R-131; Palmetto GBA "How to use modifiers to indicate the status of an ABN").
* A payer's ``payment_reduction`` (Medicare's sequestration) cuts its payment on each
  covered line after the deductible and coinsurance, rounded half-up per line (the named
  rounding point ``payment-reduction``); the patient's cost share is not cut. The clinic
  writes the cut off, except where the payer pays the patient (an unassigned claim, a
  superbill): there the patient bears it (Noridian, "Mandatory payment reduction of 2%").
"""

from __future__ import annotations

from datetime import date

from ketacost._money import cents_times_rate
from ketacost._payer import ExcludedRule

from . import _explain as explain
from ._coverage import CoverageInForce, has_value_on, value_on
from ._ledger import BillLine

__all__ = ["bill_unassigned", "liability_notices", "non_participating", "reduce_payments"]


def non_participating(
    coverage: CoverageInForce, unit: int, source: str, units: int, on: date
) -> tuple[int, str, int | None]:
    """(allowed per unit, its source in words, the limiting charge of the line or None).

    ``unit`` is the fee schedule amount per unit; the limiting charge is given on an
    unassigned claim only.
    """
    terms = coverage.non_participating
    assert terms is not None
    rate = value_on(terms.allowed, on, "non_participating.allowed")
    allowed = cents_times_rate(unit, rate)
    words = explain.non_participating_source(source, rate, unit)
    if not coverage.unassigned:
        return allowed, words, None
    limiting = value_on(terms.limiting_charge, on, "non_participating.limiting_charge")
    return allowed, words, cents_times_rate(allowed, limiting) * units


def bill_unassigned(line: BillLine, limiting: int) -> None:
    """An unassigned claim: the patient pays up to the limiting charge; Medicare pays them."""
    billed = min(line.charge, max(limiting, line.allowed))
    line.balance_bill = billed - line.allowed
    line.paid_to_patient = True
    line.note(explain.limiting_charge_note, billed, line.charge, limiting, line.allowed)


def liability_notices(
    coverage: CoverageInForce, lines: list[BillLine], on: date, warnings: list[str]
) -> None:
    """Who is liable for each line Original Medicare excludes, and the claim's modifier."""
    if coverage.payer.kind != "medicare":
        return
    for line in lines:
        if line.covered:
            continue
        rule = coverage.rule_in_force(line.code, on)
        if not isinstance(rule, ExcludedRule):
            continue
        if rule.liability == "statutory":
            line.notice = "GY"
            line.note(explain.statutory_note)
        elif coverage.cov.abn_signed:
            line.notice = "GA"
            line.note(explain.abn_signed_note)
        else:
            line.notice = "GZ"
            line.note(explain.no_abn_note, rule.reason, line.charge)
            warning = explain.no_abn_warning(coverage.payer.name, line.code, rule.reason)
            if warning not in warnings:
                warnings.append(warning)


def reduce_payments(coverage: CoverageInForce, lines: list[BillLine], on: date) -> None:
    """Cut the payer's payment on each covered line by its ``payment_reduction``.

    Also says what the patient is paid back where the payer pays the patient.
    """
    cut_by = coverage.payer.payment_reduction
    to_patient = coverage.superbill
    for line in lines:
        if not line.covered:
            continue
        payment = line.allowed - line.cost_share
        if cut_by is not None and has_value_on(cut_by.percent, on):
            rate = value_on(cut_by.percent, on, "payment_reduction.percent")
            line.payment_reduction = cut = cents_times_rate(payment, rate)
            if cut:
                on_patient = to_patient or line.paid_to_patient
                if on_patient:
                    line.balance_bill += cut
                line.note(explain.payment_reduction_note, cut, rate, payment, cut_by.reason,
                          on_patient)  # fmt: skip
        if to_patient or line.paid_to_patient:
            claim = "superbill claim" if to_patient else "unassigned claim"
            line.note(explain.reimbursed_note, line.allowed, line.cost_share,
                      line.payment_reduction, claim)  # fmt: skip
