"""The estimate: every line, every visit, every plan year, and the totals.

Identities that hold for every line, to the cent (tested as properties):

* ``patient + payer + write_off == charge``
* ``patient == copay + deductible + coinsurance + balance_bill + non_covered``
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from datetime import date

from pydantic import Field

from ._money import Money
from ._types import Model

__all__ = ["Accumulators", "Estimate", "EstimateLine", "PlanYearSummary", "Totals", "VisitEstimate"]


class Accumulators(Model):
    """Deductible and out-of-pocket amounts met so far in the plan year."""

    deductible_individual: Money
    deductible_family: Money
    out_of_pocket_individual: Money
    out_of_pocket_family: Money


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
        description="contractual adjustment: charge minus allowed, in network (self-pay "
        "lines are charged the self-pay price, so they have none)"
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
    non_covered: Money
    patient: Money
    payer: Money
    write_off: Money
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
    start: date
    end: date
    payer_id: str
    visits: int
    totals: Totals
    accumulators_start: Accumulators
    accumulators_end: Accumulators
    deductible_individual: Money | None = Field(description="deductible in force at the start")
    out_of_pocket_max_individual: Money | None = Field(description="None: no cap")


class Estimate(Model):
    """The result of :func:`ketacost.estimate`. Same request, byte-identical JSON."""

    library_version: str
    rules_hash: str = Field(description="sha256 of the payer and clinic rules used")
    issued: date | None
    payer_id: str
    payer_name: str
    network: str
    visits: tuple[VisitEstimate, ...]
    plan_years: tuple[PlanYearSummary, ...]
    totals: Totals
    warnings: tuple[str, ...] = ()

    def lines(self) -> Iterator[EstimateLine]:
        """Every line of every visit, in order."""
        for visit in self.visits:
            yield from visit.lines
