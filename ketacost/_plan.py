"""Treatment plans and their expansion into dated visits (pure, deterministic).

A plan is a start date and ordered phases. Each phase repeats one session template on a
cadence, expressed the way RFC 5545 recurrence rules are:

* ``sessions: N`` with ``every_days: K`` or ``every_weeks: K`` — ``FREQ=DAILY|WEEKLY;
  INTERVAL=K;COUNT=N`` from the phase start;
* ``per_week: N`` with ``weeks: W`` — N sessions a week for W weeks: ``FREQ=WEEKLY;
  BYDAY=<N weekdays>;COUNT=N*W``, the weekdays spread evenly from the phase start's weekday
  (offsets ``floor(i * 7 / N)`` days; twice a week from a Monday = Monday and Thursday).

Phase starts: the first phase starts on the plan's ``start`` (plus its own delay). A later
phase starts where the previous one's period ends (``N × K`` days, or ``W`` weeks, after
the previous phase's start), plus its optional ``start_after_days``/``start_after_weeks``;
or on its own ``start`` date.

Closed weekdays: a session that falls on a closed weekday moves to the next open day, and the
sessions after it move with it so that no gap is shorter than planned. Precisely, each visit
after the plan's first goes on the first open day that is on or after its nominal date and at
least ``gap`` days after the previous visit, where ``gap`` is the nominal distance between the
two (their dates before any move), but at most the previous visit's phase interval, and at
least one day:

* within a phase, ``gap`` is the phase's interval: ``K`` days for ``every_days: K``, ``7 × K``
  for ``every_weeks: K``, ``floor(7 / N)`` days for ``per_week: N`` (the shortest gap of its
  weekly pattern; twice a week = 3 days), 1 day for a single session. Every 2 days from a
  Monday with weekends closed: Mon, Wed, Fri, Sun → Mon, then Wed (not Tue), Fri, Mon, ...;
* a phase's first session keeps its planned distance from the previous phase's last one, up
  to that phase's interval: a following phase moves when the previous one ran late into it,
  and a gap before it (``start_after_*``, or its own ``start``) absorbs the delay first;
* a phase whose own ``start`` overlaps earlier visits begins the day after the last of them.

So visits stay in order and one a day, a session only ever moves later, and without closed
days (and overlaps) every visit is on its nominal date. :meth:`Phase.rrule` gives the RFC 5545
rule of a phase (its nominal dates) so the expansion can be checked against any RFC 5545
implementation; :func:`cadence_words` says a phase's cadence in words, true of the real dates.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import NamedTuple

from pydantic import Field, model_validator

from ._errors import EstimateError
from ._limits import MAX_VISITS
from ._types import Day, Int, Model, Slug, Weekday, builder

__all__ = [
    "MAX_VISITS",
    "Phase",
    "Plan",
    "ScheduledVisit",
    "VisitTuple",
    "cadence_words",
    "expand",
    "schedule",
]

#: The most visits one plan may expand to (about four years of twice-weekly sessions).

_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RFC_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Phase(Model):
    """One stretch of the plan: a session template on a cadence."""

    name: str | None = Field(default=None, max_length=80, description="a name for the phase")
    session: Slug = Field(description="the clinic's session template (a key of sessions)")
    sessions: Int | None = Field(
        default=None, ge=1, le=MAX_VISITS, description="how many sessions (with every_*)"
    )
    every_days: Int | None = Field(default=None, ge=1, le=366, description="one every K days")
    every_weeks: Int | None = Field(default=None, ge=1, le=52, description="one every K weeks")
    per_week: Int | None = Field(
        default=None, ge=1, le=7, description="sessions a week (with weeks)"
    )
    weeks: Int | None = Field(default=None, ge=1, le=208, description="weeks (with per_week)")
    start: Day | None = Field(default=None, description="explicit first day of this phase")
    start_after_days: Int = Field(
        default=0, ge=0, le=366, description="days added to the phase's start"
    )
    start_after_weeks: Int = Field(
        default=0, ge=0, le=52, description="weeks added to the phase's start"
    )

    @model_validator(mode="after")
    def _one_cadence(self) -> Phase:
        every = (
            self.sessions is not None or self.every_days is not None or self.every_weeks is not None
        )
        weekly = self.per_week is not None or self.weeks is not None
        hint = (
            "give either 'sessions' with 'every_days' or 'every_weeks', or 'per_week' with 'weeks'"
        )
        if every == weekly:
            raise ValueError(f"a phase needs exactly one cadence: {hint}")
        if every:
            if self.sessions is None:
                raise ValueError(f"'sessions' is missing: {hint}")
            if self.sessions > 1 and (self.every_days is None) == (self.every_weeks is None):
                raise ValueError(f"give exactly one of 'every_days' and 'every_weeks': {hint}")
        elif self.per_week is None or self.weeks is None:
            raise ValueError(f"'per_week' and 'weeks' go together: {hint}")
        if self.start is not None and (self.start_after_days or self.start_after_weeks):
            raise ValueError("give either 'start' or 'start_after_days'/'start_after_weeks'")
        return self

    @property
    def count(self) -> int:
        """Number of sessions in this phase."""
        if self.sessions is not None:
            return self.sessions
        assert self.per_week is not None and self.weeks is not None
        return self.per_week * self.weeks

    @property
    def span_days(self) -> int:
        """Length of the phase's period in days (where the next phase starts)."""
        if self.per_week is not None:
            assert self.weeks is not None
            return 7 * self.weeks
        return self.count * self._interval_days()

    def _interval_days(self) -> int:
        return self.every_days or 7 * (self.every_weeks or 0) or 1

    @property
    def interval_days(self) -> int:
        """The least number of days between two of its sessions, kept when sessions move.

        ``K`` for ``every_days: K``, ``7 × K`` for ``every_weeks: K``, 1 for a single session,
        and for ``per_week: N`` the shortest gap of its weekly pattern, ``floor(7 / N)``.
        """
        if self.per_week is not None:
            return 7 // self.per_week
        return self._interval_days()

    def offsets(self) -> list[int]:
        """Day offsets of each session from the phase start, before closed days."""
        if self.per_week is None:
            step = self._interval_days()
            return [i * step for i in range(self.count)]
        assert self.weeks is not None
        in_week = [i * 7 // self.per_week for i in range(self.per_week)]
        return [7 * w + d for w in range(self.weeks) for d in in_week]

    def rrule(self, start: date) -> str:
        """The RFC 5545 RRULE for this phase starting on ``start`` (closed days not applied)."""
        if self.per_week is None:
            if self.every_weeks:
                return f"FREQ=WEEKLY;INTERVAL={self.every_weeks};COUNT={self.count}"
            return f"FREQ=DAILY;INTERVAL={self._interval_days()};COUNT={self.count}"
        days = sorted(
            {(start.weekday() + i * 7 // self.per_week) % 7 for i in range(self.per_week)}
        )
        byday = ",".join(_RFC_DAYS[d] for d in days)
        return f"FREQ=WEEKLY;BYDAY={byday};WKST={_RFC_DAYS[start.weekday()]};COUNT={self.count}"


class Plan(Model):
    """A start date and ordered phases."""

    start: Day = Field(description="the first phase's start")
    phases: tuple[Phase, ...] = Field(
        min_length=1, max_length=20, description="the phases, in order"
    )
    closed_weekdays: tuple[Weekday, ...] = Field(
        default=(), max_length=6, description="a session on one of these moves to the next open day"
    )

    @model_validator(mode="after")
    def _bounded(self) -> Plan:
        total = sum(p.count for p in self.phases)
        if total > MAX_VISITS:
            raise ValueError(f"the plan has {total} sessions; at most {MAX_VISITS} are allowed")
        if len(set(self.closed_weekdays)) != len(self.closed_weekdays):
            raise ValueError("closed_weekdays lists a day twice")
        return self


class ScheduledVisit(Model):
    """One dated session of a plan."""

    number: int = Field(ge=1, description="1-based position in the plan")
    date: dt.date
    nominal_date: dt.date = Field(description="the date before moving off a closed day")
    phase: int = Field(ge=0, description="0-based index of the phase")
    phase_name: str
    session: Slug


def expand(plan: Plan) -> tuple[ScheduledVisit, ...]:
    """Dated visits of a plan, in order. Needs no payer and no clinic.

    >>> p = Plan(start=date(2026, 3, 2), phases=(Phase(session="iv", sessions=3, every_days=2),))
    >>> [v.date.isoformat() for v in expand(p)]
    ['2026-03-02', '2026-03-04', '2026-03-06']
    """
    build = builder(ScheduledVisit)
    return tuple(
        build(
            {
                "number": number,
                "date": day,
                "nominal_date": nominal,
                "phase": index,
                "phase_name": name,
                "session": session,
            }
        )
        for number, day, nominal, index, name, session in schedule(plan)
    )


_LAST_DAY = date.max.toordinal()


class VisitTuple(NamedTuple):
    """A scheduled visit as plain data.

    The engine's hot path; :class:`ScheduledVisit` is the model.
    """

    number: int
    day: date
    nominal: date
    phase: int
    phase_name: str
    session: str


def schedule(plan: Plan) -> list[VisitTuple]:
    """:func:`expand` as plain tuples (the engine's hot path; same dates, same order).

    Works in proleptic ordinals (``date.toordinal``; ordinal 1 is a Monday) so each visit
    costs integer arithmetic and one ``date`` construction.
    """
    closed = {_WEEKDAYS.index(d) for d in plan.closed_weekdays}
    visits: list[VisitTuple] = []
    phase_start = plan.start.toordinal()
    # The previous visit: its day, its nominal day and its phase's interval (module docstring).
    last = last_nominal = last_interval = 0
    fromordinal = date.fromordinal
    for index, phase in enumerate(plan.phases):
        if phase.start is not None:
            phase_start = phase.start.toordinal()
        else:
            phase_start += phase.start_after_days + 7 * phase.start_after_weeks
        name = phase.name or f"phase {index + 1}"
        session = phase.session
        interval = phase.interval_days
        for offset in phase.offsets():
            nominal = phase_start + offset
            day = nominal
            if visits:
                gap = max(1, min(nominal - last_nominal, last_interval))
                day = max(nominal, last + gap)
            if closed:
                while (day - 1) % 7 in closed:
                    day += 1
            if day > _LAST_DAY:
                raise EstimateError(
                    f"phase {index + 1} runs past {date.max.isoformat()}: visits must fall "
                    "before the year 10000"
                )
            nominal_date = fromordinal(nominal)
            visits.append(
                VisitTuple(
                    len(visits) + 1,
                    nominal_date if day == nominal else fromordinal(day),
                    nominal_date,
                    index,
                    name,
                    session,
                )
            )
            last, last_nominal, last_interval = day, nominal, interval
        phase_start += phase.span_days
    return visits


_TIMES = {1: "once", 2: "twice"}


def cadence_words(phase: Phase, closed_weekdays: tuple[Weekday, ...] = ()) -> str:
    """How often a phase's sessions happen, in plain words, true of the real dates.

    One home for the Good Faith Estimate's frequency and the web page's cadence. Where closed
    weekdays can move some of the phase's sessions and not others (a cadence that is not a
    whole number of weeks), the words say the gap is at least and name the closed days.

    >>> cadence_words(Phase(session="iv", sessions=6, every_days=2))
    'every 2 days'
    >>> cadence_words(Phase(session="iv", sessions=6, every_days=2), ("sat", "sun"))
    'every 2 days or more (closed Sat, Sun)'
    >>> cadence_words(Phase(session="iv", per_week=2, weeks=4), ("sun",))
    'twice a week for 4 weeks, 3 or more days apart (closed Sun)'
    """
    if phase.per_week is not None:
        weeks = f"{phase.weeks} week{'s' if phase.weeks != 1 else ''}"
        words = f"{_TIMES.get(phase.per_week, f'{phase.per_week} times')} a week for {weeks}"
    elif phase.count == 1:
        return "once"
    elif phase.every_weeks:
        return "weekly" if phase.every_weeks == 1 else f"every {phase.every_weeks} weeks"
    else:
        words = "daily" if phase.interval_days == 1 else f"every {phase.interval_days} days"
    if not closed_weekdays or (phase.per_week is None and phase.interval_days % 7 == 0):
        return words  # every session keeps its weekday, so all move alike or none does
    closed = ", ".join(day.title() for day in closed_weekdays)
    if phase.per_week is None:
        words = "every open day" if phase.interval_days == 1 else f"{words} or more"
    elif phase.interval_days > 1:
        words += f", {phase.interval_days} or more days apart"
    return f"{words} (closed {closed})"
