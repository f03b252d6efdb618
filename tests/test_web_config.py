"""The web configuration file: defaults, a clinic's own file, and one clear error per mistake;
and properties of the calculator's summary over generated answers."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacost import ClinicFileError, Money, RequestFileError, default_payers
from ketacost.web import CalculatorInput, WebConfig, WebConfigError, create_app, load_web_config
from ketacost.web._config import bundled_clinic_path, resolve
from ketacost.web._service import Calculator
from ketacost.web._summary import add_months

ROOT = Path(__file__).resolve().parent.parent
CLINIC = ROOT / "examples" / "clinics" / "example-clinic.yaml"


def test_defaults_are_the_bundled_clinic_every_payer_and_no_embedding() -> None:
    config = load_web_config(None)
    assert config.clinic is None and config.payers is None and config.embed_origins == ()
    resolved = resolve(config)
    assert resolved.clinic.id == "example-clinic"
    assert bundled_clinic_path().name == "example-clinic.yaml"
    assert resolved.offered == tuple(default_payers())
    assert list(resolved.treatments) == [
        "iv-ketamine",
        "esketamine",
        "im-ketamine",
        "kap",
        "at-home",
    ]
    # WebConfig() in Python means the same defaults
    assert resolve(WebConfig()).treatments == resolved.treatments


def test_a_clinics_own_file_relative_to_the_config(tmp_path: Path) -> None:
    shutil.copy(CLINIC, tmp_path / "clinic.yaml")
    (tmp_path / "web.yaml").write_text(
        "clinic: clinic.yaml\n"
        "payers: [self-pay, medicare-part-b]\n"
        'embed_origins: ["https://www.riverside.example"]\n'
        "limits: {max_sessions: 50}\n"
        "treatments:\n"
        "  iv:\n"
        "    name: IV ketamine\n"
        "    description: Six infusions.\n"
        "    phases: [{session: iv-infusion, sessions: 6, every_days: 2}]\n"
    )
    config = load_web_config(tmp_path / "web.yaml")
    assert config.clinic == tmp_path / "clinic.yaml"
    assert config.embed_origins == ("https://www.riverside.example",)
    resolved = resolve(config)
    assert resolved.offered == ("self-pay", "medicare-part-b")
    assert list(resolved.treatments) == ["iv"]
    create_app(config)  # builds


TREATMENT = "    name: X\n    description: Y.\n"
BAD = [
    ("colour: blue\n", "web.yaml:1:1: colour: unknown key 'colour'"),
    ("clinic: nowhere.yaml\n", "web.yaml:1:9: clinic: no clinic file at "),
    ('embed_origins: ["https://x.example/page"]\n', "web.yaml:1:17: embed_origins[0]: must match"),
    ('embed_origins: ["https://x.example; script-src *"]\n', "web.yaml:1:17: embed_origins[0]"),
    ("payers: [acme]\n", "web.yaml:1:10: payers[0]: unknown payer 'acme' (known: "),
    (
        "payers: [self-pay, self-pay]\n",
        "web.yaml:1:20: payers[1]: payer 'self-pay' is listed twice",
    ),
    ("payers: []\n", "web.yaml:1:9: payers: must have at least 1 item(s)"),
    ("limits: {max_sessions: 0}\n", "web.yaml:1:24: limits.max_sessions: must be at least 1"),
    (
        "limits: {max_body_bytes: 100}\n",
        "web.yaml:1:26: limits.max_body_bytes: must be at least 1024",
    ),
    (
        "treatments:\n  t:\n" + TREATMENT + "    phases: [{session: reiki, sessions: 1}]\n",
        "web.yaml:5:24: treatments.t.phases[0].session: the clinic has no session 'reiki'",
    ),
    (
        "limits: {max_sessions: 5}\ntreatments:\n  t:\n"
        + TREATMENT
        + "    phases: [{session: iv-infusion, sessions: 6, every_days: 2}]\n",
        "web.yaml:6:13: treatments.t.phases: the plan has 6 sessions; this calculator allows at most 5",
    ),
    ("treatments: {}\n", "web.yaml:1:13: treatments: list at least one treatment"),
    ("payers: [self-pay]\npayers: [self-pay]\n", "web.yaml:2:1: duplicate key 'payers'"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config_gives_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(text)
    with pytest.raises(WebConfigError) as info:
        load_web_config(path)
    assert str(info.value).startswith(str(tmp_path) + "/" + message.split(": ", 1)[0]), info.value
    assert message.split(": ", 1)[1] in str(info.value)


def test_a_bad_clinic_file_is_reported_in_the_clinic_file(tmp_path: Path) -> None:
    (tmp_path / "clinic.yaml").write_text(
        CLINIC.read_text().replace('npi: "1234567893"', 'npi: "1234567890"')
    )
    (tmp_path / "web.yaml").write_text("clinic: clinic.yaml\n")
    with pytest.raises(ClinicFileError, match=r"clinic\.yaml:6:6: npi: not a valid NPI"):
        load_web_config(tmp_path / "web.yaml")


def test_create_app_checks_a_config_built_in_python() -> None:
    with pytest.raises(WebConfigError, match=r"^<web config>: payers\[0\]: unknown payer 'nope'"):
        create_app(WebConfig(payers=("nope",)))


# -- summary --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 5), 1, date(2026, 2, 5)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 3, 31), 12, date(2027, 3, 31)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


_CALCULATOR = Calculator(resolve(load_web_config(None)))
_dollars = st.integers(min_value=0, max_value=800_000).map(lambda c: f"{c // 100}.{c % 100:02d}")


def _above_the_plans_deductible(
    insurance: str, network: str, deductible_met: str | None, start: date
) -> bool:
    """Whether the answer is above the payer's individual deductible in force on ``start``
    (the first visit of every configured treatment, a weekday or not: the answers' date)."""
    if deductible_met is None or insurance == "none":
        return False
    net = _CALCULATOR.library[insurance].networks.get(network)
    if net is None:
        return False
    try:
        return Money(deductible_met) > net.deductible.individual.at(start)
    except LookupError:
        return False


@given(
    treatment=st.sampled_from(list(_CALCULATOR.treatments)),
    insurance=st.sampled_from([*_CALCULATOR.resolved.offered, "none"]),
    network=st.sampled_from(["in", "out"]),
    prior_authorization=st.sampled_from(["approved", "denied", "pending", "not_sure"]),
    age=st.integers(min_value=0, max_value=100),
    failed_trials=st.integers(min_value=0, max_value=4),
    deductible_met=st.none() | _dollars,
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    other=st.none() | st.sampled_from([*_CALCULATOR.resolved.offered, "none"]),
)
def test_summary_adds_up_for_any_answers(
    treatment: str,
    insurance: str,
    network: str,
    prior_authorization: str,
    age: int,
    failed_trials: int,
    deductible_met: str | None,
    start: date,
    other: str | None,
) -> None:
    payer_id = "self-pay" if insurance == "none" else insurance
    seconds = _CALCULATOR._second_payers(payer_id)
    answers = CalculatorInput.model_validate(
        {
            "treatment": treatment,
            "insurance": insurance,
            "network": network,
            "prior_authorization": prior_authorization,
            "age": age,
            "failed_trials": failed_trials,
            "deductible_met": deductible_met,
            "start": start.isoformat(),
            "other_coverage": other,
        }
    )
    if _CALCULATOR.library[payer_id].kind == "medigap":
        # A Medigap plan pays only after Original Medicare: it is not the insurance itself.
        with pytest.raises(RequestFileError) as refused:
            _CALCULATOR.estimate_input(answers)
        assert refused.value.field == "insurance"
        return
    if other not in (None, "none", *seconds):
        # Other coverage must follow the insurance's kind (its payer file's as_secondary).
        with pytest.raises(RequestFileError) as refused:
            _CALCULATOR.estimate_input(answers)
        assert refused.value.field == "other_coverage"
        return
    if _above_the_plans_deductible(insurance, network, deductible_met, start):
        # Issue 11 §6: more met than the plan's deductible is refused, naming the answer.
        with pytest.raises(RequestFileError) as refused:
            _CALCULATOR.estimate_input(answers)
        assert refused.value.field == "deductible_met"
        assert "is above the plan's individual amount" in str(refused.value)
        return
    response = _CALCULATOR.estimate_input(answers)
    s, est = response.summary, response.estimate
    # the other coverage, when there is one, pays its part of the first year's visits
    if other in (None, "none"):
        assert not est.coordination and s.first_year_second_payer_pays is None
    else:
        assert est.coordination[0].secondary_payer_id == other
        in_first_year = [v for v in est.visits if v.date < s.first_year_end]
        paid = sum((v.totals.secondary for v in in_first_year), Money(0))
        assert s.first_year_second_payer_pays == paid
    # first visit <= first month <= first year <= whole plan
    assert s.first_session <= s.first_month <= s.first_year <= s.total
    assert s.total == est.totals.patient_net
    # the series is the running sum of each visit's cost, in visit order
    running = Money(0)
    for point, visit in zip(s.series, est.visits, strict=True):
        running = running + visit.totals.patient_net
        assert point.cumulative_patient == running
    assert s.series[-1].cumulative_patient == s.total
    in_year = [p for p in s.series if p.date < s.first_year_end]
    assert s.first_year == (in_year[-1].cumulative_patient if in_year else Money(0))
    assert s.first_year_visits == len(in_year)
    # a milestone is reached at the visit whose accumulators first reach the amount
    for m in s.milestones:
        visit = est.visits[m.visit - 1]
        field = "deductible_individual" if m.kind == "deductible" else "out_of_pocket_individual"
        assert getattr(visit.lines[-1].accumulators_after, field) >= m.amount
    # a range only when the answer is unknown, and it spans the shown estimate
    if response.range is not None:
        assert prior_authorization == "not_sure" and insurance != "none"
        assert response.range.low <= s.first_year <= response.range.high
        assert s.first_year == response.range.high
