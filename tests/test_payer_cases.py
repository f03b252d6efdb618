"""The payer library: every payer file loads, cites its sources and passes its own cases.

Each ``payers/<id>.yaml`` ships with ``payers/cases/<id>.yaml`` (format in
``payers/cases/README.md``); every case runs here as ``<payer>:<case>``. The case loader's own
errors, the stale-review check and the facts issue 3 asks the library to hold are tested too.
"""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from payer_cases import (
    CaseFileError,
    LoadedCase,
    case_files,
    case_mismatches,
    load_cases,
)

import ketacost
from ketacost import Money
from ketacost._payer import CoveredRule, ExcludedRule, MedicareFeeSchedule, PercentOfPayer

ROOT = Path(__file__).resolve().parents[1]
PAYERS = ketacost.load_payers(ROOT / "payers")
CLINIC = ROOT / "examples" / "clinics" / "example-clinic.yaml"

#: Payer ids other parts of ketacost (and other helpers) refer to: they must stay stable.
STABLE_IDS = {
    "self-pay",
    "medicare-part-b",
    "medicare-advantage",
    "medicaid",
    "tricare",
    "tricare-prime",
    "tricare-select-retiree",
    "commercial-ppo",
    "commercial-hmo",
    "hdhp",
    "iv-trd-payer",
    # second payers (issue 12)
    "medigap-plan-f",
    "medigap-plan-g",
    "medigap-plan-n",
    "tricare-for-life",
    "spouse-employer-ppo",
}


def _all_cases() -> list[LoadedCase]:
    return [
        case
        for path in case_files(ROOT / "payers")
        for case in load_cases(path, payers=PAYERS, root=ROOT)
    ]


CASES = _all_cases()


# --------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_payer_case(case: LoadedCase) -> None:
    assert case_mismatches(case, PAYERS) == []
    # and the estimate keeps the contract's identities on every line (rule 9)
    est = ketacost.adjudicate(case.request, PAYERS)
    for ln in est.lines():
        assert ln.patient + ln.payer + ln.secondary + ln.write_off == ln.charge
        parts = ln.copay + ln.deductible + ln.coinsurance + ln.balance_bill + ln.non_covered
        assert ln.patient == parts


def test_every_payer_has_a_case_file_with_two_cases() -> None:
    per_payer: dict[str, int] = {}
    for case in CASES:
        per_payer[case.payer] = per_payer.get(case.payer, 0) + 1
    assert {pid: n for pid, n in per_payer.items() if n < 2} == {}
    assert sorted(set(PAYERS) - set(per_payer)) == []
    # and no case file for a payer that does not exist
    assert sorted(p.stem for p in case_files(ROOT / "payers")) == sorted(PAYERS)


def test_a_wrong_expectation_is_reported() -> None:
    case = next(c for c in CASES if c.id == "medicare-part-b:plan-crossing-2026")
    expect = case.expect.model_copy(update={"patient": case.expect.patient + Money("0.01")})
    year = case.expect.plan_years[1].model_copy(update={"codes": ("J0013",)})
    expect = expect.model_copy(
        update={
            "plan_years": (
                case.expect.plan_years[0],
                year,
                year.model_copy(update={"start": date(2027, 1, 1)}),
            )
        }
    )
    wrong = LoadedCase(case.payer, case.name, None, case.request, expect)
    assert case_mismatches(wrong, PAYERS) == [
        "whole plan patient: expected 1516.89, estimate gives 1516.88",
        "plan year 2026-01-01 codes: expected J0013, estimate bills G2083",
        "plan year 2027-01-01: not in the estimate (plan years: 2025-01-01, 2026-01-01)",
    ]


# --------------------------------------------------------------------------- the payer files


#: When each file was last checked against its sources: the issue 11 corrections re-read
#: every payer file but self-pay on 2026-11-29.
#: The second payers of issue 12 (and Medicaid's as_secondary) were read on 2026-11-30.
NEW_IN_12 = {
    "medigap-plan-f",
    "medigap-plan-g",
    "medigap-plan-n",
    "tricare-for-life",
    "spouse-employer-ppo",
    "medicaid",
}
REVIEWED = (
    {pid: date(2026, 11, 29) for pid in PAYERS if pid != "self-pay"}
    | {"self-pay": date(2026, 11, 21)}
    | dict.fromkeys(NEW_IN_12, date(2026, 11, 30))
)


