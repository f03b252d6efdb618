"""One treatment plan, priced several ways, ranked by what the patient pays.

A :class:`Variant` changes some of a request: the payer, the network, the session template
(every phase's session replaced, e.g. IV infusions instead of esketamine), the start date, the
whole plan, the second payer (``secondary``: Medicare alone, or with a Medigap plan), or other
coverage fields. :func:`compare` estimates each variant and ranks them,
cheapest for the patient first (ties keep the order given).

>>> comparison = compare(request, [Variant(payer="medicare-part-b"), Variant(payer="self-pay")],
...                      payers)                                              # doctest: +SKIP
>>> [(row.rank, row.payer_id, str(row.patient_cost)) for row in comparison.rows]  # doctest: +SKIP
[(1, 'medicare-part-b', '3245.31'), (2, 'self-pay', '39900.00')]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from ._comparison import NO_SECOND_PAYER, Comparison, ComparisonRow, Variant
from ._errors import InvalidArgumentError, RequestFileError
from ._estimate import Estimate, Totals
from ._estimating import adjudicate
from ._loader import request_from_data
from ._money import Money
from ._payer import Payer
from ._request import EstimateRequest
from ._source import SourceMap
from ._validation import validate
from ._version import __version__

__all__ = [
    "NO_SECOND_PAYER",
    "Comparison",
    "ComparisonRow",
    "Variant",
    "VariantError",
    "compare",
    "patient_cost",
    "variants",
]


def patient_cost(totals: Totals) -> Money:
    """What the patient pays in all, after any savings program (``patient_net``).

    The ranking key of a comparison.
    """
    return totals.patient_net


def _apply(request: EstimateRequest, v: Variant, payers: Mapping[str, Payer]) -> EstimateRequest:
    data: dict[str, Any] = {name: getattr(request, name) for name in type(request).model_fields}
    coverage = request.coverage.model_dump(exclude_unset=True)
    if v.payer is not None and v.payer != request.coverage.payer:
        coverage["payer"] = v.payer
        # Session-limit counts name the old payer's limits; they do not carry over.
        acc = coverage.get("accumulators")
        if isinstance(acc, dict):
            acc.pop("sessions_used", None)
    if v.network is not None:
        coverage["network"] = v.network
    if v.prior_authorization is not None:
        coverage["prior_authorization"] = v.prior_authorization
    if v.secondary == NO_SECOND_PAYER:
        coverage.pop("secondary", None)
        coverage.pop("order", None)  # "decide" needs two coverages to order
    elif v.secondary is not None:
        second = coverage.get("secondary")
        keep = second if isinstance(second, dict) and second.get("payer") == v.secondary else {}
        coverage["secondary"] = {**keep, "payer": v.secondary}
    coverage.update(v.coverage)
    data["coverage"] = coverage
    plan = v.plan if v.plan is not None else request.plan
    if v.session is not None or v.start is not None:
        plan_data = plan.model_dump(exclude_unset=True)
        if v.session is not None:
            for phase in plan_data["phases"]:
                phase["session"] = v.session
        if v.start is not None:
            plan_data["start"] = v.start
        data["plan"] = plan_data
    else:
        data["plan"] = plan
    return request_from_data(data, payers=payers, source=f"<variant {v.describe()}>")


def compare(
    request: EstimateRequest, variants: Iterable[Variant], payers: Mapping[str, Payer]
) -> Comparison:
    """Estimate ``request`` under each variant and rank the results by patient cost.

    Raises:
        RequestFileError: a variant makes the request invalid (for example a session the
            clinic does not have); the message names the variant.
        UnknownPayerError, EstimateError: as :func:`ketacost.estimate`.
        InvalidArgumentError: ``variants`` is empty.
    """
    results: list[tuple[Variant, EstimateRequest, Estimate]] = []
    for v in variants:
        req = _apply(request, v, payers)
        results.append((v, req, adjudicate(req, payers)))
    if not results:
        raise InvalidArgumentError("compare needs at least one variant")
    order = sorted(range(len(results)), key=lambda i: patient_cost(results[i][2].totals))
    rows = []
    for rank, i in enumerate(order, start=1):
        v, req, est = results[i]
        second = est.coordination[0] if est.coordination else None
        rows.append(
            ComparisonRow(
                rank=rank,
                label=v.describe(),
                variant=v,
                payer_id=est.payer_id,
                payer_name=est.payer_name,
                network=est.network,
                sessions=tuple(dict.fromkeys(p.session for p in req.plan.phases)),
                start=req.plan.start,
                visits=len(est.visits),
                totals=est.totals,
                patient_cost=patient_cost(est.totals),
                self_pay_comparison=est.self_pay_comparison,
                secondary_payer_id=second.secondary_payer_id if second else None,
                secondary_payer_name=second.secondary_payer_name if second else None,
                estimate=est,
            )
        )
    return Comparison(library_version=__version__, rows=tuple(rows))


def _or_keep(values: Sequence[Any]) -> Sequence[Any]:
    return values or (None,)


def variants(
    *,
    payers: Sequence[str] = (),
    networks: Sequence[str] = (),
    sessions: Sequence[str] = (),
    starts: Sequence[date] = (),
    drug_benefits: Sequence[str] = (),
    secondaries: Sequence[str] = (),
) -> list[Variant]:
    """Every combination of the given payers, networks, sessions, starts, routes, second payers.

    In the order given; a dimension left empty keeps the request's value. A drug route
    (``medical`` or ``pharmacy``) sets the coverage's ``drug_benefit``: the same patient's
    esketamine billed by the clinic or by a specialty pharmacy, side by side. A second payer
    (a payer id, or ``none``) sets the coverage's ``secondary``: Medicare alone, and with
    Medigap Plan G or Plan N, side by side.

    >>> [v.describe() for v in variants(secondaries=["none", "medigap-plan-g"])]
    ['no second payer', '+ medigap-plan-g']
    """
    combos = itertools.product(
        _or_keep(payers),
        _or_keep(networks),
        _or_keep(sessions),
        _or_keep(starts),
        _or_keep(drug_benefits),
        _or_keep(secondaries),
    )
    return [
        validate(
            Variant,
            {
                "payer": p,
                "network": n,
                "session": s,
                "start": d,
                "secondary": second,
                "coverage": {} if route is None else {"drug_benefit": route},
            },
            SourceMap.empty("<variants>"),
            VariantError,
        )
        for p, n, s, d, route, second in combos
    ]


class VariantError(RequestFileError):
    """A variant of :func:`variants` is not valid (a payer id that is no id, ...)."""
