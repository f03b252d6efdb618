"""Plain-language explanations of an estimate's lines, in the patient's language.

Four functions, each taking one :class:`~ketacost._estimate.EstimateLine`:

* :func:`describe`: what the charge is, in words a patient knows ("Office visit",
  "Esketamine nasal spray (Spravato), 84 mg"), from a table of the codes this product bills;
  a code not in the table is shown by the line's own description;
* :func:`not_covered_reason`: ``None`` when the plan covers the line; otherwise why the patient
  pays it, in words (no insurance billed, a package price, a superbill, the plan's policy, a
  prior authorization, a session limit, the network...);
* :func:`why`: one to three sentences saying what the plan allows and pays and what the patient
  pays and as what, every amount with "$";
* :func:`details`: the codes, for a details view (English, billing words): code, modifiers,
  units, the rule and the engine's explanation.

The first three take ``lang`` (``"en"`` or ``"es"``, see :mod:`ketacost._i18n`). No code
appears in their text: codes stay in :func:`details`. A payer's own exclusion text is English
data written for billing staff; the patient reads its cause in words (experimental, not a
covered use, ...) and the payer's text is kept for :func:`details`.

The cause of a line is read from the engine's ``reason`` and ``rule`` (their wording is made in
``ketacost/_engine``: ``_coverage.py``, ``_billing.py``, ``_self_pay.py``, ``_explain.py``);
``tests/test_plain.py`` runs every payer case and example request and checks each
not-covered or self-pay line gets a specific cause in both languages.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from ._estimate import EstimateLine
from ._i18n import N_, Translator, check_language, translator
from ._money import Money
from ._plan import Phase, cadence_words
from ._types import Weekday

__all__ = ["cadence", "describe", "details", "not_covered_reason", "phase_name", "weekdays", "why"]

_DOMAIN = "plain"


def _t(lang: str) -> Translator:
    """The plain catalog in ``lang`` (an unknown language raises UnknownLanguageError)."""
    return translator(lang, _DOMAIN)


# -- what the charge is ---------------------------------------------------------------------
#: The codes this product bills, in a patient's words (CPT/HCPCS descriptors, simplified).
_CODES: dict[str, str] = {
    "90791": N_("Psychiatric evaluation"),
    "90792": N_("Psychiatric evaluation with medical services"),
    "90832": N_("Psychotherapy, 30 minutes"),
    "90834": N_("Psychotherapy, 45 minutes"),
    "90837": N_("Psychotherapy, 60 minutes"),
    "90833": N_("Psychotherapy during the visit, 30 minutes"),
    "90836": N_("Psychotherapy during the visit, 45 minutes"),
    "90838": N_("Psychotherapy during the visit, 60 minutes"),
    "99202": N_("Office visit, new patient"),
    "99203": N_("Office visit, new patient"),
    "99204": N_("Office visit, new patient"),
    "99205": N_("Office visit, new patient"),
    "99211": N_("Office visit"),
    "99212": N_("Office visit"),
    "99213": N_("Office visit"),
    "99214": N_("Office visit"),
    "99215": N_("Office visit"),
    "99417": N_("Longer visit, each extra 15 minutes"),
    "99415": N_("Observation by clinic staff after the dose, first hour"),
    "99416": N_("Observation by clinic staff after the dose, each extra 30 minutes"),
    "96365": N_("IV ketamine infusion, first hour"),
    "96366": N_("IV infusion, each extra hour"),
    "96367": N_("IV infusion of another medicine, added"),
    "96372": N_("Injection into a muscle"),
    "0820T": N_("In-person monitoring and therapy during the medicine session, first hour"),
    "0821T": N_(
        "In-person monitoring and therapy during the medicine session, each extra 30 minutes"
    ),
    "G2082": N_(
        "Esketamine nasal spray (Spravato) up to 56 mg, with the visit and 2 hours of observation"
    ),
    "G2083": N_(
        "Esketamine nasal spray (Spravato) over 56 mg, with the visit and 2 hours of observation"
    ),
}
_VISIT_CODES = frozenset({"99211", "99212", "99213", "99214", "99215"})
_ESKETAMINE = frozenset({"J0013", "S0013"})
_DOSE = re.compile(r"(\d+(?:\.\d+)?) ?mg\b", re.IGNORECASE)


def describe(line: EstimateLine, lang: str = "en") -> str:
    """What the charge is, in words a patient knows (no codes).

    J0013 × 84 reads "Esketamine nasal spray (Spravato), 84 mg"; 99214 "Office visit" (with
    modifier 95, "Telehealth visit"); a code not in the table, the line's description.

    Raises:
        UnknownLanguageError: ``lang`` is not one ketacost speaks.
    """
    t = _t(lang)
    code = line.code
    if code in _ESKETAMINE:
        return _esketamine(line, t)
    if code == "J3490":
        return _unlisted_drug(line, t)
    if code in _VISIT_CODES and "95" in line.modifiers:
        # Modifier 95: a visit by live video (telehealth).
        return t.gettext("Telehealth visit")
    words = _CODES.get(code)
    if words is None:
        return line.description
    text = t.gettext(words)
    if line.units > 1:
        text = t.ngettext("{what} ({n} time)", "{what} ({n} times)", line.units).format(
            what=text, n=line.units
        )
    return text


def _dose(line: EstimateLine) -> str | None:
    """The dose in mg a drug line gives in its description, else None."""
    found = _DOSE.findall(line.description)
    return found[-1] if found else None


def _esketamine(line: EstimateLine, t: Translator) -> str:
    """J0013/S0013 bill esketamine per 1 mg: the units are the dose."""
    mg = str(line.units) if line.units > 1 else _dose(line)
    if mg is None:
        return t.gettext("Esketamine nasal spray (Spravato)")
    return t.gettext("Esketamine nasal spray (Spravato), {mg} mg").format(mg=mg)


def _unlisted_drug(line: EstimateLine, t: Translator) -> str:
    """J3490 is any drug without a code of its own; here, ketamine when the line says so."""
    mg = _dose(line)
    if "ketamine" not in line.description.lower():
        return line.description
    if mg is None:
        return t.gettext("Ketamine (the medicine)")
    return t.gettext("Ketamine (the medicine), {mg} mg").format(mg=mg)


# -- why a line is not covered ----------------------------------------------------------------
class Cause(NamedTuple):
    """Why the patient pays a line: a kind and the values its sentence needs.

    ``kind`` is one of :data:`CAUSES`; ``unknown`` only for a reason this module does not
    recognise (the tests hold that no estimate of the payer library reaches it).
    """

    kind: str
    values: tuple[object, ...] = ()
    renewal_denied: bool = False
    notice: str | None = None


#: Every kind of :class:`Cause`.
CAUSES = (
    "self-pay",
    "package",
    "private-contract",
    "superbill",
    "experimental",
    "off-label",
    "bundled",
    "not-a-benefit",
    "other-form-only",
    "excluded",
    "statutory",
    "authorization-not-requested",
    "authorization-pending",
    "authorization-denied",
    "authorization-starts",
    "authorization-ended",
    "authorization-visits-used",
    "authorization-units-used",
    "session-limit",
    "out-of-network",
    "no-network-benefit",
    "no-allowed-amount",
    "no-coverage-rule",
    "age-minimum",
    "age-maximum",
    "diagnosis",
    "step-therapy",
    "unknown",
)

_ISO = r"(\d{4}-\d\d-\d\d)"
_RENEWAL = "; its renewal is denied"
_ENGINE_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        # ketacost/_engine/_approvals.py: Approvals.problem, _ended
        (r"^prior authorization not requested \(required\)$", "authorization-not-requested"),
        (r"^prior authorization pending \(required\)$", "authorization-pending"),
        (r"^prior authorization denied \(required\)$", "authorization-denied"),
        (rf"^prior authorization starts {_ISO}$", "authorization-starts"),
        (
            rf"^prior authorization window of \d+ days \({_ISO} to {_ISO}\) has ended$",
            "authorization-ended",
        ),
        (rf"^prior authorization \({_ISO} to {_ISO}\) has ended$", "authorization-ended"),
        (
            rf"^prior authorization for (\d+) visits from {_ISO} is used up$",
            "authorization-visits-used",
        ),
        (
            rf"^prior authorization for (\d+) units from {_ISO} is used up \(.*\)$",
            "authorization-units-used",
        ),
        # _coverage.py: _condition_not_met
        (r"^age: coverage starts at age (\d+) \(patient is \d+\)$", "age-minimum"),
        (r"^age: coverage ends after age (\d+) \(patient is \d+\)$", "age-maximum"),
        (r"^diagnosis: ", "diagnosis"),
        (r"^step therapy: (\d+) of (\d+) required failed trials$", "step-therapy"),
        # _coverage.py: decide (no network benefits, no rule)
        (r" pays nothing out of network$", "out-of-network"),
        (r" pays nothing in network$", "no-network-benefit"),
        (r"^no coverage rule for code \S+ under ", "no-coverage-rule"),
        # _billing.py: count_limits, price
        (r"^limit: (\d+) sessions per plan year reached$", "session-limit"),
        (r"^no allowed amount for code \S+ in the ", "no-allowed-amount"),
    )
)

#: A payer's own exclusion text (``reason:`` of an excluded rule in payers/*.yaml), read for
#: its cause; the first match wins, and the payer's text itself stays in :func:`details`.
_POLICY_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"\bG2082\b|\binclude the drug\b|\bpays \w+ (?:only )?as\b", "bundled"),
        (
            r"\boff-label\b|\bnot FDA-approved\b|\bno NCD\b|\bnational or local coverage\b",
            "off-label",
        ),
        (r"\bexperimental\b|\binvestigational\b", "experimental"),
        (
            r"\bnot an? [\w ]*benefit\b|\bCategory III\b|\brelative value units\b",
            "not-a-benefit",
        ),
        (r"\bcovers \w+ \w+ only\b|\bcovers only\b", "other-form-only"),
    )
)

_PACKAGE = re.compile(r" package \S+: ([\d,]+\.\d\d) for (\d+) sessions \(session (\d+) of \d+\)$")
_SUPERBILL = re.compile(r"^paid to the clinic [\d,]+\.\d\d \(.*\); claimed on a superbill to ")
#: Original Medicare's liability modifiers on a line it excludes (ketacost/_engine/_medicare.py).
_NOTICES = ("GY", "GA", "GZ")


def _superbill(line: EstimateLine) -> bool:
    """Whether the patient paid the clinic and claims the line on a superbill."""
    return any(
        sentence.startswith("paid to the clinic ") and _SUPERBILL.match(sentence)
        for sentence in line.explanation
    )


def cause(line: EstimateLine) -> Cause | None:
    """Why the patient pays ``line`` (no language), or None when the plan covers it.

    A line the plan covers is None unless it is self-paid (a superbill); a line a second
    payer took over from a first that does not cover it is covered.
    """
    reason = line.reason
    if reason == "self-pay":
        found = _PACKAGE.search(line.rule)
        if found is not None:
            price, sessions, session = found.groups()
            return Cause("package", (Money(price.replace(",", "")), int(sessions), int(session)))
        return Cause("self-pay")
    if reason is not None and reason.startswith("private contract: "):
        return Cause("private-contract")
    if line.covered:
        return Cause("superbill") if _superbill(line) else None
    return reason_cause(reason, _notice(line))


def _notice(line: EstimateLine) -> str | None:
    return next((m for m in reversed(line.modifiers) if m in _NOTICES), None)


def reason_cause(reason: str | None, notice: str | None = None) -> Cause:
    """The cause of an engine or payer ``reason`` for not covering a line."""
    if reason is None:
        return Cause("unknown")
    renewal_denied = reason.endswith(_RENEWAL)
    text = reason.removesuffix(_RENEWAL)
    for pattern, kind in _ENGINE_REASONS:
        found = pattern.search(text)
        if found is not None:
            return Cause(kind, found.groups(), renewal_denied)
    if notice == "GY":
        return Cause("statutory", notice=notice)
    for pattern, kind in _POLICY_WORDS:
        if pattern.search(text):
            return Cause(kind, notice=notice)
    return Cause("excluded", notice=notice)


_CAUSE_WORDS: dict[str, str] = {
    "self-pay": N_("you are paying the clinic directly (no insurance is billed)"),
    "private-contract": N_(
        "the clinic has opted out of your plan, so you pay the clinic directly under a private "
        "contract and your plan pays nothing"
    ),
    "superbill": N_(
        "you pay the clinic directly and send the bill (a superbill) to your plan yourself; "
        "your plan pays you back its share"
    ),
    "experimental": N_(
        "your plan does not cover it: it considers this treatment experimental or investigational"
    ),
    "off-label": N_(
        "your plan does not cover it: this treatment is not approved or covered for this use "
        "(off-label)"
    ),
    "bundled": N_(
        "your plan pays for this medicine only within a combined treatment-visit charge, not as a "
        "separate charge"
    ),
    "not-a-benefit": N_("your plan does not cover it: this service is not a benefit of your plan"),
    "other-form-only": N_(
        "your plan does not cover it: its policy covers only another form of this treatment"
    ),
    "excluded": N_("your plan does not cover it: its policy excludes this service"),
    "statutory": N_("Medicare does not cover this service by law"),
    "authorization-not-requested": N_(
        "your plan requires its approval in advance (prior authorization), and it has not been "
        "requested"
    ),
    "authorization-pending": N_("your plan's approval (prior authorization) is not in place yet"),
    "authorization-denied": N_("your plan denied the approval it requires (prior authorization)"),
    "authorization-units-used": N_(
        "the amount your plan approved (prior authorization) is used up"
    ),
    "out-of-network": N_(
        "the clinic is out of your plan's network and the plan pays nothing out of network"
    ),
    "no-network-benefit": N_("your plan pays nothing for care in its network"),
    "no-allowed-amount": N_("your plan has no payment amount for this service"),
    "no-coverage-rule": N_("your plan's rules do not list this service as covered"),
    "diagnosis": N_(
        "your plan covers it only for certain diagnoses, and none of them is on your record"
    ),
    "unknown": N_("your plan does not cover it"),
}


def _cause_words(found: Cause, t: Translator) -> str:
    """``found`` in words, in ``t``'s language."""
    text = _valued_words(found, t)
    if text is None:
        text = t.gettext(_CAUSE_WORDS[found.kind])
    if found.renewal_denied:
        text = t.gettext("{cause}, and its renewal was denied").format(cause=text)
    if found.notice == "GA":
        text = t.gettext(
            "{cause}; you signed a notice that Medicare will probably not pay (an Advance "
            "Beneficiary Notice), so you pay for it"
        ).format(cause=text)
    elif found.notice == "GZ":
        text = t.gettext(
            "{cause}; no notice that Medicare will probably not pay (an Advance Beneficiary "
            "Notice) was signed, so the clinic may not bill you for it"
        ).format(cause=text)
    return text


