"""Plan expansion: dated visits, checked against dateutil's RFC 5545 implementation."""

from __future__ import annotations

import inspect
import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given
from pydantic import ValidationError
from strategies import WEEKDAYS, plan_data

import ketacost
from ketacost import Phase, Plan, ScheduledVisit, expand
from ketacost._plan import MAX_VISITS, cadence_words

MON, THU = 0, 3


def _phase_starts(plan: Plan) -> list[date]:
    """Each phase's start, from the module docstring of ``_plan``: the plan's start, then where
    the previous phase's period ends (N × K days, or W weeks) plus any gap; or its own start."""
    starts: list[date] = []
    cursor = plan.start
    for phase in plan.phases:
        if phase.start is not None:
            cursor = phase.start
        else:
            cursor += timedelta(days=phase.start_after_days + 7 * phase.start_after_weeks)
        starts.append(cursor)
        if phase.per_week is not None:
            assert phase.weeks is not None
            period = 7 * phase.weeks
        else:
            assert phase.sessions is not None
            period = phase.sessions * (phase.every_days or 7 * (phase.every_weeks or 0) or 1)
        cursor += timedelta(days=period)
    return starts


def _rrule_dates(phase: Phase, start: date) -> list[date]:
    """The phase's dates by dateutil, an independent RFC 5545 implementation."""
    rule = rrulestr(phase.rrule(start), dtstart=datetime.combine(start, time()))
    return [d.date() for d in rule]


def _by_phase(visits: tuple[ScheduledVisit, ...], n: int) -> list[list[ScheduledVisit]]:
    out: list[list[ScheduledVisit]] = [[] for _ in range(n)]
    for v in visits:
        out[v.phase].append(v)
    return out


def _interval(phase: Phase) -> int:
    """A phase's interval, from the module docstring of ``_plan``: K days for every_days: K,
    7 × K for every_weeks: K, floor(7 / N) for per_week: N, 1 for a single session."""
    if phase.per_week is not None:
        return 7 // phase.per_week
    return phase.every_days or 7 * (phase.every_weeks or 0) or 1


def _first_open(day: date, closed: set[int]) -> date:
    while day.weekday() in closed:
        day += timedelta(days=1)
    return day


# -- properties ----------------------------------------------------------------------------------
@given(plan_data(closed=False, explicit_starts="after"))
def test_without_closed_days_each_phase_is_its_rrule(data: dict[str, Any]) -> None:
    plan = Plan.model_validate(data)
    visits = expand(plan)
    starts = _phase_starts(plan)
    for phase, start, got in zip(
        plan.phases, starts, _by_phase(visits, len(plan.phases)), strict=True
    ):
        expected = _rrule_dates(phase, start)
        assert len(expected) == phase.count
        assert [v.date for v in got] == expected
        assert [v.nominal_date for v in got] == expected


@given(plan_data(closed=True, explicit_starts="any"))
def test_nominal_dates_are_the_rrule_and_closed_days_only_move_visits_later(
    data: dict[str, Any],
) -> None:
    plan = Plan.model_validate(data)
    closed = {WEEKDAYS.index(d) for d in plan.closed_weekdays}
    visits = expand(plan)
    for phase, start, got in zip(
        plan.phases, _phase_starts(plan), _by_phase(visits, len(plan.phases)), strict=True
    ):
        assert [v.nominal_date for v in got] == _rrule_dates(phase, start)
    previous: ScheduledVisit | None = None
    for v in visits:
        assert v.date.weekday() not in closed
        assert v.date >= v.nominal_date
        # The docstring's rule (issue 11 §6 changed it on purpose: it was "the first open day
        # on or after the nominal date that is also after the previous visit's day", which put
        # infusions every 2 days on three days in a row): the first open day on or after the
        # nominal date that is at least `gap` days after the previous visit, `gap` being their
        # nominal distance, at most the previous visit's phase interval, at least 1.
        earliest = v.nominal_date
        if previous is not None:
            nominal_gap = (v.nominal_date - previous.nominal_date).days
            gap = max(1, min(nominal_gap, _interval(plan.phases[previous.phase])))
            earliest = max(earliest, previous.date + timedelta(gap))
        assert v.date == _first_open(earliest, closed)
        previous = v


