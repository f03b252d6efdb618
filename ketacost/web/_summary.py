"""What the calculator page shows above the table.

The first session, month and year, and the cumulative cost of each visit with where the
deductible and out-of-pocket maximum are reached.

"What the patient pays" is ``patient_net``: what they owe under the plan, less what a
manufacturer savings program pays (the same as ``patient`` when there is none).

Pure: an :class:`~ketacost.Estimate` (or each visit's totals, without the lines) and the
plan's start date in, a :class:`Summary` out.
The first month runs to the same day of the next month, the first year to the same day of
the next year (a start on the 31st or on 29 February ends on the month's last day).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import Field

from ketacost._engine import Met, VisitTotals
from ketacost._errors import EstimateError
from ketacost._estimate import Accumulators, Estimate, PlanYearSummary
from ketacost._money import Money
from ketacost._types import Model

__all__ = [
    "Milestone",
    "SeriesPoint",
    "Summary",
    "add_months",
    "summarize",
    "summarize_visits",
]


def _unset(value: object) -> bool:
    """An optional figure is left out of the JSON when not set (answers keep their bytes)."""
    return value is None


class SeriesPoint(Model):
    """One visit: what the patient pays for it, and in total so far."""

    visit: int
    date: dt.date
    session: str
    plan_year: dt.date
    charge: Money
    patient: Money = Field(description="what the patient pays (after any savings program)")
    payer: Money
    cumulative_patient: Money


class Milestone(Model):
    """The visit at which the patient's deductible (or out-of-pocket maximum) is met."""

    kind: Literal["deductible", "out_of_pocket_max"]
    plan_year: dt.date = Field(description="first day of the plan year")
    amount: Money = Field(description="the individual amount in force at the year's start")
    visit: int = Field(description="the visit that meets it (the year's first visit if earlier)")
    date: dt.date
    met_before_start: bool = Field(description="already met before the year's first visit")
    cumulative_patient: Money = Field(description="patient total, all visits, after that visit")


class Summary(Model):
    """The headline figures of an estimate, for a patient."""

    start: date
    first_session: Money = Field(description="patient cost of the first visit")
    first_session_date: date
    first_session_label: str
    first_month: Money = Field(description="patient cost of the visits before first_month_end")
    first_month_end: date = Field(description="first day after the first month")
    first_year: Money = Field(description="patient cost of the visits before first_year_end")
    first_year_end: date = Field(description="first day after the first year")
    first_year_plan_pays: Money
    first_year_charge: Money
    first_year_visits: int
    total: Money = Field(description="patient cost of the whole plan")
    series: tuple[SeriesPoint, ...]
    milestones: tuple[Milestone, ...]
    self_pay_instead: Money | None = Field(
        default=None,
        description="the whole plan at the clinic's self-pay prices, set when that costs the "
        "patient less than going through the plan",
    )
    second_payer_name: str | None = Field(
        default=None,
        exclude_if=_unset,
        description="the other coverage that pays second, if any (left out when none)",
    )
    first_year_second_payer_pays: Money | None = Field(
        default=None,
        exclude_if=_unset,
        description="what the other coverage pays for the first year's visits (left out when "
        "there is none)",
    )


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day; past 9999 the last date.

    >>> add_months(date(2026, 1, 31), 1), add_months(date(2028, 2, 29), 12)
    (datetime.date(2026, 2, 28), datetime.date(2029, 2, 28))
    >>> add_months(date(9999, 6, 1), 12)
    datetime.date(9999, 12, 31)
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return date.max
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def summarize(estimate: Estimate, start: date, labels: dict[str, str] | None = None) -> Summary:
    """Headline figures of ``estimate`` for a plan that starts on ``start``.

    Args:
        estimate: at least one visit.
        start: the plan's start (the first month and year count from it).
        labels: a description per session id, for the first visit's label.

    Raises:
        EstimateError: the estimate has no visit.
    """
    visits = [
        VisitTotals(
            v.number,
            v.date,
            v.session,
            v.plan_year,
            v.totals,
            _met(v.lines[0].accumulators_before),
            _met(v.lines[-1].accumulators_after),
        )
        for v in estimate.visits
    ]
    second = estimate.coordination[0].secondary_payer_name if estimate.coordination else None
    compared = estimate.self_pay_comparison
    return summarize_visits(
        visits,
        estimate.plan_years,
        estimate.totals.patient_net,
        start,
        labels,
        second_payer_name=second,
        self_pay_instead=compared.self_pay if compared is not None else None,
    )


