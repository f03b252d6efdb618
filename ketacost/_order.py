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

from ._errors import EstimateError
from ._payer import Payer
from ._request import Coverage

__all__ = ["OrderOfBenefits", "order_of_benefits"]

_MSP = (
    "CMS, 'Who pays first' (Medicare Secondary Payer; 42 CFR 411.172): a group health plan "
    "of current employment pays first when the employer has 20 or more employees"
)
_MEDICAID = (
    "Medicaid is the payer of last resort (42 U.S.C. 1396a(a)(25); CMS 'Coordination of "
    "benefits and third party liability')"
)
_NAIC = "NAIC Coordination of Benefits Model Regulation (MDL-120), order of benefit rules"
_TFL = "TRICARE For Life: Medicare pays first, TRICARE second (tricare.mil/tfl)"


@dataclass(frozen=True)
class OrderOfBenefits:
    """The coverage that pays first, the one that pays second, and why."""

    primary: Coverage
    secondary: Coverage
    rule: str
    source: str


def order_of_benefits(
    first: Coverage, second: Coverage, payers: Mapping[str, Payer]
) -> OrderOfBenefits:
    """Decide which of two coverages pays first.

    The rules, in order: a plan that only pays second (Medigap, TRICARE For Life after
    Medicare) is second; Medicaid pays last; Medicare against an employer plan (current
    employment and 20+ employees: the employer plan first; otherwise Medicare first); the
    plan covering the patient as the policyholder before one covering them as a dependent;
    for a child on both parents' plans, the parent whose birthday falls earlier in the year
    (the birthday rule; a shared birthday: the plan that has covered its holder longer).

    A request applies it when its coverage says ``order: decide``; with ``order: stated``
    (the default) the coverage pays first and its ``secondary`` second, as written.

    Args:
        first: one coverage.
        second: the other (the order given does not matter).
        payers: the payer library (their kinds and ``as_secondary`` decide the first rule).

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
        if px.kind == "medicare" and py.kind in ("commercial", "commercial-hdhp"):
            return _medicare_and_group(x, y, px, py)
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
    medicare: Coverage, group: Coverage, pm: Payer, pg: Payer
) -> OrderOfBenefits:
    """Medicare against an employer group plan (age-based Medicare Secondary Payer rule)."""
    holder = group.holder
    if holder.employment is None:
        raise EstimateError(
            f"the order of benefits between {pm.id} and {pg.id} turns on employment: give "
            "secondary.holder.employment (active, retired or none) and employer_size"
        )
    if holder.employment == "active":
        if holder.employer_size is None:
            raise EstimateError(
                f"the order of benefits between {pm.id} and {pg.id} turns on the employer's "
                "size: give holder.employer_size"
            )
        if holder.employer_size >= 20:
            rule = (
                f"{pg.name} is a group plan of current employment at an employer with "
                f"{holder.employer_size} employees (20 or more): it pays before Medicare"
            )
            return OrderOfBenefits(group, medicare, rule, _MSP)
        rule = (
            f"{pg.name} is a group plan of an employer with {holder.employer_size} employees "
            "(fewer than 20): Medicare pays first"
        )
        return OrderOfBenefits(medicare, group, rule, _MSP)
    rule = (
        f"{pg.name} is not a plan of current employment ({holder.employment}): Medicare pays first"
    )
    return OrderOfBenefits(medicare, group, rule, _MSP)


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