@given(plan_data(closed=True, explicit_starts="any"))
def test_visits_are_in_order_one_a_day_and_counted(data: dict[str, Any]) -> None:
    plan = Plan.model_validate(data)
    visits = expand(plan)
    assert len(visits) == sum(p.count for p in plan.phases)
    assert [v.number for v in visits] == list(range(1, len(visits) + 1))
    assert all(a.date < b.date for a, b in itertools.pairwise(visits))
    assert [v.phase for v in visits] == sorted(v.phase for v in visits)
    for v in visits:
        phase = plan.phases[v.phase]
        assert v.session == phase.session
        assert v.phase_name == (phase.name or f"phase {v.phase + 1}")


@given(plan_data(closed=True, explicit_starts="any"))
def test_expansion_is_deterministic(data: dict[str, Any]) -> None:
    plan = Plan.model_validate(data)
    again = Plan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert expand(plan) == expand(plan) == expand(again)
    for v in expand(plan):  # the engine's unvalidated construction equals validation
        assert ScheduledVisit.model_validate(v.model_dump()) == v


@given(plan_data(closed=True, explicit_starts="any"))
def test_no_two_sessions_of_a_phase_closer_than_its_interval(data: dict[str, Any]) -> None:
    plan = Plan.model_validate(data)
    closed = {WEEKDAYS.index(d) for d in plan.closed_weekdays}
    visits = expand(plan)
    assert all(v.date.weekday() not in closed for v in visits)
    for phase, got in zip(plan.phases, _by_phase(visits, len(plan.phases)), strict=True):
        for a, b in itertools.pairwise(got):
            assert (b.date - a.date).days >= _interval(phase)


@given(plan_data(closed=True, explicit_starts="after"))
def test_a_phase_never_starts_closer_to_the_previous_one_than_planned(
    data: dict[str, Any],
) -> None:
    # Up to the previous phase's interval: a later phase moves when closed days pushed the
    # previous one into it (its first session keeps its planned distance from the last one).
    plan = Plan.model_validate(data)
    phases = [p for p in _by_phase(expand(plan), len(plan.phases)) if p]
    for before, after in itertools.pairwise(phases):
        last, first = before[-1], after[0]
        planned = (first.nominal_date - last.nominal_date).days
        wanted = max(1, min(planned, _interval(plan.phases[last.phase])))
        assert (first.date - last.date).days >= wanted


@given(plan_data(closed=False, explicit_starts="after"))
def test_without_closed_days_the_interval_rule_moves_nothing(data: dict[str, Any]) -> None:
    plan = Plan.model_validate(data)
    assert all(v.date == v.nominal_date for v in expand(plan))


# -- worked examples ----------------------------------------------------------------------------
def _days(start: date, *offsets: int) -> list[date]:
    return [start + timedelta(days=o) for o in offsets]


def test_esketamine_induction_optimisation_maintenance() -> None:
    # examples/requests/esketamine-commercial.yaml: from Monday 2026-01-05, weekends closed.
    plan = Plan.model_validate(
        {
            "start": "2026-01-05",
            "closed_weekdays": ["sat", "sun"],
            "phases": [
                {"name": "induction", "session": "esketamine-56", "per_week": 2, "weeks": 4},
                {"name": "optimisation", "session": "esketamine-84", "per_week": 1, "weeks": 4},
                {
                    "name": "maintenance",
                    "session": "esketamine-84",
                    "sessions": 22,
                    "every_weeks": 2,
                },
            ],
        }
    )
    visits = expand(plan)
    induction, optimisation, maintenance = _by_phase(visits, 3)
    assert (len(induction), len(optimisation), len(maintenance)) == (8, 4, 22)
    # Twice a week from a Monday: offsets floor(i·7/2) = 0, 3 → Monday and Thursday.
    assert [v.date for v in induction] == _days(date(2026, 1, 5), 0, 3, 7, 10, 14, 17, 21, 24)
    assert {v.date.weekday() for v in induction} == {MON, THU}
    # Optimisation starts 4 weeks after induction began: Monday 2026-02-02, then weekly.
    assert [v.date for v in optimisation] == _days(date(2026, 2, 2), 0, 7, 14, 21)
    # Maintenance starts 4 weeks later, Monday 2026-03-02, every 14 days: the 22nd is
    # 2026-03-02 + 21 × 14 days = 2026-12-21.
    assert [v.date for v in maintenance] == _days(date(2026, 3, 2), *range(0, 22 * 14, 14))
    assert maintenance[-1].date == date(2026, 12, 21)
    assert all(v.date == v.nominal_date for v in visits)  # nothing lands on a weekend
    assert [v.phase_name for v in visits[:9]] == ["induction"] * 8 + ["optimisation"]


