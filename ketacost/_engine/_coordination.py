"""A second payer on the same lines (coordination of benefits; contract rule 13).

After the first payer has adjudicated a visit, the second pays on what the first left, by the
method its payer file gives for a first payer of that kind (:mod:`ketacost._secondary`).
Lines the first payer covered: the second pays part or all of the patient's share, or has
the clinic write it off; the patient's parts (copay, deductible, coinsurance, balance bill)
are lowered by what it took, in a stated order. Lines the first payer does not cover: a
second payer that pays "as if primary" adjudicates them with its own rules and accumulators;
where its cost share would be above the clinic's self-pay price for the item, the item stays
self-pay and is not filed with it (the patient is never worse off for a second plan).

The first payer's own accumulators are never changed by what the second pays (a deductible
is met by the cost share it applied, whoever paid it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, cast

from ketacost._checks import secondary_problem
from ketacost._errors import EstimateError
from ketacost._money import cents_times_rate
from ketacost._order import OrderOfBenefits
from ketacost._payer import Payer
from ketacost._request import Coverage, EstimateRequest, medicare_entitlement
from ketacost._savings import GOVERNMENT_KINDS, SavingsProgram
from ketacost._secondary import AS_PRIMARY_METHODS, EVERY_LINE_METHODS, SecondaryBenefit

from . import _explain as explain
from ._billing import bill_visit, unit_rate
from ._coverage import CoverageInForce, has_value_on, value_on
from ._ledger import Accumulated, BillLine

__all__ = ["SecondInForce", "coordinate"]


def _every_line(second: SecondInForce) -> bool:
    """Whether the second payer's own adjudication is needed on every line.

    Not only on the lines the first payer does not cover.
    """
    method = second.method.method
    return method in EVERY_LINE_METHODS or (method == "medicare_crossover" and not second.qmb)


@dataclass
class SecondInForce:
    """The second payer of one coverage: its rules, method and accumulators per plan year."""

    coverage: CoverageInForce
    method: SecondaryBenefit
    first: Payer
    order: OrderOfBenefits | None  # None: the order the request states
    qmb: bool
    years: dict[date, Accumulated] = field(default_factory=dict)
    last: Accumulated | None = None

    @property
    def payer(self) -> Payer:
        return self.coverage.payer

    def accumulated(self, on: date, starting: Accumulated | None) -> Accumulated:
        """The second payer's accumulators for its plan year containing ``on``."""
        start = self.payer.plan_year_start.year_of(on)
        found = self.years.get(start)
        if found is None:
            found = self.years[start] = starting if starting is not None else Accumulated()
        self.last = found
        return found


def second_in_force(
    request: EstimateRequest,
    first: CoverageInForce,
    second: Coverage,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
    order: OrderOfBenefits | None,
) -> SecondInForce:
    """The second payer of ``first``, checked against what it follows; a clear error if not."""
    coverage = CoverageInForce(request, second, payers, programs)
    payer = coverage.payer
    problem = secondary_problem(first.payer, second, payers)
    if problem is not None:
        raise EstimateError(f"secondary.{problem[0]}: {problem[1]}")
    method = payer.secondary_method(first.payer.kind)
    assert method is not None
    before = method.sold_to_eligible_before
    birth = request.patient.birth_date
    if before is not None and birth is not None:
        # Eligible at 65 (Medicare from the first of the birthday month, or the month before
        # for a birthday on the 1st); a person on Medicare earlier through disability was
        # eligible earlier still, which a birth date cannot show: the check is the age one.
        eligible = medicare_entitlement(birth)
        if eligible >= before:
            raise EstimateError(
                f"secondary.payer: {payer.name} is sold only to people eligible for Medicare "
                f"before {before.isoformat()}; the patient's Medicare at 65 starts "
                f"{eligible.isoformat()}"
            )
    if first.program is not None and payer.kind in GOVERNMENT_KINDS:
        name = first.program.name
        first.program = None
        first.program_note = (
            f"{name} does not apply: the patient also has government coverage ({payer.name})"
        )
    return SecondInForce(coverage, method, first.payer, order, second.qmb)


def coordinate(
    second: SecondInForce,
    lines: list[BillLine],
    on: date,
    age: int,
    accumulated: Accumulated,
) -> None:
    """The second payer pays on the visit's ``lines`` after the first (contract rule 13)."""
    m = second.method
    for line in lines:
        if line.covered:
            line.primary_paid = line.allowed - line.cost_share - line.payment_reduction
    shadows = {}
    if m.method in AS_PRIMARY_METHODS:
        shadows = _as_primary(second, lines, on, age, accumulated)
    name = second.payer.name
    kept = m.office_visit_copay.amount.cents if m.office_visit_copay is not None else 0
    for i, line in enumerate(lines):
        shadow = shadows.get(i)
        if not line.covered:
            if shadow is not None and shadow.covered:
                _take_over(line, shadow, name)
            continue
        owed = line.cost_share + line.balance_bill - _cut_on_patient(line)
        if not owed:
            continue
        paid, write_off, how = _pay(second, line, shadow, on, age)
        office = m.office_visit_copay
        if office is not None and kept and line.code in office.codes:
            keep = min(kept, paid, line.coinsurance)
            paid -= keep
            kept -= keep
            if keep:
                how = (*how, (explain.second_keeps_note, keep, office.amount))
        if paid or write_off:
            _relieve(line, paid + write_off, m.pays if m.method == "supplement" else None)
            line.second_paid += paid
            line.second_write_off += write_off
        line.note(explain.second_paid_note, name, m.method, paid, write_off, owed)
        for sentence, *amounts in how:
            line.note(sentence, *amounts)


