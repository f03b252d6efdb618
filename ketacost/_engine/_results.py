"""What a run of the visit loop gives besides an estimate: its facts and its totals.

:class:`PlanFacts` for the layer above (:func:`ketacost._engine.adjudicate_with_facts`);
:class:`PlanTotals` of the totals-only path (:func:`ketacost._engine.adjudicate_totals`),
with each visit's totals and what is met before and after it (:class:`VisitTotals`) when
asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from ketacost._estimate import Coordination, PlanYearSummary, Totals

__all__ = ["Met", "PlanFacts", "PlanTotals", "VisitTotals"]


@dataclass(frozen=True)
class PlanFacts:
    """What the layer above needs to know of a run besides its estimate.

    ``renewal_assumed``: an expected renewal of prior authorization covered some visit (the
    range then weighs its denial). ``cash``: the whole plan at the clinic's self-pay prices
    (cents), for the self-pay comparison.
    """

    renewal_assumed: bool
    cash: int


class Met(NamedTuple):
    """What is met of the deductible and the out-of-pocket maximum, in cents.

    The figures of :class:`~ketacost.Accumulators`.
    """

    deductible_individual: int
    deductible_family: int
    out_of_pocket_individual: int
    out_of_pocket_family: int


@dataclass(frozen=True, slots=True)
class VisitTotals:
    """One visit's totals, and what was met before and after it, without its lines.

    The figures of the full estimate's visit: ``totals`` is its ``totals``, ``met_before``
    its first line's ``accumulators_before`` and ``met_after`` its last line's
    ``accumulators_after``, in cents.
    """

    number: int
    day: date
    session: str
    plan_year: date
    totals: Totals
    met_before: Met
    met_after: Met


@dataclass(frozen=True)
class PlanTotals:
    """A plan's totals without its lines (:func:`adjudicate_totals`).

    The same figures, to the cent, as the full estimate's, for callers that keep only totals
    (batch rows). ``by_visit``: each visit's totals, when asked for (else empty).
    """

    totals: Totals
    plan_years: tuple[PlanYearSummary, ...]
    visits: int
    first_visit: date | None
    last_visit: date | None
    warnings: tuple[str, ...]
    by_visit: tuple[VisitTotals, ...] = ()
    coordination: tuple[Coordination, ...] = ()
