"""The Good Faith Estimate and the superbill as PDF/A-2b documents (fpdf2: the ``pdf`` extra).

The layout, fonts and text handling are in ``_pdf_layout``; this module says what goes on the
pages, and keeps a grand total from opening a page alone.
"""

from __future__ import annotations

from collections.abc import Callable

from ._common import usd
from ._gfe import GfeProviderEstimate, GoodFaithEstimate
from ._pdf_layout import FONTS, TO, Writer, day
from ._superbill import Superbill

__all__ = ["FONTS", "render_gfe_pdf", "render_superbill_pdf"]

#: Rows moved with a grand total that would otherwise open a page alone.
_KEEP = 2


def render_gfe_pdf(gfe: GoodFaithEstimate) -> bytes:
    """The Good Faith Estimate as a PDF/A-2b (Letter, portrait).

    Raises:
        MissingExtraError: fpdf2 is not installed (``pip install 'ketacost[pdf]'``).
    """
    return _kept_together(lambda keep: _gfe_pages(gfe, keep)).output()


def _kept_together(pages: Callable[[int], Writer]) -> Writer:
    """The pages laid out; again if the grand total opened a page alone.

    The second time, the last rows above the total (the last item and the subtotal) start that
    page with it.
    """
    w = pages(0)
    if not w.total_alone:
        return w
    w.close()
    return pages(_KEEP)


def _gfe_pages(gfe: GoodFaithEstimate, keep: int) -> Writer:
    w = Writer("Good Faith Estimate", gfe.issued)
    w.title(
        "Good Faith Estimate for Health Care Items and Services",
        "Under the No Surprises Act, for patients without insurance or not using it "
        f"(45 CFR 149.610). Issued {day(gfe.issued)}.",
    )
    w.heading("Patient")
    w.fields(
        [
            ("Patient name", w.name("Patient name", gfe.patient.name)),
            ("Date of birth", day(gfe.patient.birth_date)),
            ("Diagnosis codes", ", ".join(gfe.diagnosis_codes) or "none recorded"),
        ]
    )
    w.heading("Primary service")
    pairs = [
        ("Service", f"{gfe.primary_service} ({', '.join(gfe.primary_service_codes)})"),
        ("Scheduled date", day(gfe.scheduled_date)),
        (
            "Period of care",
            f"{day(gfe.period_start)} to {day(gfe.period_end)} (up to 12 months)",
        ),
        ("Total expected charges", usd(gfe.total_expected)),
    ]
    if gfe.range is not None:
        r = gfe.range
        pairs.append(
            (
                "Range",
                f"{usd(r.low)} to {usd(r.high)} (expected {usd(r.expected)}): {r.basis}",
            )
        )
    w.fields(pairs)
    w.heading("Recurring treatment: frequency and number of sessions")
    w.table(
        ("Phase", "Service", "Frequency", "Sessions", "From", "To", "Expected charges"),
        [
            [
                r.phase,
                r.description,
                r.frequency,
                str(r.sessions),
                r.first_date.isoformat(),
                r.last_date.isoformat(),
                usd(r.expected_charge),
            ]
            for r in gfe.recurring
        ],
        widths=(14, 40, 16, 13, 18, 18, 20),
        right=(3, 6),
        dates=(4, 5),
    )
    if gfe.later_sessions:
        w.paragraph(
            f"{gfe.later_sessions} further session(s) of the plan fall after "
            f"{day(gfe.period_end)}; they are not in this estimate, and a new Good Faith "
            "Estimate will be issued for them.",
            size=8.5,
        )
    w.heading("Itemised estimate by provider and facility")
    # The last provider with items (none: no table to keep with the grand total).
    last = next((p for p in reversed(gfe.providers) if p.items), None)
    for p in gfe.providers:
        rows = _item_rows(p)
        # With ``keep``, the last rows before the grand total start a new page: the table's last
        # two (the last item and the subtotal), or the whole provider if it has no more.
        keep_here = keep if p is last else 0
        if keep_here and len(rows) <= keep_here:
            w.pdf.add_page()
        party = p.provider
        name = party.name + (f", {party.credentials}" if party.credentials else "")
        name = w.name("Provider name", name)
        w.heading(name + (" (convening provider)" if p.role == "convening" else ""), size=10)
        w.fields(
            [
                ("NPI", party.npi),
                ("TIN", party.tin),
                ("Location of service", party.location),
                ("State", party.state),
            ]
        )
        if not p.items:
            continue
        w.table(
            (
                "Phase",
                "Item or service",
                "Service code",
                "Diagnosis codes",
                "Qty",
                "Dates",
                "Each",
                "Expected charges",
            ),
            rows,
            widths=(14, 36, 15, 15, 8, 24, 15, 18),
            right=(4, 6, 7),
            dates=(5,),
            bold_last=True,
            new_page_for_last=keep_here if len(rows) > keep_here else 0,
        )
    w.total([("Total expected charges, all providers and facilities", usd(gfe.total_expected))])
    w.heading("Items or services to be scheduled separately")
    if gfe.separately_scheduled:
        w.table(
            ("Item or service", "Service codes", "Provider", "Related to", "Self-pay price"),
            [
                [
                    s.description,
                    ", ".join(s.service_codes),
                    w.name("Provider name", s.provider),
                    s.related_to,
                    usd(s.self_pay_price) if s.self_pay_price is not None else "on request",
                ]
                for s in gfe.separately_scheduled
            ],
            widths=(40, 18, 40, 40, 18),
            right=(4,),
        )
        w.paragraph(
            "These are expected before or after the period of care and are not included above; "
            "each gets its own Good Faith Estimate.",
            size=8.5,
        )
    else:
        w.paragraph("None expected.")
    w.heading("Disclaimers")
    for d in gfe.disclaimers:
        w.paragraph(d.text, bold_lead=f"{d.title}.")
    w.footer_note(
        f"Prepared with ketacost {gfe.library_version}; rules hash {gfe.rules_hash}. "
        f"Issued {gfe.issued.isoformat()}."
    )
    return w


