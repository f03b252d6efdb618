"""Who pays first: the order of benefits between two coverages (coordination of benefits).

:func:`order_of_benefits` applies the rules in the order the NAIC model regulation and the
Medicare Secondary Payer rules apply them, and returns the primary, the secondary, the rule
that decided it and its source. Facts it needs (employment, employer size, a parent's
birthday) come from each coverage's :class:`~ketacost._request.PolicyHolder`; when a rule
needs a fact that is not given, it says which (never a guess).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from ._errors import EstimateError
from ._payer import Payer
from ._request import Coverage, EstimateRequest

__all__ = ["OrderOfBenefits", "age_when_it_starts", "decide_order", "order_of_benefits"]

_MSP = (
    "CMS, 'Who pays first' (Medicare Secondary Payer; 42 CFR 411.172): a group health plan "
    "of current employment pays first when the employer has 20 or more employees"
)
_MEDICAID = (
    "Medicaid is the payer of last resort (42 U.S.C. 1396a(a)(25); CMS 'Coordination of "
    "benefits and third party liability')"
)
_NAIC = "NAIC Coordination of Benefits Model Regulation (MDL-120), order of benefit rules"
_MSP_DISABILITY = (
    "42 CFR 411.101 and 411.170 (Medicare Secondary Payer, disability): a large group health "
    "plan (100 or more employees) of current employment pays first for a person under 65"
)
_TRICARE = "10 U.S.C. 1079(j)(1): TRICARE pays after any other health insurance (Medicaid aside)"
_TFL = "TRICARE For Life: Medicare pays first, TRICARE second (tricare.mil/tfl)"


@dataclass(frozen=True)
class OrderOfBenefits:
    """The coverage that pays first, the one that pays second, and why."""

    primary: Coverage
    secondary: Coverage
    rule: str
    source: str


def order_of_benefits(
    first: Coverage, second: Coverage, payers: Mapping[str, Payer], *, age: int | None = None
) -> OrderOfBenefits:
    """Decide which of two coverages pays first.

    The rules, in order: a plan that only pays second (Medigap, TRICARE For Life after
    Medicare) is second; Medicaid pays last; TRICARE pays after other health insurance;
    Medicare against an employer plan (current employment at an employer of 20 or more, or
    100 or more when the patient is under 65 and on Medicare through disability: the employer
    plan first; otherwise Medicare first; ``age`` is the patient's, None read as 65 or over); the
    plan covering the patient as the policyholder before one covering them as a dependent;
    for a child on both parents' plans, the parent whose birthday falls earlier in the year
    (the birthday rule; a shared birthday: the plan that has covered its holder longer).

    A request applies it when its coverage says ``order: decide``; with ``order: stated``
    (the default) the coverage pays first and its ``secondary`` second, as written.

    Args:
        first: one coverage.
        second: the other (the order given does not matter).
        payers: the payer library (their kinds and ``as_secondary`` decide the first rule).
        age: the patient's age when the coverages apply (under 65: Medicare through
            disability, whose employer-size threshold is 100); None is read as 65 or over.

    Returns:
        The primary and secondary coverage, the rule in words and where it is stated.

    Raises:
        EstimateError: no rule decides without a fact the coverages do not give (their
            ``holder``'s employment, employer size or birth date); the message names it.

    Example:
        >>> from ketacost import Coverage, default_payers, order_of_benefits
        >>> found = order_of_benefits(
        ...     Coverage(payer="medigap-plan-g"), Coverage(payer="medicare-part-b"),
        ...     default_payers())
        >>> found.primary.payer, found.secondary.payer
        ('medicare-part-b', 'medigap-plan-g')
    """
    a, b = _payer(first, payers), _payer(second, payers)
    for x, y, px, py in ((first, second, a, b), (second, first, b, a)):
        after_medicare = px.kind == "medicare" and py.secondary_method("medicare") is not None
        if py.kind == "medigap" or (py.kind == "tricare" and after_medicare):
            rule = (
                f"{py.name} is a Medicare supplement: it pays only after Original Medicare"
                if py.kind == "medigap"
                else f"{py.name} pays after Medicare"
            )
            return OrderOfBenefits(x, y, rule, _TFL if py.kind == "tricare" else _NAIC)
    for x, y, px, py in ((first, second, a, b), (second, first, b, a)):
        if py.kind == "medicaid" and px.kind != "medicaid":
            return OrderOfBenefits(x, y, f"{py.name} (Medicaid) pays last", _MEDICAID)
    for x, y, px, py in ((first, second, a, b), (second, first, b, a)):
        if py.kind == "tricare" and px.kind in ("commercial", "commercial-hdhp"):
            rule = f"{py.name} (TRICARE) pays after other health insurance ({px.name})"
            return OrderOfBenefits(x, y, rule, _TRICARE)
    for x, y, px, py in ((first, second, a, b), (second, first, b, a)):
        if px.kind == "medicare" and py.kind in ("commercial", "commercial-hdhp"):
            return _medicare_and_group(x, y, px, py, age)
    for x, y, px, py in ((first, second, a, b), (second, first, b, a)):
        if x.holder.relationship == "self" and y.holder.relationship != "self":
            rule = f"{px.name} covers the patient as its policyholder; {py.name} as a dependent"
            return OrderOfBenefits(x, y, rule, _NAIC + ": non-dependent before dependent")
    if first.holder.relationship == "child" and second.holder.relationship == "child":
        return _birthday_rule(first, second, a, b)
    raise EstimateError(
        f"the order of benefits between {a.id} and {b.id} needs facts not given: give each "
        "coverage's holder (relationship, employment, employer_size, birth_date), or state "
        "the order (order: stated)"
    )


def _payer(coverage: Coverage, payers: Mapping[str, Payer]) -> Payer:
    found = payers.get(coverage.payer)
    if found is None:
        raise EstimateError(f"payer {coverage.payer!r} is not in the library")
    return found


def _medicare_and_group(
    medicare: Coverage, group: Coverage, pm: Payer, pg: Payer, age: int | None
) -> OrderOfBenefits:
    """Medicare against an employer group plan (the Medicare Secondary Payer rules).

    Working aged (65 or over): 20 or more employees; disability (under 65): 100 or more.
    """
    disabled = age is not None and age < 65
    threshold, source = (100, _MSP_DISABILITY) if disabled else (20, _MSP)
    holder = group.holder
    if holder.employment is None:
        raise EstimateError(
            f"the order of benefits between {pm.id} and {pg.id} turns on employment: give the "
            f"{pg.id} coverage's holder.employment (active, retired or none) and employer_size"
        )
    if holder.employment == "active":
        if holder.employer_size is None:
            raise EstimateError(
                f"the order of benefits between {pm.id} and {pg.id} turns on the employer's "
                "size: give holder.employer_size"
            )
        why = " (the patient is under 65: Medicare through disability)" if disabled else ""
        if holder.employer_size >= threshold:
            rule = (
                f"{pg.name} is a group plan of current employment at an employer with "
                f"{holder.employer_size} employees ({threshold} or more{why}): it pays before "
                "Medicare"
            )
            return OrderOfBenefits(group, medicare, rule, source)
        rule = (
            f"{pg.name} is a group plan of an employer with {holder.employer_size} employees "
            f"(fewer than {threshold}{why}): Medicare pays first"
        )
        return OrderOfBenefits(medicare, group, rule, source)
    rule = (
        f"{pg.name} is not a plan of current employment ({holder.employment}): Medicare pays first"
    )
    return OrderOfBenefits(medicare, group, rule, source)


def _birthday_rule(first: Coverage, second: Coverage, a: Payer, b: Payer) -> OrderOfBenefits:
    """A child on both parents' plans: the parent whose birthday is earlier in the year."""
    ha, hb = first.holder, second.holder
    if ha.birth_date is None or hb.birth_date is None:
        raise EstimateError(
            "the birthday rule needs both parents' birth dates: give holder.birth_date on "
            "both coverages"
        )
    da, db = (ha.birth_date.month, ha.birth_date.day), (hb.birth_date.month, hb.birth_date.day)
    source = _NAIC + ": dependent child, parents married or living together (birthday rule)"
    if da != db:
        x, y, px, hx = (first, second, a, ha) if da < db else (second, first, b, hb)
        rule = (
            f"birthday rule: the holder of {px.name} has the earlier birthday in the year "
            f"({hx.birth_date:%B %-d}; the year of birth does not count)"
        )
        return OrderOfBenefits(x, y, rule, source)
    if ha.covered_since is None or hb.covered_since is None or ha.covered_since == hb.covered_since:
        raise EstimateError(
            "both parents share a birthday: the plan that has covered its holder longer pays "
            "first; give holder.covered_since on both coverages"
        )
    x, y, px = (first, second, a) if ha.covered_since < hb.covered_since else (second, first, b)
    rule = f"birthday rule, a shared birthday: {px.name} has covered its holder longer"
    return OrderOfBenefits(x, y, rule, source)


def decide_order(
    cov: Coverage, payers: Mapping[str, Payer], *, age: int | None = None
) -> tuple[Coverage, Coverage | None, OrderOfBenefits | None]:
    """(the coverage that pays first, the second or None, the decision when the library made it).

    ``order: stated`` keeps the order written; ``order: decide`` asks
    :func:`order_of_benefits`. A savings program goes with the coverage that pays first: one
    written on a coverage the order puts second is refused, not dropped.
    """
    second = cov.secondary
    if second is None or cov.order == "stated":
        return cov, second, None
    found = order_of_benefits(cov, second, payers, age=age)
    if found.primary is second and cov.savings_program is not None:
        raise EstimateError(
            f"savings_program: {cov.payer} pays second by the order of benefits ({found.rule}); "
            "give the savings program on the coverage that pays first"
        )
    return found.primary, found.secondary, found


def age_when_it_starts(request: EstimateRequest, cov: Coverage) -> int | None:
    """The patient's age when ``cov`` starts (a coverage period's start, else the plan's).

    None when that date is not known yet (a plan that starts after an earlier phase).
    """
    starts = getattr(cov, "starts", request.plan.start)
    return request.patient.age_on(starts) if isinstance(starts, date) else None
