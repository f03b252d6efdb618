"""When a Good Faith Estimate is due, in federal business days (45 CFR 149.610(b)(1)).

The rules (``../shared/domain.md`` §5.1, §10.6; 45 CFR 149.610(b)(1)(vi)–(vii), 86 FR 56136):

* the primary service scheduled at least 10 business days ahead: within 3 business days of
  scheduling;
* scheduled at least 3 business days ahead: within 1 business day of scheduling;
* scheduled fewer than 3 business days ahead: the regulation sets no deadline;
* requested (no scheduling): within 3 business days of the request;
* a change of scope: a new estimate at least 1 business day before the first service it
  changes (:mod:`ketacost.documents._gfe_reissue`).

"Ahead" counts the business days after the day of scheduling up to and including the day of
service (:func:`ketacost._business_days.business_days_between`). Scheduled on a weekend or a
federal holiday, counting from the next business day instead brings the service one business
day nearer; the regulation does not settle which count applies, so the stricter reading (the
earlier due date) is taken and the timing says so. Where both a scheduling and a
request are known, each rule applies and the earlier due date binds.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from ketacost._business_days import add_business_days, business_days_between, is_business_day
from ketacost._request import GoodFaithDates
from ketacost._types import Model

__all__ = ["GfeTiming", "TimingRule", "gfe_timing", "timing_sentence"]

TimingRule = Literal[
    "scheduled-10-days", "scheduled-3-days", "scheduled-under-3-days", "requested", "change"
]

_CFR = "45 CFR 149.610(b)(1)"


class GfeTiming(Model):
    """When this Good Faith Estimate was due, and whether it was issued on time."""

    rule: TimingRule
    scheduled_on: date | None = Field(description="when the primary service was scheduled")
    requested_on: date | None = Field(description="when the patient asked for an estimate")
    first_service: date = Field(description="the first date of service it is due before")
    business_days_ahead: int | None = Field(
        description="business days from scheduling to the first service (None: not scheduled)"
    )
    due_by: date | None = Field(description="last day to issue it (None: no deadline applies)")
    issued: date
    on_time: bool = Field(description="issued by due_by (always, when no deadline applies)")
    timing_rule: str = Field(description="the rule that applies, in words")


def _rule_for(scheduled_on: date, ahead: int) -> tuple[TimingRule, date | None]:
    if ahead >= 10:
        return "scheduled-10-days", add_business_days(scheduled_on, 3)
    if ahead >= 3:
        return "scheduled-3-days", add_business_days(scheduled_on, 1)
    return "scheduled-under-3-days", None


def _scheduled(scheduled_on: date, first: date) -> tuple[TimingRule, int, date | None, str]:
    ahead = business_days_between(scheduled_on, first)
    head = (
        f"scheduled on {scheduled_on.isoformat()}, {ahead} business "
        f"day{'s' * (ahead != 1)} before the first service on {first.isoformat()}"
    )
    rule, due = _rule_for(scheduled_on, ahead)
    if not is_business_day(scheduled_on) and ahead > 0:
        # Scheduled on a weekend or holiday: counted from the next business day instead, the
        # service is one business day nearer. The regulation does not say which count applies;
        # the stricter reading (the earlier due date; a deadline rather than none) is taken.
        nearer, due_nearer = _rule_for(scheduled_on, ahead - 1)
        if due_nearer is not None and (due is None or due_nearer < due):
            assert due is not None  # fewer days ahead never adds a deadline
            next_day = add_business_days(scheduled_on, 1)
            return nearer, ahead - 1, due_nearer, (
                f"scheduled on {scheduled_on.isoformat()}, not a business day; counted from "
                f"the next business day, {next_day.isoformat()}, the first service on "
                f"{first.isoformat()} is {ahead - 1} business days ahead (from "
                f"{scheduled_on.isoformat()} itself, {ahead}, which would make it due by "
                f"{due.isoformat()}): the stricter reading applies, due within 1 business day "
                f"of scheduling, by {due_nearer.isoformat()} ({_CFR})"
            )  # fmt: skip
    if rule == "scheduled-10-days":
        assert due is not None
        return rule, ahead, due, (
            f"{head} (at least 10): due within 3 business days of scheduling, by "
            f"{due.isoformat()} ({_CFR})"
        )  # fmt: skip
    if rule == "scheduled-3-days":
        assert due is not None
        return rule, ahead, due, (
            f"{head} (at least 3): due within 1 business day of scheduling, by "
            f"{due.isoformat()} ({_CFR})"
        )  # fmt: skip
    return rule, ahead, None, (
        f"{head} (fewer than 3): the regulation sets no deadline for it ({_CFR}); give it "
        "before the service"
    )  # fmt: skip


def gfe_timing(dates: GoodFaithDates, first_service: date, issued: date) -> GfeTiming:
    """The deadline of a Good Faith Estimate whose first service is ``first_service``.

    >>> from ketacost._request import GoodFaithDates
    >>> t = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 11, 25)), date(2026, 12, 14),
    ...                issued=date(2026, 11, 30))
    >>> t.due_by, t.on_time  # Thanksgiving and the weekend are not business days
    (datetime.date(2026, 12, 1), True)
    """
    found: list[tuple[date | None, TimingRule, str]] = []
    ahead: int | None = None
    if dates.scheduled_on is not None:
        rule, ahead, due, text = _scheduled(dates.scheduled_on, first_service)
        found.append((due, rule, text))
    if dates.requested_on is not None:
        due = add_business_days(dates.requested_on, 3)
        found.append(
            (
                due,
                "requested",
                f"requested on {dates.requested_on.isoformat()}: due within 3 business days of "
                f"the request, by {due.isoformat()} ({_CFR})",
            )
        )
    dated = [f for f in found if f[0] is not None]
    due_by, rule, text = min(dated, key=lambda f: f[0] or date.max) if dated else found[0]
    if len(found) > 1:
        text = "; ".join(t for _, _, t in found) + (
            f"; the earlier, {due_by.isoformat()}, binds" if due_by and len(dated) > 1 else ""
        )
    return GfeTiming(
        rule=rule,
        scheduled_on=dates.scheduled_on,
        requested_on=dates.requested_on,
        first_service=first_service,
        business_days_ahead=ahead,
        due_by=due_by,
        issued=issued,
        on_time=due_by is None or issued <= due_by,
        timing_rule=text[0].upper() + text[1:],
    )


def timing_sentence(timing: GfeTiming) -> str:
    """The rule, and whether an estimate issued on ``timing.issued`` is on time."""
    if timing.due_by is None:
        return f"{timing.timing_rule}."
    verdict = "on time" if timing.on_time else "LATE"
    return f"{timing.timing_rule}. Issued {timing.issued.isoformat()}: {verdict}."
