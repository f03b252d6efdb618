"""The explanation sentences of an estimate's lines, in one place.

The billing procedure records amounts; these functions turn them into the sentences each
line carries (``allowed 175.00 (commercial-ppo fee schedule: 175.00 × 1 = 175.00)``). Money
text is cached per amount: an estimate repeats the same few amounts many times.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ketacost._money import Money

__all__ = [
    "abn_signed_note",
    "allowed_note",
    "allowed_source",
    "amount",
    "assistance_note",
    "balance_bill_note",
    "coinsurance_note",
    "copay_accumulator_note",
    "copay_note",
    "copay_taken_note",
    "deductible_note",
    "facility_fallback_note",
    "fallback_source",
    "kept_self_pay_note",
    "last_resort_note",
    "lesser_of_note",
    "limiting_charge_note",
    "msp_note",
    "no_abn_note",
    "no_abn_warning",
    "no_own_rate_note",
    "non_duplication_note",
    "non_participating_source",
    "normal_benefit_note",
    "not_covered_note",
    "out_of_pocket_cap_note",
    "payment_reduction_note",
    "per_unit",
    "percent",
    "percent_of_charge",
    "pharmacy_copay_note",
    "pharmacy_rate",
    "private_contract_note",
    "private_contract_reason",
    "program_used_up_note",
    "qmb_note",
    "reimbursed_note",
    "second_as_primary_note",
    "second_excludes_note",
    "second_keeps_note",
    "second_paid_note",
    "self_pay_note",
    "statutory_note",
    "superbill_paid_note",
    "superbill_unpaid_note",
]

_AMOUNTS: dict[int, str] = {}
_PERCENTS: dict[Decimal, str] = {}


def amount(cents: int) -> str:
    """``1,234.50`` for 123450 cents (cached per amount)."""
    text = _AMOUNTS.get(cents)
    if text is None:
        sign = "-" if cents < 0 else ""
        whole, part = divmod(abs(cents), 100)
        text = f"{sign}{whole:,}.{part:02d}"
        if len(_AMOUNTS) > 100_000:
            _AMOUNTS.clear()
        _AMOUNTS[cents] = text
    return text


def percent(rate: Decimal) -> str:
    """``20%`` for 0.2, ``140%`` for 1.4 (cached per rate)."""
    text = _PERCENTS.get(rate)
    if text is None:
        text = f"{(rate * 100).normalize():f}%"
        _PERCENTS[rate] = text
    return text


# -- the allowed amount -------------------------------------------------------------------
def allowed_source(payer_id: str, rate: Decimal | None, reference_id: str | None) -> str:
    """Where a per-unit rate comes from: the payer's own schedule, or a percent of another's."""
    if rate is None or reference_id is None:
        return f"{payer_id} fee schedule"
    return f"{percent(rate)} of {reference_id} fee schedule"


def fallback_source(payer_id: str, network: str, reference_id: str, code: str) -> str:
    return f"{payer_id} {network}-of-network rate ({reference_id} does not price {code})"


def percent_of_charge(rate: Decimal, charge: int, allowed: int) -> str:
    return f"{percent(rate)} of the charge {amount(charge)} = {amount(allowed)}"


def pharmacy_rate(tier: str, unit: int, units: int, total: int) -> str:
    return f"{tier} tier pharmacy rate: {amount(unit)} × {units} = {amount(total)}"


def pharmacy_copay_note(copay: int, tier: str) -> str:
    return f"copay {amount(copay)} (pharmacy {tier} tier, per claim)"


def per_unit(source: str, unit: int, units: int, total: int) -> str:
    return f"{source}: {amount(unit)} × {units} = {amount(total)}"


def allowed_note(allowed: int, how: tuple[Any, ...], capped_at: int | None) -> str:
    """``allowed 175.00 (...)``; ``how`` is a sentence of this module and its amounts."""
    text = how[0](*how[1:])
    if capped_at is not None:
        text += f"; capped at the charge {amount(capped_at)}"
    return f"allowed {amount(allowed)} ({text})"


def superbill_unpaid_note(balance: int, charge: int, allowed: int) -> str:
    return (
        f"not reimbursed {amount(balance)} = paid {amount(charge)} − allowed "
        f"{amount(allowed)} (does not count toward the deductible or out-of-pocket maximum)"
    )


def balance_bill_note(balance: int, charge: int, allowed: int) -> str:
    return (
        f"balance bill {amount(balance)} = charge {amount(charge)} − allowed "
        f"{amount(allowed)} (out of network; does not count toward the deductible or "
        "out-of-pocket maximum)"
    )


# -- cost sharing ---------------------------------------------------------------------------
_COPAY_SCOPE = {
    "visit": "one copay per visit",
    "category": "once per visit for this category",
    "line": "per line",
}


def copay_note(copay: int, category: str, scope: str) -> str:
    return f"copay {amount(copay)} ({category}, {_COPAY_SCOPE[scope]})"


def copay_taken_note(category: str) -> str:
    return f"no copay ({category}): the visit's one copay is taken on an earlier line"


def deductible_note(deductible: int, remaining: int) -> str:
    return f"deductible {amount(deductible)} (remaining before this line: {amount(remaining)})"


def coinsurance_note(rate: Decimal, base: int, coinsurance: int) -> str:
    return f"coinsurance {percent(rate)} of {amount(base)} = {amount(coinsurance)}"


def out_of_pocket_cap_note(remaining: int) -> str:
    return f"out-of-pocket maximum reached: cost share capped at the remaining {amount(remaining)}"


def reimbursed_note(
    allowed: int, cost_share: int, reduction: int = 0, claim: str = "superbill claim"
) -> str:
    cut = f" − payment reduction {amount(reduction)}" if reduction else ""
    return (
        f"reimbursed {amount(allowed - cost_share - reduction)} = allowed {amount(allowed)} − "
        f"cost share {amount(cost_share)}{cut} (paid to the patient on the {claim})"
    )


# -- Original Medicare: participation, liability notices, payment reductions ----------------
def non_participating_source(source: str, rate: Decimal, unit: int) -> str:
    return f"{percent(rate)} of the {source} amount {amount(unit)}, non-participating clinic"


def limiting_charge_note(billed: int, charge: int, limiting: int, allowed: int) -> str:
    return (
        f"unassigned claim: the patient pays the clinic {amount(billed)} (the charge "
        f"{amount(charge)}, at most the limiting charge {amount(limiting)}); the "
        f"{amount(billed - allowed)} above the allowed {amount(allowed)} is the patient's "
        "(does not count toward the deductible), and Medicare pays its share to the patient"
    )


def payment_reduction_note(
    cut: int, rate: Decimal, payment: int, reason: str, on_patient: bool
) -> str:
    who = (
        "the patient bears it (the payer pays the patient)"
        if on_patient
        else "written off by the clinic; the patient's share is not reduced"
    )
    return (
        f"payment reduction {amount(cut)} = {percent(rate)} of the payer's {amount(payment)} "
        f"({reason}): {who}"
    )


def statutory_note() -> str:
    return "modifier GY: excluded by statute; no ABN is needed and the patient owes it"


def abn_signed_note() -> str:
    return (
        "modifier GA: Medicare is expected to deny it as not reasonable and necessary; the "
        "patient signed an ABN (CMS-R-131), so the patient owes it"
    )


def no_abn_note(reason: str, charge: int) -> str:
    return (
        f"not covered: {reason}; modifier GZ: Medicare is expected to deny it as not "
        "reasonable and necessary and no ABN (CMS-R-131) is signed, so the patient owes "
        f"nothing and the clinic writes off {amount(charge)}"
    )


def last_figure_warning(payer_name: str, what: str, start: date, last: date, amount: Money) -> str:
    return (
        f"{payer_name}: the plan year from {start.isoformat()} has no {what} of its own in the "
        f"payer file, which sets it each year (the last, {amount}, from {last.isoformat()}): "
        f"that amount is used; check the {start.year} figure before relying on this estimate"
    )


def no_abn_warning(payer_name: str, code: str, reason: str) -> str:
    return (
        f"{payer_name}: {code} is expected to be denied as not reasonable and necessary "
        f"({reason}) and no Advance Beneficiary Notice is signed: the clinic writes it off "
        "(modifier GZ). To bill the patient for it, have them sign an ABN (CMS-R-131) before "
        "the service (one may cover an extended course of treatment); they then owe its "
        "self-pay price (modifier GA)."
    )


def private_contract_reason(payer_name: str) -> str:
    return f"private contract: the clinic has opted out of {payer_name}"


def private_contract_note(charge: int, rule: str, payer_name: str) -> str:
    return (
        f"private contract {amount(charge)} ({rule}): the clinic has opted out of "
        f"{payer_name}, which pays nothing for it, to the clinic or the patient"
    )


# -- self-pay, superbills, not covered -----------------------------------------------------
def self_pay_note(charge: int, rule: str) -> str:
    return f"self-pay {amount(charge)} ({rule})"


def superbill_paid_note(charge: int, rule: str, payer_name: str) -> str:
    return f"paid to the clinic {amount(charge)} ({rule}); claimed on a superbill to {payer_name}"


def not_covered_note(
    reason: str | None, superbill: bool, charge: int, price: int | None, rule: str
) -> str:
    """``not covered: <reason>``, and the self-pay price the patient owes instead of the charge."""
    text = f"not covered: {reason}" + ("; nothing is reimbursed" if superbill else "")
    if price is None:
        return text
    if price == charge:
        return f"{text}; self-pay {amount(price)} ({rule})"
    return (
        f"{text}; self-pay {amount(price)} ({rule}), a self-pay discount of "
        f"{amount(charge - price)} off the charge {amount(charge)}"
    )


# -- manufacturer savings -------------------------------------------------------------------
def assistance_note(
    program_name: str, part: int, floor: int, left: int, cap: int, year: int
) -> str:
    return (
        f"{program_name} pays {amount(part)} (the patient pays at least {amount(floor)} per "
        f"treatment; {amount(left)} left of {amount(cap)} for {year})"
    )


def program_used_up_note(program_name: str, cap: int, year: int) -> str:
    return f"{program_name}: the {amount(cap)} maximum for {year} is used up"


def copay_accumulator_note(payer_name: str, part: int) -> str:
    return (
        f"copay accumulator: {payer_name} does not count the program's {amount(part)} toward "
        "the deductible or out-of-pocket maximum"
    )


# -- a second payer (coordination of benefits) -----------------------------------------------
_METHOD_WORDS = {
    "supplement": "as a Medicare supplement",
    "medicare_crossover": "after Medicare (crossover)",
    "tricare_for_life": "as TRICARE For Life after Medicare",
    "standard": "under standard coordination of benefits",
    "non_duplication": "under non-duplication of benefits",
    "last_resort": "as the payer of last resort",
    "medicare_secondary_payer": "as Medicare secondary payer",
}


def second_paid_note(name: str, method: str, paid: int, write_off: int, owed: int) -> str:
    text = (
        f"{name} pays {amount(paid)} {_METHOD_WORDS[method]} of the {amount(owed)} left to "
        "the patient"
    )
    if write_off:
        text += f"; the clinic writes off {amount(write_off)}"
    return f"{text}; the patient owes {amount(owed - paid - write_off)}"


def second_keeps_note(keep: int, limit: Any) -> str:
    return f"the patient keeps {amount(keep)} of the coinsurance (up to {limit} per office visit)"


def second_as_primary_note(reason: str | None, name: str) -> str:
    return f"not covered by the first payer ({reason}); {name} pays it as the only payer"


def second_excludes_note(name: str, reason: str | None) -> str:
    return f"{name} does not cover it ({reason})"


def no_own_rate_note(name: str, code: str) -> str:
    return f"{name} has no rate of its own for {code}: it pays the Medicare cost share"


def lesser_of_note(name: str, rate: int, first: int, paid: int) -> str:
    return (
        f"{name} pays at most its own rate {amount(rate)} minus Medicare's payment "
        f"{amount(first)} (lesser of): {amount(paid)}"
    )


def qmb_note() -> str:
    return (
        "Qualified Medicare Beneficiary: the patient owes nothing for a Medicare-covered item "
        "and may not be billed the rest (SSA §1902(n)(3)(B))"
    )


def normal_benefit_note(normal: int, owed: int) -> str:
    return (
        f"its normal benefit as if it paid first is {amount(normal)}; it pays the lesser of "
        f"that and the {amount(owed)} left"
    )


def non_duplication_note(normal: int, first: int, paid: int) -> str:
    return (
        f"its normal benefit {amount(normal)} minus the first payer's {amount(first)} = "
        f"{amount(paid)} (never below zero)"
    )


def last_resort_note(name: str, keep: int) -> str:
    return (
        f"the patient owes at most {name}'s own cost share for it ({amount(keep)}); the clinic "
        "accepts Medicaid's payment as payment in full (42 CFR 447.15)"
    )


def msp_note(normal: int, allowed: int, first: int, paid: int) -> str:
    return (
        f"Medicare pays the lowest of what it would pay first ({amount(normal)}), the higher "
        f"of its approved amount and the plan's allowed ({amount(allowed)}) minus the plan's "
        f"{amount(first)}, and what is left: "
        f"{amount(paid)} (42 CFR 411.33)"
    )


def facility_fallback_note(code: str, place: str, schedule: str) -> str:
    return (
        f"place of service {place} is paid at the facility rate, but {schedule} has no facility "
        f"practice expense for {code}: its non-facility (office) amount is used"
    )


def kept_self_pay_note(name: str) -> str:
    return (
        f"not filed with {name}: its cost share would be above the clinic's self-pay price for "
        "the item, so the item stays self-pay"
    )
