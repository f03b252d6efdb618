"""Self-pay prices: the clinic's price for a session, or a package's share (contract rules 3, 8).

Packages count the self-priced visits only, in order (self-pay and superbill visits, and
visits of an insured plan none of whose lines is covered); a package price is shared over
its sessions in whole cents, the leftover cents to the earliest sessions; a session's price
is shared over its lines in proportion to their charges (the named rounding point
``self-pay-split``). An item a plan does not cover is owed at the clinic's per-code self-pay
price when it names one, else at its share of its session's price; never above its charge.
A drug a specialty pharmacy bills (issue 11 §4) is the pharmacy's claim, owed at the
pharmacy's price (its charge): the clinic's prices bound the clinic's lines only.
"""

from __future__ import annotations

from typing import Literal

from ketacost._clinic import Clinic
from ketacost._estimate import EstimateLine, SelfPayItem
from ketacost._money import Money, share_cents
from ketacost._plan import VisitTuple

from . import _explain as explain
from ._ledger import BillLine

__all__ = [
    "CHARGEMASTER",
    "price_lines",
    "price_not_covered",
    "self_pay_items",
    "self_pay_prices",
    "session_price",
]

#: The price of a session with no self-pay price: each line keeps its chargemaster charge.
CHARGEMASTER = -1


def self_pay_prices(
    clinic: Clinic, visits: list[tuple[int, VisitTuple]]
) -> dict[int, tuple[int, str]]:
    """Per visit index, the session's self-pay price and the rule that set it.

    The price is in cents, or :data:`CHARGEMASTER`.
    """
    out: dict[int, tuple[int, str]] = {}
    for package in clinic.packages:
        chosen = [i for i, v in visits if v.session == package.session and i not in out]
        if len(chosen) < package.sessions:
            continue
        base, extra = divmod(package.price.cents, package.sessions)
        for k, i in enumerate(chosen[: package.sessions]):
            out[i] = (
                base + (1 if k < extra else 0),
                f"{clinic.name} package {package.id}: {explain.amount(package.price.cents)} for "
                f"{package.sessions} sessions (session {k + 1} of {package.sessions})",
            )
    for i, v in visits:
        if i not in out:
            out[i] = session_price(clinic, v.session)
    return out


def session_price(clinic: Clinic, session: str) -> tuple[int, str]:
    """A session's self-pay price (cents, or :data:`CHARGEMASTER`) and the rule that sets it."""
    template = clinic.sessions[session]
    if template.self_pay is not None:
        return template.self_pay.cents, f"{clinic.name} self-pay price for {session}"
    return CHARGEMASTER, f"{clinic.name} chargemaster (no self-pay price for {session})"


def price_not_covered(lines: list[BillLine], price: int, rule: str, clinic: Clinic) -> None:
    """What the patient owes for each line a plan does not cover (contract rule 3).

    On a visit the plan covers in part, the clinic's per-code self-pay price for the item,
    else the line's share of its session's price ``price`` (shared over all the session's
    lines by charge); on a visit it covers nothing of, that share (as a self-pay visit);
    never more than the line's charge. A clinic that bills gross charges owes the charge.
    A line a specialty pharmacy bills keeps the pharmacy's price (its charge); its share of
    ``price`` stays out of the clinic's lines.
    """
    if clinic.non_covered_price == "charge":
        for line in lines:
            line.self_pay_price = 0 if line.notice == "GZ" else None
        return
    # A drug a pharmacy bills keeps its share of the clinic's price out of the clinic's lines.
    charges = [ln.clinic_charge if ln.pharmacy else ln.charge for ln in lines]
    shares = charges if price == CHARGEMASTER else share_cents(price, charges)
    # A visit the plan covers nothing of is a self-pay visit: its session's (or package's)
    # price, as for a self-pay patient; per-code prices are for the items of a visit the plan
    # covers in part.
    wholly = not any(line.covered for line in lines)
    for line, share in zip(lines, shares, strict=True):
        if line.covered or line.pharmacy:  # a pharmacy charges its own price
            line.self_pay_price = None
            continue
        if line.notice == "GZ":  # Original Medicare, no ABN: the clinic is liable
            line.self_pay_price = 0
            continue
        per_code = None if wholly else clinic.self_pay_codes.get(line.code)
        if per_code is not None:
            own, how = per_code.cents, f"{clinic.name} self-pay price for {line.code}"
        elif price == CHARGEMASTER:
            own, how = share, rule
        else:
            own, how = share, f"its share of {explain.amount(price)}, {rule}"
        line.self_pay_price = min(own, line.charge)
        line.self_pay_rule = how if own <= line.charge else f"{how}, capped at the charge"


