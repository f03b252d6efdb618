"""The ledger: lines being billed, what each party pays on them, and the result objects.

A line records its amounts by party: the patient's parts (copay, deductible, coinsurance,
balance bill, non-covered), what each payer pays, manufacturer assistance, and the
write-off (the contractual adjustment and the self-pay discount), so that a second payer on a
line is one more entry, not a new shape. Every line keeps rule 9: patient + payers +
write-off = charge, and patient = copay + deductible + coinsurance + balance bill +
non-covered, to the cent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ketacost._clinic import TemplateLine
from ketacost._estimate import Accumulators, EstimateLine, Totals
from ketacost._money import Money
from ketacost._plan import VisitTuple
from ketacost._types import builder

from . import _explain as explain

__all__ = [
    "TOTAL_FIELDS",
    "Accumulated",
    "BillLine",
    "Parties",
    "add_line",
    "column_sums",
    "money",
    "post_lines",
    "snapshot",
    "totals",
]

#: Money by cents: ``money[cents]`` (shared immutable instances; the hottest lookup).
money = Money._interned

_accumulators = builder(Accumulators)
_line = builder(EstimateLine)
_totals = builder(Totals)

#: The money fields of :class:`Totals`, in order; visit and year sums are lists in this order.
TOTAL_FIELDS = tuple(Totals.model_fields)


@dataclass(slots=True)
class Accumulated:
    """What is met so far in the plan year (cents), and the visits counted per limit."""

    deductible_individual: int = 0
    deductible_family: int = 0
    out_of_pocket_individual: int = 0
    out_of_pocket_family: int = 0
    sessions: dict[str, int] = field(default_factory=dict)
    # A pharmacy benefit with its own deductible and maximum (individual; issue 11 §4).
    pharmacy_deductible: int = 0
    pharmacy_out_of_pocket: int = 0

    def add(self, deductible: int, out_of_pocket: int) -> None:
        """Count a payment toward the deductible and the out-of-pocket maximum."""
        self.deductible_individual += deductible
        self.deductible_family += deductible
        self.out_of_pocket_individual += out_of_pocket
        self.out_of_pocket_family += out_of_pocket

    def snapshot_cents(self) -> tuple[int, int, int, int]:
        """Deductible and out-of-pocket met, individual and family (cents)."""
        return (
            self.deductible_individual,
            self.deductible_family,
            self.out_of_pocket_individual,
            self.out_of_pocket_family,
        )

    def snapshot(self) -> Accumulators:
        return snapshot(
            self.deductible_individual,
            self.deductible_family,
            self.out_of_pocket_individual,
            self.out_of_pocket_family,
        )


def snapshot(ded_i: int, ded_f: int, oop_i: int, oop_f: int) -> Accumulators:
    """Accumulators from cents: deductible and out-of-pocket met, individual and family."""
    return _accumulators(
        {
            "deductible_individual": money[ded_i],
            "deductible_family": money[ded_f],
            "out_of_pocket_individual": money[oop_i],
            "out_of_pocket_family": money[oop_f],
        }
    )


@dataclass(slots=True)
class BillLine:
    """A line being billed, in cents."""

    template: TemplateLine
    code: str
    charge: int
    # Billed by a specialty pharmacy under the pharmacy benefit (its charge is the pharmacy's
    # rate; the clinic's own charge for the item is kept to share a session's price).
    pharmacy: bool = False
    clinic_charge: int = 0
    accumulates: str = "medical"  # or "pharmacy": a separate pharmacy deductible and maximum
    covered: bool = False
    rule: str = ""
    reason: str | None = None
    category: str | None = None
    allowed: int = 0
    copay: int = 0
    deductible: int = 0
    coinsurance: int = 0
    balance_bill: int = 0
    assistance: int = 0
    # Not covered: what the patient owes for it, the clinic's self-pay price for the item
    # (at most the charge); None until priced, then the charge (gross-charge billing).
    self_pay_price: int | None = None
    self_pay_rule: str = ""  # where that price comes from, in words
    # A second payer (coordination of benefits): what the first payer paid (set before the
    # second lowers the patient's parts), what the second paid, and what it had the clinic
    # write off (a Qualified Medicare Beneficiary, Medicaid's "lesser of").
    primary_paid: int | None = None
    second_paid: int = 0
    second_write_off: int = 0
    # What counts toward the accumulators (less than the cost share under a copay accumulator).
    credit_deductible: int = 0
    credit_out_of_pocket: int = 0
    # Original Medicare (_medicare): the claim's liability modifier on an excluded line (GY,
    # GA or GZ: with GZ the clinic writes the line off); the cut to the payer's payment
    # (sequestration); Medicare pays the patient (an unassigned claim).
    notice: str | None = None
    payment_reduction: int = 0
    paid_to_patient: bool = False
    # The facts of the line's explanation: each a sentence of _explain and its amounts, made
    # into text only when a result line is built (never on the totals-only path).
    notes: list[tuple[Callable[..., str], tuple[Any, ...]]] = field(default_factory=list)

    @property
    def cost_share(self) -> int:
        """Copay + deductible + coinsurance."""
        return self.copay + self.deductible + self.coinsurance

    def note(self, sentence: Callable[..., str], *amounts: Any) -> None:
        """Record a sentence of the explanation (an :mod:`._explain` function) and its facts."""
        self.notes.append((sentence, amounts))

    def explanation(self) -> tuple[str, ...]:
        """The explanation, as text."""
        return tuple(sentence(*amounts) for sentence, amounts in self.notes)


@dataclass(frozen=True, slots=True)
class Parties:
    """Who pays what of one line's charge (cents)."""

    patient: int
    payers: tuple[tuple[str, int], ...]  # (payer id, paid), in the order they paid
    assistance: int
    write_off: int  # contractual adjustment + self-pay discount
    self_pay_discount: int

    @property
    def paid_by_payers(self) -> int:
        return sum(paid for _, paid in self.payers)


