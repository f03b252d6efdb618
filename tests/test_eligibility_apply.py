"""EligibilitySnapshot.apply: from a payer's response to a request, under declared policies.

Worked examples with the arithmetic in comments; snapshots are built directly (the 271
reader lands separately) or read from the FHIR responses in tests/data/eligibility/fhir.
The payer is the bundled example commercial PPO: in network a 1,500.00 / 3,000.00 deductible,
6,000.00 / 12,000.00 maximum, office-visit copay 40.00, behavioral-health copay 30.00.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from ketacost import EligibilityError, Money, estimate
from ketacost._library import default_payers
from ketacost._loader import load_request
from ketacost._request import EstimateRequest
from ketacost.cli import cli
from ketacost.eligibility import (
    AccumulatorFigure,
    ApplyPolicy,
    CostShareFigure,
    EligibilitySnapshot,
    Member,
    OtherPayer,
    Source,
    choose_member,
    read_eligibility,
    read_fhir,
)
from ketacost.web import WebConfig, create_app

ROOT = Path(__file__).resolve().parent.parent
FHIR = ROOT / "tests" / "data" / "eligibility" / "fhir"
REQUEST = ROOT / "examples" / "requests" / "esketamine-commercial.yaml"
PAYERS = default_payers()
AS_OF = date(2026, 3, 2)


def _request(**coverage: Any) -> EstimateRequest:
    request = load_request(REQUEST, payers=PAYERS)
    # start after the response's date, with nothing met yet
    plan = request.plan.model_copy(update={"start": date(2026, 3, 9)})
    cov = request.coverage.model_copy(update={"accumulators": None, **coverage})
    return request.model_copy(update={"plan": plan, "coverage": cov, "issued": AS_OF})


def _short(request: EstimateRequest) -> EstimateRequest:
    """The induction alone (8 visits): the maximum is not reached, so copays show."""
    plan = request.plan.model_copy(update={"phases": request.plan.phases[:1]})
    return request.model_copy(update={"plan": plan})


def _src(n: int) -> Source:
    return Source(format="x12-271", position=n, segment=f"EB segment {n}", element="EB07")


def _acc(
    period: str,
    amount: str,
    n: int,
    *,
    kind: str = "deductible",
    level: str = "individual",
    network: str = "in",
    service: str = "30",
    term: str = "calendar_year",
) -> AccumulatorFigure:
    return AccumulatorFigure.model_validate(
        {
            "kind": kind,
            "network": network,
            "level": level,
            "service_type": service,
            "period": period,
            "term": term,
            "amount": amount,
            "source": _src(n),
        }
    )


def _snap(*figures: AccumulatorFigure, **fields: Any) -> EligibilitySnapshot:
    return EligibilitySnapshot.model_validate(
        {
            "format": "x12-271",
            "member": Member(role="subscriber", member_id="W1"),
            "active": True,
            "as_of": AS_OF,
            "accumulators": figures,
            **fields,
        }
    )


def _met(applied: Any, kind: str = "deductible_met", level: str = "individual") -> Money:
    acc = applied.request.coverage.accumulators
    assert acc is not None
    return getattr(getattr(acc, kind), level)  # type: ignore[no-any-return]


# -- period codes -----------------------------------------------------------------------


def test_met_is_total_minus_remaining() -> None:
    # EB06 23: a deductible of 1,500.00; EB06 29: 1,200.00 remaining → met 1,500 − 1,200 = 300
    applied = _snap(_acc("total", "1500", 14), _acc("remaining", "1200", 15)).apply(
        _request(), PAYERS
    )
    assert _met(applied) == Money("300.00")
    (use,) = applied.used
    assert (use.target, use.how) == ("deductible_met.individual", "total − remaining")
    assert [s.position for s in use.sources] == [14, 15]
    assert applied.request.coverage.accumulators is not None
    assert applied.request.coverage.accumulators.as_of == AS_OF


def test_a_period_code_that_is_not_a_term_is_the_plan_years() -> None:
    # EB06 29 (remaining) names no term: the 271 reader gives term "other"; it is this plan
    # year's remaining: 1,500.00 − 1,200.00 = 300.00 met
    snap = _snap(_acc("total", "1500", 14), _acc("remaining", "1200", 15, term="other"))
    assert _met(snap.apply(_request(), PAYERS)) == Money("300.00")


def test_met_as_sent_must_agree_with_total_minus_remaining() -> None:
    # EB06 24 (year to date) 300.00 agrees with 1,500.00 − 1,200.00: used as sent.
    snap = _snap(_acc("total", "1500", 14), _acc("remaining", "1200", 15), _acc("met", "300", 16))
    assert _met(snap.apply(_request(), PAYERS)) == Money("300.00")
    # 350.00 does not: the three figures contradict each other, and the error names them all
    # (refused, never adjusted).
    snap = _snap(_acc("total", "1500", 14), _acc("remaining", "1200", 15), _acc("met", "350", 16))
    with pytest.raises(EligibilityError, match=r"met 350.00 contradicts the total 1500.00"):
        snap.apply(_request(), PAYERS)


def test_remaining_only_uses_the_payer_files_amount_and_says_so() -> None:
    # period code 29 alone: the payer file's 1,500.00 − 1,200.00 remaining = 300.00 met
    applied = _snap(_acc("remaining", "1200", 15)).apply(_request(), PAYERS)
    assert _met(applied) == Money("300.00")
    assert any("met = the payer file's 1500.00 − remaining" in w for w in applied.warnings)


def test_remaining_only_uses_the_plan_years_amount() -> None:
    # The HDHP's deductible is 1,650.00 from 2025 and 1,700.00 from 2026; the response's plan
    # began 2025-07-01, so on 2026-03-02 the plan year's deductible is still 1,650.00 (the
    # estimate's): met = 1,650.00 − 200.00 remaining = 1,450.00 (a review found 1,700.00 −
    # 200.00 = 1,500.00, which left the patient 150.00 to pay instead of the 200.00 the
    # payer said).
    snap = _snap(_acc("remaining", "200", 15), plan_begin=date(2025, 7, 1))
    applied = snap.apply(_request(payer="hdhp"), PAYERS)
    assert _met(applied) == Money("1450.00")
    assert any("met = the payer file's 1650.00 − remaining" in w for w in applied.warnings)
    first = estimate(applied.request, payers=applied.payers).visits[0]
    assert sum(ln.deductible for ln in first.lines) == Money("200.00")


def test_lifetime_figures_are_not_a_plan_years() -> None:
    snap = _snap(
        _acc("total", "1500", 14),
        _acc("remaining", "1000", 15),
        _acc("remaining", "0", 16, term="lifetime"),  # a lifetime maximum: ignored
    )
    applied = snap.apply(_request(), PAYERS)
    assert _met(applied) == Money("500.00")  # 1,500 − 1,000
    assert any(
        "1 lifetime, per-visit or other non-annual accumulator figure(s) ignored" in w
        for w in applied.warnings
    )


def test_remaining_above_total_is_refused_naming_both() -> None:
    snap = _snap(_acc("total", "1500", 14), _acc("remaining", "1600", 15))
    with pytest.raises(
        EligibilityError,
        match=r"segment 15 .*remaining 1600.00 is above the total 1500.00 \(segment 14",
    ):
        snap.apply(_request(), PAYERS)


# -- duplicates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "met"),
    [
        # two EB*C*IND*30***29 segments: 1,200.00 and 1,000.00 remaining of 1,500.00
        ("higher", "300.00"),  # the higher remaining 1,200.00 → met 1,500 − 1,200 = 300.00
        ("lower", "500.00"),  # the lower remaining 1,000.00 → met 1,500 − 1,000 = 500.00
    ],
)
def test_duplicate_figures_by_policy(policy: str, met: str) -> None:
    snap = _snap(
        _acc("total", "1500", 14), _acc("remaining", "1200", 15), _acc("remaining", "1000", 16)
    )
    applied = snap.apply(_request(), PAYERS, policy=ApplyPolicy(duplicates=policy))  # type: ignore[arg-type]
    assert _met(applied) == Money(met)


def test_duplicate_figures_error_policy_names_both() -> None:
    snap = _snap(
        _acc("total", "1500", 14), _acc("remaining", "1200", 15), _acc("remaining", "1000", 16)
    )
    with pytest.raises(
        EligibilityError, match=r"segment 15 .*1200.00 differs from 1000.00 at segment 16"
    ):
        snap.apply(_request(), PAYERS, policy=ApplyPolicy(duplicates="error"))
    # the same figure twice is no conflict
    same = _snap(
        _acc("total", "1500", 14), _acc("remaining", "1200", 15), _acc("remaining", "1200", 16)
    )
    assert _met(same.apply(_request(), PAYERS, policy=ApplyPolicy(duplicates="error"))) == Money(
        300
    )


# -- service types and networks -----------------------------------------------------------


def test_mental_health_is_preferred_over_the_plan_level() -> None:
    # STC 30: 1,500.00 met (the medical deductible); MH: 250.00 met (its own): MH is used
    snap = _snap(_acc("met", "1500", 14), _acc("met", "250", 15, service="MH"))
    applied = snap.apply(_request(), PAYERS)
    assert _met(applied) == Money("250.00")
    assert applied.used[0].sources[0].position == 15
    # with the plan level preferred, the 30 figure is used
    plan_first = ApplyPolicy(service_types=("30", "MH"))
    assert _met(snap.apply(_request(), PAYERS, policy=plan_first)) == Money("1500.00")


def test_the_coverages_network_then_both() -> None:
    snap = _snap(
        _acc("met", "900", 14, network="out"),
        _acc("met", "400", 15, network="both"),
    )
    # in network: the out-of-network 900.00 is never used; "both" (EB12 W) applies: 400.00
    assert _met(snap.apply(_request(), PAYERS)) == Money("400.00")
    # out of network: its own 900.00
    assert _met(snap.apply(_request(network="out"), PAYERS)) == Money("900.00")


def test_network_unknown_becomes_a_range_driver() -> None:
    # EB12 absent: 1,000.00 met of the deductible and of the maximum, network not said
    snap = _snap(
        _acc("met", "1000", 14, network="unknown"),
        _acc("met", "1000", 15, network="unknown", kind="out_of_pocket"),
    )
    applied = snap.apply(_request(), PAYERS)
    assert applied.network_unknown
    assert any("does not say which network" in w for w in applied.warnings)
    unknowns = applied.request.unknowns
    assert unknowns is not None and unknowns.accumulators is not None
    assert unknowns.accumulators.deductible_met.individual == Money(0)  # nothing met
    result = estimate(applied.request, payers=applied.payers)
    assert result.range is not None
    (driver,) = result.range.drivers
    assert driver.input == "accumulators"
    # the 2026 plan year binds at the 6,000.00 maximum: from the response 6,000 − 1,000 met =
    # 5,000.00 that year; from nothing met 6,000.00: the range is 1,000.00 wide
    assert result.range.high.cents - result.range.low.cents == 100_000
    assert result.range.low == result.totals.patient_net
    # assume: the same figures, no range; ignore: not used at all
    assumed = snap.apply(_request(), PAYERS, policy=ApplyPolicy(unknown_network="assume"))
    assert assumed.request.unknowns is None and _met(assumed) == Money(1000)
    ignored = snap.apply(_request(), PAYERS, policy=ApplyPolicy(unknown_network="ignore"))
    assert ignored.request.coverage.accumulators is None


def test_contradicting_figures_are_refused_not_adjusted() -> None:
    # 800.00 of the deductible met, but only 500.00 of the maximum: deductible paid counts
    # toward the maximum, so these cannot both be true
    snap = _snap(_acc("met", "800", 14), _acc("met", "500", 15, kind="out_of_pocket"))
    with pytest.raises(
        EligibilityError, match=r"contradict each other: out_of_pocket_met\.individual"
    ):
        snap.apply(_request(), PAYERS)


def test_met_above_the_payer_files_amount_points_at_use_cost_sharing() -> None:
    # an HDHP's 3,400.00 deductible with 2,000.00 met; the payer file's deductible is 1,500.00
    snap = _snap(_acc("total", "3400", 14), _acc("met", "2000", 15))
    with pytest.raises(EligibilityError, match="use_cost_sharing applies the response's amounts"):
        snap.apply(_request(), PAYERS)
    applied = snap.apply(_request(), PAYERS, policy=ApplyPolicy(use_cost_sharing=True))
    assert _met(applied) == Money(2000)
    derived = applied.payers[applied.request.coverage.payer]
    assert derived.networks["in"].deductible.individual.at(AS_OF) == Money(3400)


# -- plan year, other payers -----------------------------------------------------------------


def test_plan_dates_set_the_plan_year() -> None:
    snap = read_fhir((FHIR / "mid-year-plan.json").read_text())  # benefit period from July 1
    applied = snap.apply(_request(), PAYERS)
    start = applied.request.coverage.plan_year_start
    assert start is not None and (start.month, start.day) == (7, 1)
    result = estimate(applied.request, payers=applied.payers)
    years = [y.start for y in result.plan_years]
    assert years[:2] == [date(2025, 7, 1), date(2026, 7, 1)]  # March 9 is in the 2025 year
    # the payer file's own plan year (January 1) is not an override
    january = _snap(plan_begin=date(2026, 1, 1), plan_end=date(2026, 12, 31))
    assert january.apply(_request(), PAYERS).request.coverage.plan_year_start is None


def test_another_payer_is_a_warning_and_only_a_candidate() -> None:
    other = OtherPayer(name="Medigap Plan G", insurance_type="MB", source=_src(30))
    snap = _snap(other_payers=(other,))
    applied = snap.apply(_request(), PAYERS)
    assert any("reports other coverage: Medigap Plan G (segment 30" in w for w in applied.warnings)
    assert applied.request.coverage.secondary is None
    chosen = snap.apply(
        _request(), PAYERS, policy=ApplyPolicy(secondary_payer="spouse-employer-ppo")
    )
    assert chosen.request.coverage.secondary is not None
    assert chosen.request.coverage.secondary.payer == "spouse-employer-ppo"


# -- cost sharing -----------------------------------------------------------------------------


def _copay(amount: str, service: str, n: int) -> CostShareFigure:
    return CostShareFigure.model_validate(
        {"kind": "copay", "network": "in", "level": "individual", "service_type": service,
         "amount": amount, "source": _src(n)}
    )  # fmt: skip


def test_a_differing_copay_is_a_side_by_side_warning() -> None:
    snap = _snap(cost_shares=(_copay("50", "98", 20), _copay("30", "MH", 21)))
    applied = snap.apply(_request(), PAYERS)
    assert (
        "office-visit copay (in network): the response says 50.00 (segment 20 (EB segment 20), "
        "EB07), the payer file commercial-ppo says 40.00; the payer file's is used; "
        "use_cost_sharing applies the response's"
    ) in applied.warnings
    # MH's 30.00 is the payer file's behavioral-health copay: no warning
    assert not any(w.startswith("behavioral-health") for w in applied.warnings)
    assert applied.request.coverage.payer == "commercial-ppo"


def test_use_cost_sharing_changes_the_estimate_under_a_named_payer() -> None:
    snap = _snap(cost_shares=(_copay("50", "98", 20),))
    before = estimate(_short(_request()), payers=PAYERS)
    applied = snap.apply(_short(_request()), PAYERS, policy=ApplyPolicy(use_cost_sharing=True))
    after = estimate(applied.request, payers=applied.payers)
    assert applied.request.coverage.payer == "commercial-ppo-eligibility"
    assert after.payer_name == "Example Commercial PPO (this patient's eligibility response)"
    # 8 induction visits, each with one office-visit copay (99214): 10.00 more each = 80.00
    assert after.totals.patient_net - before.totals.patient_net == Money("80.00")
    # the rules hash covers the derived payer's figures
    assert after.rules_hash != before.rules_hash
    assert "commercial-ppo" in applied.payers  # the library keeps its own payers
    assert applied.payers["commercial-ppo"] is PAYERS["commercial-ppo"]


def test_coinsurance_is_compared_as_a_percent() -> None:
    coins = CostShareFigure.model_validate(
        {"kind": "coinsurance", "network": "in", "level": "individual", "service_type": "MH",
         "percent": Decimal("0.1"), "source": _src(22)}
    )  # fmt: skip
    applied = _snap(cost_shares=(coins,)).apply(_request(), PAYERS)
    assert any(
        "behavioral-health coinsurance (in network): the response says 10%" in w and "says 0%" in w
        for w in applied.warnings
    )


def test_a_coverage_without_the_network_is_refused() -> None:
    with pytest.raises(EligibilityError, match="payer 'self-pay' has no 'in' network"):
        _snap().apply(_request(payer="self-pay"), PAYERS)


def test_choose_member() -> None:
    a, b = _snap(), _snap(member=Member(role="dependent", member_id="W2"))
    assert choose_member((a,)) is a
    assert choose_member((a, b), "W2") is b
    with pytest.raises(EligibilityError, match=r"2 members \(W1, W2\): name one"):
        choose_member((a, b))
    with pytest.raises(EligibilityError, match="no member 'W3'"):
        choose_member((a, b), "W3")


# -- the CLI ----------------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["estimate", str(REQUEST), *args])


def test_cli_estimate_with_eligibility() -> None:
    response = str(FHIR / "ppo-in-and-out.json")
    plain = _run("--format", "json")
    done = _run("--eligibility", response, "--format", "json")
    assert done.exit_code == 0, done.output
    assert (
        "eligibility: deductible_met.individual $300.00 (met as sent; "
        "$.insurance[0].item[0].benefit[0].usedMoney.value)"
    ) in done.stderr
    assert "eligibility warning: office-visit copay (in network): the response says 50.00" in (
        done.stderr
    )
    assert '"payer_name": "Example Commercial PPO"' in done.stdout
    assert done.stdout != plain.stdout
    derived = _run("--eligibility", response, "--use-eligibility-cost-sharing", "--format", "json")
    assert "this patient's eligibility response" in derived.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--member", "W1"), "--use-eligibility-cost-sharing and --member need --eligibility"),
        (("--eligibility", str(REQUEST)), "FHIR $: not JSON"),
        (
            ("--eligibility", str(FHIR / "ppo-in-and-out.json"), "--member", "X9"),
            "no member 'X9' in the response (members: W123456789)",
        ),
    ],
)
def test_cli_eligibility_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    done = _run(*args)
    assert done.exit_code == 2
    assert message in done.stderr
    assert "Traceback" not in done.output


# -- the web endpoint --------------------------------------------------------------------------

#: A tiny 271: one subscriber, active, a 1,500.00 deductible with 1,200.00 remaining.
TINY_271 = (
    "ISA*00*          *00*          *ZZ*EXAMPLEPAYER   *ZZ*RIVERSIDEKET   *260302*0930*^*00501*"
    "000000101*0*P*:~GS*HB*EXAMPLEPAYER*RIVERSIDEKET*20260302*0930*101*X*005010X279A1~"
    "ST*271*0001*005010X279A1~BHT*0022*11*T1*20260302*0930~HL*1**20*1~"
    "NM1*PR*2*EXAMPLE COMMERCIAL PPO*****PI*60054~HL*2*1*21*1~"
    "NM1*1P*2*RIVERSIDE KETAMINE*****XX*1234567893~HL*3*2*22*0~"
    "NM1*IL*1*RIVERA*SAM****MI*W123456789~DMG*D8*19790930~DTP*307*D8*20260302~"
    "EB*1*IND*30*C1~EB*C*IND*30***23*1500*****Y~EB*C*IND*30***29*1200*****Y~"
    "SE*14*0001~GE*1*101~IEA*1*000000101~"
)


def _client(enabled: bool) -> TestClient:
    return TestClient(create_app(WebConfig(eligibility_271=enabled)), raise_server_exceptions=False)


def test_the_271_endpoint_is_off_by_default() -> None:
    assert WebConfig().eligibility_271 is False
    answer = _client(False).post("/v1/eligibility/271", content=TINY_271)
    assert answer.status_code == 404


def test_the_271_endpoint_refuses_a_body_over_the_limit() -> None:
    answer = _client(True).post("/v1/eligibility/271", content="ISA" + "x" * 70_000)
    assert answer.status_code == 413


def test_the_271_endpoint_never_logs_the_body(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ketacost.web"):
        _client(True).post("/v1/eligibility/271", content=TINY_271)
    assert "/v1/eligibility/271" in caplog.text or not caplog.text
    assert "RIVERA" not in caplog.text and "W123456789" not in caplog.text


def test_the_271_endpoint_returns_the_snapshots_when_enabled() -> None:
    answer = _client(True).post("/v1/eligibility/271", content=TINY_271)
    assert answer.status_code == 200, answer.text
    (snapshot,) = [EligibilitySnapshot.model_validate(s) for s in answer.json()]
    assert snapshot.member.member_id == "W123456789"
    # 1,500.00 total, 1,200.00 remaining: applied, 300.00 met
    assert _met(snapshot.apply(_request(), PAYERS)) == Money("300.00")


def test_the_271_endpoint_answers_422_for_a_bad_271() -> None:
    answer = _client(True).post("/v1/eligibility/271", content="ISA*00*garbage~")
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("this 271 cannot be read:")


# -- the X12 corpus ---------------------------------------------------------------------------

X12 = ROOT / "tests" / "data" / "eligibility" / "x12"


def test_network_unknown_271_worked_example() -> None:
    # EB*C*IND*30***23*1000*****W (both networks) and EB*C*IND*30***29*800 (no EB12): each
    # period from the first tier that sends it: met = 1,000.00 − 800.00 = 200.00, and the
    # network not said makes the starting accumulators a range driver
    (snap,) = read_eligibility((X12 / "network-unknown.271").read_bytes())
    applied = snap.apply(_request(), PAYERS)
    assert _met(applied) == Money("200.00")
    assert applied.network_unknown
    assert applied.request.unknowns is not None
    assert applied.request.unknowns.accumulators is not None


@pytest.mark.parametrize("path", sorted(X12.glob("*.271")), ids=lambda p: p.stem)
def test_every_271_of_the_corpus_applies_or_raises_eligibility_error(path: Path) -> None:
    try:
        snapshots = read_eligibility(path.read_bytes())
    except EligibilityError:
        return  # rejections and inactive coverage: the reader's own tests
    for snapshot in snapshots:
        for policy in (ApplyPolicy(), ApplyPolicy(use_cost_sharing=True)):
            try:
                applied = snapshot.apply(_request(), PAYERS, policy=policy)
            except EligibilityError:
                continue
            result = estimate(applied.request, payers=applied.payers)
            assert result.totals.patient_net.cents >= 0
            assert all(use.sources for use in applied.used)


def test_cli_chooses_a_member_of_a_271_with_several() -> None:
    two = str(X12 / "two-subscribers.271")
    done = _run("--eligibility", two)
    assert done.exit_code == 2
    assert "the response has 2 members (W100000001, W100000002): name one" in done.stderr
    chosen = _run("--eligibility", two, "--member", "W100000002", "--format", "json")
    assert chosen.exit_code == 0, chosen.output
    assert "eligibility:" in chosen.stderr


def test_a_benefit_administrator_is_not_a_candidate_second_payer() -> None:
    # EB*U*IND*MH (2120C: a behavioural health administrator) in the carve-out example
    administrator = OtherPayer(
        relation="benefit_administrator", service_types=("MH",), name="BH ADMIN", source=_src(30)
    )
    applied = _snap(other_payers=(administrator,)).apply(
        _request(), PAYERS, policy=ApplyPolicy(secondary_payer="spouse-employer-ppo")
    )
    assert applied.warnings == (
        "BH ADMIN administers the benefits for MH (segment 30 (EB segment 30), EB07): ask it "
        "for their figures; this response may not give them",
    )
    assert applied.request.coverage.secondary is None


def test_a_mental_health_remaining_alone_does_not_displace_the_plan_level_pair() -> None:
    # CORE 260's common shape: service type 30 sends the total 1,500.00 (EB06 23) and the
    # remaining 1,200.00 (29); MH sends only a remaining 100.00. MH is preferred only when its
    # own figures say what is met: here 30's do, 1,500.00 − 1,200.00 = 300.00.
    snap = _snap(
        _acc("total", "1500", 14),
        _acc("remaining", "1200", 15),
        _acc("remaining", "100", 16, service="MH"),
    )
    assert _met(snap.apply(_request(), PAYERS)) == Money("300.00")


def test_duplicates_are_settled_out_loud() -> None:
    # Two remainings for the same thing, 1,200.00 and 900.00: the default policy keeps the
    # higher (1,500.00 − 1,200.00 = 300.00 met) and a warning names both segments.
    snap = _snap(
        _acc("total", "1500", 14), _acc("remaining", "1200", 15), _acc("remaining", "900", 16)
    )
    applied = snap.apply(_request(), PAYERS)
    assert _met(applied) == Money("300.00")
    assert any(
        "1200.00 (segment 15" in w and "900.00 (segment 16" in w and "duplicates: higher" in w
        for w in applied.warnings
    )
