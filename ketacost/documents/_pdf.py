"""The Good Faith Estimate and the superbill as PDF/A-2b documents (fpdf2: the ``pdf`` extra).

The layout, fonts and text handling are in ``_pdf_layout``; this module says what goes on the
pages, and keeps a grand total from opening a page alone.
"""

from __future__ import annotations

from collections.abc import Callable

from ._common import usd
from ._gfe import GfeProviderEstimate, GoodFaithEstimate
from ._gfe_timing import timing_sentence
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
        "Under the No Surprises Act, for the items you pay for yourself: without insurance, "
        f"not using it, or not covered by your plan (45 CFR 149.610). Issued {day(gfe.issued)}.",
    )
    if gfe.timing is not None:
        w.paragraph(f"When it is due: {timing_sentence(gfe.timing)}", size=8.5)
    if gfe.reissue is not None:
        _changes(w, gfe)
    w.heading("Patient")
    w.fields(_patient_fields(w, gfe))
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
        pairs = [
            ("NPI", party.npi),
            ("TIN", party.tin),
            ("Location of service", party.location),
            ("State", party.state),
        ]
        if p.role == "convening" and gfe.contact is not None:
            c = gfe.contact
            person = ", ".join(x for x in (c.name, c.phone, c.email) if x)
            pairs.append(("Contact person", person))
        w.fields(pairs)
        if not p.items:
            continue
        w.table(
            (
                "Phase",
                "Item or service",
                "Service code",
                "Code type",
                "Diagnosis codes",
                "Qty",
                "Dates",
                "Each",
                "Expected charges",
            ),
            rows,
            widths=(13, 29, 14, 10, 17, 7, 24, 14, 17),
            right=(5, 7, 8),
            dates=(6,),
            bold_last=True,
            new_page_for_last=keep_here if len(rows) > keep_here else 0,
        )
    w.total([("Total expected charges, all providers and facilities", usd(gfe.total_expected))])
    if gfe.not_included:
        _not_included(w, gfe)
    _separately_scheduled_and_disclaimers(w, gfe)
    w.footer_note(
        f"Prepared with ketacost {gfe.library_version}; rules hash {gfe.rules_hash}. "
        f"Issued {gfe.issued.isoformat()}."
    )
    return w


def _separately_scheduled_and_disclaimers(w: Writer, gfe: GoodFaithEstimate) -> None:
    """The items scheduled separately under their disclaimer, then the other disclaimers."""
    w.heading("Items or services to be scheduled separately")
    separate = next((d for d in gfe.disclaimers if d.id == "separate-estimates"), None)
    if gfe.separately_scheduled:
        # 45 CFR 149.610(c)(1)(vi)-(vii): the disclaimer directly above the list.
        if separate is not None:
            w.paragraph(separate.text, bold_lead=f"{separate.title}.")
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
            "These are expected before or after the period of care and are not included above.",
            size=8.5,
        )
    else:
        w.paragraph("None expected.")
    w.heading("Disclaimers")
    for d in gfe.disclaimers:
        if d is separate and gfe.separately_scheduled:
            continue  # printed above the list it belongs to
        w.paragraph(d.text, bold_lead=f"{d.title}.")


def _item_rows(p: GfeProviderEstimate) -> list[list[str]]:
    """One provider's items, then its subtotal."""
    rows = []
    for i in p.items:
        diagnoses = ", ".join(i.diagnosis_codes) or PENDING
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
                i.service_code_type,
                diagnoses,
                str(i.quantity),
                dates,
                each,
                usd(i.expected_charge),
            ]
        )
    subtotal = "Total expected charges from this provider"
    rows.append(["", subtotal, "", "", "", "", "", "", usd(p.expected_total)])
    return rows


#: What a GFE says when it comes before the evaluation that makes the diagnosis.
PENDING = "Pending evaluation"