def _iso(text: object) -> date:
    return date.fromisoformat(str(text))


def _valued_words(found: Cause, t: Translator) -> str | None:
    """The words of a cause that carries values, or None for the fixed sentences."""
    values = found.values
    if found.kind == "package":
        price, sessions, session = values
        assert isinstance(price, Money) and isinstance(sessions, int)
        return t.ngettext(
            "you are paying the clinic directly, at its package price of {price} for {sessions} "
            "session (this is session {session} of {sessions})",
            "you are paying the clinic directly, at its package price of {price} for {sessions} "
            "sessions (this is session {session} of {sessions})",
            sessions,
        ).format(price=t.money(price), sessions=t.number(sessions), session=session)
    if found.kind == "authorization-starts":
        return t.gettext("your plan's approval (prior authorization) starts only on {date}").format(
            date=t.date(_iso(values[0]))
        )
    if found.kind == "authorization-ended":
        return t.gettext("your plan's approval (prior authorization) ended on {date}").format(
            date=t.date(_iso(values[1]))
        )
    if found.kind == "authorization-visits-used":
        n = int(str(values[0]))
        return t.ngettext(
            "your plan's approval (prior authorization) was for {n} visit, and it is used up",
            "your plan's approval (prior authorization) was for {n} visits, and they are used up",
            n,
        ).format(n=n)
    if found.kind == "session-limit":
        n = int(str(values[0]))
        return t.ngettext(
            "your plan's limit of {n} session a year has been reached",
            "your plan's limit of {n} sessions a year has been reached",
            n,
        ).format(n=n)
    if found.kind in {"age-minimum", "age-maximum"}:
        age = int(str(values[0]))
        if found.kind == "age-minimum":
            return t.gettext("your plan covers it only from age {age}").format(age=age)
        return t.gettext("your plan covers it only up to age {age}").format(age=age)
    if found.kind == "step-therapy":
        tried, needed = int(str(values[0])), int(str(values[1]))
        return t.ngettext(
            "your plan covers it only after {needed} other treatment has been tried without "
            "success (step therapy); your record shows {tried}",
            "your plan covers it only after {needed} other treatments have been tried without "
            "success (step therapy); your record shows {tried}",
            needed,
        ).format(needed=needed, tried=tried)
    return None


