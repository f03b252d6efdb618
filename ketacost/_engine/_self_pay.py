"""Self-pay prices: the clinic's price for a session, or a package's share (contract rule 8).

Packages count the self-priced visits only, in order; a package price is shared over its
sessions in whole cents, the leftover cents to the earliest sessions; a session's price is
shared over its lines in proportion to their charges (the named rounding point
``self-pay-split``).
"""

from __future__ import annotations

from ketacost._clinic import Clinic
from ketacost._money import share_cents
from ketacost._plan import VisitTuple

from . import _explain as explain
from ._ledger import BillLine

__all__ = ["CHARGEMASTER", "price_lines", "self_pay_prices"]

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
        if i in out:
            continue
        session = v.session
        template = clinic.sessions[session]
        if template.self_pay is not None:
            out[i] = (template.self_pay.cents, f"{clinic.name} self-pay price for {session}")
        else:
            out[i] = (CHARGEMASTER, f"{clinic.name} chargemaster (no self-pay price for {session})")
    return out


def price_lines(
    lines: list[BillLine], price: int, rule: str, *, self_pay: bool, payer_name: str
) -> None:
    """Charge a self-paid (or superbill) visit's lines its price, and say so on each line."""
    if price != CHARGEMASTER:
        for line, part in zip(lines, share_cents(price, [ln.charge for ln in lines]), strict=True):
            line.charge = part
    for line in lines:
        if self_pay:
            line.rule = rule
            line.reason = "self-pay"
            line.note(explain.self_pay_note, line.charge, rule)
        else:
            line.note(explain.superbill_paid_note, line.charge, rule, payer_name)
