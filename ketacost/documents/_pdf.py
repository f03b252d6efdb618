"""The Good Faith Estimate and the superbill as PDF/A-2b documents (fpdf2: the ``pdf`` extra).

The layout, fonts and text handling are in ``_pdf_layout``; this module says what goes on the
pages, and keeps a grand total from opening a page alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ketacost._i18n import N_, Translator

from ._gfe import GfeProviderEstimate, GoodFaithEstimate
from ._gfe_timing import timing_sentence
from ._pdf_layout import FONTS, NBSP, Writer
from ._superbill import Superbill
from ._words import CONTACT_PREFERENCES, phase_name, table_date, words

__all__ = ["FONTS", "render_gfe_pdf", "render_superbill_pdf"]

#: Rows moved with a grand total that would otherwise open a page alone.
_KEEP = 2


class _Say:
    """A document's words: messages, money and dates in its language."""

    def __init__(self, lang: str) -> None:
        self.t: Translator = words(lang)
        self.money = self.t.money

    def __call__(self, message: str) -> str:
        return self.t.gettext(message)

    def day(self, when: date) -> str:
        """A date in words that never wraps inside (no-break spaces)."""
        return self.t.date(when).replace(" ", NBSP)

    def phase(self, name: str) -> str:
        """A plan phase's name: a well-known one ("induction") in the document's language."""
        return phase_name(name, self.t.lang)

    def iso(self, when: date) -> str:
        """A date in a table: ISO in English, ``21 nov 2026`` in Spanish."""
        return table_date(when, self.t.lang)

    @property
    def to(self) -> str:
        """Between the first and the last date of a range (`` to `` in English)."""
        return f" {self('to')} "

    def span(self, first: date, last: date) -> str:
        """One date, or the first and the last, for a table's date column (it may wrap at TO)."""
        return self.iso(first) + (self.to + self.iso(last) if last != first else "")


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
    _ = _Say(gfe.lang)
    usd = _.money
    w = Writer(_("Good Faith Estimate"), gfe.issued, to=_.to, lang=gfe.lang)
    w.title(
        _("Good Faith Estimate for Health Care Items and Services"),
        _(
            "Under the No Surprises Act, for the items you pay for yourself: without insurance, "
            "not using it, or not covered by your plan (45 CFR 149.610). Issued {date}."
        ).format(date=_.day(gfe.issued)),
    )
    if gfe.timing is not None:
        w.paragraph(
            _("When it is due: {rule}").format(rule=timing_sentence(gfe.timing, lang=gfe.lang)),
            size=8.5,
        )
    if gfe.reissue is not None:
        _changes(w, gfe, _)
    w.heading(_("Patient"))
    w.fields(_patient_fields(w, gfe, _))
    w.heading(_("Primary service"))
    pairs = [
        (_("Service"), f"{gfe.primary_service} ({', '.join(gfe.primary_service_codes)})"),
        (_("Scheduled date"), _.day(gfe.scheduled_date)),
        (
            _("Period of care"),
            _("{start} to {end} (up to 12 months)").format(
                start=_.day(gfe.period_start), end=_.day(gfe.period_end)
            ),
        ),
        (_("Total expected charges"), usd(gfe.total_expected)),
    ]
    if gfe.range is not None:
        r = gfe.range
        pairs.append(
            (
                _("Range"),
                _("{low} to {high} (expected {expected}): {basis}").format(
                    low=usd(r.low), high=usd(r.high), expected=usd(r.expected), basis=r.basis
                ),
            )
        )
    w.fields(pairs)
    w.heading(_("Recurring treatment: frequency and number of sessions"))
    w.table(
        tuple(
            _(h)
            for h in (
                N_("Phase"),
                N_("Service"),
                N_("Frequency"),
                N_("Sessions"),
                N_("From"),
                N_("To"),
                N_("Expected charges"),
            )
        ),
        [
            [
                _.phase(r.phase),
                r.description,
                r.frequency,
                str(r.sessions),
                _.iso(r.first_date),
                _.iso(r.last_date),
                usd(r.expected_charge),
            ]
            for r in gfe.recurring
        ],
        widths=(14, 40, 16, 13, 18, 18, 20),
        right=(3, 6),
        dates=(4, 5),
    )
    if gfe.later_sessions:
        # One "session", many "sessions" (issue 16: it printed "session(s)").
        w.paragraph(
            _.t.ngettext(
                "{n} further session of the plan falls after {date}; it is not in this "
                "estimate, and a new Good Faith Estimate will be issued for it.",
                "{n} further sessions of the plan fall after {date}; they are not in this "
                "estimate, and a new Good Faith Estimate will be issued for them.",
                gfe.later_sessions,
            ).format(n=gfe.later_sessions, date=_.day(gfe.period_end)),
            size=8.5,
        )
    w.heading(_("Itemised estimate by provider and facility"))
    # The last provider with items (none: no table to keep with the grand total).
    last = next((p for p in reversed(gfe.providers) if p.items), None)
    for p in gfe.providers:
        rows = _item_rows(p, _)
        # With ``keep``, the last rows before the grand total start a new page: the table's last
        # two (the last item and the subtotal), or the whole provider if it has no more.
        keep_here = keep if p is last else 0
        if keep_here and len(rows) <= keep_here:
            w.pdf.add_page()
        party = p.provider
        name = party.name + (f", {party.credentials}" if party.credentials else "")
        name = w.name("Provider name", name)
        convening = " " + _("(convening provider)") if p.role == "convening" else ""
        w.heading(name + convening, size=10)
        pairs = [
            ("NPI", party.npi),
            ("TIN", party.tin),
            (_("Location of service"), party.location),
            (_("State"), party.state),
        ]
        if p.role == "convening" and gfe.contact is not None:
            c = gfe.contact
            person = ", ".join(x for x in (c.name, c.phone, c.email) if x)
            pairs.append((_("Contact person"), person))
        w.fields(pairs)
        if not p.items:
            continue
        w.table(
            tuple(
                _(h)
                for h in (
                    N_("Phase"),
                    N_("Item or service"),
                    N_("Service code"),
                    N_("Code type"),
                    N_("Diagnosis codes"),
                    N_("Qty"),
                    N_("Dates"),
                    N_("Each"),
                    N_("Expected charges"),
                )
            ),
            rows,
            widths=(13, 29, 14, 10, 17, 7, 24, 14, 17),
            right=(5, 7, 8),
            dates=(6,),
            bold_last=True,
            new_page_for_last=keep_here if len(rows) > keep_here else 0,
        )
    w.total([(_("Total expected charges, all providers and facilities"), usd(gfe.total_expected))])
    if gfe.not_included:
        _not_included(w, gfe, _)
    _separately_scheduled_and_disclaimers(w, gfe, _)
    w.footer_note(
        _("Prepared with ketacost {version}; rules hash {hash}. Issued {date}.").format(
            version=gfe.library_version, hash=gfe.rules_hash, date=_.iso(gfe.issued)
        )
    )
    return w


