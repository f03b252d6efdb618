"""Ranges: low, expected and high patient cost when some inputs are unknown.

The expected case is the request as written. Each unknown input (prior authorization
outcome, number of sessions in a phase, the dose a phase uses, the deductible already met,
another starting point for the accumulators)
lists the values it may take; every combination of those values (with the expected ones) is
estimated, and low and high are the least and the most the patient pays (``patient_net``
over the whole plan). Because the expected case is one of the combinations,
low <= expected <= high always. Each input's swing (varied alone, every other input at its
expected value) names what drives the range. Pure: it only re-runs the engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._errors import EstimateError
from ._estimate import Estimate, EstimateRange, RangeDriver
from ._money import Money
from ._plan import MAX_VISITS
from ._request import Coverage, EstimateRequest, FamilyAmounts, StartingAccumulators
from ._types import builder

__all__ = [
    "MAX_COMBINATIONS",
    "combinations",
    "describe",
    "estimate_range",
    "measure_all",
    "patient_net",
    "variant",
]

T = TypeVar("T")

#: The most combinations one range estimates (4 inputs with 3 values each is 81).
MAX_COMBINATIONS = 81

_driver = builder(RangeDriver)

# One unknown input: (name, description, [(label, apply)]) where apply(request) -> request.
_Apply = Callable[[EstimateRequest], EstimateRequest]
_Input = tuple[str, str, list[tuple[str, _Apply]]]


def _phase_index(request: EstimateRequest, name: str) -> int:
    for i, p in enumerate(request.plan.phases):
        if (p.name or f"phase {i + 1}") == name:
            return i
    raise EstimateError(f"unknowns: the plan has no phase {name!r}")


def _with_phase(request: EstimateRequest, index: int, **update: Any) -> EstimateRequest:
    phases = list(request.plan.phases)
    phases[index] = phases[index].model_copy(update=update)
    total = sum(p.count for p in phases)
    if total > MAX_VISITS:
        raise EstimateError(f"unknowns: a combination has {total} sessions (at most {MAX_VISITS})")
    plan = request.plan.model_copy(update={"phases": tuple(phases)})
    return request.model_copy(update={"plan": plan})


def _with_coverage(field: str, value: str) -> _Apply:
    """Set one coverage field (e.g. the prior authorization status) in every coverage period."""

    def apply(request: EstimateRequest) -> EstimateRequest:
        periods = tuple(p.model_copy(update={field: value}) for p in request.coverage_periods)
        cov = request.coverage.model_copy(update={field: value})
        return request.model_copy(update={"coverage": cov, "coverage_periods": periods})

    return apply


def _with_sessions(index: int, count: int) -> _Apply:
    def apply(request: EstimateRequest) -> EstimateRequest:
        phase = request.plan.phases[index]
        if phase.per_week is not None:
            raise EstimateError(
                "unknowns: a phase given as 'per_week' and 'weeks' cannot vary its sessions; "
                "write it as 'sessions' with 'every_days' or 'every_weeks'"
            )
        return _with_phase(request, index, sessions=count)

    return apply


def _with_dose(index: int, session: str) -> _Apply:
    def apply(request: EstimateRequest) -> EstimateRequest:
        return _with_phase(request, index, session=session)

    return apply


def _with_deductible(amount: Money) -> _Apply:
    def apply(request: EstimateRequest) -> EstimateRequest:
        cov = request.coverage
        acc = cov.accumulators or StartingAccumulators(as_of=request.plan.start)
        met, oop = acc.deductible_met, acc.out_of_pocket_met
        family = met.family if met.family.cents == 0 else max(met.family, amount)
        new_met = FamilyAmounts(individual=amount, family=family)
        # Deductible paid counts toward the out-of-pocket maximum too.
        oop_family = oop.family if oop.family.cents == 0 else max(oop.family, amount)
        new_oop = FamilyAmounts(individual=max(oop.individual, amount), family=oop_family)
        new_acc = acc.model_copy(update={"deductible_met": new_met, "out_of_pocket_met": new_oop})
        new_cov: Coverage = cov.model_copy(update={"accumulators": new_acc})
        return request.model_copy(update={"coverage": new_cov})

    return apply


def _with_accumulators(accumulators: StartingAccumulators) -> _Apply:
    def apply(request: EstimateRequest) -> EstimateRequest:
        cov = request.coverage.model_copy(update={"accumulators": accumulators})
        return request.model_copy(update={"coverage": cov})

    return apply


def _inputs(request: EstimateRequest) -> list[_Input]:
    u = request.unknowns
    assert u is not None
    inputs: list[_Input] = []
    if u.prior_authorization:
        values = list(dict.fromkeys([request.coverage.prior_authorization, *u.prior_authorization]))
        inputs.append(
            (
                "prior_authorization",
                "the prior authorization decision",
                [(v, _with_coverage("prior_authorization", v)) for v in values],
            )
        )
    if u.authorization_renewal:
        # The expected case assumes an expected renewal is approved (issue 11 §3).
        written = request.coverage.authorization_renewal
        values = list(
            dict.fromkeys(["approved" if written == "expected" else written,
                           *u.authorization_renewal])
        )  # fmt: skip
        inputs.append(
            (
                "authorization_renewal",
                "the renewal of prior authorization",
                [(v, _with_coverage("authorization_renewal", v)) for v in values],
            )
        )
    for s in u.sessions:
        i = _phase_index(request, s.phase)
        counts = list(dict.fromkeys([request.plan.phases[i].count, s.low, s.high]))
        inputs.append(
            (
                f"sessions:{s.phase}",
                f"the number of sessions in {s.phase}",
                [(str(n), _with_sessions(i, n)) for n in counts],
            )
        )
    for d in u.dose:
        i = _phase_index(request, d.phase)
        names = list(dict.fromkeys([request.plan.phases[i].session, *d.sessions]))
        inputs.append(
            (
                f"dose:{d.phase}",
                f"the session (dose) used in {d.phase}",
                [(n, _with_dose(i, n)) for n in names],
            )
        )
    if u.deductible_met is not None:
        acc = request.coverage.accumulators
        now = acc.deductible_met.individual if acc is not None else Money(0)
        amounts = list(dict.fromkeys([now, u.deductible_met.low, u.deductible_met.high]))
        inputs.append(
            (
                "deductible_met",
                "how much of the deductible is already met",
                [(str(a), _with_deductible(a)) for a in amounts],
            )
        )
    if u.accumulators is not None:
        inputs.append(
            (
                "accumulators",
                "the starting accumulators",
                [("as written", lambda r: r), ("alternative", _with_accumulators(u.accumulators))],
            )
        )
    return inputs


def combinations(
    request: EstimateRequest,
) -> tuple[list[_Input], list[tuple[int, ...]]]:
    """The unknown inputs of ``request`` and every combination of their values.

    A combination is indexes into each input's values (index 0: the value the request is
    written with).

    Raises:
        EstimateError: more than :data:`MAX_COMBINATIONS` combinations, or an unknown names a
            phase the plan does not have.
    """
    inputs = _inputs(request)
    count = 1
    for _, _, values in inputs:
        count *= len(values)
    if count > MAX_COMBINATIONS:
        raise EstimateError(
            f"unknowns: {count} combinations to estimate; at most {MAX_COMBINATIONS}"
        )
    return inputs, list(itertools.product(*(range(len(v)) for _, _, v in inputs)))


def variant(
    request: EstimateRequest, inputs: list[_Input], choice: tuple[int, ...]
) -> EstimateRequest:
    """``request`` with each unknown input set to its chosen value (and no unknowns)."""
    found = request.model_copy(update={"unknowns": None})
    for (_, _, values), k in zip(inputs, choice, strict=True):
        found = values[k][1](found)
    return found


def describe(inputs: list[_Input], choice: tuple[int, ...]) -> str:
    """A combination in words: ``the number of sessions in boosters 12, ...``."""
    return ", ".join(
        f"{description} {values[k][0]}"
        for (_, description, values), k in zip(inputs, choice, strict=True)
    )


def measure_all(
    request: EstimateRequest,
    run: Callable[[EstimateRequest], Estimate],
    measure: Callable[[Estimate], T],
    known: Mapping[tuple[int, ...], T] | None = None,
) -> tuple[list[_Input], dict[tuple[int, ...], T]]:
    """Every combination of the unknown inputs, estimated by ``run`` and measured by ``measure``.

    ``known`` holds combinations already measured, e.g. the expected one.

    The one mechanism behind every range: the estimate's (the patient's net cost over the
    plan) and the Good Faith Estimate's (the charges of its 12 months).
    """
    inputs, combos = combinations(request)
    found: dict[tuple[int, ...], T] = dict(known or {})
    for choice in combos:
        if choice not in found:
            found[choice] = measure(run(variant(request, inputs, choice)))
    return inputs, found


def patient_net(estimate: Estimate) -> int:
    """What the patient pays over the whole plan, net of assistance (cents)."""
    return estimate.totals.patient_net.cents


def estimate_range(
    request: EstimateRequest,
    expected: Estimate,
    run: Callable[[EstimateRequest], Estimate],
    *,
    measure: Callable[[Estimate], int] = patient_net,
) -> EstimateRange:
    """The range of ``request``, which lists ``unknowns``.

    ``expected`` is its own estimate and ``run`` estimates a variant request (the engine,
    without unknowns). ``measure`` is the figure the range spans (cents; by default the
    patient's net cost over the plan).
    """
    inputs, combos = combinations(request)
    exp_cents = measure(expected)
    _, costs = measure_all(request, run, measure, {(0,) * len(inputs): exp_cents})
    low_c = min(combos, key=lambda c: (costs[c], c))
    high_c = max(combos, key=lambda c: (costs[c], [-k for k in c]))
    drivers = []
    for n, (name, description, values) in enumerate(inputs):
        alone = []
        for k in range(len(values)):
            choice = tuple(k if j == n else 0 for j in range(len(inputs)))
            alone.append((costs[choice], k))
        lo, hi = min(alone), max(alone, key=lambda t: (t[0], -t[1]))
        drivers.append(
            _driver(
                {
                    "input": name,
                    "description": description,
                    "low_value": values[lo[1]][0],
                    "high_value": values[hi[1]][0],
                    "low": Money.from_cents(lo[0]),
                    "high": Money.from_cents(hi[0]),
                }
            )
        )
    drivers.sort(key=lambda d: (-(d.high.cents - d.low.cents), d.input))
    # Built with validation, not the engine's fast builder: the optional fields it leaves
    # unset (basis, session counts) stay out of its fields-set, as after a JSON round trip.
    return EstimateRange.model_validate(
        {
            "low": Money.from_cents(costs[low_c]),
            "expected": Money.from_cents(exp_cents),
            "high": Money.from_cents(costs[high_c]),
            "low_inputs": {name: v[low_c[n]][0] for n, (name, _, v) in enumerate(inputs)},
            "high_inputs": {name: v[high_c[n]][0] for n, (name, _, v) in enumerate(inputs)},
            "drivers": tuple(drivers),
            "combinations": len(combos),
        }
    )