def test_iv_series_of_six_over_two_weeks_with_weekends_closed() -> None:
    # Every other day from Monday 2027-01-04: nominal Mon 4, Wed 6, Fri 8, Sun 10, Tue 12,
    # Thu 14. Sunday is closed → Monday 11; the rest move with it so that no gap is under
    # 2 days (issue 11 §6; the old rule kept Tue 12, an infusion on two days in a row):
    # Tue 12 → Mon 11 + 2 = Wed 13, Thu 14 → Wed 13 + 2 = Fri 15.
    plan = Plan.model_validate(
        {
            "start": "2027-01-04",
            "closed_weekdays": ["sat", "sun"],
            "phases": [{"session": "iv-infusion", "sessions": 6, "every_days": 2}],
        }
    )
    visits = expand(plan)
    assert [v.date for v in visits] == _days(date(2027, 1, 4), 0, 2, 4, 7, 9, 11)
    assert [v.nominal_date for v in visits] == _days(date(2027, 1, 4), 0, 2, 4, 6, 8, 10)
    assert (visits[-1].date - visits[0].date).days == 11  # six infusions in 12 days


def test_intake_then_iv_series_then_boosters() -> None:
    # examples/requests/iv-series-self-pay.yaml. A one-session phase has a 1-day period, so
    # the infusions start the day after the intake (Tue 5): nominal Tue 5, Thu 7, Sat 9,
    # Mon 11, Wed 13, Fri 15. Sat 9 → Mon 11, and the later ones keep 2 days from it (issue
    # 11 §6; the old rule gave Mon 11, Tue 12, Wed 13, three infusions in a row): Mon 11 →
    # Mon 11 + 2 = Wed 13, Wed 13 → Fri 15, Fri 15 → Sun 17, closed → Mon 18.
    # Boosters: the induction period is 6 × 2 = 12 days (to Sun 17) plus 2 weeks = Sun 31,
    # closed → Mon 2027-02-01 (14 days after Mon 18, more than the 2 days kept); then every
    # 4 weeks, each a Sunday moved to the Monday.
    plan = Plan.model_validate(
        {
            "start": "2027-01-04",
            "closed_weekdays": ["sat", "sun"],
            "phases": [
                {"name": "intake", "session": "intake", "sessions": 1},
                {"name": "induction", "session": "iv-infusion", "sessions": 6, "every_days": 2},
                {
                    "name": "boosters",
                    "session": "iv-infusion",
                    "sessions": 11,
                    "every_weeks": 4,
                    "start_after_weeks": 2,
                },
            ],
        }
    )
    intake, induction, boosters = _by_phase(expand(plan), 3)
    assert [v.date for v in intake] == [date(2027, 1, 4)]
    assert [v.date for v in induction] == _days(date(2027, 1, 4), 1, 3, 7, 9, 11, 14)
    assert [v.date for v in boosters] == _days(date(2027, 2, 1), *range(0, 11 * 28, 28))
    assert all(v.nominal_date.weekday() == 6 for v in boosters)