def parties(line: BillLine, payer_id: str, second_id: str | None = None) -> Parties:
    """Split a billed line's charge between the parties (rule 9).

    With a second payer, the patient's parts are what is left after it paid; the write-off
    is the rest of the charge (the contractual adjustment and what the second payer had the
    clinic write off).
    """
    if not line.covered:
        paid: tuple[tuple[str, int], ...] = ((payer_id, 0),)
        if second_id is not None:
            paid += ((second_id, 0),)
        if line.notice == "GZ":  # Medicare, no ABN: the clinic is liable, not the patient
            return Parties(0, paid, line.assistance, line.charge, 0)
        price = line.charge if line.self_pay_price is None else line.self_pay_price
        discount = line.charge - price
        return Parties(price, paid, line.assistance, discount, discount)
    patient = line.cost_share + line.balance_bill
    # A payment cut (Medicare's sequestration) is written off, or, where the payer pays the
    # patient, is in the balance bill.
    cut = line.payment_reduction
    first = line.primary_paid
    if first is None:
        first = line.allowed - line.cost_share - cut
    if second_id is None:
        write_off = line.charge - line.allowed - line.balance_bill + cut
        return Parties(patient, ((payer_id, first),), line.assistance, write_off, 0)
    write_off = line.charge - patient - first - line.second_paid
    return Parties(
        patient, ((payer_id, first), (second_id, line.second_paid)), line.assistance, write_off, 0
    )


def totals(cents: list[int]) -> Totals:
    """Totals from cents in :data:`TOTAL_FIELDS` order."""
    return _totals({name: money[c] for name, c in zip(TOTAL_FIELDS, cents, strict=True)})


def column_sums(rows: list[list[int]]) -> list[int]:
    """Per-field sums of rows of cents (an empty list sums to zeros)."""
    if not rows:
        return [0] * len(TOTAL_FIELDS)
    return [sum(column) for column in zip(*rows, strict=True)]


