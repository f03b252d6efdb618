"""Plain-language explanations of estimate lines (ketacost._plain), in English and Spanish.

Worked examples from the payer cases (the sentence written out, with its arithmetic), every
payer case and example request (each not-covered or self-pay line has a specific cause in
words, in both languages; every amount with "$"; no codes outside ``details``), the cause of
each way the engine words a reason, and properties over generated estimates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from payer_cases import case_files, load_cases
from strategies import Case, cases, exercises, note, rich_cases

import ketacost
from ketacost import EstimateLine, Money
from ketacost._estimating import adjudicate
from ketacost._i18n import UnknownLanguageError, translator
from ketacost._plain import (
    CAUSES,
    Cause,
    _cause_words,
    cause,
    describe,
    details,
    not_covered_reason,
    reason_cause,
    why,
)

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "es")


@cache
def _estimates() -> dict[str, ketacost.Estimate]:
    """Every payer case (``payer:case``) and example request (``file.yaml``), estimated."""
    payers = ketacost.load_payers(ROOT / "payers")
    out = {
        case.id: adjudicate(case.request, payers, payers.programs)
        for path in case_files(ROOT / "payers")
        for case in load_cases(path, payers=payers, root=ROOT)
    }
    for path in sorted((ROOT / "examples" / "requests").glob("*.yaml")):
        request = ketacost.load_request(path, payers=payers)
        out[path.name] = ketacost.estimate(request, payers=payers)
    return out


def _line(name: str, visit: int, code: str) -> EstimateLine:
    estimate = _estimates()[name]
    return next(ln for ln in estimate.lines() if ln.visit == visit and ln.code == code)


def _all_lines() -> Iterator[tuple[str, EstimateLine]]:
    for name, estimate in _estimates().items():
        for line in estimate.lines():
            yield name, line


# An amount: digits with a decimal point and two places; it must follow a "$".
_AMOUNT = re.compile(r"(.)(\d[\d,]*\.\d\d)(?!\d)")
# A billing code: five digits, four digits and a letter, or a letter and four digits.
_CODE = re.compile(r"\b(?:\d{5}|\d{4}[A-Z]|[A-Z]\d{4})\b")


def _bare_amounts(text: str) -> list[str]:
    return [m.group(2) for m in _AMOUNT.finditer(f" {text}") if m.group(1) != "$"]


# -- worked examples -----------------------------------------------------------------------------
def test_a_covered_drug_under_the_deductible_then_coinsurance() -> None:
    # commercial-hmo: J0013 × 56 allowed 560.00; 500.00 of the deductible is left, so the
    # patient pays 500.00 toward it and 20% of the remaining 60.00 = 12.00 coinsurance: 512.00;
    # the plan pays 560.00 - 512.00 = 48.00.
    line = _line("commercial-hmo:deductible-then-coinsurance", 1, "J0013")
    assert describe(line) == "Esketamine nasal spray (Spravato), 56 mg"
    assert describe(line, "es") == "Esketamina en aerosol nasal (Spravato), 56 mg"
    assert not_covered_reason(line) is None
    assert why(line) == (
        "Your plan allows $560.00 and pays $48.00. "
        "You pay $512.00: $500.00 toward your deductible and $12.00 coinsurance."
    )
    assert why(line, "es") == (
        "El monto permitido por su plan es $560.00 y su plan paga $48.00. "
        "Usted paga $512.00: $500.00 de deducible y $12.00 de coseguro."
    )
    assert details(line).startswith("J0013 × 56 · rule commercial-hmo:")
    # every money amount with "$", the per-unit rate too; the percent stays a percent
    assert "allowed $560.00 (commercial-hmo fee schedule: $10.00 × 56 = $560.00)" in details(line)
    assert "coinsurance 20% of $60.00 = $12.00" in details(line)


def test_an_office_visit_copay() -> None:
    # The same visit's 99214: allowed 165.00, a 35.00 copay, the plan pays 130.00.
    line = _line("commercial-hmo:deductible-then-coinsurance", 1, "99214")
    assert describe(line) == "Office visit"
    assert describe(line, "es") == "Consulta en el consultorio"
    assert why(line) == "Your plan allows $165.00 and pays $130.00. You pay $35.00 copay."
    assert why(line, "es") == (
        "El monto permitido por su plan es $165.00 y su plan paga $130.00. "
        "Usted paga $35.00 de copago."
    )


def test_a_package_price_for_a_self_pay_patient() -> None:
    # The package is 2,400.00 for 6 IV sessions: 400.00 a session, shared over its lines by
    # charge (96365 650.00, J3490 50.00): 400.00 × 650 / 700 = 371.43 and 28.57.
    line = _line("self-pay:iv-package-then-boosters", 2, "96365")
    assert line.patient == Money("371.43")
    assert describe(line) == "IV ketamine infusion, first hour"
    assert not_covered_reason(line) == (
        "you are paying the clinic directly, at its package price of $2,400.00 for 6 sessions "
        "(this is session 1 of 6)"
    )
    assert not_covered_reason(line, "es") == (
        "usted le paga directamente a la clínica, con su precio de paquete de $2,400.00 por 6 "
        "sesiones (esta es la sesión 1 de 6)"
    )
    assert why(line).endswith("(this is session 1 of 6). You pay $371.43.")
    drug = _line("self-pay:iv-package-then-boosters", 2, "J3490")
    assert describe(drug) == "Ketamine (the medicine)"
    assert describe(drug, "es") == "Ketamina (el medicamento)"


def test_an_approval_that_ended_and_was_not_renewed() -> None:
    # iv-trd-payer: a 28-day approval from 2026-02-02 ends on 2026-03-01 and its renewal is
    # denied; the later infusion is owed at its share of the 450.00 session price:
    # 450.00 × 650 / 700 = 417.86, 232.14 less than its 650.00 charge.
    line = next(
        ln
        for ln in _estimates()["iv-trd-payer:authorization-window-ends"].lines()
        if ln.code == "96365" and not ln.covered
    )
    assert why(line) == (
        "Your plan's approval (prior authorization) ended on March 1, 2026, and its renewal "
        "was denied. You pay the clinic's self-pay price of $417.86, $232.14 less than the full "
        "charge of $650.00."
    )
    assert why(line, "es") == (
        "La aprobación de su plan (autorización previa) terminó el 1 de marzo de 2026, y se "
        "denegó su renovación. Usted paga el precio de pago por cuenta propia de la clínica, "
        "$417.86, es decir, $232.14 menos que el cargo completo de $650.00."
    )
    # The engine's words stay in the details view.
    assert "prior authorization window of 28 days" in details(line)


def test_an_experimental_exclusion_keeps_the_payers_text_in_details_only() -> None:
    line = next(
        ln
        for ln in _estimates()["commercial-ppo:out-of-network-kap-balance-bill"].lines()
        if ln.code == "96372"
    )
    assert not_covered_reason(line) == (
        "your plan does not cover it: it considers this treatment experimental or investigational"
    )
    assert not_covered_reason(line, "es") == (
        "su plan no lo cubre: considera que este tratamiento es experimental o de investigación"
    )
    assert "Aetna CPB 0938" in details(line)
    for lang in LANGS:
        assert "Aetna" not in why(line, lang)


def test_medicare_with_a_signed_notice() -> None:
    line = next(
        ln
        for ln in _estimates()["medicare-part-b:deductible-crossing-iv-not-covered"].lines()
        if ln.code == "96365" and not ln.covered
    )
    assert "GA" in line.modifiers
    assert not_covered_reason(line) == (
        "your plan does not cover it: this treatment is not approved or covered for this use "
        "(off-label); you signed a notice that Medicare will probably not pay (an Advance "
        "Beneficiary Notice), so you pay for it"
    )
    assert "(el Aviso anticipado de no cobertura para el beneficiario, ABN)" in str(
        not_covered_reason(line, "es")
    )


def test_a_second_payer_pays_most_of_the_share() -> None:
    # commercial PPO then Medicaid: J0013 allowed 588.00, all to the deductible; Medicaid pays
    # 504.00 of it as the payer of last resort and the clinic writes off 80.00: 4.00 is left.
    line = _line("medicaid:payer-of-last-resort-after-a-ppo", 2, "J0013")
    assert why(line) == (
        "Your plan allows $588.00 and pays $0.00. Your other plan pays $504.00 of your share. "
        "You pay $4.00 toward your deductible."
    )
    assert why(line, "es") == (
        "El monto permitido por su plan es $588.00 y su plan paga $0.00. Su otro plan paga "
        "$504.00 de la parte que le corresponde a usted. Usted paga $4.00 de deducible."
    )


def test_a_second_payer_covers_what_the_first_denies() -> None:
    line = next(
        ln
        for ln in _estimates()["spouse-employer-ppo:first-plan-denies-the-drug"].lines()
        if ln.covered and ln.reason is not None
    )
    assert not_covered_reason(line) is None
    assert why(line).startswith(
        "Your first plan does not pay for it (your plan denied the approval it requires (prior "
        "authorization)); your other plan covers it: it allows $588.00 and pays "
    )


def test_telehealth_and_add_on_codes_and_unknown_codes() -> None:
    line = _line("hdhp:copay-after-deductible", 1, "99214")
    if "95" in line.modifiers:
        assert describe(line) == "Telehealth visit"
        assert describe(line, "es") == "Consulta por telemedicina"
    twice = line.model_validate({**line.model_dump(), "code": "99416", "units": 2})
    assert (
        describe(twice)
        == "Observation by clinic staff after the dose, each extra 30 minutes (2 times)"
    )
    assert describe(twice, "es").endswith("(2 veces)")
    unknown = line.model_validate(
        {**line.model_dump(), "code": "97799", "description": "Something unlisted"}
    )
    assert describe(unknown) == describe(unknown, "es") == "Something unlisted"


def test_a_dose_from_the_description_when_units_do_not_give_it() -> None:
    line = _line("commercial-hmo:deductible-then-coinsurance", 1, "J0013")
    one = line.model_validate({**line.model_dump(), "units": 1})
    assert describe(one) == "Esketamine nasal spray (Spravato), 56 mg"  # "(56 mg)" in the text
    bare = line.model_validate({**line.model_dump(), "units": 1, "description": "Esketamine"})
    assert describe(bare) == "Esketamine nasal spray (Spravato)"


def _variant(
    file: str, coverage: dict[str, object], *, opted_out: bool = False, born: str | None = None
) -> ketacost.Estimate:
    """An example request with another coverage (and clinic or patient), estimated."""
    payers = ketacost.load_payers(ROOT / "payers")
    request = ketacost.load_request(ROOT / "examples" / "requests" / file, payers=payers)
    data = request.model_dump(mode="json", exclude_unset=True)
    if opted_out:
        clinic = request.clinic.model_dump(mode="json", exclude_unset=True)
        clinic["medicare"] = {"participation": "opted_out"}
        data["clinic"] = ketacost.clinic_from_data(clinic)
    if born is not None:
        data["patient"]["birth_date"] = born
    data["coverage"] = {**data["coverage"], **coverage}
    return ketacost.estimate(ketacost.request_from_data(data, payers=payers), payers=payers)


def test_a_superbill_line() -> None:
    # Out of network on a superbill: the patient pays the clinic and the plan pays back its
    # share of the allowed amount; what it does not pay back is the patient's.
    estimate = _variant("esketamine-commercial.yaml", {"network": "out", "superbill": True})
    first = next(ln for ln in estimate.lines() if ln.covered)
    assert "the plan pays you back $0.00" in why(first)  # all of it to the deductible
    line = next(ln for ln in estimate.lines() if ln.reimbursement)
    assert cause(line) == Cause("superbill")
    assert not_covered_reason(line) == (
        "you pay the clinic directly and send the bill (a superbill) to your plan yourself; "
        "your plan pays you back its share"
    )
    text = why(line)
    assert f"the plan pays you back {format(line.reimbursement, '$')}" in text
    assert format(line.patient, "$") in text
    assert "(superbill)" in str(not_covered_reason(line, "es"))


def test_a_private_contract_with_a_clinic_that_opted_out_of_medicare() -> None:
    estimate = _variant(
        "iv-series-commercial.yaml", {"payer": "medicare-part-b"}, opted_out=True,
        born="1955-04-12",
    )  # fmt: skip
    line = estimate.visits[0].lines[0]
    assert not_covered_reason(line) == (
        "the clinic has opted out of your plan, so you pay the clinic directly under a private "
        "contract and your plan pays nothing"
    )
    # The intake at the clinic's self-pay price.
    assert why(line) == (
        "The clinic has opted out of your plan, so you pay the clinic directly under a private "
        "contract and your plan pays nothing. You pay $250.00."
    )
    assert why(line, "es") == (
        "La clínica optó por no participar en su plan, así que usted le paga directamente a la "
        "clínica mediante un contrato privado y su plan no paga nada. Usted paga $250.00."
    )


def test_medicare_without_a_signed_notice_the_patient_owes_nothing() -> None:
    # No ABN (modifier GZ): the clinic writes the infusion off; the patient owes nothing.
    estimate = _variant("iv-series-commercial.yaml", {"payer": "medicare-part-b"},
                        born="1955-04-12")  # fmt: skip
    line = next(ln for ln in estimate.lines() if "GZ" in ln.modifiers)
    assert why(line) == (
        "Your plan does not cover it: this treatment is not approved or covered for this use "
        "(off-label); no notice that Medicare will probably not pay (an Advance Beneficiary "
        "Notice) was signed, so the clinic may not bill you for it. You pay nothing for it."
    )
    assert why(line, "es").endswith(
        "así que la clínica no puede cobrárselo. Usted no paga nada por esto."
    )


# -- the engine's reasons, each to its cause --------------------------------------------------------
@pytest.mark.parametrize(
    ("reason", "kind", "english"),
    [
        ("prior authorization pending (required)", "authorization-pending",
         "your plan's approval (prior authorization) is not in place yet"),
        ("prior authorization not requested (required)", "authorization-not-requested",
         "your plan requires its approval in advance (prior authorization), and it has not been "
         "requested"),
        ("prior authorization starts 2026-04-01", "authorization-starts",
         "your plan's approval (prior authorization) starts only on April 1, 2026"),
        ("prior authorization (2026-01-05 to 2026-02-01) has ended", "authorization-ended",
         "your plan's approval (prior authorization) ended on February 1, 2026"),
        ("prior authorization for 6 visits from 2026-01-05 is used up",
         "authorization-visits-used",
         "your plan's approval (prior authorization) was for 6 visits, and they are used up"),
        ("prior authorization for 1 visits from 2026-01-05 is used up; its renewal is denied",
         "authorization-visits-used",
         "your plan's approval (prior authorization) was for 1 visit, and it is used up, and its "
         "renewal was denied"),
        ("prior authorization for 224 units from 2026-01-05 is used up (224 used, 56 more "
         "billed)", "authorization-units-used",
         "the amount your plan approved (prior authorization) is used up"),
        ("limit: 28 sessions per plan year reached", "session-limit",
         "your plan's limit of 28 sessions a year has been reached"),
        ("Example PPO pays nothing out of network", "out-of-network",
         "the clinic is out of your plan's network and the plan pays nothing out of network"),
        ("no allowed amount for code 0820T in the medicare-part-b fee schedule",
         "no-allowed-amount", "your plan has no payment amount for this service"),
        ("no coverage rule for code 90837 under Example PPO", "no-coverage-rule",
         "your plan's rules do not list this service as covered"),
        ("age: coverage starts at age 18 (patient is 16)", "age-minimum",
         "your plan covers it only from age 18"),
        ("age: coverage ends after age 64 (patient is 70)", "age-maximum",
         "your plan covers it only up to age 64"),
        ("diagnosis: none of the accepted codes (F33.2); got none given", "diagnosis",
         "your plan covers it only for certain diagnoses, and none of them is on your record"),
        ("step therapy: 1 of 2 required failed trials", "step-therapy",
         "your plan covers it only after 2 other treatments have been tried without success "
         "(step therapy); your record shows 1"),
        ("excluded by the generated plan", "excluded",
         "your plan does not cover it: its policy excludes this service"),
        ("IM ketamine is not covered: the policy covers intravenous ketamine only",
         "other-form-only",
         "your plan does not cover it: its policy covers only another form of this treatment"),
        ("Medicare pays esketamine only as G2082/G2083, which include the drug", "bundled",
         "your plan pays for this medicine only within a combined treatment-visit charge, not "
         "as a separate charge"),
        ("Category III monitoring code: not a TRICARE benefit (ILLUSTRATIVE)", "not-a-benefit",
         "your plan does not cover it: this service is not a benefit of your plan"),
    ],
)  # fmt: skip
def test_each_engine_reason_has_its_cause(reason: str, kind: str, english: str) -> None:
    line = _line("commercial-hmo:deductible-then-coinsurance", 1, "J0013")
    denied = line.model_validate({**line.model_dump(), "covered": False, "reason": reason})
    assert reason_cause(reason).kind == kind
    assert not_covered_reason(denied) == english
    spanish = not_covered_reason(denied, "es")
    assert spanish and spanish != english
    assert not _CODE.search(spanish) and not _CODE.search(english)


_VALUES: dict[str, tuple[object, ...]] = {
    "package": (Money("2400.00"), 6, 2),
    "authorization-starts": ("2026-04-01",),
    "authorization-ended": ("2026-01-05", "2026-02-01"),
    "authorization-visits-used": ("6", "2026-01-05"),
    "session-limit": ("28",),
    "age-minimum": ("18",),
    "age-maximum": ("64",),
    "step-therapy": ("1", "2"),
}


@pytest.mark.parametrize("kind", CAUSES)
def test_every_cause_has_words_in_both_languages(kind: str) -> None:
    line = _as_unknown()
    found = Cause(kind, _VALUES.get(kind, ()))
    words = {lang: _cause_words(found, translator(lang, "plain")) for lang in LANGS}
    assert all(words.values()) and words["en"] != words["es"]
    for text in words.values():
        assert not _bare_amounts(text) and not _CODE.search(text)
    assert line.code not in " ".join(words.values())


def test_every_payer_exclusion_has_a_specific_cause() -> None:
    # Every excluded rule's reason in the payer library reads as one of the named policy
    # causes (experimental, off-label, bundled, not a benefit, another form only).
    payers = ketacost.load_payers(ROOT / "payers")
    from ketacost._payer import ExcludedRule

    reasons = {
        rule.reason for payer in payers.values() for rule in payer.coverage
        if isinstance(rule, ExcludedRule)
    }  # fmt: skip
    assert reasons
    for reason in reasons:
        assert reason_cause(reason).kind not in {"excluded", "unknown"}, reason


# -- every case and example request ------------------------------------------------------------
def test_every_not_covered_or_self_pay_line_says_why_in_words() -> None:
    generic = {not_covered_reason(_as_unknown(), lang) for lang in LANGS}
    seen: set[str] = set()
    for name, line in _all_lines():
        found = cause(line)
        if line.covered and found is None:
            continue
        assert found is not None, (name, line.code)
        assert found.kind != "unknown", (name, line.code, line.reason)
        seen.add(found.kind)
        english, spanish = (not_covered_reason(line, lang) for lang in LANGS)
        assert english and spanish and english != spanish, (name, line.code)
        assert english not in generic and spanish not in generic
        for lang, text in (("en", english), ("es", spanish)):
            assert text[:1].upper() + text[1:] + "." in why(line, lang), (name, line.code)
    # the causes the library reaches (a regression guard on the cases themselves)
    assert {"self-pay", "package", "experimental", "out-of-network", "authorization-denied",
            "authorization-ended", "step-therapy", "off-label"} <= seen  # fmt: skip


def _as_unknown() -> EstimateLine:
    line = _line("commercial-hmo:deductible-then-coinsurance", 1, "J0013")
    return line.model_validate({**line.model_dump(), "covered": False, "reason": None})


def test_every_line_in_words_amounts_with_dollars_and_no_codes() -> None:
    for name, line in _all_lines():
        for lang in LANGS:
            text = why(line, lang)
            assert not _bare_amounts(text), (name, line.code, lang, text)
            for words in (text, describe(line, lang), not_covered_reason(line, lang) or ""):
                assert not _CODE.search(words), (name, lang, words)
                assert line.code not in words
        assert details(line).startswith(line.code)


# -- properties --------------------------------------------------------------------------------------
def _parts(line: EstimateLine) -> dict[str, Money]:
    names = ("copay", "deductible", "coinsurance", "balance_bill", "non_covered", "assistance",
             "secondary", "patient_net")  # fmt: skip
    return {name: getattr(line, name) for name in names if getattr(line, name)}


@exercises(a_line_not_covered=0.1, a_covered_line=0.3)
@given(rich_cases())
def test_why_names_every_amount_the_patient_pays(case: Case) -> None:
    # Every nonzero part of what the patient pays (and what a second plan or a savings program
    # pays of it) appears in why() with its "$" amount, in both languages; no bare amount.
    lines = list(case.estimate().lines())
    for line in lines[:25]:
        for lang in LANGS:
            text = why(line, lang)
            for name, amount in _parts(line).items():
                assert format(amount, "$") in text, (name, lang, text)
            assert not _bare_amounts(text), text
            found = cause(line)
            assert found is None or found.kind != "unknown", line.reason
    note("a line not covered", any(not ln.covered for ln in lines))
    note("a covered line", any(ln.covered for ln in lines))


@exercises(a_superbill=0.1, self_pay=0.05)
@given(cases(superbill=None, self_pay=None))
def test_not_covered_reason_is_none_iff_the_plan_covers_and_bills_the_line(case: Case) -> None:
    # One coverage for the whole plan: a line is self-paid when its payer is the self-pay
    # payer or the coverage claims on a superbill.
    self_paid = case.payer.kind == "self-pay" or case.request.coverage.superbill
    for line in list(case.estimate().lines())[:25]:
        expected_none = line.covered and not self_paid
        for lang in LANGS:
            reason = not_covered_reason(line, lang)
            assert (reason is None) == expected_none, (line.covered, self_paid, reason)
    note("a superbill", bool(case.request.coverage.superbill))
    note("self pay", case.payer.kind == "self-pay")


def test_a_language_ketacost_does_not_speak() -> None:
    line = _line("commercial-hmo:deductible-then-coinsurance", 1, "J0013")
    for function in (describe, why, not_covered_reason):
        with pytest.raises(UnknownLanguageError, match="en, es"):
            function(line, "fr")
        with pytest.raises(ValueError, match="unknown language 'ES'"):
            function(line, "ES")


def test_details_never_show_internal_references_and_dollar_only_money() -> None:
    # review of issue 16: "allowed 263.00" without "$", "(assumed not covered; domain.md §3.3)"
    from ketacost._plain import _dollars, _no_internal_references

    text = (
        "not covered: off-label (assumed not covered; domain.md §3.3); Category III code "
        "(domain.md §1.3); allowed 1,234.50 (fee schedule: 10.50 × 56 = 588.00) · coinsurance "
        "20% of 60.00 = 12.00 · F33.21 · limiting 1.0925 · 0.5 mg/kg · -5.00"
    )
    assert _dollars(_no_internal_references(text)) == (
        "not covered: off-label (assumed not covered); Category III code; allowed $1,234.50 "
        "(fee schedule: $10.50 × 56 = $588.00) · coinsurance 20% of $60.00 = $12.00 · F33.21 · "
        "limiting 1.0925 · 0.5 mg/kg · -$5.00"
    )
    # a regulation's section is no amount (a review found "42 CFR $447.15" in the details)
    text = "payment in full (42 CFR 447.15); 42 CFR 411.33(a), § 411.33 and §411.33: 25.00"
    assert _dollars(text) == (
        "payment in full (42 CFR 447.15); 42 CFR 411.33(a), § 411.33 and §411.33: $25.00"
    )
