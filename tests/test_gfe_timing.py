"""Good Faith Estimate deadlines in federal business days (45 CFR 149.610(b)(1)).

Federal holidays come from the ``holidays`` package as observed (5 U.S.C. 6103(b): a Saturday
holiday is observed the Friday before, a Sunday one the Monday after).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import ketacost
from ketacost._business_days import (
    add_business_days,
    business_days_between,
    federal_holiday,
    is_business_day,
)
from ketacost._request import GoodFaithDates
from ketacost.cli import cli
from ketacost.documents import DocumentError, GoodFaithEstimate, build_gfe, render_gfe_html
from ketacost.documents._gfe_timing import gfe_timing

ROOT = Path(__file__).resolve().parents[1]
IV_COMMERCIAL = ROOT / "examples/requests/iv-series-commercial.yaml"
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"

days = st.dates(min_value=date(2022, 1, 1), max_value=date(2035, 12, 31))


# ---- federal business days ----------------------------------------------------------------


def test_observed_holidays_are_not_business_days() -> None:
    # Independence Day 2026 is a Saturday, observed on Friday 2026-07-03 (5 U.S.C. 6103(b)).
    assert federal_holiday(date(2026, 7, 3)) == "Independence Day (observed)"
    assert not is_business_day(date(2026, 7, 3))
    # Independence Day 2027 is a Sunday, observed on Monday 2027-07-05.
    assert not is_business_day(date(2027, 7, 5))
    # A Saturday New Year's Day (2022) is observed on Friday 2021-12-31.
    assert not is_business_day(date(2021, 12, 31))
    assert not is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert is_business_day(date(2026, 11, 27))  # the day after is not a federal holiday
    assert not is_business_day(date(2026, 11, 28))  # Saturday
    assert is_business_day(date(2026, 11, 25))


def test_business_days_across_thanksgiving_weekend() -> None:
    wed = date(2026, 11, 25)
    # Thu 11-26 Thanksgiving (no), Fri 11-27 (1), Sat 11-28 and Sun 11-29 (no), Mon 11-30 (2),
    # Tue 12-01 (3).
    assert [add_business_days(wed, n) for n in (1, 2, 3)] == [
        date(2026, 11, 27),
        date(2026, 11, 30),
        date(2026, 12, 1),
    ]
    assert add_business_days(wed, 0) == wed
    # Backwards from Mon 11-30: Sun, Sat (no), Fri 11-27 (1), Thu 11-26 holiday (no), Wed (2).
    assert add_business_days(date(2026, 11, 30), -2) == wed
    assert business_days_between(wed, date(2026, 12, 1)) == 3
    assert business_days_between(wed, wed) == 0


@given(days, st.integers(0, 40))
def test_adding_business_days_counts_them(start: date, n: int) -> None:
    end = add_business_days(start, n)
    assert end >= start
    assert business_days_between(start, end) == n
    if n:
        assert is_business_day(end)
        # No business day is skipped: the day before ``end`` has one fewer.
        assert business_days_between(start, end - timedelta(days=1)) == n - 1


@given(days, days, days)
def test_business_days_between_adds_up(a: date, b: date, c: date) -> None:
    a, b, c = sorted((a, b, c))
    assert business_days_between(a, b) + business_days_between(b, c) == (
        business_days_between(a, c)
    )
    assert business_days_between(a, c) <= (c - a).days


@given(days, st.integers(1, 30))
def test_backwards_undoes_forwards_from_a_business_day(start: date, n: int) -> None:
    day = add_business_days(start, 1)  # a business day
    assert add_business_days(add_business_days(day, n), -n) == day


@given(days)
def test_weekends_are_never_business_days(day: date) -> None:
    if day.weekday() >= 5:
        assert not is_business_day(day)
    elif federal_holiday(day) is None:
        assert is_business_day(day)


# ---- the deadlines ------------------------------------------------------------------------


def test_scheduled_ten_business_days_ahead_across_thanksgiving() -> None:
    # Scheduled Wed 2026-11-25 for Mon 2026-12-14. Business days after the 25th up to the 14th:
    # Fri 11-27, Mon 11-30 to Fri 12-04 (5), Mon 12-07 to Fri 12-11 (5), Mon 12-14: 12 (≥ 10).
    # Due within 3 business days: Fri 11-27 (1), Mon 11-30 (2), Tue 12-01 (3).
    t = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 11, 25)), date(2026, 12, 14),
                   issued=date(2026, 12, 1))  # fmt: skip
    assert (t.rule, t.business_days_ahead, t.due_by, t.on_time) == (
        "scheduled-10-days",
        12,
        date(2026, 12, 1),
        True,
    )
    assert "due within 3 business days of scheduling, by 2026-12-01" in t.timing_rule
    late = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 11, 25)), date(2026, 12, 14),
                      issued=date(2026, 12, 2))  # fmt: skip
    assert late.on_time is False


def test_scheduled_three_business_days_ahead_across_thanksgiving() -> None:
    # Scheduled Wed 2026-11-25 for Fri 2026-12-04: Fri 11-27, Mon 11-30, Tue 12-01, Wed 12-02,
    # Thu 12-03, Fri 12-04 = 6 business days (≥ 3, < 10): due within 1 business day, Thu 11-26
    # being Thanksgiving: Fri 2026-11-27.
    t = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 11, 25)), date(2026, 12, 4),
                   issued=date(2026, 11, 30))  # fmt: skip
    assert (t.rule, t.business_days_ahead, t.due_by, t.on_time) == (
        "scheduled-3-days",
        6,
        date(2026, 11, 27),
        False,
    )


def test_requested_across_a_saturday_holiday_observed_on_friday() -> None:
    # Requested Thu 2026-07-02. Fri 07-03 is Independence Day observed (07-04 is a Saturday),
    # then Sat 07-04, Sun 07-05: Mon 07-06 (1), Tue 07-07 (2), Wed 07-08 (3).
    t = gfe_timing(GoodFaithDates(requested_on=date(2026, 7, 2)), date(2026, 8, 3),
                   issued=date(2026, 7, 8))  # fmt: skip
    assert (t.rule, t.business_days_ahead, t.due_by, t.on_time) == (
        "requested",
        None,
        date(2026, 7, 8),
        True,
    )
    assert t.timing_rule.startswith("Requested on 2026-07-02: due within 3 business days")


def test_scheduled_fewer_than_three_business_days_ahead_has_no_deadline() -> None:
    # Scheduled Thu 2026-07-02 for Tue 07-07: Fri 07-03 (observed holiday), Sat, Sun, then Mon
    # 07-06 (1), Tue 07-07 (2): fewer than 3, so no deadline applies (said so).
    t = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 7, 2)), date(2026, 7, 7),
                   issued=date(2026, 7, 7))  # fmt: skip
    assert (t.rule, t.business_days_ahead, t.due_by, t.on_time) == (
        "scheduled-under-3-days",
        2,
        None,
        True,
    )
    assert "the regulation sets no deadline" in t.timing_rule


def test_requested_then_scheduled_are_two_obligations() -> None:
    # Requested Fri 2026-11-20: Mon 11-23 (1), Tue 11-24 (2), Wed 11-25 (3): due 11-25.
    # Scheduled Wed 11-25 for 2027-01-05 (at least 10 ahead): Fri 11-27 (1; Thu 11-26 is
    # Thanksgiving), Mon 11-30 (2), Tue 12-01 (3): due 12-01.
    both = GoodFaithDates(requested_on=date(2026, 11, 20), scheduled_on=date(2026, 11, 25))
    # Issued Mon 11-30, after the scheduling: a new estimate on scheduling, due 12-01: on time
    # (the one given on request was due 11-25; this one is not late for it).
    t = gfe_timing(both, date(2027, 1, 5), issued=date(2026, 11, 30))
    assert (t.rule, t.due_by, t.on_time) == ("scheduled-10-days", date(2026, 12, 1), True)
    assert [(o.rule, o.due_by, o.applies) for o in t.obligations] == [
        ("requested", date(2026, 11, 25), False),
        ("scheduled-10-days", date(2026, 12, 1), True),
    ]
    assert "it answers the scheduling" in t.timing_rule
    # Issued Tue 11-24, before the scheduling: it answers the request, due 11-25: on time.
    t = gfe_timing(both, date(2027, 1, 5), issued=date(2026, 11, 24))
    assert (t.rule, t.due_by, t.on_time) == ("requested", date(2026, 11, 25), True)
    assert [o.applies for o in t.obligations] == [True, False]
    # Issued Wed 12-02, after the scheduling's deadline: late.
    assert not gfe_timing(both, date(2027, 1, 5), issued=date(2026, 12, 2)).on_time


def test_scheduled_then_requested_the_earlier_due_date_binds() -> None:
    # Scheduled Fri 2026-11-20 for 2027-01-05 (at least 10 ahead): Mon 11-23 (1), Tue 11-24
    # (2), Wed 11-25 (3): due 11-25. Requested Mon 11-23: Tue 11-24 (1), Wed 11-25 (2), Fri
    # 11-27 (3; Thanksgiving skipped): due 11-27. One estimate answers both: 11-25 binds.
    t = gfe_timing(
        GoodFaithDates(requested_on=date(2026, 11, 23), scheduled_on=date(2026, 11, 20)),
        date(2027, 1, 5),
        issued=date(2026, 11, 26),
    )
    assert (t.rule, t.due_by, t.on_time) == ("scheduled-10-days", date(2026, 11, 25), False)
    assert t.timing_rule.endswith("the earlier, 2026-11-25, binds")


def test_on_request_the_due_date_is_never_after_the_first_service() -> None:
    # Requested Thu 2026-12-03 for a first service on Mon 12-07: 3 business days would be Fri
    # 12-04 (1), Mon 12-07 (2), Tue 12-08 (3), after the service: due by Mon 12-07 instead.
    t = gfe_timing(GoodFaithDates(requested_on=date(2026, 12, 3)), date(2026, 12, 7),
                   issued=date(2026, 12, 7))  # fmt: skip
    assert (t.rule, t.due_by, t.on_time) == ("requested", date(2026, 12, 7), True)
    assert "(2026-12-08), but a Good Faith Estimate comes before the service" in t.timing_rule


def test_gfe_carries_its_timing(tmp_path: Path) -> None:
    # The example: scheduled Fri 2026-11-20, first infusion 2027-01-05 (≥ 10 business days):
    # Mon 11-23 (1), Tue 11-24 (2), Wed 11-25 (3): due 2026-11-25; issued 11-21: on time.
    payers = ketacost.load_payers()
    request = ketacost.load_request(IV_COMMERCIAL, payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    gfe = build_gfe(request, estimate, issued=date(2026, 11, 21))
    assert gfe.timing is not None
    assert (gfe.timing.due_by, gfe.timing.on_time, gfe.timing.first_service) == (
        date(2026, 11, 25),
        True,
        date(2027, 1, 5),
    )
    assert "by 2026-11-25" in render_gfe_html(gfe)
    # The JSON round trip keeps the timing (and the patient's contact details).
    assert GoodFaithEstimate.model_validate_json(gfe.model_dump_json()) == gfe
    assert gfe.patient.email == "jordan@example.org"
    late = build_gfe(request, estimate, issued=date(2026, 11, 26))
    assert late.timing is not None and not late.timing.on_time
    # Without good_faith dates there is no timing.
    self_pay = ketacost.load_request(IV_SELF_PAY, payers=payers)
    assert (
        build_gfe(self_pay, ketacost.estimate(self_pay), issued=date(2026, 11, 21)).timing is None
    )
    # The CLI says it, for the GFE and for the estimate.
    runner = CliRunner()
    out = tmp_path / "gfe.json"
    result = runner.invoke(cli, ["gfe", str(IV_COMMERCIAL), "-o", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "by 2026-11-25 (45 CFR 149.610(b)(1)). Issued 2026-11-21: on time." in result.output
    result = runner.invoke(cli, ["--plain", "estimate", str(IV_COMMERCIAL)])
    assert result.exit_code == 0, result.output
    assert "Good Faith Estimate: Scheduled on 2026-11-20" in result.output
    # No estimate has been issued: the line says whether one issued on the request's date
    # would be on time, not that one was.
    assert (
        "A Good Faith Estimate issued on 2026-11-21 would be on time (due by 2026-11-25)."
        in result.output
    )
    assert "Issued 2026-11-21: on time" not in result.output


@pytest.mark.parametrize(
    ("good_faith", "message"),
    [
        ({}, "give scheduled_on or requested_on"),
        # After the plan's last visit (the self-pay example's last booster is in 2027).
        ({"scheduled_on": "2028-06-01"}, r"good_faith.scheduled_on \(2028-06-01\) is after the"),
        ({"requested_on": "2028-06-01"}, r"good_faith.requested_on \(2028-06-01\) is after the"),
        ({"scheduled_on": "next week"}, "scheduled_on"),
        ({"scheduled_on": "2026-11-20", "when": "2026-11-20"}, "when"),
    ],
)
def test_bad_good_faith_dates(good_faith: dict[str, Any], message: str) -> None:
    payers = ketacost.load_payers()
    data = ketacost.load_request(IV_SELF_PAY, payers=payers).model_dump(
        mode="json", exclude_unset=True
    )
    data["clinic"] = ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml")
    data["good_faith"] = good_faith
    with pytest.raises(ketacost.RequestFileError, match=message):
        ketacost.request_from_data(data, payers=payers)


def _iv_commercial_data(**changes: Any) -> dict[str, Any]:
    """The IV series of the commercial example as data, with ``changes`` at the top level."""
    data = yaml.safe_load(IV_COMMERCIAL.read_text(encoding="utf-8"))
    data["clinic"] = ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml")
    data.update(changes)
    return data


def test_scheduled_after_a_covered_intake_counts_to_the_first_infusion() -> None:
    # The intake (90791, covered by the plan) on Mon 2027-01-04; the excluded infusions start
    # two weeks later, Tue 2027-01-19 (Mon 01-18 is Martin Luther King Jr. Day). Scheduled Wed
    # 2027-01-06, after the intake's first date but before the first self-paid date: valid.
    # Business days after 01-06 up to 01-19: Thu 01-07, Fri 01-08 (2), Mon 01-11 to Fri 01-15
    # (7), Mon 01-18 holiday (no), Tue 01-19 (8). 8 is at least 3 and fewer than 10: due within
    # 1 business day of scheduling, Thu 2027-01-07.
    payers = ketacost.load_payers()
    data = _iv_commercial_data(good_faith={"scheduled_on": "2027-01-06"}, issued="2027-01-06")
    data["plan"]["phases"][1]["start_after_weeks"] = 2
    request = ketacost.request_from_data(data, payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    gfe = build_gfe(request, estimate, issued=date(2027, 1, 6))
    assert gfe.timing is not None
    assert (gfe.timing.first_service, gfe.timing.business_days_ahead, gfe.timing.due_by) == (
        date(2027, 1, 19),
        8,
        date(2027, 1, 7),
    )
    assert gfe.timing.rule == "scheduled-3-days"
    # Scheduled after the first infusion: refused by the GFE (not by the request).
    data["good_faith"] = {"scheduled_on": "2027-01-20"}
    late = ketacost.request_from_data(data, payers=payers)
    with pytest.raises(DocumentError, match=r"after the first self-paid date of service"):
        build_gfe(late, ketacost.estimate(late, payers=payers), issued=date(2027, 1, 6))


def test_scheduled_on_a_saturday_takes_the_stricter_count() -> None:
    # Scheduled Sat 2026-11-21 for Mon 2026-12-07. Counted from the Saturday: Mon 11-23,
    # Tue 11-24, Wed 11-25, (Thu 11-26 Thanksgiving), Fri 11-27 (4), Mon 11-30 to Fri 12-04
    # (9), Mon 12-07 (10): at least 10, due within 3 business days, Wed 11-25. Counted from the
    # next business day, Mon 11-23: 9 ahead (fewer than 10), due within 1 business day of
    # scheduling, Mon 11-23. The earlier, Mon 2026-11-23, applies.
    t = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 11, 21)), date(2026, 12, 7),
                   issued=date(2026, 11, 24))  # fmt: skip
    assert (t.rule, t.business_days_ahead, t.due_by, t.on_time) == (
        "scheduled-3-days",
        9,
        date(2026, 11, 23),
        False,
    )
    assert "not a business day" in t.timing_rule and "the stricter reading" in t.timing_rule
    assert "would make it due by 2026-11-25" in t.timing_rule
    # Scheduled on a Saturday 3 business days ahead (Sat 11-21 for Wed 11-25: Mon, Tue, Wed):
    # counted from Monday it would be 2 and have no deadline; a deadline is stricter: due
    # Mon 11-23, as counted from the Saturday.
    t = gfe_timing(GoodFaithDates(scheduled_on=date(2026, 11, 21)), date(2026, 11, 25),
                   issued=date(2026, 11, 23))  # fmt: skip
    assert (t.rule, t.business_days_ahead, t.due_by) == (
        "scheduled-3-days",
        3,
        date(2026, 11, 23),
    )