def _separately_scheduled_and_disclaimers(w: Writer, gfe: GoodFaithEstimate, _: _Say) -> None:
    """The items scheduled separately under their disclaimer, then the other disclaimers."""
    w.heading(_("Items or services to be scheduled separately"))
    separate = next((d for d in gfe.disclaimers if d.id == "separate-estimates"), None)
    if gfe.separately_scheduled:
        # 45 CFR 149.610(c)(1)(vi)-(vii): the disclaimer directly above the list.
        if separate is not None:
            w.paragraph(separate.text, bold_lead=f"{separate.title}.")
        w.table(
            tuple(
                _(h)
                for h in (
                    N_("Item or service"),
                    N_("Service codes"),
                    N_("Provider"),
                    N_("Related to"),
                    N_("Self-pay price"),
                )
            ),
            [
                [
                    s.description,
                    ", ".join(s.service_codes),
                    w.name("Provider name", s.provider),
                    s.related_to,
                    _.money(s.self_pay_price) if s.self_pay_price is not None else _("on request"),
                ]
                for s in gfe.separately_scheduled
            ],
            widths=(40, 18, 40, 40, 18),
            right=(4,),
        )
        w.paragraph(
            _("These are expected before or after the period of care and are not included above."),
            size=8.5,
        )
    else:
        w.paragraph(_("None expected."))
    w.heading(_("Disclaimers"))
    for d in gfe.disclaimers:
        if d is separate and gfe.separately_scheduled:
            continue  # printed above the list it belongs to
        w.paragraph(d.text, bold_lead=f"{d.title}.")