@pytest.mark.parametrize("payer_id", sorted(PAYERS))
def test_payer_cites_its_sources(payer_id: str) -> None:
    meta = PAYERS[payer_id].metadata
    assert any(ref.href.startswith("https://") and ref.title for ref in meta.reference)
    assert meta.last_reviewed == REVIEWED[payer_id]


def test_the_payer_ids_are_the_stable_ones() -> None:
    assert set(PAYERS) == STABLE_IDS


def test_payer_library_checks_clean() -> None:
    assert ketacost.check_payers(ROOT / "payers") == []


def test_stale_payers_against_a_fixed_today() -> None:
    # the oldest file (self-pay) was reviewed 2026-11-21: 365 days later is not older than a
    # year …
    assert ketacost.stale_payers(PAYERS, today=date(2027, 11, 21)) == []
    # … a day more is: (id, last_reviewed, age in days), oldest first, then by id
    stale = ketacost.stale_payers(PAYERS, today=date(2027, 11, 22))
    assert stale == [("self-pay", date(2026, 11, 21), 366)]
    # a shorter age: 2027-01-01 − 2026-11-21 = 41 days, − 2026-11-29 = 33 and − 2026-11-30
    # = 32, all over 30
    older = sorted(pid for pid in PAYERS if REVIEWED[pid] == date(2026, 11, 29))
    newest = sorted(NEW_IN_12)
    assert ketacost.stale_payers(PAYERS, today=date(2027, 1, 1), max_age_days=30) == [
        ("self-pay", date(2026, 11, 21), 41),
        *((pid, date(2026, 11, 29), 33) for pid in older),
        *((pid, date(2026, 11, 30), 32) for pid in newest),
    ]


def _rule(payer_id: str, code: str, on: str, network: str = "in") -> CoveredRule | ExcludedRule:
    rule = PAYERS[payer_id].rules_for(code, date.fromisoformat(on), network)
    assert rule is not None, (payer_id, code, on)
    return rule


def test_medicare_part_b_holds_the_issue_3_facts() -> None:
    mcr = PAYERS["medicare-part-b"]
    net = mcr.networks["in"]
    assert net.deductible.individual.at(date(2025, 6, 1)) == Money("257.00")
    assert net.deductible.individual.at(date(2026, 6, 1)) == Money("283.00")
    assert net.out_of_pocket_max is None
    assert net.cost_sharing["part-b"].coinsurance.at(date(2026, 1, 1)) == Decimal("0.2")
    assert isinstance(net.allowed, MedicareFeeSchedule)
    schedule = PAYERS.fee_schedules[net.allowed.schedule.at(date(2026, 3, 1))]
    priced = set(net.allowed.rates) | set(schedule.codes)
    codes = {"99204", "99214", "99215", "90791", "90792", "90833", "90837", "96365", "96372"}
    assert codes | {"G2082", "G2083"} <= priced
    assert net.allowed.rates["96365"].at(date(2025, 3, 1)) == Money("72.00")
    assert mcr.billing_variants == ("medicare-g-code",)
    assert isinstance(_rule("medicare-part-b", "G2083", "2026-03-01"), CoveredRule)
    for code in ("J0013", "S0013", "96365", "96372", "J3490"):
        assert isinstance(_rule("medicare-part-b", code, "2026-03-01"), ExcludedRule)


def test_esketamine_codes_change_on_2026_01_01_wherever_j_codes_are_taken() -> None:
    for pid in (
        "commercial-ppo",
        "commercial-hmo",
        "hdhp",
        "medicaid",
        "tricare",
        "tricare-prime",
        "tricare-select-retiree",
    ):
        assert isinstance(_rule(pid, "S0013", "2025-12-31"), CoveredRule), pid
        assert PAYERS[pid].rules_for("S0013", date(2026, 1, 1), "in") is None, pid
        assert isinstance(_rule(pid, "J0013", "2026-01-01"), CoveredRule), pid
        assert PAYERS[pid].rules_for("J0013", date(2025, 12, 31), "in") is None, pid