def price_lines(
    lines: list[BillLine],
    price: int,
    rule: str,
    *,
    self_pay: bool,
    payer_name: str,
    private_contract: bool = False,
) -> None:
    """Charge a self-paid (or superbill) visit's lines its price, and say so on each line.

    ``private_contract``: the clinic has opted out of Medicare (``payer_name``), so a
    Medicare patient pays its self-pay price under a private contract.
    """
    if price != CHARGEMASTER:
        for line, part in zip(lines, share_cents(price, [ln.charge for ln in lines]), strict=True):
            line.charge = part
    for line in lines:
        if private_contract:
            line.rule = rule
            line.reason = explain.private_contract_reason(payer_name)
            line.note(explain.private_contract_note, line.charge, rule, payer_name)
        elif self_pay:
            line.rule = rule
            line.reason = "self-pay"
            line.note(explain.self_pay_note, line.charge, rule)
        else:
            line.note(explain.superbill_paid_note, line.charge, rule, payer_name)


def self_pay_items(lines: list[tuple[EstimateLine, str, Money]]) -> tuple[SelfPayItem, ...]:
    """The items billed as self-pay, by code and description, in order of first date.

    ``lines`` are (line, why, what the patient pays the clinic for it); ``why`` is
    ``self-pay``, ``superbill to <payer>`` or ``not covered: <reason>``.
    """
    items: dict[tuple[str, str], list[tuple[EstimateLine, str, Money]]] = {}
    for found in lines:
        items.setdefault((found[0].code, found[0].description), []).append(found)
    out = []
    for (code, description), group in items.items():
        why = group[0][1]
        billed_as: Literal["self-pay", "superbill", "not covered"] = "not covered"
        if why == "self-pay":
            billed_as = "self-pay"
        elif why.startswith("superbill"):
            billed_as = "superbill"
        reasons = list(dict.fromkeys(w for _, w, _ in group))
        out.append(
            SelfPayItem(
                code=code,
                description=description,
                billed_as=billed_as,
                lines=len(group),
                first_date=min(ln.date for ln, _, _ in group),
                last_date=max(ln.date for ln, _, _ in group),
                price=sum((paid for _, _, paid in group), Money(0)),
                why="; ".join(reasons[:3])
                + (f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""),
            )
        )
    return tuple(sorted(out, key=lambda item: (item.first_date, item.code, item.description)))


def cash_total(clinic: Clinic, visits: list[VisitTuple]) -> int:
    """What the whole plan costs a self-pay patient, in cents.

    Each visit at its session's self-pay price or a package's share, or its lines' charges
    when the session has none: the same figure as estimating the plan under a self-pay
    payer (which has no rules; a property test holds the two equal), without billing a line.
    """
    prices = self_pay_prices(clinic, list(enumerate(visits)))
    total = 0
    for i, v in enumerate(visits):
        price, _ = prices[i]
        if price != CHARGEMASTER:
            total += price
            continue
        for tl in clinic.sessions[v.session].lines:
            code = tl.code.at(v.day)
            total += clinic.chargemaster[code].at(v.day).cents * tl.units
    return total
