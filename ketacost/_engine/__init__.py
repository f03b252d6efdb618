"""The adjudication engine: pure (no I/O, no clock), deterministic, exact to the cent.

The contract, in the order it is applied (README "How an estimate is computed"):

1. Visits are processed in date order. Each date belongs to the plan year given by the payer's
   plan-year start; accumulators reset to zero at each plan-year boundary. Starting
   accumulators in the request belong to the plan year containing their ``as_of`` date. A
   plan year's deductible, out-of-pocket maximum and session limits are those in force on
   its first day, for the whole plan year (``_coverage.plan_year_value``); every other dated
   value is read on the date of service.
2. Coverage per line: no rule, or an excluded rule, means not covered; a condition not met
   means not covered, with the reason. A visit counts once against a session limit, however
   many of its lines belong to the limited group.
3. A line that is not covered: the patient owes the clinic's self-pay price for the item (its
   per-code ``self_pay_codes`` price on a visit the plan covers in part, else the line's share
   of its session's or package's self-pay price), never more than its charge; charge minus
   that price is the ``self_pay_discount`` (a write-off). A clinic with
   ``non_covered_price: charge`` is owed the charge. Nothing accumulates.
4. A covered line: allowed = min(charge, the payer's rate × units). Out of network where
   balance billing is allowed, the patient also owes charge − allowed, which never accumulates.
5. Cost sharing, line by line: the copay, never more than what the line allows; then the
   deductible, where it applies, on what is left; then coinsurance on the rest, rounded
   half-up to the cent per line. How many copays a visit takes is the network's
   ``copay_scope``: ``visit`` (the default: one per visit, the highest among the categories of
   its covered lines), ``category`` (one per visit per category) or ``line``.
   (A category with ``copay_after_deductible`` takes the deductible first and the copay only
   from what is left once the deductible is met.)
6. Remaining deductible, on family coverage (``tier: family``): min(individual remaining,
   family remaining) when the family deductible is embedded; the family amount alone when it
   is aggregate. On individual coverage, the individual amount alone.
7. A line's cost share (copay + deductible + coinsurance) is capped at the remaining
   out-of-pocket maximum (individual and family, as for the deductible). The cap removes
   coinsurance first, then deductible, then copay. Copays, deductible and coinsurance count
   toward the maximum; non-covered charges and balance bills do not.
8. Self-pay: the session's self-pay price, or the package price for the sessions a package
   covers; nothing accumulates.
9. Every line: patient + payer + secondary (0 without one) + write-off = charge, and
   patient = copay + deductible + coinsurance + balance bill + non-covered, to the cent.

Issue 3 additions, applied in this order after the steps above:

10. Coverage periods: each visit is adjudicated under the coverage in force on its date
    (its ``starts`` on or before the visit). Each period keeps its own accumulators and plan years
    (a new plan starts from zero, or from the period's own starting accumulators).
11. Superbill (``coverage.superbill``): the patient pays the clinic the self-pay price (the
    line's charge); the plan adjudicates that charge as a claim in the coverage's network
    (allowed = min(charge, the payer's rate × units), then deductible, coinsurance and the
    maximum as above) and reimburses the patient its payment (``payer`` = ``reimbursement``);
    the patient keeps charge − allowed (``balance_bill``), which never accumulates; an
    excluded code reimburses nothing.
12. Manufacturer savings (``coverage.savings_program``, commercial plans only): after the
    plan's adjudication of a visit, the program pays the patient's cost share on its drug
    lines above the least the patient pays per treatment, up to what is left of its annual
    maximum for the calendar year (the maximum in force on the year's first visit the program
    considers); per line it takes coinsurance first, then deductible, then
    copay. On a ``copay_accumulator`` plan those payments do not count toward the deductible
    or out-of-pocket maximum (only the patient's own payments do), from the next visit on.
    Every line: patient_net = patient − assistance.

Issue 12 §1 additions, Original Medicare (``_medicare``):

13. Participation (the clinic's ``medicare``): non-participating, allowed = the payer's
    ``non_participating.allowed`` × the fee schedule amount per unit; on an unassigned claim
    the patient pays up to min(charge, the limiting charge per unit × units), the excess over
    allowed is the balance bill, charge above it a write-off, and the payer pays the patient
    (``reimbursement``). Opted out: every visit is a private-contract self-pay visit (rule 8).
14. Liability: an excluded line under ``not_reasonable_and_necessary`` is owed as rule 3 with
    a signed ABN (modifier GA); without one (GZ) the patient owes 0 and the clinic writes the
    charge off. A statutory exclusion (GY) is owed as rule 3.
15. A payer's ``payment_reduction``: payer = allowed − cost share − the cut; the cut is a
    write-off, or part of the balance bill where the payer pays the patient. Rule 9 holds.

Named rounding points (all ROUND_HALF_UP to the cent): ``allowed-rate`` (a percentage of
another fee schedule, per unit; also the non-participating amount and the limiting charge,
per unit), ``allowed-charge`` (a percentage of the charge, per line), ``coinsurance`` (per
line), ``payment-reduction`` (per line), ``savings-bundled`` (a savings program's part of a
bundled code's cost share, per line), and ``self-pay-split`` (a package price over its
sessions: whole cents, the leftover cents to the earliest sessions; a session price over its
lines by charge with ``share_cents``: the leftover cents to the largest fractional
remainders, ties to the earlier line). Also ``fee-schedule`` (``ketacost._fee_schedule``).

The order within a visit: the first payer (rules 2 to 7, the pharmacy benefit, rule 15),
then the price of lines not covered (rule 3), then a second payer (``_coordination``), then
manufacturer savings (rule 12), on what is left to the patient after both payers.
"""