def _item_rows(p: GfeProviderEstimate, _: _Say) -> list[list[str]]:
    """One provider's items, then its subtotal."""
    usd = _.money
    rows = []
    for i in p.items:
        diagnoses = ", ".join(i.diagnosis_codes) or _(PENDING)
        code = i.service_code + "".join(f"-{m}" for m in i.modifiers)
        code += f" x {i.units}" if i.units > 1 else ""
        dates = _.span(i.first_date, i.last_date)
        each = usd(i.charge_each) if i.charge_each is not None else _("varies")
        rows.append(
            [
                _.phase(i.phase),
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
    subtotal = _("Total expected charges from this provider")
    rows.append(["", subtotal, "", "", "", "", "", "", usd(p.expected_total)])
    return rows


#: What a GFE says when it comes before the evaluation that makes the diagnosis.
PENDING = N_("Pending evaluation")


def _patient_fields(w: Writer, gfe: GoodFaithEstimate, _: _Say) -> list[tuple[str, str]]:
    """The patient's identity and contact details, as the HHS standard form lists them."""
    patient = gfe.patient
    pairs = [
        (_("Patient name"), w.name("Patient name", patient.name)),
        (_("Date of birth"), _.day(patient.birth_date)),
    ]
    if patient.address is not None:
        pairs.append((_("Mailing address"), patient.address.one_line()))
    if patient.phone:
        pairs.append((_("Phone"), patient.phone))
    if patient.email:
        pairs.append((_("Email"), patient.email))
    if patient.contact_preference:
        how = _(CONTACT_PREFERENCES[patient.contact_preference])
        pairs.append((_("Contact preference"), how))
    diagnoses = ", ".join(gfe.diagnosis_codes)
    pairs.append(
        (
            _("Diagnosis codes"),
            diagnoses or _("Pending evaluation (the diagnosis will be made at the evaluation)"),
        )
    )
    return pairs


def _changes(w: Writer, gfe: GoodFaithEstimate, _: _Say) -> None:
    """A re-issued GFE: what changed from the one it replaces, and when it had to go out."""
    usd = _.money
    r = gfe.reissue
    assert r is not None
    old = r.replaces
    w.heading(
        _("What changed from the Good Faith Estimate of {date}").format(date=_.day(old.issued))
    )
    w.paragraph(
        _(
            "This estimate replaces the one issued {date} (total then {total}; document sha256 "
            "{sha256}). The first service the changes affect is on {first}; a new estimate is "
            "due by {due}, 1 business day before it ({verdict})."
        ).format(
            date=_.iso(old.issued),
            total=usd(old.total_expected),
            sha256=old.sha256,
            first=_.day(r.first_affected),
            due=_.day(r.must_issue_by),
            verdict=_("on time") if r.on_time else _("late"),
        ),
        size=8.5,
    )

    def shown(value: object) -> str:
        return "-" if value is None else str(value)

    w.table(
        tuple(
            _(h)
            for h in (
                N_("Change"),
                N_("Provider"),
                N_("Item or service"),
                N_("Code"),
                N_("Sessions"),
                N_("Charges"),
                N_("From"),
            )
        ),
        [
            [
                _(c.change),
                w.name("Provider name", c.provider),
                f"{_.phase(c.phase)}: {c.description}",
                c.service_code,
                shown(c.old_quantity) + _.to + shown(c.new_quantity),
                (usd(c.old_charge) if c.old_charge is not None else "-")
                + _.to
                + (usd(c.new_charge) if c.new_charge is not None else "-"),
                _.iso(c.affects_from),
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
        off = ", ".join(_.iso(d) for d in c.old_dates) or _("none")
        added = ", ".join(_.iso(d) for d in c.new_dates) or _("none")
        w.paragraph(
            _("dates taken off: {off}; dates added: {added}.").format(off=off, added=added),
            size=8.5,
            bold_lead=f"{_.phase(c.phase)}: {c.description} ({c.service_code}), {_(c.change)}:",
        )


def _not_included(w: Writer, gfe: GoodFaithEstimate, _: _Say) -> None:
    """The items billed to a plan: listed, so the patient sees what this GFE leaves out."""
    w.heading(_("Not part of this Good Faith Estimate: items billed to your plan"))
    w.paragraph(
        _(
            "These items are billed to a health plan, so you are not a self-pay patient for "
            "them; what you pay for them follows your plan's terms, not this estimate."
        ),
        size=8.5,
    )
    rows = []
    for n in gfe.not_included:
        dates = _.span(n.first_date, n.last_date)
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
        tuple(
            _(h)
            for h in (
                N_("Item or service"),
                N_("Service code"),
                N_("Billed to"),
                N_("Sessions"),
                N_("Dates"),
                N_("Why not included"),
            )
        ),
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
    _ = _Say(bill.lang)
    usd = _.money
    w = Writer(_("Superbill"), bill.issued, landscape=True, to=_.to, lang=bill.lang)
    issued = _("Issued {date}.").format(date=_.day(bill.issued)) if bill.issued else _("Undated.")
    w.title(_("Superbill"), f"{issued} {bill.note}")
    w.heading(_("Provider"))
    p = bill.provider
    pairs = [
        (_("Name"), w.name("Provider name", p.name)),
        ("NPI", p.npi),
        ("TIN", p.tin),
        (_("Address"), p.location),
    ]
    if p.phone:
        pairs.append((_("Phone"), p.phone))
    w.fields(pairs)
    w.heading(_("Patient"))
    w.fields(
        [
            (_("Name"), w.name("Patient name", bill.patient.name)),
            (_("Date of birth"), _.iso(bill.patient.birth_date)),
            (_("Member ID"), bill.patient.member_id or ""),
        ]
    )
    w.heading(_("Diagnoses (ICD-10-CM)"))
    w.table((_("Pointer"), _("Code")), [[d.pointer, d.code] for d in bill.diagnoses], widths=(1, 3))
    w.heading(_("Services"))
    rows = [
        [
            _.iso(ln.date),
            ln.place_of_service,
            ln.code,
            " ".join(ln.modifiers),
            str(ln.units),
            ln.description
            + (f"; {ln.narrative}" if ln.narrative else "")
            + (
                " " + _("(rendering NPI {npi})").format(npi=ln.rendering_npi)
                if ln.rendering_npi
                else ""
            ),
            ln.ndc_text,
            ln.diagnosis_pointers,
            usd(ln.charge),
            usd(ln.paid),
        ]
        for ln in bill.lines
    ]
    rows.append(
        [_("Total"), "", "", "", "", "", "", "", usd(bill.total_charge), usd(bill.total_paid)]
    )
    w.table(
        (
            _("Date of service"),
            _("POS"),
            "CPT/HCPCS",
            _("Modifiers"),
            _("Units"),
            _("Description"),
            _("NDC (N4, unit, quantity)"),
            _("Dx pointer"),
            _("Charge"),
            _("Paid"),
        ),
        rows,
        widths=(22, 10, 18, 16, 11, 58, 36, 16, 20, 20),
        right=(4, 8, 9),
        dates=(0,),
        bold_last=True,
        new_page_for_last=keep,
    )
    w.total([(_("Balance due"), usd(bill.balance_due))])
    w.paragraph(
        _("Provider signature:")
        + " ______________________________     "
        + _("Date:")
        + " ______________"
    )
    w.footer_note(
        _("Prepared with ketacost {version}; rules hash {hash}.").format(
            version=bill.library_version, hash=bill.rules_hash
        )
    )
    return w
