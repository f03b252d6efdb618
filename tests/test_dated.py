"""Dated values: the value in force on a date, and a plan year's amount (``in_plan_year``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacost import Dated, KetacostError
from ketacost._payer import PlanYearStart

_DAYS = st.dates(date(2020, 1, 1), date(2030, 12, 31))


def test_a_plan_year_keeps_the_amount_of_its_first_day() -> None:
    deductible = Dated.of({date(2025, 1, 1): 1650, date(2026, 1, 1): 1700})
    # a July plan year beginning in 2025: 1,650 on either side of January 1
    start = date(2025, 7, 1)
    assert deductible.in_plan_year(date(2025, 12, 31), start) == 1650
    assert deductible.in_plan_year(date(2026, 1, 5), start) == 1650
    assert deductible.at(date(2026, 1, 5)) == 1700  # the date of service alone reads 2026's
    # a plan year that began before the first date: the date of service reads it
    assert deductible.in_plan_year(date(2025, 3, 2), date(2024, 7, 1)) == 1650
    with pytest.raises(KetacostError, match="no value in force on 2024-12-31"):
        deductible.in_plan_year(date(2024, 12, 31), date(2024, 7, 1))
    assert Dated(5).in_plan_year(date(1999, 1, 1), date(1998, 7, 1)) == 5


@given(
    steps=st.lists(_DAYS, min_size=1, max_size=5, unique=True).map(sorted),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    on=_DAYS,
)
def test_a_plan_years_amount_is_one_value_for_the_whole_plan_year(
    steps: list[date], month: int, day: int, on: date
) -> None:
    value = Dated.of({d: i for i, d in enumerate(steps)})
    start = PlanYearStart(month=month, day=day).year_of(on)
    if on < steps[0]:
        with pytest.raises(KetacostError):
            value.in_plan_year(on, start)
        return
    found = value.in_plan_year(on, start)
    if start >= steps[0]:
        # every day of the plan year up to ``on`` reads the same: the first day's value
        assert found == value.at(start)
        assert all(
            value.in_plan_year(start + timedelta(days=n), start) == found
            for n in range(0, (on - start).days + 1, 29)
        )
    else:
        assert found == value.at(on)