def _item_rows(p: GfeProviderEstimate) -> list[list[str]]:
    """One provider's items, then its subtotal."""
    rows = []
    for i in p.items:
        code = i.service_code + "".join(f"-{m}" for m in i.modifiers)
        code += f" x {i.units}" if i.units > 1 else ""
        dates = i.first_date.isoformat()
        if i.last_date != i.first_date:
            dates += f"{TO}{i.last_date.isoformat()}"
        each = usd(i.charge_each) if i.charge_each is not None else "varies"
        rows.append(
            [
                i.phase,
                i.description,
                code,
                ", ".join(i.diagnosis_codes),
                str(i.quantity),
                dates,
                each,
                usd(i.expected_charge),
            ]
        )
    subtotal = "Total expected charges from this provider"
    rows.append(["", subtotal, "", "", "", "", "", usd(p.expected_total)])
    return rows


def render_superbill_pdf(bill: Superbill) -> bytes:
    """The superbill as a PDF/A-2b (Letter, landscape).

    Raises:
        MissingExtraError: fpdf2 is not installed (``pip install 'ketacost[pdf]'``).
    """
    return _kept_together(lambda keep: _superbill_pages(bill, keep)).output()


def _superbill_pages(bill: Superbill, keep: int) -> Writer:
    w = Writer("Superbill", bill.issued, landscape=True)
    issued = day(bill.issued) if bill.issued else "undated"
    w.title("Superbill", f"Issued {issued}. {bill.note}")
    w.heading("Provider")
    p = bill.provider
    pairs = [
        ("Name", w.name("Provider name", p.name)),
        ("NPI", p.npi),
        ("TIN", p.tin),
        ("Address", p.location),
    ]
    if p.phone:
        pairs.append(("Phone", p.phone))
    w.fields(pairs)
    w.heading("Patient")
    w.fields(
        [
            ("Name", w.name("Patient name", bill.patient.name)),
            ("Date of birth", bill.patient.birth_date.isoformat()),
            ("Member ID", bill.patient.member_id or ""),
        ]
    )
    w.heading("Diagnoses (ICD-10-CM)")
    w.table(("Pointer", "Code"), [[d.pointer, d.code] for d in bill.diagnoses], widths=(1, 3))
    w.heading("Services")
    rows = [
        [
            ln.date.isoformat(),
            ln.place_of_service,
            ln.code,
            " ".join(ln.modifiers),
            str(ln.units),
            ln.description
            + (f"; {ln.narrative}" if ln.narrative else "")
            + (f" (rendering NPI {ln.rendering_npi})" if ln.rendering_npi else ""),
            ln.ndc_text,
            ln.diagnosis_pointers,
            usd(ln.charge),
            usd(ln.paid),
        ]
        for ln in bill.lines
    ]
    rows.append(["Total", "", "", "", "", "", "", "", usd(bill.total_charge), usd(bill.total_paid)])
    w.table(
        (
            "Date of service",
            "POS",
            "CPT/HCPCS",
            "Modifiers",
            "Units",
            "Description",
            "NDC (N4, unit, quantity)",
            "Dx pointer",
            "Charge",
            "Paid",
        ),
        rows,
        widths=(22, 10, 18, 16, 11, 58, 36, 16, 20, 20),
        right=(4, 8, 9),
        dates=(0,),
        bold_last=True,
        new_page_for_last=keep,
    )
    w.total([("Balance due", usd(bill.balance_due))])
    w.paragraph("Provider signature: ______________________________     Date: ______________")
    w.footer_note(f"Prepared with ketacost {bill.library_version}; rules hash {bill.rules_hash}.")
    return w