def test_network_designs() -> None:
    # HMO and Medicaid: nothing out of network; the PPO: a separate out-of-network tier
    assert set(PAYERS["commercial-hmo"].networks) == {"in"}
    assert set(PAYERS["medicaid"].networks) == {"in"}
    ppo_out = PAYERS["commercial-ppo"].networks["out"]
    assert isinstance(ppo_out.allowed, PercentOfPayer)
    assert ppo_out.allowed.payer == "medicare-part-b"
    assert ppo_out.allowed.percent.at(date(2026, 1, 1)) == Decimal("1.4")
    assert ppo_out.balance_billing
    assert ppo_out.deductible.individual.at(date(2026, 1, 1)) != (
        PAYERS["commercial-ppo"].networks["in"].deductible.individual.at(date(2026, 1, 1))
    )
    ma = PAYERS["medicare-advantage"]
    assert ma.kind == "medicare-advantage"
    assert ma.networks["in"].out_of_pocket_max is not None
    for pid in ("medicare-advantage", "medicaid", "tricare", "commercial-ppo"):
        code = "G2082" if pid == "medicare-advantage" else "J0013"
        rule = _rule(pid, code, "2026-03-01")
        assert isinstance(rule, CoveredRule) and rule.conditions.prior_authorization, pid


@pytest.mark.parametrize(
    ("on", "deductible", "family_deductible", "maximum", "family_maximum"),
    [
        # Rev. Proc. 2024-25 (2025) and Rev. Proc. 2025-19 (2026): minimum deductible and
        # maximum out-of-pocket of an HSA-qualified plan, self-only / family
        (date(2025, 12, 31), "1650.00", "3300.00", "8300.00", "16600.00"),
        (date(2026, 1, 1), "1700.00", "3400.00", "8500.00", "17000.00"),
    ],
)
def test_hdhp_sits_at_the_irs_limits_of_each_year(
    on: date, deductible: str, family_deductible: str, maximum: str, family_maximum: str
) -> None:
    net = PAYERS["hdhp"].networks["in"]
    assert net.deductible.individual.at(on) == Money(deductible)
    assert net.deductible.family is not None
    assert net.deductible.family.at(on) == Money(family_deductible)
    oop = net.out_of_pocket_max
    assert oop is not None and oop.individual.at(on) == Money(maximum)
    assert oop.family is not None and oop.family.at(on) == Money(family_maximum)
    assert net.cost_sharing["office-visit"].copay_after_deductible


def test_iv_trd_payer_criteria() -> None:
    rule = _rule("iv-trd-payer", "96365", "2026-03-01")
    assert isinstance(rule, CoveredRule)
    c = rule.conditions
    assert (c.prior_authorization, c.authorization_days, c.min_failed_trials, c.min_age) == (
        True,
        28,
        4,
        18,
    )


def test_example_clinic_has_every_modality() -> None:
    clinic = ketacost.load_clinic(CLINIC)
    for name in (
        "intake",
        "intake-prescriber",
        "iv-infusion",
        "im-injection",
        "esketamine-56",
        "esketamine-84",
        "kap-session",
        "kap-therapy",
        "at-home-month",
    ):
        assert clinic.sessions[name].self_pay is not None, name
    for name, g_code, mg in (("esketamine-56", "G2082", 56), ("esketamine-84", "G2083", 84)):
        tmpl = clinic.sessions[name]
        assert [ln.code.values[0] for ln in tmpl.variants["medicare-g-code"]] == [g_code]
        drug = tmpl.lines[0]
        assert drug.units == mg
        assert drug.code.at(date(2025, 12, 31)) == "S0013"
        assert drug.code.at(date(2026, 1, 1)) == "J0013"
    assert {ln.code.values[0] for ln in clinic.sessions["intake"].lines} == {"90791"}
    assert {ln.code.values[0] for ln in clinic.sessions["intake-prescriber"].lines} == {"90792"}
    # KAP: the ketamine drug and its administration; psychotherapy minutes billed once (0820T
    # includes psychotherapy, so no 90833 beside it) [domain.md §10.3]
    assert [ln.code.values[0] for ln in clinic.sessions["kap-session"].lines] == [
        "99214",
        "96372",
        "J3490",
        "0820T",
    ]
    assert [ln.code.values[0] for ln in clinic.sessions["kap-therapy"].lines] == [
        "90837",
        "96372",
        "J3490",
        "0820T",
    ]
    assert [p.id for p in clinic.packages] == ["iv-induction-6"]


