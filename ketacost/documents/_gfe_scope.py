"""Which lines of an estimate a Good Faith Estimate covers: the ones the patient self-pays.

A patient is an "uninsured (or self-pay) individual" for an item when they have no benefits
for it under a plan (a Federal health care program included) or do not seek to have a claim
submitted for it (45 CFR 149.610(a)(2); ``../shared/domain.md`` §5.1, §10.1). So, line by
line, a Good Faith Estimate covers what the patient pays the clinic at its self-pay price:

* ``self-pay``: the coverage is self-pay (the line's ``reason`` is ``self-pay``);
* ``superbill``: the coverage is claimed on a superbill (``coverage.superbill``): the patient
  pays the clinic and claims from the plan themselves, so the clinic submits no claim;
* ``not covered``: the plan excludes the item or a condition is not met (no prior
  authorization, a limit reached; Original Medicare's statutory exclusion, GY, or a denial
  with a signed ABN, GA; a private contract with a clinic that opted out of Medicare): the
  patient owes the clinic's self-pay price for it (the line's ``patient``).

The rest is billed to a plan and is not part of the GFE: a covered line (the plan's estimate
applies), Original Medicare's denial without an ABN (GZ: the clinic, not the patient, is
liable), a drug a specialty pharmacy bills (its own estimate), and a line a second payer pays.
This is the split the engine makes for ``Estimate.self_pay_items``, per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import Field

from ketacost._estimate import Estimate, EstimateLine, VisitEstimate
from ketacost._i18n import N_, Translator, translator
from ketacost._money import Money
from ketacost._request import EstimateRequest
from ketacost._types import Model

from ._codes import CodeType, code_type
from ._words import line_words

#: Who else bills a line (``EstimateLine.billed_by``), in words.
BILLERS = {"specialty pharmacy": N_("specialty pharmacy")}

__all__ = [
    "NotIncludedItem",
    "SelfPayLine",
    "SelfPayVisit",
    "not_included",
    "self_pay_visits",
]

SelfPayKind = Literal["self-pay", "superbill", "not covered"]


class NotIncludedItem(Model):
    """An item billed to a plan: listed on the GFE as not part of it, with why."""

    service_code: str
    service_code_type: CodeType
    description: str
    payer: str = Field(description="who is billed for it")
    sessions: int = Field(ge=1, description="visits it is billed on")
    first_date: date
    last_date: date
    why: str = Field(description="why it is not part of this Good Faith Estimate")


@dataclass(frozen=True)
class SelfPayLine:
    """A line the patient self-pays, and what they pay the clinic for it."""

    index: int  # its place in the visit's lines (the template line behind it)
    line: EstimateLine
    charge: Money
    kind: SelfPayKind


@dataclass(frozen=True)
class SelfPayVisit:
    """A visit with at least one self-paid line (its other lines are billed to a plan)."""

    visit: VisitEstimate
    lines: tuple[SelfPayLine, ...]

    @property
    def date(self) -> date:
        return self.visit.date

    @property
    def charge(self) -> Money:
        """What the patient pays the clinic for the visit's self-paid lines."""
        return sum((sp.charge for sp in self.lines), Money(0))


def _self_paid(superbill: bool, index: int, line: EstimateLine) -> SelfPayLine | None:
    if line.reason == "self-pay":
        return SelfPayLine(index, line, line.charge, "self-pay")
    if superbill:
        # The patient pays the clinic the line's charge (its self-pay price) and claims it.
        return SelfPayLine(index, line, line.charge, "superbill")
    if (
        not line.covered
        and line.billed_by == "clinic"
        and "GZ" not in line.modifiers
        and not line.secondary.cents
    ):
        return SelfPayLine(index, line, line.patient, "not covered")
    return None


def self_pay_visits(request: EstimateRequest, estimate: Estimate) -> list[SelfPayVisit]:
    """The visits of ``estimate`` with lines the patient self-pays, in order."""
    out: list[SelfPayVisit] = []
    for visit in estimate.visits:
        superbill = request.coverage_on(visit.date).superbill
        found = [_self_paid(superbill, i, ln) for i, ln in enumerate(visit.lines)]
        lines = tuple(sp for sp in found if sp is not None)
        if lines:
            out.append(SelfPayVisit(visit, lines))
    return out


def _payer_names(estimate: Estimate) -> dict[str, str]:
    names = {y.payer_id: y.payer_name for y in estimate.plan_years}
    names |= {c.secondary_payer_id: c.secondary_payer_name for c in estimate.coordination}
    return names


def _why_billed(
    line: EstimateLine, payer: str, names: dict[str, str], t: Translator
) -> tuple[str, str]:
    """(who is billed, why the line is not part of the GFE)."""
    if line.billed_by != "clinic":
        biller = t.gettext(BILLERS.get(line.billed_by, line.billed_by))
        return payer, t.gettext(
            "billed by the {biller} to {payer} under the pharmacy benefit; the pharmacy's "
            "estimate applies"
        ).format(biller=biller, payer=payer)
    if "GZ" in line.modifiers:
        return payer, t.gettext(
            "billed to {payer} without a signed Advance Beneficiary Notice (modifier GZ): if "
            "{payer} denies it, the clinic is liable, not you"
        ).format(payer=payer)
    second = line.secondary_payer_id
    if not line.covered and second is not None and line.secondary.cents:
        name = names.get(second, second)
        return name, t.gettext("billed to {payer}; your plan's estimate applies").format(payer=name)
    who = payer if second is None else t.join([payer, names.get(second, second)])
    return who, t.gettext("billed to {payer}; your plan's estimate applies").format(payer=who)


def not_included(
    request: EstimateRequest, estimate: Estimate, period_end: date, t: Translator | None = None
) -> tuple[NotIncludedItem, ...]:
    """The lines up to ``period_end`` billed to a plan, grouped by code, payer and reason."""
    t = t or translator("en", "documents")
    names = _payer_names(estimate)
    groups: dict[tuple[str, str, str, str], list[date]] = {}
    for visit in estimate.visits:
        if visit.date > period_end:
            break
        superbill = request.coverage_on(visit.date).superbill
        payer = names.get(visit.payer_id, visit.payer_id)
        for i, line in enumerate(visit.lines):
            if _self_paid(superbill, i, line) is not None:
                continue
            who, why = _why_billed(line, payer, names, t)
            description = line_words(line, t.lang)
            groups.setdefault((line.code, description, who, why), []).append(visit.date)
    return tuple(
        NotIncludedItem(
            service_code=code,
            service_code_type=code_type(code),
            description=description,
            payer=who,
            sessions=len(dates),
            first_date=dates[0],
            last_date=dates[-1],
            why=why,
        )
        for (code, description, who, why), dates in groups.items()
    )
