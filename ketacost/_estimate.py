"""The estimate: every line, every visit, every plan year, and the totals.

Identities that hold for every line, to the cent (tested as properties):

* ``patient + payer + write_off == charge``
* ``patient == copay + deductible + coinsurance + balance_bill + non_covered``
* ``patient_net == patient - assistance`` (so ``patient_net + assistance + payer + write_off
  == charge``)

``patient`` is what the patient owes under the plan's rules; ``assistance`` is what a
manufacturer savings program pays toward it; ``patient_net`` is what is left for the patient.
On a superbill line the patient pays the clinic the whole charge and ``payer`` (also shown as
``reimbursement``) is what the plan pays back, so ``patient`` is already net of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from datetime import date
from typing import Literal

from pydantic import Field

from ._money import Money
from ._types import Model

__all__ = [
    "Accumulators",
    "AssistanceYear",
    "Coordination",
    "CostRange",
    "Estimate",
    "EstimateLine",
    "EstimateRange",
    "PlanYearSummary",
    "RangeDriver",
    "SelfPayComparison",
    "SelfPayItem",
    "Totals",
    "VisitEstimate",
]


class Accumulators(Model):
    """Deductible and out-of-pocket amounts met so far in the plan year."""

    deductible_individual: Money
    deductible_family: Money
    out_of_pocket_individual: Money
    out_of_pocket_family: Money


def _unset(value: object) -> bool:
    """Whether an optional field is left out of the JSON: when it is not set.

    Estimates without the feature keep their bytes (the range before the one range model,
    second payers).
    """
    return value is None


def _zero(value: Money) -> bool:
    return not value.cents


class Totals(Model):
    charge: Money
    allowed: Money
    copay: Money
    deductible: Money
    coinsurance: Money
    balance_bill: Money
    non_covered: Money
    patient: Money
    payer: Money
    write_off: Money = Field(
        description="what the clinic does not collect: the contractual adjustment (charge "
        "minus allowed) plus the self-pay discount"
    )
    self_pay_discount: Money = Field(
        description="part of write_off: charge minus the self-pay price on items the plan does "
        "not cover (self-pay visits are charged their price, so they have none)"
    )
    assistance: Money = Field(description="paid by a manufacturer savings program")
    reimbursement: Money = Field(description="paid back to the patient by the plan (superbill)")
    patient_net: Money = Field(description="patient minus assistance: what the patient pays")
    secondary: Money = Field(
        default=Money(0),
        exclude_if=_zero,
        description="paid by a second payer (coordination of benefits); left out of the JSON "
        "when zero",
    )


class EstimateLine(Model):
    """One billed code on one visit, and who pays what for it."""

    visit: int = Field(ge=1)
    date: dt.date
    phase: str
    session: str
    variant: str = Field(description="billing variant used (default, medicare-g-code, ...)")
    code: str
    units: int
    modifiers: tuple[str, ...]
    description: str
    billed_by: str = Field(
        description="clinic, or specialty pharmacy (the drug under the pharmacy benefit)"
    )
    charge: Money
    allowed: Money
    covered: bool
    rule: str = Field(description="the rule that decided coverage and price")
    reason: str | None = Field(description="why the line is not covered, if it is not")
    category: str | None
    copay: Money
    deductible: Money
    coinsurance: Money
    balance_bill: Money
    non_covered: Money = Field(description="owed for an item the plan does not cover")
    patient: Money
    payer: Money
    write_off: Money = Field(description="contractual adjustment plus self-pay discount")
    self_pay_discount: Money = Field(description="charge minus the self-pay price, not covered")
    assistance: Money = Field(description="paid by a manufacturer savings program")
    reimbursement: Money = Field(description="paid back to the patient by the plan (superbill)")
    patient_net: Money = Field(description="patient minus assistance")
    secondary_payer_id: str | None = Field(
        default=None, exclude_if=_unset, description="the second payer on the line, if any"
    )
    secondary: Money = Field(
        default=Money(0),
        exclude_if=_zero,
        description="paid by the second payer (its method's explanation is in `explanation`); "
        "left out of the JSON when zero",
    )
    explanation: tuple[str, ...] = Field(description="how each amount was reached, in order")
    accumulators_before: Accumulators
    accumulators_after: Accumulators


class VisitEstimate(Model):
    number: int = Field(ge=1)
    date: dt.date
    phase: str
    session: str
    plan_year: dt.date = Field(description="first day of the plan year the visit falls in")
    payer_id: str
    network: str
    lines: tuple[EstimateLine, ...]
    totals: Totals


class PlanYearSummary(Model):
    """One plan year of one coverage period: its payer, visits, totals and accumulators."""

    start: date
    end: date
    payer_id: str
    payer_name: str
    visits: int
    totals: Totals
    accumulators_start: Accumulators
    accumulators_end: Accumulators
    deductible_individual: Money | None = Field(description="deductible in force at the start")
    out_of_pocket_max_individual: Money | None = Field(description="None: no cap")
    secondary_payer_id: str | None = Field(
        default=None, exclude_if=_unset, description="the second payer, if any"
    )
    secondary_accumulators_end: Accumulators | None = Field(
        default=None,
        exclude_if=_unset,
        description="the second payer's own accumulators after the year's last visit (its "
        "plan year may start on another date)",
    )


class AssistanceYear(Model):
    """A manufacturer savings program over one calendar year of the plan."""

    program_id: str
    program_name: str
    year: int
    annual_max: Money
    used: Money
    remaining: Money
    exhausted_visit: int | None = Field(description="the visit where the annual maximum ran out")
    exhausted_on: date | None


class RangeDriver(Model):
    """One unknown input, varied alone with every other input at its expected value."""

    input: str = Field(description="e.g. prior_authorization, sessions:boosters, dose:induction")
    description: str
    low_value: str = Field(description="the value of the input that gives the lowest cost")
    high_value: str
    low: Money = Field(description="patient_net total with the input at low_value")
    high: Money


class CostRange(Model):
    """Low, expected and high cost when some inputs are not known yet: the one range model.

    Every range the library makes is one of these, made by one mechanism
    (:func:`ketacost._range.measure_all`): the estimate's own (:class:`EstimateRange`, the
    whole plan's ``patient_net``), a Good Faith Estimate's 12 months (charges in the period,
    :func:`ketacost.good_faith_range`), and the web calculator's "not sure" answer (the first
    year's cost). ``expected`` is the figure for the inputs as written (the calculator: the
    figure its table shows). ``basis`` says in words what the low and high assume; the
    session counts are set when the range is one of sessions. Optional fields not set are
    left out of the JSON.
    """

    low: Money
    expected: Money
    high: Money
    basis: str | None = Field(
        default=None, exclude_if=_unset, description="what low and high assume, in words"
    )
    low_sessions: int | None = Field(
        default=None, exclude_if=_unset, description="sessions in the low case"
    )
    high_sessions: int | None = Field(
        default=None, exclude_if=_unset, description="sessions in the high case"
    )


class EstimateRange(CostRange):
    """The estimate's range: low, expected and high ``patient_net`` over the whole plan.

    Expected is the request as written; low and high are the lowest and highest over every
    combination of the unknown inputs' values.
    """

    low_inputs: dict[str, str] = Field(description="input -> value in the lowest combination")
    high_inputs: dict[str, str] = Field(description="input -> value in the highest combination")
    drivers: tuple[RangeDriver, ...] = Field(description="inputs by swing, largest first")
    combinations: int


class SelfPayItem(Model):
    """An item billed as self-pay: a Good Faith Estimate is owed for it.

    A patient who pays for an item without a claim to a plan that covers it (self-pay, a
    superbill, or an item the plan does not cover) is a self-pay individual for that item
    (45 CFR 149.610(a)(2)).
    """

    code: str
    description: str
    billed_as: Literal["self-pay", "superbill", "not covered"] = Field(
        description="a self-pay patient, a superbill, or an item the plan does not cover"
    )
    lines: int = Field(ge=1, description="how many lines bill it")
    first_date: date
    last_date: date
    price: Money = Field(description="what the patient owes for it over the whole plan")
    why: str = Field(description="self-pay, superbill, or the plan's reasons not to cover it")


class SelfPayComparison(Model):
    """Paying cash for the whole plan against going through the plan, when cash costs less."""

    self_pay: Money = Field(description="patient_net for the whole plan as a self-pay patient")
    through_plan: Money = Field(description="patient_net for the whole plan as estimated")
    saving: Money = Field(description="through_plan minus self_pay")
    note: str


def _empty(value: tuple[object, ...]) -> bool:
    return not value


class Coordination(Model):
    """Two payers on one coverage: who pays first, and how the second pays."""

    starts: date | None = Field(description="the coverage period's start (None: the first)")
    primary_payer_id: str
    secondary_payer_id: str
    secondary_payer_name: str
    method: str = Field(description="how the second payer pays (ketacost._secondary)")
    method_source: str
    order_rule: str = Field(description="why this payer pays first, in words")
    order_source: str | None = Field(description="where that rule is stated")
    balance_billing_prohibited: bool = Field(
        description="a Qualified Medicare Beneficiary: the clinic may not bill the patient "
        "Medicare cost sharing (SSA §1902(n)(3)(B))"
    )


class Estimate(Model):
    """The result of :func:`ketacost.estimate`. Same request, byte-identical JSON."""

    library_version: str
    rules_hash: str = Field(description="sha256 of the payer and clinic rules used")
    issued: date | None
    payer_id: str = Field(description="the payer of the first coverage period")
    payer_name: str
    network: str
    visits: tuple[VisitEstimate, ...]
    plan_years: tuple[PlanYearSummary, ...]
    totals: Totals
    assistance: tuple[AssistanceYear, ...] = ()
    range: EstimateRange | None = None
    warnings: tuple[str, ...] = ()
    self_pay_items: tuple[SelfPayItem, ...] = Field(
        default=(), description="items billed as self-pay, for which a Good Faith Estimate is owed"
    )
    self_pay_comparison: SelfPayComparison | None = Field(
        default=None, description="set when paying cash for the whole plan costs the patient less"
    )
    coordination: tuple[Coordination, ...] = Field(
        default=(),
        exclude_if=_empty,
        description="each coverage with a second payer: the order of benefits and the method",
    )

    def lines(self) -> Iterator[EstimateLine]:
        """Every line of every visit, in order."""
        for visit in self.visits:
            yield from visit.lines
