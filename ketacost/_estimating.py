"""Estimating, the layer above the engine.

A request (validated if need be), adjudicated, with its low/expected/high range when it lists
unknowns.

The engine (:mod:`ketacost._engine`) adjudicates one request as written; the range
(:mod:`ketacost._range`) re-runs it for each combination of the unknown inputs. This module
joins the two, so that neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _engine
from ._checks import contradiction_problems
from ._edit_warnings import with_claim_edit_warnings
from ._errors import EstimateError, KetacostError
from ._estimate import CostRange, Estimate, SelfPayComparison
from ._library import default_payers
from ._loader import request_from_data
from ._money import Money
from ._payer import Payer
from ._range import combinations, describe, estimate_range, measure_all
from ._request import EstimateRequest, Unknowns
from ._savings import SavingsProgram
from ._source import field_path

__all__ = ["adjudicate", "estimate", "good_faith_range"]


def adjudicate(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None = None,
) -> Estimate:
    """Estimate a request against a set of payers. Pure: no I/O, no clock.

    ``programs`` are the manufacturer savings programs a request may name; by default those
    of ``payers`` when it is a :class:`~ketacost.PayerLibrary`. When the request lists
    ``unknowns``, the estimate carries a low/expected/high ``range``.

    Raises:
        UnknownPayerError: the request (or a payer it uses) names a payer not in ``payers``.
        EstimateError: the request cannot be priced (a value not in force on a date, ...), or
            its inputs contradict each other (a birth date after the first visit, ...).
    """
    if programs is None:
        programs = getattr(payers, "programs", None) or {}
    # A request built in code reaches here unchecked; the loader makes these checks with the
    # others. (The engine makes its own coverage checks; these could move there.)
    problems = contradiction_problems(request, payers)
    if problems:
        raise EstimateError("; ".join(f"{field_path(loc)}: {text}" for loc, text in problems))
    # Claim edits the estimate meets become warnings; no line or amount changes.
    found, facts = _engine.adjudicate_with_facts(request, payers, programs)
    found = with_claim_edit_warnings(found, payers)
    compared = self_pay_comparison(request, found, payers, Money.from_cents(facts.cash))
    if compared is not None:
        found = found.model_copy(update={"self_pay_comparison": compared})
    request, no_room = with_renewal_unknown(request, found, facts, payers, programs)
    if no_room is not None:
        found = found.model_copy(update={"warnings": (*found.warnings, no_room)})
    if request.unknowns is None:
        return found

    def run(variant: EstimateRequest) -> Estimate:
        return _engine.adjudicate(variant, payers, programs)

    return found.model_copy(update={"range": estimate_range(request, found, run)})


def with_renewal_unknown(
    request: EstimateRequest,
    found: Estimate,
    facts: _engine.PlanFacts,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
) -> tuple[EstimateRequest, str | None]:
    """``request`` with the renewal of prior authorization among its unknowns, where it counts.

    Sessions an expected renewal covers are covered in the estimate; whether the renewal is
    approved or denied becomes a range driver (issue 11 §3) when the denied case costs the
    patient something else. Returns the request, and a warning when the request has no room
    for one more unknown input (then the range leaves the renewal out).
    """
    unknowns = request.unknowns or Unknowns()
    if unknowns.authorization_renewal or not facts.renewal_assumed:
        return request, None
    denied = request.model_copy(
        update={
            "coverage": request.coverage.model_copy(update={"authorization_renewal": "denied"}),
            "coverage_periods": tuple(
                p.model_copy(update={"authorization_renewal": "denied"})
                for p in request.coverage_periods
            ),
            "unknowns": None,
        }
    )
    cost = _engine.adjudicate_totals(denied, payers, programs).totals.patient_net
    if cost == found.totals.patient_net:
        return request, None
    added = unknowns.model_copy(update={"authorization_renewal": ("denied",)})
    try:
        Unknowns.model_validate(added.model_dump())
        combinations(request.model_copy(update={"unknowns": added}))
    except (ValueError, KetacostError):
        return request, (
            f"If the renewal of prior authorization is denied the plan costs {cost:$}, not "
            f"{found.totals.patient_net:$}; the range leaves the renewal out because the "
            "request already has as many unknown inputs as a range can take."
        )
    return request.model_copy(update={"unknowns": added}), None


def self_pay_comparison(
    request: EstimateRequest, found: Estimate, payers: Mapping[str, Payer], self_pay: Money
) -> SelfPayComparison | None:
    """Paying cash for the whole plan, when that costs the patient less than ``found``.

    ``self_pay`` is the whole plan at the clinic's self-pay prices and packages (it depends
    on the request and its clinic alone). None when the request is self-pay already (every
    coverage period) or cash does not cost less.
    """
    used = [request.coverage.payer, *(p.payer for p in request.coverage_periods)]
    if all(payers[pid].kind == "self-pay" for pid in used if pid in payers):
        return None
    through = found.totals.patient_net
    if self_pay >= through:
        return None
    return SelfPayComparison(
        self_pay=self_pay,
        through_plan=through,
        saving=through - self_pay,
        note=(
            f"Paying the clinic's self-pay prices for the whole plan would cost "
            f"{self_pay:$}, {through - self_pay:$} less than the {through:$} "
            "estimated through the plan. A self-pay patient is owed a Good Faith Estimate "
            "(45 CFR 149.610); ask the clinic before deciding, since care paid in cash does "
            "not count toward the plan's deductible or out-of-pocket maximum."
        ),
    )


def estimate(
    request: EstimateRequest | Mapping[str, Any] | str,
    *,
    payers: Mapping[str, Payer] | None = None,
) -> Estimate:
    """Estimate every visit of a request: who pays what, line by line.

    Args:
        request: an :class:`EstimateRequest`, or the same as Python data or JSON text.
        payers: the payer library to use; by default the bundled one (see README, "Payer
            files"). Loading it is the only I/O, done once.

    Raises:
        RequestFileError: the request is invalid (each problem names its field).
        UnknownPayerError: the request names a payer that is not in the library.
        EstimateError: the request cannot be priced (e.g. no rule value in force on a date).
    """
    library = default_payers() if payers is None else payers
    if not isinstance(request, EstimateRequest):
        request = request_from_data(request, payers=library)
    return adjudicate(request, library)


def good_faith_range(
    request: EstimateRequest,
    estimate: Estimate,
    *,
    payers: Mapping[str, Payer] | None = None,
) -> CostRange:
    """The range of a Good Faith Estimate's 12 months, for a request that lists unknowns.

    Each combination of the unknown inputs is re-estimated (the one range mechanism,
    :func:`ketacost._range.measure_all`); its figure is what the patient self-pays in the 12
    months (only self-paid lines count: a combination may bill more or fewer of them to a
    plan), the way the GFE lists the expected case (the estimate's own range spans
    the whole plan, which may run past the 12 months a GFE covers, 45 CFR 149.610). Pass the
    result to :func:`ketacost.documents.build_gfe` as ``period_range``.

    Args:
        request: the request, with ``unknowns``.
        estimate: its estimate (the expected case).
        payers: the payer library the estimate was made with (default: the bundled one).

    Raises:
        DocumentError: the request lists no unknowns, the combinations cannot all be
            estimated, one self-pays items before the first date, or the payer files are
            not the estimate's.
    """
    from ketacost.documents._common import DocumentError
    from ketacost.documents._gfe import (
        ASK_EXPECTED_VISITS,
        charges_in_period,
        twelve_months_of,
    )

    if request.unknowns is None:
        raise DocumentError(
            "the request lists no unknowns: its Good Faith Estimate has no range to estimate "
            "(give expected_visits for a range of sessions)"
        )
    library = default_payers() if payers is None else payers
    first, period_end = twelve_months_of(request, estimate)

    def run(variant: EstimateRequest) -> Estimate:
        found = adjudicate(variant, library)
        if found.rules_hash != estimate.rules_hash:
            raise DocumentError(
                "the estimate was made with other payer files than the ones given for its Good "
                f"Faith Estimate; pass them as payers=, or {ASK_EXPECTED_VISITS}"
            )
        return found

    try:
        inputs, measured = measure_all(
            request, run, lambda found: charges_in_period(request, found, first, period_end)
        )
    except KetacostError as exc:
        if isinstance(exc, DocumentError):
            raise
        message = f"the range of the 12 months cannot be estimated ({exc}); {ASK_EXPECTED_VISITS}"
        raise DocumentError(message) from None
    # (cents, sessions, combination); the request as written is the all-zero combination.
    figures = [(cents, sessions, choice) for choice, (cents, sessions) in measured.items()]
    low = min(figures, key=lambda f: (f[0], f[2]))
    high = max(figures, key=lambda f: (f[0], [-k for k in f[2]]))
    expected = next(f for f in figures if not any(f[2]))
    listed, _ = charges_in_period(request, estimate, first, period_end)
    if expected[0] != listed:
        raise DocumentError(
            "re-estimating the request does not give the estimate's charges; was the estimate "
            f"made from this request (and these payer files)? Or {ASK_EXPECTED_VISITS}"
        )
    return CostRange(
        low=Money.from_cents(low[0]),
        expected=Money.from_cents(expected[0]),
        high=Money.from_cents(high[0]),
        low_sessions=low[1],
        high_sessions=high[1],
        basis=(
            f"what is not known yet, within the 12 months to {period_end.isoformat()}: lowest "
            f"with {describe(inputs, low[2])} ({low[1]} sessions in the period); highest with "
            f"{describe(inputs, high[2])} ({high[1]} sessions in the period)"
        ),
    )