def test_twice_a_week_from_a_saturday_keeps_three_days_between_sessions() -> None:
    # Twice a week from Saturday 2026-03-07 (offsets 0, 3: Sat, Tue), weekends closed; the
    # phase's interval is floor(7 / 2) = 3 days.
    #   Sat  7 → closed → Mon  9
    #   Tue 10 → at least Mon  9 + 3 = Thu 12
    #   Sat 14 → at least Thu 12 + 3 = Sun 15 → closed → Mon 16
    #   Tue 17 → at least Mon 16 + 3 = Thu 19
    plan = Plan.model_validate(
        {
            "start": "2026-03-07",
            "closed_weekdays": ["sat", "sun"],
            "phases": [{"session": "esketamine-56", "per_week": 2, "weeks": 2}],
        }
    )
    visits = expand(plan)
    assert [v.nominal_date for v in visits] == _days(date(2026, 3, 7), 0, 3, 7, 10)
    assert [v.date for v in visits] == _days(date(2026, 3, 9), 0, 3, 7, 10)
    assert {v.date.weekday() for v in visits} == {MON, THU}


def test_a_phase_pushed_late_pushes_the_next_phase() -> None:
    # Every 2 days from Friday 2026-03-06 (3 sessions), then every 3 days (2 sessions) from
    # where the first period ends (6 + 3 × 2 = Thu 12); weekends closed.
    #   A: Fri  6; Sun  8 → Mon  9; Tue 10 → at least Mon 9 + 2 = Wed 11
    #   B: Thu 12 was planned 2 days after A's last (Tue 10), and A's interval is 2 days:
    #      at least Wed 11 + 2 = Fri 13; then Sun 15 → at least Fri 13 + 3 = Mon 16
    plan = Plan.model_validate(
        {
            "start": "2026-03-06",
            "closed_weekdays": ["sat", "sun"],
            "phases": [
                {"session": "iv-infusion", "sessions": 3, "every_days": 2},
                {"session": "iv-infusion", "sessions": 2, "every_days": 3},
            ],
        }
    )
    visits = expand(plan)
    assert [v.nominal_date for v in visits] == _days(date(2026, 3, 6), 0, 2, 4, 6, 9)
    assert [v.date for v in visits] == _days(date(2026, 3, 6), 0, 3, 5, 7, 10)


@pytest.mark.parametrize(
    ("phase", "closed", "words"),
    [
        ({"sessions": 1}, ("sat", "sun"), "once"),
        ({"sessions": 6, "every_days": 2}, (), "every 2 days"),
        # Sessions every 2 days move off a weekend and the later ones with them: the gap is
        # 2 days or 3 (examples/requests/iv-series-self-pay.yaml).
        (
            {"sessions": 6, "every_days": 2},
            ("sat", "sun"),
            "every 2 days or more (closed Sat, Sun)",
        ),
        ({"sessions": 5, "every_days": 1}, ("sun",), "every open day (closed Sun)"),
        ({"sessions": 5, "every_days": 1}, (), "daily"),
        # A whole number of weeks keeps the weekday: all sessions move alike, or none does.
        ({"sessions": 11, "every_weeks": 4}, ("sat", "sun"), "every 4 weeks"),
        ({"sessions": 4, "every_days": 14}, ("sat", "sun"), "every 14 days"),
        ({"sessions": 4, "every_weeks": 1}, (), "weekly"),
        (
            {"per_week": 2, "weeks": 4},
            ("sat", "sun"),
            "twice a week for 4 weeks, 3 or more days apart (closed Sat, Sun)",
        ),
        ({"per_week": 1, "weeks": 1}, (), "once a week for 1 week"),
        (
            {"per_week": 5, "weeks": 2},
            ("sat", "sun"),
            "5 times a week for 2 weeks (closed Sat, Sun)",
        ),
    ],
)
def test_cadence_words(phase: dict[str, Any], closed: tuple[str, ...], words: str) -> None:
    assert cadence_words(Phase.model_validate({"session": "iv", **phase}), closed) == words


def test_per_week_spreads_sessions_evenly_from_the_start_weekday() -> None:
    # Three a week from a Wednesday: offsets floor(i·7/3) = 0, 2, 4 → Wed, Fri, Sun.
    plan = Plan(start=date(2026, 3, 4), phases=(Phase(session="iv", per_week=3, weeks=2),))
    assert [v.date for v in expand(plan)] == _days(date(2026, 3, 4), 0, 2, 4, 7, 9, 11)
    assert plan.phases[0].rrule(plan.start) == "FREQ=WEEKLY;BYDAY=WE,FR,SU;WKST=WE;COUNT=6"


