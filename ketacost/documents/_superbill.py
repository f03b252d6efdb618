"""The superbill: an itemised receipt a patient files with a plan for out-of-network reimbursement.

There is no federal standard; the contents follow payer and industry convention
(``../shared/domain.md`` §5.6): provider name, NPI, TIN and address; patient name, birth date
and member id; per line the date and place of service, CPT/HCPCS code with modifiers and
units, ICD-10 diagnosis pointers as on a CMS-1500 (A–L), charge and amount paid. A drug line
also carries its NDC the way a claim does (CMS-1500 item 24, shaded part; 837P loop 2410): the
``N4`` qualifier, the 11-digit 5-4-2 NDC, the unit and the quantity given; an unlisted-drug code
(J3490) the drug's name, strength and dose.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from ketacost._estimate import Estimate
from ketacost._i18n import N_, Language
from ketacost._money import Money
from ketacost._ndc import NDC_QUALIFIER, NdcUnit, ndc_claim_text, ndc_quantity_text
from ketacost._request import EstimateRequest
from ketacost._types import Model

from ._common import DocumentError, Party, billed_template_lines, party_of
from ._words import line_words, words

__all__ = [
    "CSV_COLUMNS",
    "Diagnosis",
    "Superbill",
    "SuperbillLine",
    "SuperbillPatient",
    "build_superbill",
    "render_superbill_csv",
]

#: CMS-1500 item 21 holds up to 12 diagnoses, lettered A to L; item 24E points at up to 4.
POINTERS = "ABCDEFGHIJKL"
LINE_POINTERS = 4

#: What a superbill is not (musiccityketamine; medprecisionbilling) [domain.md §5.6].
NOTE = N_(
    "This superbill is an itemised receipt for services paid for by the patient, to submit to "
    "a health plan for reimbursement. It is not a claim form and not a guarantee of coverage "
    "or payment."
)


class SuperbillPatient(Model):
    name: str
    birth_date: date
    member_id: str | None


class Diagnosis(Model):
    pointer: str = Field(pattern=r"^[A-L]$")
    code: str


class SuperbillLine(Model):
    date: dt.date
    place_of_service: str
    code: str
    modifiers: tuple[str, ...]
    units: int
    ndc: str | None = Field(description="the drug's NDC, 11 digits as 5-4-2 (00409-2051-05)")
    ndc_qualifier: Literal["N4"] | None = Field(description="N4 when the line has an NDC")
    ndc_unit: NdcUnit | None = Field(description="unit of ndc_quantity: UN, ML, GR or F2")
    ndc_quantity: Decimal | None = Field(description="quantity of the drug given, in ndc_unit")
    narrative: str | None = Field(description="drug name, strength and dose (unlisted drug)")
    description: str
    diagnosis_pointers: str = Field(description="letters of the diagnoses, primary first")
    rendering_npi: str | None = Field(description="the session's provider, when not the clinic")
    charge: Money
    paid: Money

    @property
    def ndc_text(self) -> str:
        """The NDC as CMS-1500 item 24 prints it (``N400409205105 ML0.35``), or ``""``."""
        if self.ndc is None or self.ndc_unit is None or self.ndc_quantity is None:
            return ""
        return ndc_claim_text(self.ndc, self.ndc_unit, self.ndc_quantity)


class Superbill(Model):
    """A superbill. JSON via ``model_dump_json``; HTML, PDF and CSV via the renderers."""

    document: Literal["superbill"] = "superbill"
    lang: Language = Field(
        default="en",
        exclude_if=lambda lang: lang == "en",
        description="the language it is written in (en, es); English JSON leaves it out",
    )
    issued: date | None
    provider: Party
    patient: SuperbillPatient
    diagnoses: tuple[Diagnosis, ...] = Field(min_length=1, max_length=12)
    lines: tuple[SuperbillLine, ...] = Field(min_length=1)
    total_charge: Money
    total_paid: Money
    balance_due: Money = Field(description="total charge minus total paid")
    note: str = NOTE
    library_version: str
    rules_hash: str


def _money(value: object, where: str) -> Money:
    try:
        return value if isinstance(value, Money) else Money(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"paid[{where}]: {exc}") from None


def build_superbill(
    request: EstimateRequest,
    estimate: Estimate,
    *,
    paid: Mapping[date, Money] | None = None,
    start: date | None = None,
    end: date | None = None,
    issued: date | None = None,
    lang: str = "en",
) -> Superbill:
    """A superbill for the visits of an estimate (those from ``start`` to ``end``, inclusive).

    Args:
        request: the request the estimate was made for (patient, clinic, diagnoses).
        estimate: the estimate whose visits the superbill lists.
        paid: amount paid per date of service (a plan has at most one visit a day); it is
            applied to that visit's lines in order, each up to its charge. A visit not listed
            was paid what the estimate says the patient pays on each line (on a superbill
            request, before the plan's reimbursement: the clinic's self-pay price).
        start: the first date of service to list; default: the estimate's first visit.
        end: the last date of service to list; default: ``issued`` if given, else the
            estimate's last visit.
        issued: the superbill's date. A superbill is a receipt for services given and paid,
            so it is dated on or after the last date of service it lists, as a billing office
            issues one (at the end of a visit, or for a month once it is over). Given without
            ``end``, it lists the visits up to that day; default: the last date of service
            listed, or the estimate's date if that is later.
        lang: the language of its text, ``"en"`` or ``"es"`` (the note, the lines' plain
            descriptions in Spanish); codes and figures are the same in every language.

    Raises:
        UnknownLanguageError: ``lang`` is not one ketacost speaks.
        DocumentError: the patient's name, birth date or diagnoses are missing, no visit falls
            in the dates given, ``issued`` is before a date of service ``end`` asks to list,
            a paid date has no visit, or a payment exceeds its visit's charge.
    """
    t = words(lang)
    patient = request.patient
    if patient.name is None or patient.birth_date is None:
        missing = " and ".join(
            f
            for f, v in (("patient.name", patient.name), ("patient.birth_date", patient.birth_date))
            if v is None
        )
        raise DocumentError(
            f"a superbill needs the patient's name and birth date; missing: {missing}"
        )
    if not patient.diagnoses:
        raise DocumentError(
            "a superbill needs at least one ICD-10 diagnosis code (patient.diagnoses); a plan "
            "does not reimburse a service without one"
        )
    clinic = request.clinic
    # A superbill lists services already given: never one after its own date.
    last_day = end if end is not None else issued
    visits = [
        v
        for v in estimate.visits
        if (start is None or v.date >= start) and (last_day is None or v.date <= last_day)
    ]
    if not visits:
        span = f"{start or 'the start'} to {last_day or 'the end'}"
        raise DocumentError(f"no visit of the estimate falls from {span}")
    if issued is not None and visits[-1].date > issued:
        after = [v.date.isoformat() for v in visits if v.date > issued]
        which = (
            f"the visit of {after[0]}"
            if len(after) == 1
            else f"{len(after)} of the visits ({after[0]} to {after[-1]})"
        )
        raise DocumentError(
            f"the superbill is dated {issued.isoformat()}, before {which} it would list as "
            "paid; a superbill is issued on or "
            f"after the services it lists: give an end date on or before {issued.isoformat()}, "
            f"or an issue date of {visits[-1].date.isoformat()} or later"
        )
    if issued is None:
        # The earliest day the receipt is true: its last date of service (or the estimate's
        # date, if the visits were given before the estimate was made).
        issued = max(d for d in (visits[-1].date, estimate.issued) if d is not None)
    payments = {d: _money(m, d.isoformat()) for d, m in (paid or {}).items()}
    unknown = sorted(set(payments) - {v.date for v in visits})
    if unknown:
        raise DocumentError(
            f"paid names {unknown[0].isoformat()}, which has no visit on this superbill"
        )
    diagnoses = tuple(
        Diagnosis(pointer=POINTERS[i], code=code) for i, code in enumerate(patient.diagnoses)
    )
    pointers = POINTERS[: min(len(diagnoses), LINE_POINTERS)]
    lines: list[SuperbillLine] = []
    for v in visits:
        tmpl, tlines = billed_template_lines(clinic, v.session, v.lines[0].variant, v.lines)
        pos = tmpl.place_of_service or clinic.place_of_service
        rendering = party_of(clinic, tmpl.provider).npi if tmpl.provider else None
        left = payments.get(v.date)
        if left is not None and left > v.totals.charge:
            raise DocumentError(
                f"paid[{v.date.isoformat()}] is {left}, more than the visit's charge "
                f"({v.totals.charge})"
            )
        for ln, tl in zip(v.lines, tlines, strict=True):
            if left is None:
                # What the patient paid the clinic: their share, plus what the plan pays back
                # on a superbill (the estimate's ``patient`` is already net of reimbursement).
                line_paid = ln.patient + ln.reimbursement
            else:
                line_paid = min(left, ln.charge)
                left -= line_paid
            lines.append(
                SuperbillLine(
                    date=v.date,
                    place_of_service=pos,
                    code=ln.code,
                    modifiers=ln.modifiers,
                    units=ln.units,
                    ndc=tl.ndc11,
                    ndc_qualifier=NDC_QUALIFIER if tl.ndc11 is not None else None,
                    ndc_unit=tl.ndc_unit,
                    ndc_quantity=tl.ndc_quantity,
                    narrative=tl.narrative,
                    description=line_words(ln, t.lang),
                    diagnosis_pointers=pointers,
                    rendering_npi=rendering,
                    charge=ln.charge,
                    paid=line_paid,
                )
            )
    total_charge = sum((ln.charge for ln in lines), Money(0))
    total_paid = sum((ln.paid for ln in lines), Money(0))
    return Superbill(
        lang=t.lang,
        issued=issued,
        provider=party_of(clinic, None),
        patient=SuperbillPatient(
            name=patient.name,
            birth_date=patient.birth_date,
            member_id=patient.member_id or request.coverage.member_id,
        ),
        diagnoses=diagnoses,
        lines=tuple(lines),
        total_charge=total_charge,
        total_paid=total_paid,
        balance_due=total_charge - total_paid,
        note=t.gettext(NOTE),
        library_version=estimate.library_version,
        rules_hash=estimate.rules_hash,
    )


#: Columns of the CSV form; the last row (``row`` = ``total``) holds the totals.
#: ``provider_npi`` is the line's rendering provider (the clinic's NPI when it has none).
CSV_COLUMNS = (
    "row",
    "date_of_service",
    "place_of_service",
    "code",
    "modifiers",
    "units",
    "ndc",
    "ndc_qualifier",
    "ndc_unit",
    "ndc_quantity",
    "narrative",
    "description",
    "diagnosis_pointers",
    "diagnosis_codes",
    "provider_npi",
    "charge",
    "paid",
    # Who billed and for whom, on every row so each row stands alone (issue 4 §3).
    "billing_provider_name",
    "billing_provider_npi",
    "billing_provider_tin",
    "billing_provider_address",
    "patient_name",
    "patient_birth_date",
    "patient_member_id",
)


def render_superbill_csv(bill: Superbill) -> str:
    """One row per line, then a ``total`` row; money as ``450.00``, modifiers space-separated."""
    by_pointer = {d.pointer: d.code for d in bill.diagnoses}
    who = (
        bill.provider.name,
        bill.provider.npi,
        bill.provider.tin,
        bill.provider.address.one_line(),
        bill.patient.name,
        bill.patient.birth_date.isoformat(),
        bill.patient.member_id or "",
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ln in bill.lines:
        writer.writerow(
            (
                "line",
                ln.date.isoformat(),
                ln.place_of_service,
                ln.code,
                " ".join(ln.modifiers),
                ln.units,
                ln.ndc or "",
                ln.ndc_qualifier or "",
                ln.ndc_unit or "",
                "" if ln.ndc_quantity is None else ndc_quantity_text(ln.ndc_quantity),
                ln.narrative or "",
                ln.description,
                ln.diagnosis_pointers,
                " ".join(by_pointer[p] for p in ln.diagnosis_pointers),
                ln.rendering_npi or bill.provider.npi,
                str(ln.charge),
                str(ln.paid),
                *who,
            )
        )
    writer.writerow(
        (
            "total",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "Total",
            "",
            "",
            "",
            str(bill.total_charge),
            str(bill.total_paid),
            *who,
        )
    )
    return out.getvalue()