def not_covered_reason(line: EstimateLine, lang: str = "en") -> str | None:
    """None when the plan covers ``line``; otherwise why the patient pays it, in words.

    Self-pay, a package price, a private contract and a superbill are reasons too (the
    clinic does not bill the plan), though a superbill's plan pays the patient back.

    Raises:
        UnknownLanguageError: ``lang`` is not one ketacost speaks.
    """
    t = _t(lang)
    found = cause(line)
    return None if found is None else _cause_words(found, t)


# -- who pays what ----------------------------------------------------------------------------
def _sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop."""
    return f"{text[:1].upper()}{text[1:]}."


def _parts(line: EstimateLine, t: Translator) -> list[str]:
    """The parts of what the patient owes under the plan, each with its amount."""
    words = (
        (line.copay, N_("{amount} copay")),
        (line.deductible, N_("{amount} toward your deductible")),
        (line.coinsurance, N_("{amount} coinsurance")),
        (line.balance_bill, N_("{amount} above the amount your plan allows")),
        (line.non_covered, N_("{amount} not covered")),
    )
    return [t.gettext(text).format(amount=t.money(amount)) for amount, text in words if amount]


def _patient_sentence(line: EstimateLine, t: Translator) -> str:
    """What the patient pays under the plan, and as what."""
    if not line.patient:
        return t.gettext("You pay nothing for it.")
    parts = _parts(line, t)
    if line.non_covered and len(parts) == 1:
        if line.self_pay_discount:
            return t.gettext(
                "You pay the clinic's self-pay price of {amount}, {discount} less than the full "
                "charge of {charge}."
            ).format(
                amount=t.money(line.patient),
                discount=t.money(line.self_pay_discount),
                charge=t.money(line.charge),
            )
        return t.gettext("You pay {amount}.").format(amount=t.money(line.patient))
    if len(parts) == 1:
        return t.gettext("You pay {part}.").format(part=parts[0])
    return t.gettext("You pay {amount}: {parts}.").format(
        amount=t.money(line.patient), parts=t.join(parts)
    )


def _plan_sentence(line: EstimateLine, found: Cause | None, t: Translator) -> str | None:
    """What the plan allows and pays (or pays back), for a line it covers."""
    if not line.covered:
        return None
    if line.reimbursement or (found is not None and found.kind == "superbill"):
        return t.gettext(
            "Your plan allows {allowed}; you pay the clinic and the plan pays you back {paid}."
        ).format(allowed=t.money(line.allowed), paid=t.money(line.reimbursement))
    if _taken_over(line):
        return None  # said by _second_sentence
    return t.gettext("Your plan allows {allowed} and pays {paid}.").format(
        allowed=t.money(line.allowed), paid=t.money(line.payer)
    )


def _taken_over(line: EstimateLine) -> bool:
    """Whether a second payer covers the line as the only payer (the first does not)."""
    return line.covered and line.reason is not None and line.secondary_payer_id is not None


def _second_sentence(line: EstimateLine, t: Translator) -> str | None:
    """What a second payer pays, and why it pays alone when the first does not cover it."""
    if _taken_over(line):
        first = _cause_words(reason_cause(line.reason), t)
        return t.gettext(
            "Your first plan does not pay for it ({cause}); your other plan covers it: it allows "
            "{allowed} and pays {paid}."
        ).format(cause=first, allowed=t.money(line.allowed), paid=t.money(line.secondary))
    if not line.secondary:
        return None
    return t.gettext("Your other plan pays {amount} of your share.").format(
        amount=t.money(line.secondary)
    )


def why(line: EstimateLine, lang: str = "en") -> str:
    """Who pays what for ``line`` and why, in one to a few sentences; every amount with "$".

    What the plan allows and pays (or pays back on a superbill), what the patient pays and
    as what (copay, deductible, coinsurance, above the allowed amount, not covered), what a
    second plan and a savings program pay; for a line the plan does not cover or that is
    self-paid, :func:`not_covered_reason` first.

    Raises:
        UnknownLanguageError: ``lang`` is not one ketacost speaks.
    """
    t = _t(lang)
    out: list[str] = []
    if line.billed_by != "clinic":
        out.append(t.gettext("The specialty pharmacy bills this, not the clinic."))
    found = cause(line)
    if found is not None:
        out.append(_sentence(_cause_words(found, t)))
    for sentence in (_plan_sentence(line, found, t), _second_sentence(line, t)):
        if sentence is not None:
            out.append(sentence)
    out.append(_patient_sentence(line, t))
    if line.assistance:
        out.append(
            t.gettext("A savings program pays {amount} of it, so you pay {net}.").format(
                amount=t.money(line.assistance), net=t.money(line.patient_net)
            )
        )
    return " ".join(out)


# -- the codes, for a details view ----------------------------------------------------------
def details(line: EstimateLine) -> str:
    """The codes of ``line`` and how the engine reached its amounts (English, billing words).

    ``J0013 × 84 · rule commercial-ppo:esketamine · allowed 588.00 (...) · ...``
    """
    head = line.code
    if line.modifiers:
        head += f"-{'-'.join(line.modifiers)}"
    if line.units != 1:
        head += f" × {line.units}"
    parts = [head, f"rule {line.rule}"]
    if line.reason is not None and not any(line.reason in s for s in line.explanation):
        parts.append(f"reason: {line.reason}")
    parts.extend(line.explanation)
    text = " · ".join(parts)
    if "domain.md" in text:
        return _dollars(_no_internal_references(text))
    # No amount spans " · ", and either side of one reads as the start or end of a text:
    # each part takes its "$" alone, and the parts of a plan's lines repeat (cached).
    return " · ".join(map(_part_dollars, parts))


#: A money amount of the engine's explanation: two decimals, maybe with thousands commas
#: ("1,000.00", "10.50" of "10.50 × 56"); never a code ("F33.21"), a percent, a unit count
#: or a rate with more decimals.
#: A regulation's section is no amount: "42 CFR 447.15", "§ 411.33", "§411.33".
_AMOUNT = re.compile(
    r"(?<![\w.,$])(?<!CFR )(?<!§ )(?<!§)(-?)(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})(?![\d%])"
)
#: The references to the project's own notes that payer files cite ("domain.md §3.3").
_REFERENCE = re.compile(r"\s*\(domain\.md §[\d.]+\)|;?\s*domain\.md §[\d.]+")


def _dollars(text: str) -> str:
    """Each money amount of ``text`` with "$": ``allowed $263.00``, ``-$5.00``."""
    return _AMOUNT.sub(r"\1$\2.\3", text)  # "$" is plain text in a replacement


@lru_cache(maxsize=4096)
def _part_dollars(text: str) -> str:
    """:func:`_dollars` of one part of a line's details, remembered (about a megabyte at most)."""
    return _dollars(text)