def test_expand_needs_no_payer_and_no_clinic() -> None:
    assert list(inspect.signature(expand).parameters) == ["plan"]
    plan = Plan(
        start=date(2026, 3, 2), phases=(Phase(session="no-such-clinic-session", sessions=1),)
    )
    (visit,) = expand(plan)
    assert (visit.date, visit.session, visit.phase_name) == (
        date(2026, 3, 2),
        "no-such-clinic-session",
        "phase 1",
    )


# -- validation ---------------------------------------------------------------------------------
CADENCE = "a phase needs exactly one cadence"


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        pytest.param(
            {"sessions": 4, "every_days": 2, "per_week": 2, "weeks": 2}, CADENCE, id="two-cadences"
        ),
        pytest.param({}, CADENCE, id="no-cadence"),
        pytest.param(
            {"sessions": 4, "every_days": 2, "every_weeks": 1},
            "give exactly one of 'every_days' and 'every_weeks'",
            id="two-intervals",
        ),
        pytest.param(
            {"sessions": 4},
            "give exactly one of 'every_days' and 'every_weeks'",
            id="no-interval",
        ),
        pytest.param({"every_days": 2}, "'sessions' is missing", id="no-count"),
        pytest.param({"per_week": 2}, "'per_week' and 'weeks' go together", id="no-weeks"),
        pytest.param(
            {"sessions": 2, "every_days": 1, "start": "2026-03-02", "start_after_days": 3},
            "give either 'start' or 'start_after_days'/'start_after_weeks'",
            id="two-starts",
        ),
    ],
)
def test_bad_phases_raise_validation_error(phase: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        Plan.model_validate({"start": "2026-03-02", "phases": [{"session": "iv", **phase}]})
    # The phase's own error comes first and points at the phase. (pydantic then also reports
    # the phases tuple as too short, counting only the phases that validated.)
    error = info.value.errors()[0]
    assert error["loc"] == ("phases", 0)
    # Every cadence message says what to give instead.
    if message in (CADENCE, "'sessions' is missing", "'per_week' and 'weeks' go together"):
        assert "'per_week' with 'weeks'" in error["msg"]


def test_more_than_max_visits_raises() -> None:
    phases = [
        {"session": "iv", "sessions": MAX_VISITS, "every_days": 1},
        {"session": "iv", "per_week": 1, "weeks": 1},
    ]
    with pytest.raises(
        ValidationError, match=f"the plan has {MAX_VISITS + 1} sessions; at most {MAX_VISITS}"
    ):
        Plan.model_validate({"start": "2026-03-02", "phases": phases})


def test_max_visits_exactly_is_accepted() -> None:
    phases = [{"session": "iv", "sessions": MAX_VISITS, "every_days": 1}]
    plan = Plan.model_validate({"start": "2026-03-02", "phases": phases})
    assert len(expand(plan)) == MAX_VISITS


def test_one_phase_above_max_visits_names_the_field() -> None:
    with pytest.raises(ValidationError, match=f"less than or equal to {MAX_VISITS}") as info:
        Plan.model_validate(
            {
                "start": "2026-03-02",
                "phases": [{"session": "iv", "sessions": MAX_VISITS + 1, "every_days": 1}],
            }
        )
    assert info.value.errors()[0]["loc"] == ("phases", 0, "sessions")


def test_a_closed_weekday_listed_twice_raises() -> None:
    with pytest.raises(ValidationError, match="closed_weekdays lists a day twice"):
        Plan.model_validate(
            {
                "start": "2026-03-02",
                "closed_weekdays": ["sat", "sat"],
                "phases": [{"session": "iv", "sessions": 1}],
            }
        )


def test_a_plan_past_the_year_9999_is_a_clear_error() -> None:
    # 400 sessions every 12 weeks from 9990 run well past 9999-12-31: one EstimateError,
    # not a ValueError from the date type.
    plan = Plan(
        start=date(9990, 1, 1),
        phases=(Phase(session="iv", sessions=60, every_weeks=12),),
    )
    with pytest.raises(ketacost.EstimateError, match="runs past 9999-12-31"):
        expand(plan)