def _met(accumulators: Accumulators) -> Met:
    return Met(
        accumulators.deductible_individual.cents,
        accumulators.deductible_family.cents,
        accumulators.out_of_pocket_individual.cents,
        accumulators.out_of_pocket_family.cents,
    )


def summarize_visits(
    visits: Sequence[VisitTotals],
    plan_years: Sequence[PlanYearSummary],
    total: Money,
    start: date,
    labels: dict[str, str] | None = None,
    *,
    second_payer_name: str | None = None,
    self_pay_instead: Money | None = None,
) -> Summary:
    """:func:`summarize` from each visit's totals.

    An estimate's, or the engine's without the lines
    (``ketacost._engine.adjudicate_totals(..., by_visit=True)``).

    Args:
        visits: at least one.
        plan_years: the estimate's plan years.
        total: what the patient pays for the whole plan (``totals.patient_net``).
        start: the plan's start (the first month and year count from it).
        labels: a description per session id, for the first visit's label.
        second_payer_name: the other coverage that pays second, if any.
        self_pay_instead: the estimate's self-pay comparison, if any.

    Raises:
        EstimateError: no visit, or plan years that do not hold the visits (in turn, each
            its ``visits`` of them).
    """
    if not visits:
        raise EstimateError("a summary needs at least one visit (by_visit=True gives them)")
    if sum(year.visits for year in plan_years) != len(visits):
        raise EstimateError("the plan years do not hold these visits")
    month_end, year_end = add_months(start, 1), add_months(start, 12)
    series: list[SeriesPoint] = []
    running = 0
    for v in visits:
        running += v.totals.patient_net.cents
        series.append(
            SeriesPoint(
                visit=v.number,
                date=v.day,
                session=v.session,
                plan_year=v.plan_year,
                charge=v.totals.charge,
                patient=v.totals.patient_net,
                payer=v.totals.payer,
                cumulative_patient=Money.from_cents(running),
            )
        )
    first_year = [v for v in visits if v.day < year_end]
    first = visits[0]
    second = second_payer_name is not None
    return Summary(
        start=start,
        first_session=first.totals.patient_net,
        first_session_date=first.day,
        first_session_label=(labels or {}).get(first.session, first.session),
        first_month=sum([v.totals.patient_net for v in visits if v.day < month_end], Money(0)),
        first_month_end=month_end,
        first_year=sum([v.totals.patient_net for v in first_year], Money(0)),
        first_year_end=year_end,
        first_year_plan_pays=sum([v.totals.payer for v in first_year], Money(0)),
        first_year_charge=sum([v.totals.charge for v in first_year], Money(0)),
        first_year_visits=len(first_year),
        total=total,
        series=tuple(series),
        milestones=tuple(_milestones(visits, plan_years, series)),
        self_pay_instead=self_pay_instead,
        second_payer_name=second_payer_name,
        first_year_second_payer_pays=(
            sum([v.totals.secondary for v in first_year], Money(0)) if second else None
        ),
    )


def _milestones(
    visits: Sequence[VisitTotals], plan_years: Sequence[PlanYearSummary], series: list[SeriesPoint]
) -> list[Milestone]:
    cumulative = {p.visit: p.cumulative_patient for p in series}
    found: list[Milestone] = []
    # The plan years hold the visits in turn, each its own number of them: under coverage
    # periods two payers' plan years can start on the same day, and each has its own deductible.
    first = 0
    for year in plan_years:
        in_year = visits[first : first + year.visits]
        first += year.visits
        if not in_year:
            continue
        targets = (
            ("deductible", year.deductible_individual, "deductible_individual"),
            ("out_of_pocket_max", year.out_of_pocket_max_individual, "out_of_pocket_individual"),
        )
        for kind, amount, field in targets:
            if amount is None or not amount.cents:
                continue
            before = getattr(in_year[0].met_before, field)
            if before >= amount.cents:
                hit, met_before = in_year[0], True
            else:
                met_before = False
                hits = [v for v in in_year if getattr(v.met_after, field) >= amount.cents]
                if not hits:
                    continue
                hit = hits[0]
            found.append(
                Milestone(
                    kind=kind,  # type: ignore[arg-type]
                    plan_year=year.start,
                    amount=amount,
                    visit=hit.number,
                    date=hit.day,
                    met_before_start=met_before,
                    cumulative_patient=cumulative[hit.number],
                )
            )
    return found