#: Procedures a separately identifiable E/M (modifier 25) may sit beside in the example clinic.
PROCEDURES = {"96365", "96372"}


def test_example_clinic_bills_claims_the_way_the_sources_say() -> None:
    clinic = ketacost.load_clinic(CLINIC)
    # commercial esketamine: drug, visit, and the 2-hour observation as prolonged clinical
    # staff time (spravatohcp.com coding families); 120 − 39 = 81 minutes beyond 99214's
    # highest time → 99415 + 1 × 99416
    for name, ndc11, devices in (
        ("esketamine-56", "50458-0028-02", 2),
        ("esketamine-84", "50458-0028-03", 3),
    ):
        lines = clinic.sessions[name].lines
        assert [ln.code.values[-1] for ln in lines] == ["J0013", "99214", "99415", "99416"]
        assert [ln.units for ln in lines[1:]] == [1, 1, 1]
        drug = lines[0]
        assert (drug.ndc11, drug.ndc_unit, drug.ndc_quantity) == (ndc11, "UN", devices)
    # modifier 25 only on a visit that sits beside a procedure the same day
    for name, tmpl in clinic.sessions.items():
        for lines in (tmpl.lines, *tmpl.variants.values()):
            codes = {ln.code.values[-1] for ln in lines}
            if any("25" in ln.modifiers for ln in lines):
                assert codes & PROCEDURES, name
    # every J3490 line names its drug: NDC with unit and quantity, and a narrative
    for name, tmpl in clinic.sessions.items():
        for ln in tmpl.lines:
            if "J3490" in ln.code.values:
                assert ln.ndc11 == "00409-2051-05" and ln.ndc_unit == "ML", name
                assert ln.narrative is not None and "Ketamine" in ln.narrative, name
    # telehealth at home is place of service 10, not 02 (CMS, since CY2024)
    assert clinic.sessions["at-home-month"].place_of_service == "10"


# --------------------------------------------------------------------------- loader errors

_REQUEST = """\
    request:
      patient: {age: 40, diagnoses: ["F33.2"], failed_trials: 2}
      coverage: {payer: medicaid}
      clinic: examples/clinics/example-clinic.yaml
      plan:
        start: 2026-03-02
        phases:
          - {session: intake, sessions: 1}
"""


def _case_file(tmp_path: Path, stem: str, text: str) -> Path:
    path = tmp_path / f"{stem}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _error(path: Path) -> list[str]:
    with pytest.raises(CaseFileError) as info:
        load_cases(path, payers=PAYERS, root=ROOT)
    return [str(issue) for issue in info.value.issues]


def _good_case(name: str = "intake", expect: str = "{patient: 4.00, payer: 116.00}") -> str:
    return f"  - name: {name}\n{_REQUEST}    expect: {expect}\n"


def test_a_good_case_file_loads(tmp_path: Path) -> None:
    path = _case_file(tmp_path, "medicaid", "payer: medicaid\ncases:\n" + _good_case())
    (case,) = load_cases(path, payers=PAYERS, root=ROOT)
    # 90791: Medicaid allowed 120.00; copay 4.00; Medicaid pays 116.00
    assert case.id == "medicaid:intake"
    assert case_mismatches(case, PAYERS) == []


