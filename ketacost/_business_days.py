"""Federal business days: weekdays that are not a U.S. federal holiday (as observed).

The No Surprises Act deadlines of a Good Faith Estimate are counted in business days (45 CFR
149.610(b)(1)). The holidays are the federal ones of 5 U.S.C. 6103(a), from the maintained
``holidays`` package (``holidays.US``, its default "public" category). A holiday falling on a
Saturday is observed the Friday before, and one on a Sunday the Monday after (5 U.S.C.
6103(b); Executive Order 11582; OPM "Federal Holidays", opm.gov/policy-data-oversight/pay-leave/
federal-holidays): the observed day is the day off, so it is the day that is not a business
day. ``holidays.US`` lists the observed day beside the actual one (2026-07-04 is a Saturday,
"Independence Day (observed)" is Friday 2026-07-03) and a Saturday New Year's Day observed
on the Friday of the year before (2021-12-31 for 2022-01-01), as OPM does.

Pure: no clock, no I/O (the holiday tables are computed, not downloaded).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

__all__ = [
    "add_business_days",
    "business_days_between",
    "federal_holiday",
    "is_business_day",
]

#: Saturday and Sunday (date.weekday()).
_WEEKEND = (5, 6)


@functools.cache
def _federal_holidays(year: int) -> dict[date, str]:
    """The federal holidays of ``year`` as observed (the actual day too), date -> name.

    A Saturday New Year's Day's observed Friday, 31 December, is listed under the year it
    falls in (2021-12-31 with 2021's holidays).
    """
    import holidays  # a core dependency, imported when a deadline is first counted

    found = holidays.country_holidays("US", years=year, observed=True)
    return {day: str(name) for day, name in found.items()}


def federal_holiday(day: date) -> str | None:
    """The federal holiday ``day`` is (or is the observed day of), or None.

    >>> federal_holiday(date(2026, 7, 3))
    'Independence Day (observed)'
    """
    return _federal_holidays(day.year).get(day)


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a federal holiday as observed."""
    return day.weekday() not in _WEEKEND and federal_holiday(day) is None


def add_business_days(day: date, count: int) -> date:
    """The ``count``-th business day after ``day`` (before it, for a negative ``count``).

    ``count`` 0 is ``day`` itself, whatever it is. ``day`` itself is never counted: one
    business day after Friday 2026-11-27 is Monday 2026-11-30.

    >>> add_business_days(date(2026, 11, 25), 1)  # Thanksgiving on Thursday 11-26
    datetime.date(2026, 11, 27)
    """
    step = timedelta(days=1 if count > 0 else -1)
    left = abs(count)
    while left:
        day += step
        if is_business_day(day):
            left -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """How many business days fall after ``start`` up to and including ``end`` (0 if none).

    So ``add_business_days(start, n) <= end`` exactly when ``n <= business_days_between(start,
    end)``: an item on ``end`` is scheduled that many business days ahead of ``start``.
    """
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += is_business_day(day)
    return count
