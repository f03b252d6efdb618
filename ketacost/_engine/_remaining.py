"""What is left of the deductible and the out-of-pocket maximum, and the cap (rules 6 and 7).

Shared by the medical benefit (:mod:`._billing`) and the pharmacy benefit (:mod:`._pharmacy`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from ketacost._money import cents_times_rate
from ketacost._payer import Deductible, OutOfPocketMax

from . import _explain as explain
from ._coverage import Amount, CoverageInForce, plan_year_value
from ._ledger import Accumulated, BillLine

__all__ = ["capped", "remaining", "settle"]


def remaining(
    coverage: CoverageInForce, on: date, accumulated: Accumulated
) -> tuple[int, int | None]:
    """(remaining deductible, remaining out-of-pocket or None for no cap) on ``on`` (rule 6).

    The amounts are the plan year's: those in force on its first day (:func:`plan_year_value`),
    worked out once per plan year and stretch between change dates (:func:`_amounts`).
    """
    start = coverage.payer.plan_year_start.year_of(on)
    key = (start, coverage.stretch(on))
    found = coverage.plan_year_amounts.get(key)
    if found is None:
        found = coverage.plan_year_amounts[key] = _amounts(coverage, on, start)
    ded, oop = found
    ded_met = (accumulated.deductible_individual, accumulated.deductible_family)
    ded_left = _left(ded, ded_met)
    if oop is None:
        return ded_left, None
    oop_met = (accumulated.out_of_pocket_individual, accumulated.out_of_pocket_family)
    return ded_left, _left(oop, oop_met)


def _amounts(coverage: CoverageInForce, on: date, start: date) -> tuple[Amount, Amount | None]:
    """The deductible and the out-of-pocket maximum (None: no cap) of ``on``'s plan year.

    The same on every date of service of one plan year and one stretch between change dates
    (``CoverageInForce.stretch``): no dated value changes within a stretch, and the plan year
    fixes ``start``, the first day of ``on``'s plan year.
    """
    network = coverage.network
    assert network is not None
    ded = _amount(network.deductible, "deductible", (on, start), coverage.family)
    oop = network.out_of_pocket_max
    if oop is None:
        return ded, None
    return ded, _amount(oop, "out_of_pocket_max", (on, start), coverage.family)


def _amount(
    amounts: Deductible | OutOfPocketMax, label: str, when: tuple[date, date], family: bool
) -> Amount:
    """An individual (and, for family coverage, family) amount in force, in cents.

    ``when``: the date of service and its plan year's first day.
    """
    individual = plan_year_value(amounts.individual, *when, f"{label}.individual").cents
    if not (family and amounts.family is not None):
        return individual, None, True
    family_amount = plan_year_value(amounts.family, *when, f"{label}.family").cents
    return individual, family_amount, amounts.family_type == "embedded"


def _left(amount: Amount, met: tuple[int, int]) -> int:
    """What is left of an individual (and, for family coverage, family) amount.

    The smaller of the two when the family amount is embedded; the family amount alone when
    it is aggregate (rule 6).
    """
    individual, family, embedded = amount
    left = max(0, individual - met[0])
    if family is not None:
        family_left = max(0, family - met[1])
        left = min(left, family_left) if embedded else family_left
    return left


def capped(copay: int, ded: int, coinsurance: int, limit: int) -> tuple[int, int, int]:
    """Cap a line's cost share at ``limit``.

    Coinsurance goes first, then deductible, then copay (rule 7).
    """
    excess = copay + ded + coinsurance - limit
    cut = min(coinsurance, excess)
    coinsurance -= cut
    excess -= cut
    cut = min(ded, excess)
    ded -= cut
    excess -= cut
    return copay - excess, ded, coinsurance


def settle(
    line: BillLine,
    copay: int,
    ded: int,
    base: int,
    rate: Decimal,
    ded_left: int,
    oop_left: int | None,
    deductible_applies: bool,
    copay_note: tuple[Callable[..., str], tuple[Any, ...]],
) -> int:
    """Coinsurance on ``base``, the explanation, and the cap; the line's shares set.

    One home for the tail of a line's cost share under either benefit: coinsurance rounded
    half-up, the copay, deductible and coinsurance sentences, the out-of-pocket cap (rule 7).
    Returns the cost share.
    """
    coinsurance = cents_times_rate(base, rate)
    if copay:
        line.note(copay_note[0], copay, *copay_note[1])
    if deductible_applies:
        line.note(explain.deductible_note, ded, ded_left)
    if rate:
        line.note(explain.coinsurance_note, rate, base, coinsurance)
    if oop_left is not None and copay + ded + coinsurance > oop_left:
        copay, ded, coinsurance = capped(copay, ded, coinsurance, oop_left)
        line.note(explain.out_of_pocket_cap_note, oop_left)
    line.copay, line.deductible, line.coinsurance = copay, ded, coinsurance
    return copay + ded + coinsurance
