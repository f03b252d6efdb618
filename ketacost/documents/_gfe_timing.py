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
service (:func:`ketacost._business_days.business_days_between`). A request's deadline never
falls after the first service: a Good Faith Estimate is given before it. Scheduled on a weekend or a
federal holiday, counting from the next business day instead brings the service one business
day nearer; the regulation does not settle which count applies, so the stricter reading (the
earlier due date) is taken and the timing says so.

Requested, then scheduled: two obligations (``GfeTiming.obligations``), an estimate on request
and a new one on scheduling. An estimate issued before the scheduling answers the request; one
issued on or after it answers the scheduling, and is on time by the scheduling's deadline (an
estimate given on request is not made late by a later scheduling). Scheduled, then requested:
one estimate answers both, and the earlier due date binds.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from ketacost._business_days import add_business_days, business_days_between, is_business_day
from ketacost._i18n import N_, Translator, check_language, translator
from ketacost._request import GoodFaithDates
from ketacost._types import Model

__all__ = ["GfeObligation", "GfeTiming", "TimingRule", "gfe_timing", "timing_sentence"]

TimingRule = Literal[
    "scheduled-10-days", "scheduled-3-days", "scheduled-under-3-days", "requested", "change"
]

_CFR = "45 CFR 149.610(b)(1)"


class GfeObligation(Model):
    """One deadline: from the scheduling, or from the request."""

    rule: TimingRule
    due_by: date | None = Field(description="last day to issue it (None: no deadline applies)")
    applies: bool = Field(description="the obligation this estimate's issue date answers")
    text: str = Field(description="the rule, in words")


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
    obligations: tuple[GfeObligation, ...] = Field(
        default=(),
        description="each deadline (the request's and the scheduling's when both are known), "
        "and which one this estimate answers",
    )


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
    found: list[GfeObligation] = []
    ahead: int | None = None
    requested, scheduled = dates.requested_on, dates.scheduled_on
    if requested is not None:
        on_request = add_business_days(requested, 3)
        text = (
            f"requested on {requested.isoformat()}: due within 3 business days of the "
            f"request, by {on_request.isoformat()} ({_CFR})"
        )
        if on_request > first_service:
            # A Good Faith Estimate comes before the service (45 CFR 149.610(b)(1)).
            text = (
                f"requested on {requested.isoformat()}: due within 3 business days of the "
                f"request ({on_request.isoformat()}), but a Good Faith Estimate comes before "
                f"the service: by the first service, {first_service.isoformat()} ({_CFR})"
            )
            on_request = first_service
        found.append(GfeObligation(rule="requested", due_by=on_request, applies=False, text=text))
    if scheduled is not None:
        rule, ahead, due, text = _scheduled(scheduled, first_service)
        found.append(GfeObligation(rule=rule, due_by=due, applies=False, text=text))
    if requested is not None and scheduled is not None and requested < scheduled:
        # Two obligations: the estimate given on request, and a new one on scheduling. An
        # estimate issued before the scheduling answers the request; one issued on or after it,
        # the scheduling (the one given on request was due by the request's date).
        index = 0 if issued < scheduled else 1
        found[index] = found[index].model_copy(update={"applies": True})
        chosen = found[index]
        text = "; ".join(o.text for o in found) + (
            f"; issued {issued.isoformat()}, "
            + ("before the scheduling: it answers the request"
               if index == 0 else "on or after the scheduling: it answers the scheduling "
               "(an estimate given on request was due by the request's date)")
        )  # fmt: skip
    else:
        # One obligation, or a request after the scheduling (one estimate answers both: the
        # earlier due date binds).
        dated = [o for o in found if o.due_by is not None]
        chosen = min(dated, key=lambda o: o.due_by or date.max) if dated else found[0]
        found = [o.model_copy(update={"applies": o is chosen}) for o in found]
        text = chosen.text
        if len(found) > 1:
            text = "; ".join(o.text for o in found) + (
                f"; the earlier, {chosen.due_by.isoformat()}, binds"
                if chosen.due_by and len(dated) > 1
                else ""
            )
    due_by = chosen.due_by
    return GfeTiming(
        rule=chosen.rule,
        scheduled_on=scheduled,
        requested_on=requested,
        first_service=first_service,
        business_days_ahead=ahead,
        due_by=due_by,
        issued=issued,
        on_time=due_by is None or issued <= due_by,
        timing_rule=text[0].upper() + text[1:],
        obligations=tuple(found),
    )


#: Each rule in a sentence, for a document in another language than English (English keeps
#: the rule's full account, ``GfeTiming.timing_rule``).
_RULES: dict[TimingRule, str] = {
    "scheduled-10-days": N_(
        "Scheduled at least 10 business days ahead: due within 3 business days of scheduling"
    ),
    "scheduled-3-days": N_(
        "Scheduled at least 3 business days ahead: due within 1 business day of scheduling"
    ),
    "scheduled-under-3-days": N_(
        "Scheduled fewer than 3 business days ahead: the regulation sets no deadline; it is "
        "given before the service"
    ),
    "requested": N_("Requested by the patient: due within 3 business days of the request"),
    "change": N_(
        "A change of scope: a new estimate is due at least 1 business day before the first "
        "service it changes"
    ),
}


def timing_sentence(timing: GfeTiming, *, prospective: bool = False, lang: str = "en") -> str:
    """The rule, and whether an estimate issued on ``timing.issued`` is on time.

    ``prospective``: no estimate has been issued yet (``ketacost estimate``): whether one
    issued on that date *would be* on time. ``lang``: English gives the rule's full account;
    another language the rule, the due date and the verdict, in its words.
    """
    if lang != "en":
        return _timing_in(timing, prospective, translator(check_language(lang), "documents"))
    if timing.due_by is None:
        return f"{timing.timing_rule}."
    verdict = "on time" if timing.on_time else "LATE"
    if prospective:
        return (
            f"{timing.timing_rule}. A Good Faith Estimate issued on "
            f"{timing.issued.isoformat()} would be {verdict} (due by "
            f"{timing.due_by.isoformat()})."
        )
    return f"{timing.timing_rule}. Issued {timing.issued.isoformat()}: {verdict}."


def _timing_in(timing: GfeTiming, prospective: bool, t: Translator) -> str:
    rule = t.gettext(_RULES[timing.rule])
    if timing.due_by is None:
        return t.gettext("{rule} ({cfr}).").format(rule=rule, cfr=_CFR)
    verdict = t.gettext("on time") if timing.on_time else t.gettext("LATE")
    due, issued = t.date(timing.due_by), t.date(timing.issued)
    if prospective:
        return t.gettext(
            "{rule}, by {due} ({cfr}). A Good Faith Estimate issued on {issued} would be {verdict}."
        ).format(rule=rule, due=due, cfr=_CFR, issued=issued, verdict=verdict)
    return t.gettext("{rule}, by {due} ({cfr}). Issued {issued}: {verdict}.").format(
        rule=rule, due=due, cfr=_CFR, issued=issued, verdict=verdict
    )
