"""Compare a final bill with a Good Faith Estimate (patient-provider dispute resolution).

A patient may start a dispute when a provider's or facility's total billed charges are at
least $400 above its total expected charges on the Good Faith Estimate (45 CFR
149.620(a)(2)(ii)), within 120 calendar days of the initial bill (45 CFR 149.620(b)(1)).
"""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta

from pydantic import Field, model_validator

from ketacost._i18n import Translator
from ketacost._money import Money
from ketacost._types import Model, Npi, Usd

from ._gfe import DISPUTE_DAYS, DISPUTE_THRESHOLD, DISPUTE_WHERE_TEXT, GoodFaithEstimate
from ._words import words

__all__ = ["BilledLine", "DisputeFinding", "FinalBill", "compare_bill_to_gfe"]


class BilledLine(Model):
    """One line of a final bill: the provider's NPI and the amount billed."""

    npi: Npi
    amount: Usd
    date: dt.date | None = None
    code: str | None = None


class FinalBill(Model):
    """What the providers billed: a total per provider NPI, or lines (not both for one NPI)."""

    bill_date: date | None = Field(
        default=None, description="date on the initial bill; a dispute starts within 120 days"
    )
    totals: dict[Npi, Usd] = Field(default_factory=dict, description="provider NPI -> billed")
    lines: tuple[BilledLine, ...] = ()

    @model_validator(mode="after")
    def _one_way_per_provider(self) -> FinalBill:
        both = sorted({ln.npi for ln in self.lines} & set(self.totals))
        if both:
            raise ValueError(
                f"NPI {', '.join(both)} is billed both as a total and as lines; "
                "give one or the other"
            )
        return self

    def billed(self) -> dict[str, Money]:
        """Total billed per provider NPI, in the bill's order."""
        out: dict[str, Money] = dict(self.totals)
        for ln in self.lines:
            out[ln.npi] = out.get(ln.npi, Money()) + ln.amount
        return out


class DisputeFinding(Model):
    """A provider whose bill is at least $400 above its Good Faith Estimate."""

    npi: str
    provider: str
    expected: Money
    billed: Money
    over: Money = Field(description="billed minus expected")
    deadline: date | None = Field(description="last day to start a dispute, if the bill is dated")
    note: str


def compare_bill_to_gfe(
    gfe: GoodFaithEstimate, bill: FinalBill, *, lang: str | None = None
) -> list[DisputeFinding]:
    """Each provider or facility billed at least $400 above its estimate (exactly $400 counts).

    A provider that is billed but is not on the estimate is compared with $0.00 expected. The
    note, which the patient reads, is in ``lang`` (default: the estimate's language); its
    Spanish follows the wording of the estimate's dispute notice (see ``_gfe``).

    >>> compare_bill_to_gfe(gfe, FinalBill(totals={"1234567893": "8000.00"}))  # doctest: +SKIP
    [DisputeFinding(npi='1234567893', ..., over=Money('400.00'), ...)]
    """
    t = words(gfe.lang if lang is None else lang)
    usd = t.money
    names = {p.provider.npi: p.provider.name for p in gfe.providers}
    findings: list[DisputeFinding] = []
    for npi, billed in bill.billed().items():
        expected = gfe.provider_total(npi)
        on_gfe = expected is not None
        expected = expected if expected is not None else Money()
        over = billed - expected
        if over < DISPUTE_THRESHOLD:
            continue
        deadline = bill.bill_date + timedelta(days=DISPUTE_DAYS) if bill.bill_date else None
        by = (
            t.gettext("by {date}").format(date=_day(deadline, t))
            if deadline
            # the note's parenthesis says how long: "within 120 calendar days (120 calendar
            # days from ...)" said it twice
            else t.gettext("within the time allowed")
        )
        who = names.get(npi) or t.gettext("the provider with NPI {npi}").format(npi=npi)
        args = {
            "who": who,
            "billed": usd(billed),
            "over": usd(over),
            "expected": usd(expected),
            "date": _day(gfe.issued, t),
            "by": by,
            "days": DISPUTE_DAYS,
            "where": t.gettext(DISPUTE_WHERE_TEXT),
        }
        if on_gfe:
            note = t.gettext(
                "{who} billed {billed}, {over} above its expected charges of {expected} on "
                "the Good Faith Estimate of {date}. You may start a patient-provider dispute "
                "{by} ({days} calendar days from the date on the original bill): see {where}."
            ).format(**args)
        else:
            note = t.gettext(
                "{who} billed {billed}, {over} above its expected charges of {expected} on "
                "the Good Faith Estimate of {date} (it is not on the Good Faith Estimate). You "
                "may start a patient-provider dispute {by} ({days} calendar days from the date "
                "on the original bill): see {where}."
            ).format(**args)
        # What the patient must know before starting one (45 CFR 149.620): the fee and who decides.
        note += " " + t.gettext(
            "There is a $25 fee, and a selected dispute resolution (SDR) entity decides."
        )
        findings.append(
            DisputeFinding(
                npi=npi,
                provider=who,
                expected=expected,
                billed=billed,
                over=over,
                deadline=deadline,
                note=note,
            )
        )
    return findings


def _day(day: date, t: Translator) -> str:
    """ISO in English (as the note always gave it), in words in another language."""
    return day.isoformat() if t.lang == "en" else t.date(day)
