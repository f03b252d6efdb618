"""The estimate's warnings as the patient reads them: one plain sentence per kind.

The engine's warnings are written for the clinic's billing staff (codes, modifiers, forms);
:func:`notices` says what they mean for the patient, in the answer's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ketacost import _plain
from ketacost._estimate import Estimate, EstimateLine
from ketacost._i18n import Translator
from ketacost._money import Money

__all__ = ["good_faith_estimate_owed", "notices", "notices_of"]

_ABN = re.compile(r": (\S+) is expected to be denied as not reasonable and necessary")
_PROGRAM = re.compile(r"^(.+?) does not apply: .* is not eligible$")
#: A plan-year amount the payer sets each year, for a year its file does not have yet.
_LAST_FIGURE = re.compile(r": the plan year from ([0-9]{4})-\S+ has no .+ of its own in the payer")


def notices(estimate: Estimate, payer: str, t: Translator, *, insured: bool) -> tuple[str, ...]:
    """The estimate's warnings as the patient reads them: one plain sentence per kind.

    The engine's warnings are written for the clinic's billing staff (codes, modifiers, forms);
    the patient gets what they mean for them, in their language, and the page keeps the staff
    text in its details view. ``insured``: the patient has a plan (not self-pay); if it leaves
    items to the patient at the clinic's price, a Good Faith Estimate is owed for them.
    """

    def line_of(code: str) -> EstimateLine | None:
        return next((ln for v in estimate.visits for ln in v.lines if ln.code == code), None)

    owed = good_faith_estimate_owed(estimate.totals.non_covered, insured=insured)
    return notices_of(estimate.warnings, line_of, payer, t, good_faith_estimate_owed=owed)


def good_faith_estimate_owed(non_covered: Money, *, insured: bool) -> bool:
    """Whether a Good Faith Estimate is owed: insured, with items left at the clinic's price.

    A patient with no benefits for an item is a self-pay individual for it, owed a Good Faith
    Estimate (45 CFR 149.610(a)(2)). Decided from the estimate's non-covered total
    (``non_covered``), which would also count a drug a specialty pharmacy bills (the
    calculator's treatments bill the clinic's items only).
    """
    return insured and non_covered.cents > 0


def notices_of(
    warnings: tuple[str, ...],
    line_of: Callable[[str], EstimateLine | None],
    payer: str,
    t: Translator,
    *,
    good_faith_estimate_owed: bool,
) -> tuple[str, ...]:
    """:func:`notices` of ``warnings``; ``line_of``: the first line billing a code, if any.

    ``good_faith_estimate_owed``: as :func:`good_faith_estimate_owed` decides it.
    """
    out: list[str] = []
    denied: list[str] = []
    for warning in warnings:
        abn = _ABN.search(warning)
        program = _PROGRAM.match(warning)
        if abn is not None:
            line = line_of(abn.group(1))
            what = _plain.describe(line, t.lang) if line is not None else abn.group(1)
            if what not in denied:
                denied.append(what)
            continue
        last_figure = _LAST_FIGURE.search(warning)
        if last_figure is not None:
            text = t.gettext(
                "Your plan's deductible or out-of-pocket maximum for {year} is not known yet: the "
                "estimate uses the last known amount, so what you pay in {year} may differ."
            ).format(year=last_figure.group(1))
        elif program is not None:
            text = t.gettext(
                "{program} cannot help with this cost: it does not work with your insurance."
            ).format(program=program.group(1))
        elif "renewals on documented response" in warning:
            text = t.gettext(
                "{payer}'s approval covers the first visits; the later visits are counted as "
                "covered because the plan usually renews its approval when the treatment helps. "
                "Ask the clinic to request each renewal: if the plan denies one, you pay the "
                "clinic's self-pay price for those visits."
            ).format(payer=payer)
        elif warning.startswith("accumulators for "):
            text = t.gettext(
                "What you entered as already paid is dated after your first visit; it is "
                "counted from the start of that plan year."
            )
        else:
            text = t.gettext(
                "The clinic's billing staff should check one more thing about this estimate; "
                "the details are under “Billing codes”."
            )
        if text not in out:
            out.append(text)
    if denied:
        out.insert(
            0,
            t.gettext(
                "{payer} is expected not to pay for: {services}. If you sign a form called an "
                "Advance Beneficiary Notice (ABN) before the visit, you pay the clinic's "
                "self-pay price for it; if you do not sign one, the clinic cannot charge you "
                "for it."
            ).format(payer=payer, services=t.join(denied)),
        )
    if good_faith_estimate_owed:
        out.append(
            t.gettext(
                "{payer} is not expected to pay for part of this care, and you pay the clinic's "
                "self-pay price for it. For that part you have the right to a written Good Faith "
                "Estimate from the clinic before your visit: ask the clinic for one."
            ).format(payer=payer)
        )
    return tuple(out)