def _no_internal_references(text: str) -> str:
    """``text`` without references to the project's notes, which patients cannot read."""
    return _REFERENCE.sub("", text) if "domain.md" in text else text


# -- a phase's name -------------------------------------------------------------------------
#: The phase names clinics commonly give a treatment plan's phases, in words the catalog
#: translates; a name not here (the clinic's own) is shown as the clinic wrote it.
_PHASES = {
    "intake": N_("intake"),
    "evaluation": N_("evaluation"),
    "induction": N_("induction"),
    "optimisation": N_("optimisation"),
    "optimization": N_("optimization"),
    "maintenance": N_("maintenance"),
    "booster": N_("booster"),
    "boosters": N_("boosters"),
    "taper": N_("taper"),
    "follow-up": N_("follow-up"),
}


def phase_name(name: str, lang: str) -> str:
    """A plan phase's name in ``lang``: a well-known one ("induction") from the catalog.

    English (and a clinic's own name) stays as the plan wrote it: one home for the name the
    Good Faith Estimate, the schedule, its calendar and the estimate's table show.

    >>> phase_name("Induction", "es"), phase_name("ramp-up", "es"), phase_name("boosters", "en")
    ('inducción', 'ramp-up', 'boosters')
    """
    known = _PHASES.get(name.strip().lower())
    if check_language(lang) == "en" or known is None:
        return name
    return translator(lang, "plain").gettext(known)