from __future__ import annotations

from collections.abc import Mapping

from ketacost._estimate import Estimate
from ketacost._payer import Payer
from ketacost._request import EstimateRequest
from ketacost._savings import SavingsProgram

from ._hash import rules_hash
from ._results import Met, PlanFacts, PlanTotals, VisitTotals
from ._visits import adjudicate_plan, adjudicate_with_facts
from ._visits import adjudicate_totals as _adjudicate_totals

__all__ = [
    "Met",
    "PlanFacts",
    "PlanTotals",
    "VisitTotals",
    "adjudicate",
    "adjudicate_totals",
    "adjudicate_with_facts",
    "rules_hash",
]


def adjudicate(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None = None,
) -> Estimate:
    """Adjudicate every visit of a request against a set of payers. Pure: no I/O, no clock.

    The request's ``unknowns`` are not looked at here: the range is added a layer above
    (:func:`ketacost.adjudicate`), by re-running this function.

    Args:
        request: what to estimate.
        payers: the payers by id (a :class:`~ketacost.PayerLibrary` or a plain mapping).
        programs: the manufacturer savings programs a request may name; by default those of
            ``payers`` when it is a :class:`~ketacost.PayerLibrary`.

    Raises:
        UnknownPayerError: the request (or a payer it uses) names a payer not in ``payers``.
        EstimateError: the request cannot be priced (a value not in force on a date, ...).
    """
    if programs is None:
        programs = getattr(payers, "programs", None) or {}
    return adjudicate_plan(request, payers, programs)


def adjudicate_totals(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None = None,
    *,
    by_visit: bool = False,
) -> PlanTotals:
    """The totals of :func:`adjudicate`, to the cent, without building its lines.

    For callers that keep only totals (a batch row): no result line and no explanation text
    is made. With ``by_visit``, each visit's totals and accumulators too (the calculator's
    summary). A property test holds the two paths to the same totals and plan years, and
    each visit to its totals and accumulators.
    """
    if programs is None:
        programs = getattr(payers, "programs", None) or {}
    return _adjudicate_totals(request, payers, programs, by_visit=by_visit)