def _patient_fields(w: Writer, gfe: GoodFaithEstimate) -> list[tuple[str, str]]:
    """The patient's identity and contact details, as the HHS standard form lists them."""
    patient = gfe.patient
    pairs = [
        ("Patient name", w.name("Patient name", patient.name)),
        ("Date of birth", day(patient.birth_date)),
    ]
    if patient.address is not None:
        pairs.append(("Mailing address", patient.address.one_line()))
    if patient.phone:
        pairs.append(("Phone", patient.phone))
    if patient.email:
        pairs.append(("Email", patient.email))
    if patient.contact_preference:
        pairs.append(("Contact preference", patient.contact_preference))
    diagnoses = ", ".join(gfe.diagnosis_codes)
    pairs.append(
        (
            "Diagnosis codes",
            diagnoses or f"{PENDING} (the diagnosis will be made at the evaluation)",
        )
    )
    return pairs


def _changes(w: Writer, gfe: GoodFaithEstimate) -> None:
    """A re-issued GFE: what changed from the one it replaces, and when it had to go out."""
    r = gfe.reissue
    assert r is not None
    old = r.replaces
    w.heading(f"What changed from the Good Faith Estimate of {day(old.issued)}")
    w.paragraph(
        f"This estimate replaces the one issued {old.issued.isoformat()} (total then "
        f"{usd(old.total_expected)}; document sha256 {old.sha256}). The first service the "
        f"changes affect is on {day(r.first_affected)}; a new estimate is due by "
        f"{day(r.must_issue_by)}, 1 business day before it "
        f"({'on time' if r.on_time else 'late'}).",
        size=8.5,
    )

    def shown(value: object) -> str:
        return "-" if value is None else str(value)

    w.table(
        ("Change", "Provider", "Item or service", "Code", "Sessions", "Charges", "From"),
        [
            [
                c.change,
                w.name("Provider name", c.provider),
                f"{c.phase}: {c.description}",
                c.service_code,
                f"{shown(c.old_quantity)} to {shown(c.new_quantity)}",
                f"{usd(c.old_charge) if c.old_charge is not None else '-'} to "
                f"{usd(c.new_charge) if c.new_charge is not None else '-'}",
                c.affects_from.isoformat(),
            ]
            for c in r.changes
        ],
        widths=(17, 26, 34, 12, 16, 26, 18),
        dates=(6,),
    )
    # The dates each change takes off and adds, under the table: a list too long for a cell.
    for c in r.changes:
        if not (c.old_dates or c.new_dates):
            continue
        off = ", ".join(d.isoformat() for d in c.old_dates) or "none"
        added = ", ".join(d.isoformat() for d in c.new_dates) or "none"
        w.paragraph(
            f"dates taken off: {off}; dates added: {added}.",
            size=8.5,
            bold_lead=f"{c.phase}: {c.description} ({c.service_code}), {c.change}:",
        )


def _not_included(w: Writer, gfe: GoodFaithEstimate) -> None:
    """The items billed to a plan: listed, so the patient sees what this GFE leaves out."""
    w.heading("Not part of this Good Faith Estimate: items billed to your plan")
    w.paragraph(
        "These items are billed to a health plan, so you are not a self-pay patient for them; "
        "what you pay for them follows your plan's terms, not this estimate.",
        size=8.5,
    )
    rows = []
    for n in gfe.not_included:
        dates = n.first_date.isoformat()
        if n.last_date != n.first_date:
            dates += f"{TO}{n.last_date.isoformat()}"
        rows.append(
            [
                n.description,
                f"{n.service_code} ({n.service_code_type})",
                n.payer,
                str(n.sessions),
                dates,
                n.why,
            ]
        )
    w.table(
        ("Item or service", "Service code", "Billed to", "Sessions", "Dates", "Why not included"),
        rows,
        widths=(28, 18, 24, 16, 22, 36),
        right=(3,),
        dates=(4,),
    )


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