# -- how often a phase's sessions happen ----------------------------------------------------
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONDAY = date(2024, 1, 1)
#: How many times a week, in words (else "{n} times a week for {weeks}").
_TIMES_A_WEEK = {1: N_("once a week for {weeks}"), 2: N_("twice a week for {weeks}")}


def cadence(phase: Phase, closed_weekdays: tuple[Weekday, ...] = (), lang: str = "en") -> str:
    """How often a phase's sessions happen, in ``lang``: the one home of these words.

    English is :func:`ketacost._plan.cadence_words` itself (the Good Faith Estimate's frequency
    and the web page's cadence); Spanish says the same through the ``plain`` catalog.

    >>> cadence(Phase(session="iv", sessions=6, every_days=2), ("sat", "sun"), "es")
    'cada 2 días o más (la clínica cierra: sábado y domingo)'
    """
    if check_language(lang) == "en":
        return cadence_words(phase, closed_weekdays)
    t = translator(lang, "plain")
    if phase.per_week is not None:
        weeks = t.ngettext("{n} week", "{n} weeks", phase.weeks or 0).format(n=phase.weeks)
        if phase.per_week in _TIMES_A_WEEK:
            words = t.gettext(_TIMES_A_WEEK[phase.per_week]).format(weeks=weeks)
        else:
            words = t.gettext("{n} times a week for {weeks}").format(n=phase.per_week, weeks=weeks)
    elif phase.count == 1:
        return t.gettext("once")
    elif phase.every_weeks:
        if phase.every_weeks == 1:
            return t.gettext("weekly")
        return t.gettext("every {n} weeks").format(n=phase.every_weeks)
    elif phase.interval_days == 1:
        words = t.gettext("daily")
    else:
        words = t.gettext("every {n} days").format(n=phase.interval_days)
    if not closed_weekdays or (phase.per_week is None and phase.interval_days % 7 == 0):
        return words  # every session keeps its weekday, so all move alike or none does
    closed = weekdays(closed_weekdays, t.lang)
    if phase.per_week is None:
        if phase.interval_days == 1:
            words = t.gettext("every open day")
        else:
            words = t.gettext("{cadence} or more").format(cadence=words)
    elif phase.interval_days > 1:
        words = t.gettext("{cadence}, {n} or more days apart").format(
            cadence=words, n=phase.interval_days
        )
    return t.gettext("{cadence} (closed {days})").format(cadence=words, days=closed)


def weekdays(days: tuple[Weekday, ...], lang: str = "en") -> str:
    """The days in words: "Saturday and Sunday", "sábado y domingo".

    >>> weekdays(("sat", "sun"), "es")
    'sábado y domingo'
    """
    t = translator(check_language(lang), "plain")
    return t.join(t.date(_MONDAY + timedelta(_WEEKDAYS.index(d)), "weekday") for d in days)