def test_case_file_naming_an_unknown_payer(tmp_path: Path) -> None:
    path = _case_file(tmp_path, "nobody", "payer: nobody\ncases:\n" + _good_case())
    known = ", ".join(sorted(PAYERS))
    assert _error(path) == [
        f"{path}:1:8: payer: unknown payer 'nobody' (known: {known})",
        f"{path}:6:25: cases[0].request.coverage.payer: must be the file's payer 'nobody', "
        "or name it as the secondary (got 'medicaid')",
    ]


def test_case_file_for_another_payer_than_its_name(tmp_path: Path) -> None:
    path = _case_file(tmp_path, "tricare", "payer: medicaid\ncases:\n" + _good_case())
    assert _error(path) == [
        f"{path}:1:8: payer: must equal the file name 'tricare': payers/cases/<id>.yaml holds "
        "the cases of payer <id> (got 'medicaid')"
    ]


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        (
            "{patient: 4.001, payer: 116.00}",
            "12:23: cases[0].expect.patient: money has at most 2 decimal places (got 4.001)",
        ),
        (
            "{patient: four, payer: 116.00}",
            "12:23: cases[0].expect.patient: not an amount of money: 'four' (write dollars as "
            'digits with at most two decimals, e.g. 450, 450.00 or "$1,234.56")',
        ),
        ("{patient: 4.00}", "12:13: cases[0].expect.payer: required field is missing"),
        (
            "{patient: 4.00, payer: 116.00, patients: 4.00}",
            "12:44: cases[0].expect.patients: unknown key 'patients'",
        ),
        (
            "{patient: 4.00, payer: 116.00, plan_years: [{patient: 4.00, payer: 1.00}]}",
            "12:57: cases[0].expect.plan_years[0].start: required field is missing",
        ),
        (
            "{patient: 4.00, payer: 116.00, codes: [90791]}",
            '12:52: cases[0].expect.codes[0]: write codes as quoted text, e.g. "90791" '
            "(got the number 90791)",
        ),
    ],
    ids=[
        "too-many-places",
        "not-a-number",
        "payer-missing",
        "unknown-key",
        "year-start-missing",
        "unquoted-code",
    ],
)
def test_malformed_expectation(tmp_path: Path, expect: str, message: str) -> None:
    path = _case_file(tmp_path, "medicaid", "payer: medicaid\ncases:\n" + _good_case(expect=expect))
    assert _error(path) == [f"{path}:{message}"]


def test_bad_request_inside_a_case(tmp_path: Path) -> None:
    text = "payer: medicaid\ncases:\n" + _good_case().replace("session: intake", "session: nap")
    path = _case_file(tmp_path, "medicaid", text)
    (issue,) = _error(path)
    assert issue.startswith(
        f"{path}:11:23: cases[0].request.plan.phases[0].session: the clinic has no session 'nap'"
    ), issue


def test_missing_clinic_file(tmp_path: Path) -> None:
    text = "payer: medicaid\ncases:\n" + _good_case().replace("example-clinic", "nowhere")
    path = _case_file(tmp_path, "medicaid", text)
    (issue,) = _error(path)
    assert issue.startswith(
        f"{path}:7:15: cases[0].request.clinic: clinic file 'examples/clinics/nowhere.yaml' "
        "not found"
    ), issue


def test_duplicate_case_names_and_years(tmp_path: Path) -> None:
    twice = "{patient: 4.00, payer: 116.00, plan_years: [{start: 2026-01-01, patient: 4.00, payer: 116.00}, {start: 2026-01-01, patient: 4.00, payer: 116.00}]}"
    text = "payer: medicaid\ncases:\n" + _good_case() + _good_case(expect=twice)
    path = _case_file(tmp_path, "medicaid", text)
    assert _error(path) == [
        f"{path}:13:11: cases[1].name: duplicate case name 'intake' (also cases[0])",
        f"{path}:22:116: cases[1].expect.plan_years[1].start: plan year 2026-01-01 is listed twice",
    ]


def test_a_case_file_needs_cases(tmp_path: Path) -> None:
    path = _case_file(tmp_path, "medicaid", "payer: medicaid\ncases: []\n")
    (issue,) = _error(path)
    assert issue.startswith(f"{path}:2:8: cases: must have at least 1 item"), issue