def _cut_on_patient(line: BillLine) -> int:
    """The payment cut (sequestration) the patient bears when the payer pays the patient.

    It sits in the line's balance bill (what the patient paid the clinic and is not paid
    back), but it is no charge of the clinic's: no second payer pays it, Medigap's "excess
    charges" included.
    """
    return line.payment_reduction if line.paid_to_patient else 0


def _as_primary(
    second: SecondInForce, lines: list[BillLine], on: date, age: int, accumulated: Accumulated
) -> dict[int, BillLine]:
    """The second payer's own adjudication of the lines it pays as if it were primary.

    Which lines: every line under standard COB, non-duplication and Medicaid as payer of last
    resort; only the lines the first payer does not cover under Medicare crossover and
    TRICARE For Life (on Medicare-covered lines they pay Medicare's cost share). A line the
    first payer does not cover whose cost share here would be above its self-pay price is left
    out and billed again without it (from the same accumulators).
    """
    every = _every_line(second)
    picked = [i for i, line in enumerate(lines) if every or not line.covered]
    coverage = second.coverage
    state, saved = (
        coverage.approvals.checkpoint(),
        replace(accumulated, sessions=dict(accumulated.sessions)),
    )
    while picked:
        shadows = {i: BillLine(lines[i].template, lines[i].code, lines[i].charge) for i in picked}
        bill_visit(coverage, list(shadows.values()), on, age, accumulated)
        dearer = [
            i
            for i, shadow in shadows.items()
            if not lines[i].covered
            and shadow.covered
            and shadow.cost_share + shadow.balance_bill > _self_pay(lines[i])
        ]
        if not dearer:
            return shadows
        for i in dearer:
            lines[i].note(explain.kept_self_pay_note, second.payer.name)
        picked = [i for i in picked if i not in dearer]
        coverage.approvals.restore(state)
        _reset(accumulated, saved)
        state, saved = (
            coverage.approvals.checkpoint(),
            replace(saved, sessions=dict(saved.sessions)),
        )
    return {}


def _reset(accumulated: Accumulated, saved: Accumulated) -> None:
    for name in Accumulated.__slots__:
        value = getattr(saved, name)
        setattr(accumulated, name, dict(value) if isinstance(value, dict) else value)


def _self_pay(line: BillLine) -> int:
    return line.charge if line.self_pay_price is None else line.self_pay_price


def _take_over(line: BillLine, shadow: BillLine, name: str) -> None:
    """A line the first payer does not cover, adjudicated by the second as if primary."""
    line.note(explain.second_as_primary_note, line.reason, name)
    line.covered, line.rule, line.category = True, shadow.rule, shadow.category
    line.allowed, line.balance_bill = shadow.allowed, shadow.balance_bill
    line.copay, line.deductible = shadow.copay, shadow.deductible
    line.coinsurance = shadow.coinsurance
    line.primary_paid = 0
    # its payment less its own cut (Medicare's sequestration), which its shadow says: on an
    # assigned claim the clinic writes the cut off; where it pays the patient, the cut is in
    # the shadow's balance bill, which the patient owes
    line.second_paid = shadow.allowed - shadow.cost_share - shadow.payment_reduction
    line.self_pay_price, line.self_pay_rule = None, ""
    line.credit_deductible = line.credit_out_of_pocket = 0  # the first payer's: not moved
    line.notes.extend(shadow.notes)


_Sentences = tuple[tuple[Any, ...], ...]