def add_line(
    line: BillLine, payer_id: str, superbill: bool, sums: list[int], second_id: str | None = None
) -> tuple[int, ...]:
    """A billed line's amounts in :data:`TOTAL_FIELDS` order, added to ``sums``."""
    split = parties(line, payer_id, second_id)
    if line.covered:
        allowed, copay, ded, coins = line.allowed, line.copay, line.deductible, line.coinsurance
        balance, non_covered = line.balance_bill, 0
    else:
        allowed = copay = ded = coins = balance = 0
        non_covered = split.patient
    payer_pays = split.payers[0][1]
    second = split.payers[1][1] if len(split.payers) > 1 else 0
    reimbursement = payer_pays if superbill or line.paid_to_patient else 0
    amounts = (line.charge, allowed, copay, ded, coins, balance, non_covered, split.patient,
               payer_pays, split.write_off, split.self_pay_discount, split.assistance,
               reimbursement, split.patient - split.assistance, second)  # fmt: skip
    for i, cents in enumerate(amounts):
        sums[i] += cents
    return amounts


def post_lines(
    visit: VisitTuple,
    variant: str,
    lines: list[BillLine],
    before: Accumulators,
    visit_sum: list[int],
    payer_id: str,
    self_pay: bool,
    superbill: bool,
    second_id: str | None = None,
) -> list[EstimateLine]:
    """The result lines of one visit, adding their cents to ``visit_sum``.

    ``visit_sum`` is in :data:`TOTAL_FIELDS` order. Accumulators move only on covered lines;
    they are replayed line by line from ``before``.
    """
    out: list[EstimateLine] = []
    number, on, _nominal, _phase, phase_name, session = visit
    running = before
    ded_i, ded_f = before.deductible_individual.cents, before.deductible_family.cents
    oop_i, oop_f = before.out_of_pocket_individual.cents, before.out_of_pocket_family.cents
    for line in lines:
        if not line.covered and not self_pay and line.notice != "GZ":  # GZ says it itself
            line.note(explain.not_covered_note, line.reason, superbill, line.charge,
                      line.self_pay_price, line.self_pay_rule)  # fmt: skip
        after = running
        if line.covered and (line.credit_deductible or line.credit_out_of_pocket):
            ded_i += line.credit_deductible
            ded_f += line.credit_deductible
            oop_i += line.credit_out_of_pocket
            oop_f += line.credit_out_of_pocket
            after = snapshot(ded_i, ded_f, oop_i, oop_f)
        out.append(_post(line, number, on, phase_name, session, variant, payer_id, superbill,
                         running, after, visit_sum, second_id))  # fmt: skip
        running = after
    return out


def _post(
    line: BillLine,
    number: int,
    on: date,
    phase_name: str,
    session: str,
    variant: str,
    payer_id: str,
    superbill: bool,
    before: Accumulators,
    after: Accumulators,
    visit_sum: list[int],
    second_id: str | None,
) -> EstimateLine:
    (_, allowed, copay, ded, coins, balance, non_covered, patient, payer_pays, write_off,
     discount, assistance, reimbursement, net, second) = add_line(
        line, payer_id, superbill, visit_sum, second_id)  # fmt: skip
    template = line.template
    # Original Medicare's liability modifier (GY, GA or GZ) goes on the claim line.
    modifiers = template.modifiers if line.notice is None else (*template.modifiers, line.notice)
    return _line(
        {  # in field order: the JSON follows the dict's order
            "visit": number,
            "date": on,
            "phase": phase_name,
            "session": session,
            "variant": variant,
            "code": line.code,
            "units": template.units,
            "modifiers": modifiers,
            "description": template.description,
            "billed_by": "specialty pharmacy" if line.pharmacy else "clinic",
            "charge": money[line.charge],
            "allowed": money[allowed],
            "covered": line.covered,
            "rule": line.rule,
            "reason": line.reason,
            "category": line.category,
            "copay": money[copay],
            "deductible": money[ded],
            "coinsurance": money[coins],
            "balance_bill": money[balance],
            "non_covered": money[non_covered],
            "patient": money[patient],
            "payer": money[payer_pays],
            "write_off": money[write_off],
            "self_pay_discount": money[discount],
            "assistance": money[assistance],
            "reimbursement": money[reimbursement],
            "patient_net": money[net],
            "secondary_payer_id": second_id,
            "secondary": money[second],
            "explanation": line.explanation(),
            "accumulators_before": before,
            "accumulators_after": after,
        }
    )