def _pay(
    second: SecondInForce, line: BillLine, shadow: BillLine | None, on: date, age: int
) -> tuple[int, int, _Sentences]:
    """(paid by the second payer, written off at its rule, sentences) on a covered line."""
    m = second.method
    owed = line.cost_share + line.balance_bill - _cut_on_patient(line)
    share = line.cost_share
    first = line.primary_paid or 0
    if m.method == "supplement":
        parts = {"deductible": line.deductible, "coinsurance": line.coinsurance + line.copay,
                 "excess": line.balance_bill - _cut_on_patient(line)}  # fmt: skip
        return sum(parts[p] for p in m.pays), 0, ()
    if m.method == "medicare_crossover":
        return _crossover(second, line, shadow, on, owed)
    if m.method == "tricare_for_life":
        decided = second.coverage.decide(line.code, on, age, line.template.units)
        if not decided[0]:
            return 0, 0, ((explain.second_excludes_note, second.payer.name, decided[2]),)
        return share, 0, ()
    assert shadow is not None
    if not shadow.covered:
        return 0, 0, ((explain.second_excludes_note, second.payer.name, shadow.reason),)
    normal = shadow.allowed - shadow.cost_share
    if m.method == "standard":
        return min(normal, owed), 0, ((explain.normal_benefit_note, normal, owed),)
    if m.method == "non_duplication":
        paid = min(max(0, normal - first), owed)
        return paid, 0, ((explain.non_duplication_note, normal, first, paid),)
    if m.method == "medicare_secondary_payer":
        # 42 CFR 411.33(a): the higher of Medicare's approved amount and the primary's allowed
        # amount, minus what the primary paid.
        limit = max(0, max(shadow.allowed, line.allowed) - first)
        paid = min(normal, limit, owed)
        higher = max(shadow.allowed, line.allowed)
        how: _Sentences = ((explain.msp_note, normal, higher, first, paid),)
        return _cut_after_msp(second, shadow, paid, on, how)
    # last_resort: Medicaid after another plan
    keep = min(owed, shadow.cost_share)
    rest = owed - keep
    paid = rest
    if m.payment == "lesser_of":
        paid = min(rest, max(0, shadow.allowed - first))
    return paid, rest - paid, ((explain.last_resort_note, second.payer.name, keep),)


def _cut_after_msp(
    second: SecondInForce, shadow: BillLine, paid: int, on: date, how: _Sentences
) -> tuple[int, int, _Sentences]:
    """Medicare's secondary payment less its payment reduction (sequestration).

    The cut comes after every other step, the Medicare Secondary Payer amount included
    (First Coast Service Options, "Federal sequestration payment reductions": "applied to all
    claims after determining the Medicare payment including ... any applicable Medicare
    secondary payment adjustments"). On an assigned claim the clinic writes it off; where
    Medicare pays the patient, the patient bears it.
    """
    cut_by = second.payer.payment_reduction
    if not paid or cut_by is None or not has_value_on(cut_by.percent, on):
        return paid, 0, how
    rate = value_on(cut_by.percent, on, "payment_reduction.percent")
    cut = cents_times_rate(paid, rate)
    if not cut:
        return paid, 0, how
    on_patient = shadow.paid_to_patient
    note = (explain.payment_reduction_note, cut, rate, paid, cut_by.reason, on_patient)
    return paid - cut, 0 if on_patient else cut, (*how, note)


def _crossover(
    second: SecondInForce, line: BillLine, shadow: BillLine | None, on: date, owed: int
) -> tuple[int, int, _Sentences]:
    """Medicaid after Medicare on a Medicare-covered line: (paid, written off, sentences)."""
    share, first = line.cost_share, line.primary_paid or 0
    paid, how = share, cast(_Sentences, ())
    if second.method.payment == "lesser_of":
        rate = _rate(second, line, on)
        if rate is None:
            how = ((explain.no_own_rate_note, second.payer.name, line.code),)
        else:
            paid = min(share, max(0, rate - first))
            how = ((explain.lesser_of_note, second.payer.name, rate, first, paid),)
    rest = owed - paid
    if second.qmb:
        return paid, rest, ((explain.qmb_note,), *how)
    # A full-benefit Medicaid patient who is not a QMB: the clinic accepts Medicaid's payment
    # as payment in full (42 CFR 447.15); the patient owes at most Medicaid's own cost share
    # for an item it covers.
    if shadow is None or not shadow.covered:
        return paid, 0, how
    keep = min(rest, shadow.cost_share)
    return paid, rest - keep, (*how, (explain.last_resort_note, second.payer.name, keep))


def _rate(second: SecondInForce, line: BillLine, on: date) -> int | None:
    """The second payer's own allowed amount for the line (its rate × units, at most the charge)."""
    found = unit_rate(second.coverage, line, on)
    if found is None:
        return None
    return min(line.charge, found[0] * line.template.units)


#: The order in which a second payer's payment lowers the patient's parts of a line.
_ORDER = ("coinsurance", "copay", "deductible", "balance_bill")
_SUPPLEMENT = {"coinsurance": ("coinsurance", "copay"), "deductible": ("deductible",),
               "excess": ("balance_bill",)}  # fmt: skip


def _relieve(line: BillLine, amount: int, parts: tuple[str, ...] | None) -> None:
    """Lower the patient's parts of ``line`` by ``amount``.

    A supplement's listed parts, else in :data:`_ORDER`.
    """
    order = _ORDER if parts is None else tuple(f for p in parts for f in _SUPPLEMENT[p])
    for name in order:
        if not amount:
            return
        have = getattr(line, name)
        kept = _cut_on_patient(line) if name == "balance_bill" else 0
        take = min(have - kept, amount)
        setattr(line, name, have - take)
        amount -= take
    assert not amount, f"a second payer paid {amount} cents above the patient's share"
