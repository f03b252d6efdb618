"""The Good Faith Estimate for the items a patient self-pays (No Surprises Act).

Any estimate: the items of a self-pay patient, a superbill, or items the plan does not cover
(45 CFR 149.610(a)(2): self-pay "for that item"; ``_gfe_scope``); the lines billed to a plan
are listed as not part of it.

What it must hold is 45 CFR 149.610(c)(1) (i)–(xi), listed in ``../shared/domain.md`` §5.2;
recurring services (one estimate for up to 12 months of sessions, with their frequency and
number) follow §5.3, and the $400 dispute threshold is 45 CFR 149.620(a)(2)(ii).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from ketacost._clinic import Address, Clinic, ContactPerson
from ketacost._dated import Dated, NoValueInForceError
from ketacost._estimate import CostRange, Estimate, EstimateLine
from ketacost._i18n import N_, Language, Translator
from ketacost._money import Money
from ketacost._plan import MAX_VISITS, expand
from ketacost._request import EstimateRequest
from ketacost._types import Model

from ._codes import CodeType, code_type
from ._common import DocumentError, Party, billed_template_lines, one_year_after, party_of, usd
from ._gfe_changes import GfeReissue
from ._gfe_scope import NotIncludedItem, SelfPayVisit, not_included, self_pay_visits
from ._gfe_timing import GfeTiming, gfe_timing
from ._words import frequency, line_words, words

__all__ = [
    "CostRange",
    "Disclaimer",
    "GfeItem",
    "GfePatient",
    "GfeProviderEstimate",
    "GfeTiming",
    "GoodFaithEstimate",
    "NotIncludedItem",
    "RecurringService",
    "SeparatelyScheduledItem",
    "build_gfe",
]

#: A bill this far above a provider's expected charges may be disputed (45 CFR 149.620(a)(2)(ii)).
DISPUTE_THRESHOLD = Money("400.00")
#: Days after the date of the initial bill to start a dispute (45 CFR 149.620(b)(1)).
DISPUTE_DAYS = 120
#: Where a patient learns how to start a dispute (CMS model GFE notice, CMS-10791).
DISPUTE_WHERE = "www.cms.gov/nosurprises or call 1-800-985-3059"
#: The same in the patient's language (the Spanish as CMS's Spanish notices write it).
DISPUTE_WHERE_TEXT = N_("www.cms.gov/nosurprises or call 1-800-985-3059")


class GfePatient(Model):
    """The patient, with the contact details of the HHS standard form (CMS-10791) if given."""

    name: str
    birth_date: date
    address: Address | None = None
    phone: str | None = None
    email: str | None = None
    contact_preference: Literal["mail", "email", "phone", "portal"] | None = None


class GfeItem(Model):
    """One service code on the sessions of one phase: how many times, and the expected charge."""

    phase: str
    description: str
    service_code: str
    service_code_type: CodeType = Field(description="CPT, HCPCS (Level II), CDT or other")
    modifiers: tuple[str, ...]
    units: int = Field(description="units billed per session")
    place_of_service: str = Field(
        pattern=r"^[0-9]{2}$",
        description="CMS place-of-service code where it is furnished (11 office, 02 telehealth)",
    )
    diagnosis_codes: tuple[str, ...]
    quantity: int = Field(ge=1, description="sessions it is billed on")
    first_date: date
    last_date: date
    charge_each: Money | None = Field(description="per session; None when sessions differ")
    expected_charge: Money
    session_dates: tuple[date, ...] = Field(
        default=(),
        description="each session's date, in order (a re-issue compares them; empty in an "
        "estimate written before they were kept)",
    )
    session_charges: tuple[Money, ...] = Field(
        default=(), description="each session's charge, in the order of session_dates"
    )

    @model_validator(mode="after")
    def _sessions_pair(self) -> GfeItem:
        if len(self.session_dates) != len(self.session_charges):
            raise ValueError("session_dates and session_charges must be as many")
        return self


class GfeProviderEstimate(Model):
    """The items one provider or facility is expected to furnish, with its total."""

    provider: Party
    role: Literal["convening", "co-provider"]
    items: tuple[GfeItem, ...]
    expected_total: Money


class RecurringService(Model):
    """The scope of one recurring phase: what, how often, how many, when (149.610 recurring)."""

    phase: str
    session: str
    description: str
    frequency: str
    sessions: int
    first_date: date
    last_date: date
    expected_charge: Money


class SeparatelyScheduledItem(Model):
    """A service expected before or after the period of care, with its own estimate (vi)."""

    session: str
    description: str
    service_codes: tuple[str, ...]
    provider: str
    self_pay_price: Money | None = Field(description="the clinic's price, for information only")
    related_to: str


class Disclaimer(Model):
    id: str
    title: str
    text: str


class GoodFaithEstimate(Model):
    """A Good Faith Estimate. JSON via ``model_dump_json``; HTML and PDF via the renderers."""

    document: Literal["good-faith-estimate"] = "good-faith-estimate"
    lang: Language = Field(
        default="en",
        exclude_if=lambda lang: lang == "en",
        description="the language it is written in (en, es); English JSON leaves it out",
    )
    issued: date
    timing: GfeTiming | None = Field(
        default=None,
        description="when it was due and whether it is on time (None: the request gives no "
        "scheduling or request date)",
    )
    reissue: GfeReissue | None = Field(
        default=None,
        description="a new estimate after a change of scope: the one it replaces, and what changed",
    )
    patient: GfePatient
    primary_service: str = Field(description="the primary service, in plain language")
    primary_service_codes: tuple[str, ...]
    scheduled_date: date = Field(description="first scheduled date of the primary service")
    period_start: date
    period_end: date = Field(description="last day this estimate covers (12 months at most)")
    diagnosis_codes: tuple[str, ...]
    diagnosis_status: Literal["known", "pending-evaluation"] = Field(
        default="known",
        description="pending-evaluation: no diagnosis yet (a GFE requested before the "
        "evaluation is still due, 45 CFR 149.610(c)(1)(iv) 'applicable' codes)",
    )
    providers: tuple[GfeProviderEstimate, ...] = Field(min_length=1)
    contact: ContactPerson | None = Field(
        default=None, description="the convening provider's contact person (CMS-10791)"
    )
    recurring: tuple[RecurringService, ...]
    separately_scheduled: tuple[SeparatelyScheduledItem, ...]
    not_included: tuple[NotIncludedItem, ...] = Field(
        default=(),
        description="items billed to a plan: not part of this estimate (the plan's applies)",
    )
    total_expected: Money
    range: CostRange | None
    later_sessions: int = Field(
        ge=0, description="sessions after period_end: they need a new Good Faith Estimate"
    )
    disclaimers: tuple[Disclaimer, ...]
    library_version: str
    rules_hash: str

    def provider_total(self, npi: str) -> Money | None:
        """A provider's expected total by NPI, or None if it is not on this estimate."""
        for p in self.providers:
            if p.provider.npi == npi:
                return p.expected_total
        return None


def _code_on(code: Dated[str], on: date) -> str:
    """The code in force on ``on``, or its first one if none is yet."""
    try:
        return code.at(on)
    except NoValueInForceError:
        return code.values[0]


def _check_inputs(request: EstimateRequest, estimate: Estimate) -> GfePatient:
    patient = request.patient
    # 45 CFR 149.610(c)(1)(i): the patient's name and date of birth.
    missing = [
        field
        for field, value in (
            ("patient.name", patient.name),
            ("patient.birth_date", patient.birth_date),
        )
        if value is None or value == ""
    ]
    if missing:
        raise DocumentError(
            f"a Good Faith Estimate needs the patient's name and date of birth "
            f"(45 CFR 149.610(c)(1)(i)); the request has no {' and no '.join(missing)}"
        )
    assert patient.name is not None and patient.birth_date is not None
    # 45 CFR 149.610(c)(1)(iv) asks for the *applicable* diagnosis codes: a GFE requested
    # before the evaluation has none yet and is still due (domain.md §10.6): see
    # diagnosis_status.
    return GfePatient(
        name=patient.name,
        birth_date=patient.birth_date,
        address=patient.address,
        phone=patient.phone,
        email=patient.email,
        contact_preference=patient.contact_preference,
    )


def _self_pay_or_refuse(request: EstimateRequest, estimate: Estimate) -> list[SelfPayVisit]:
    """The visits with self-paid lines; none is an error (45 CFR 149.610(a)(2))."""
    if not estimate.visits:
        raise DocumentError("the estimate has no visits, so there is nothing to estimate")
    found = self_pay_visits(request, estimate)
    if found:
        return found
    payers = ", ".join(dict.fromkeys(y.payer_name for y in estimate.plan_years))
    # Lines another biller (a specialty pharmacy) bills are not the clinic's to estimate: a
    # denied one is the patient's cost with that pharmacy, and its Good Faith Estimate (if
    # the patient pays it themselves) is the pharmacy's own.
    elsewhere: dict[tuple[str, str, str], str | None] = {}
    for visit in estimate.visits:
        for ln in visit.lines:
            if ln.billed_by != "clinic":
                key = (ln.code, ln.description, ln.billed_by)
                if not ln.covered or key not in elsewhere:
                    elsewhere[key] = ln.reason if not ln.covered else None
    if not elsewhere:
        parts = [f"every line is billed to {payers}, whose estimate applies"]
    elif any(ln.billed_by == "clinic" for v in estimate.visits for ln in v.lines):
        parts = [f"every line the clinic bills is billed to {payers}, whose estimate applies"]
    else:
        parts = []
    for (code, description, biller), denied in elsewhere.items():
        if denied is not None:
            parts.append(
                f"{code} ({description}) is billed by the {biller}, not the clinic, and "
                f"{payers} does not cover it ({denied}): what you pay for it is the {biller}'s "
                f"charge, and a Good Faith Estimate for it is the {biller}'s own"
            )
        else:
            parts.append(
                f"{code} ({description}) is billed by the {biller} to {payers} under the "
                f"pharmacy benefit: the {biller}'s estimate applies"
            )
    raise DocumentError(
        "a Good Faith Estimate is for uninsured or self-pay patients, for the items they pay "
        "for themselves without a claim to a plan (45 CFR 149.610(a)(2)), and this estimate "
        f"has none: {'; '.join(parts)} (a Good Faith Estimate covers self-pay "
        "coverage, a superbill, and items the plan does not cover)"
    )


def _phase_of_visits(request: EstimateRequest, estimate: Estimate) -> dict[int, int]:
    """Visit number -> 0-based phase index, checking the estimate belongs to the request."""
    scheduled = {v.number: v for v in expand(request.plan)}
    out: dict[int, int] = {}
    for v in estimate.visits:
        s = scheduled.get(v.number)
        if s is None or s.date != v.date or s.session != v.session:
            raise DocumentError(
                f"visit {v.number} of the estimate ({v.date.isoformat()}, {v.session}) is not in "
                "the request's plan; was the estimate made from this request?"
            )
        out[v.number] = s.phase
    return out


def _range(
    request: EstimateRequest,
    visits: list[SelfPayVisit],
    expected_visits: tuple[int, int] | None,
    period_range: CostRange | None,
    t: Translator,
) -> CostRange | None:
    total = sum((v.charge for v in visits), Money(0))
    planned = len(visits)
    if expected_visits is not None:
        low_n, high_n = expected_visits
        if not (1 <= low_n <= planned <= high_n <= MAX_VISITS):
            raise DocumentError(
                f"expected_visits {low_n}–{high_n} must include the {planned} sessions the plan "
                f"schedules in the estimate's 12 months (and be between 1 and {MAX_VISITS})"
            )
        last = visits[-1].charge
        return CostRange(
            low=sum((v.charge for v in visits[:low_n]), Money(0)),
            expected=total,
            high=total + last * (high_n - planned),
            low_sessions=low_n,
            high_sessions=high_n,
            basis=t.gettext(
                "{low} to {high} sessions (the plan schedules {planned}): fewer sessions are the "
                "first {low} as scheduled; each further session is priced as the last scheduled "
                "one ({price})"
            ).format(low=low_n, high=high_n, planned=planned, price=t.money(last)),
        )
    if period_range is not None:
        if period_range.expected != total:
            raise DocumentError(
                f"the range's expected charges ({usd(period_range.expected)}) are not the "
                f"estimate's for its 12 months ({usd(total)}); was it made from this estimate?"
            )
        return period_range
    if request.unknowns is None:
        return None
    raise DocumentError(
        "the request lists unknowns: give the range of its 12 months "
        "(period_range=ketacost.good_faith_range(request, estimate, payers=...)), or "
        f"{ASK_EXPECTED_VISITS}"
    )


#: What a GFE asks for when the range of its 12 months cannot be estimated exactly.
ASK_EXPECTED_VISITS = (
    "give expected_visits (the lowest and highest number of sessions in the 12 months)"
)


def twelve_months_of(request: EstimateRequest, estimate: Estimate) -> tuple[date, date]:
    """The period a GFE covers: its first self-paid date, and the day before a year later.

    45 CFR 149.610: recurring items are estimated for up to 12 months.

    Raises:
        DocumentError: no line of the estimate is self-paid.
    """
    first = _self_pay_or_refuse(request, estimate)[0].date
    return first, one_year_after(first) - timedelta(days=1)


def charges_in_period(
    request: EstimateRequest, found: Estimate, first: date, period_end: date
) -> tuple[int, int]:
    """(cents self-paid, sessions with self-paid lines) from ``first`` to ``period_end``.

    The figure a GFE's range spans: only the lines the patient self-pays count (a variant
    where prior authorization is approved may have none). ``request`` says which coverage is
    claimed on a superbill (the unknown inputs never change it).

    Raises:
        DocumentError: a self-paid line falls before ``first`` (the period would move).
    """
    visits = self_pay_visits(request, found)
    if visits and visits[0].date < first:
        raise DocumentError(
            "a combination of the unknown inputs has self-paid items before the first "
            f"date of this estimate ({first.isoformat()}); {ASK_EXPECTED_VISITS}"
        )
    mine = [v for v in visits if v.date <= period_end]
    return sum((v.charge for v in mine), Money(0)).cents, len(mine)


def _provider_estimates(
    clinic: Clinic,
    in_period: list[SelfPayVisit],
    phase_of: dict[int, int],
    diagnoses: tuple[str, ...],
    lang: Language,
) -> list[GfeProviderEstimate]:
    """Self-paid items grouped by provider (the convening clinic first), then phase and code.

    45 CFR 149.610(c)(1)(iii), (iv).
    """
    groups: dict[str | None, dict[tuple[Any, ...], list[tuple[date, Money]]]] = {None: {}}
    described: dict[tuple[Any, ...], tuple[str, str, tuple[str, ...], int, str, str]] = {}
    for sv in in_period:
        v = sv.visit
        tmpl, _ = billed_template_lines(clinic, v.session, v.lines[0].variant, v.lines)
        by_item = groups.setdefault(tmpl.provider, {})
        phase_index = phase_of[v.number]
        # Where the session is furnished (CMS place-of-service code), as on the superbill.
        place = tmpl.place_of_service or clinic.place_of_service
        for sp in sv.lines:
            ln = sp.line
            key = (phase_index, ln.code, ln.modifiers, ln.units, ln.description, place)
            by_item.setdefault(key, []).append((v.date, sp.charge))
            described[key] = (v.phase, ln.code, ln.modifiers, ln.units, _what(ln, lang), place)
    providers: list[GfeProviderEstimate] = []
    for provider_key, by_item in groups.items():
        if not by_item:
            continue
        items = tuple(_item(described[key], uses, diagnoses) for key, uses in by_item.items())
        providers.append(
            GfeProviderEstimate(
                provider=party_of(clinic, provider_key),
                role="convening" if provider_key is None else "co-provider",
                items=items,
                expected_total=sum((i.expected_charge for i in items), Money(0)),
            )
        )
    if providers[0].role != "convening":
        # Every session has its own provider: the clinic still convenes, with no items.
        providers.insert(
            0,
            GfeProviderEstimate(
                provider=party_of(clinic, None), role="convening", items=(), expected_total=Money()
            ),
        )
    return providers


def _item(
    described: tuple[str, str, tuple[str, ...], int, str, str],
    uses: list[tuple[date, Money]],
    diagnoses: tuple[str, ...],
) -> GfeItem:
    phase_name, code, modifiers, units, description, place = described
    charges = {m for _, m in uses}
    return GfeItem(
        phase=phase_name,
        description=description,
        service_code=code,
        service_code_type=code_type(code),
        modifiers=modifiers,
        units=units,
        place_of_service=place,
        diagnosis_codes=diagnoses,
        quantity=len(uses),
        first_date=uses[0][0],
        last_date=uses[-1][0],
        charge_each=next(iter(charges)) if len(charges) == 1 else None,
        expected_charge=sum((m for _, m in uses), Money(0)),
        session_dates=tuple(d for d, _ in uses),
        session_charges=tuple(m for _, m in uses),
    )


def _what(line: EstimateLine, lang: Language) -> str:
    """A line's description as the document shows it (plain words in Spanish)."""
    return line_words(line, lang)


def _recurring(
    request: EstimateRequest,
    in_period: list[SelfPayVisit],
    phase_of: dict[int, int],
    lang: Language,
) -> list[RecurringService]:
    """The recurring scope per phase: frequency, number of sessions, dates (§5.3)."""
    clinic = request.clinic
    recurring: list[RecurringService] = []
    for index, phase in enumerate(request.plan.phases):
        mine = [v for v in in_period if phase_of[v.visit.number] == index]
        if not mine:
            continue
        recurring.append(
            RecurringService(
                phase=mine[0].visit.phase,
                session=phase.session,
                description=line_words(
                    mine[0].lines[0].line, lang, clinic.sessions[phase.session].description
                ),
                frequency=frequency(phase, request.plan.closed_weekdays, lang),
                sessions=len(mine),
                first_date=mine[0].date,
                last_date=mine[-1].date,
                expected_charge=sum((v.charge for v in mine), Money(0)),
            )
        )
    return recurring


def _session_words(clinic: Clinic, session: str, first: date, lang: Language) -> str:
    """A session's name for the reader: the clinic's words in English.

    In another language: what its first billed line is (:func:`line_words`), the clinic's words
    for a code the plain-language table does not know.
    """
    template = clinic.sessions[session]
    if lang == "en" or not template.lines:
        return template.description
    tl = template.lines[0]
    # Only what describe() reads: the code in force, units, modifiers and the clinic's words.
    fields: dict[str, Any] = {
        "code": _code_on(tl.code, first),
        "units": tl.units,
        "modifiers": tl.modifiers,
        "description": template.description,
    }
    line = EstimateLine.model_construct(**fields)
    return line_words(line, lang, template.description)


def _separately_scheduled(
    clinic: Clinic, planned_sessions: list[str], first: date, lang: Language
) -> list[SeparatelyScheduledItem]:
    """Items named by the plan's sessions as scheduled separately, not in the plan (vi)."""
    separate: list[SeparatelyScheduledItem] = []
    seen: set[str] = set()
    for sid in planned_sessions:
        for other in clinic.sessions[sid].separately_scheduled:
            if other in planned_sessions or other in seen:
                continue
            seen.add(other)
            otmpl = clinic.sessions[other]
            separate.append(
                SeparatelyScheduledItem(
                    session=other,
                    description=_session_words(clinic, other, first, lang),
                    service_codes=tuple(
                        dict.fromkeys(_code_on(tl.code, first) for tl in otmpl.lines)
                    ),
                    provider=party_of(clinic, otmpl.provider).name,
                    self_pay_price=otmpl.self_pay,
                    related_to=_session_words(clinic, sid, first, lang),
                )
            )
    return separate


# The Spanish wording (ketacost/locale/es/LC_MESSAGES/documents.po) follows HHS/CMS's own
# Spanish where it exists:
# - CMS, "Conozca sus derechos sin seguro médico" (Spanish No Surprises consumer page),
#   https://www.cms.gov/derechos-facturas-medicas/conozca-sus-derechos/sin-seguro : "Si la
#   factura de uno de sus proveedores es al menos $400 más alta que el estimado de buena fe de
#   ese proveedor, puede disputar su factura"; "El estimado de buena fe no es una factura".
# - CMS's Spanish model notice "Tiene derecho a recibir una 'Estimación de buena fe' que
#   explique cuánto costará su atención médica", as providers post it (University of Miami
#   Health System, https://umiamihealth.org/billing-insurance/get-an-estimate/estimacion-de-
#   buena-fe-para-personas-sin-seguro-o-de-pago-por-cuenta-propia): the name "Estimación de
#   buena fe", "Si recibe una factura que es por lo menos $400 más que su Estimación de buena
#   fe, puede disputar la factura", "Asegúrese de guardar una copia o una imagen de su
#   Estimación de buena fe", "visite www.cms.gov/nosurprises o llame al ...".
# - CMS-10853, the Spanish standard notices of patient-provider dispute resolution (OMB
#   0938-1470; omb.report, https://omb.report/icr/202309-0938-001/doc/141772601 and
#   .../doc/141636901): "resolución de disputas entre pacientes y proveedores", "entidad de
#   resolución de disputas seleccionada (SDR, por sus siglas en inglés)", "persona sin seguro
#   (o que paga por cuenta propia)", "proveedor o centro de servicios de salud",
#   "Departamento de Salud y Servicios Humanos de Estados Unidos (HHS, por sus siglas en
#   inglés)".
# The Spanish edition of the HHS standard GFE form (CMS-10791) itself was not found: the
# disclaimers' sentences are OUR TRANSLATION of the English below, in those official terms.
def _disclaimers(
    clinic_name: str, phone: str | None, issued: date, t: Translator
) -> tuple[Disclaimer, ...]:
    ask = f"{clinic_name}" + (f" ({phone})" if phone else "")
    return (
        # 45 CFR 149.610(c)(1)(vii)
        Disclaimer(
            id="separate-estimates",
            title=t.gettext("Items scheduled separately"),
            text=t.gettext(
                "Items or services listed as scheduled separately are not included in this "
                "estimate. You will receive a separate Good Faith Estimate for each of them when "
                "you schedule it or ask for one; ask {clinic}."
            ).format(clinic=ask),
        ),
        # 45 CFR 149.610(c)(1)(viii)
        Disclaimer(
            id="additional-items",
            title=t.gettext("Additional items may be recommended"),
            text=t.gettext(
                "Additional items or services may be recommended as part of your course of care. "
                "They must be scheduled or requested separately and are not reflected in this "
                "Good Faith Estimate."
            ),
        ),
        # 45 CFR 149.610(c)(1)(ix). The issue date in words (issue 16: no ISO date in the
        # patient's running text).
        Disclaimer(
            id="estimate-only",
            title=t.gettext("Only an estimate"),
            text=t.gettext(
                "This Good Faith Estimate is only an estimate of the items and services "
                "reasonably expected for your care when it was issued ({date}). Actual items, "
                "services or charges may differ from this estimate."
            ).format(date=t.date(issued)),
        ),
        # 45 CFR 149.610(c)(1)(x); 149.620(a)(2)(ii) ($400), 149.620(b)(1) (120 days). What the
        # outcome means follows the HHS standard GFE form (CMS-10791, omb.report; as copied in
        # providers' notices, e.g. rachelhettleman.com/gfe: "If the agency reviewing your
        # dispute agrees with you, you will have to pay the price on this Good Faith Estimate.
        # If the agency disagrees with you and agrees with the health care provider or
        # facility, you will have to pay the higher amount") and domain.md §5.4; the selected
        # dispute resolution entity decides an amount no higher than the billed charges (45
        # CFR 149.620(f)).
        Disclaimer(
            id="dispute",
            title=t.gettext("Your right to dispute the bill"),
            text=t.gettext(
                "If you are billed more than this Good Faith Estimate, you have the right to "
                "dispute the bill. If the total billed by any one provider or facility listed "
                "here is {threshold} or more above its total expected charges on this estimate, "
                "you may start the patient-provider dispute resolution process with the U.S. "
                "Department of Health and Human Services. You must start it within {days} "
                "calendar days of the date on the original bill; there is a $25 fee. To learn "
                "how to start it, visit {where}. You may also contact the provider or facility "
                "to ask them to update the bill, to negotiate it, or about financial assistance. "
                "If the dispute resolution entity agrees with you, you will pay the price on "
                "this Good Faith Estimate; if it disagrees with you and agrees with the provider "
                "or facility, you will pay the higher amount it decides, up to the amount "
                "billed. Starting a dispute will not affect the quality of the care you "
                "receive. Keep a copy of this Good Faith Estimate and of the bill."
            ).format(
                threshold=t.money(DISPUTE_THRESHOLD),
                days=DISPUTE_DAYS,
                where=t.gettext(DISPUTE_WHERE_TEXT),
            ),
        ),
        # 45 CFR 149.610(c)(1)(xi)
        Disclaimer(
            id="not-a-contract",
            title=t.gettext("Not a contract"),
            text=t.gettext(
                "This Good Faith Estimate is not a contract and does not require you to obtain "
                "the items or services from any provider or facility named in it."
            ),
        ),
    )


def build_gfe(
    request: EstimateRequest,
    estimate: Estimate,
    *,
    issued: date,
    expected_visits: tuple[int, int] | None = None,
    period_range: CostRange | None = None,
    lang: str = "en",
) -> GoodFaithEstimate:
    """A Good Faith Estimate of the items the patient self-pays in an estimate.

    Any estimate will do: the GFE covers its self-paid lines (self-pay coverage, a superbill,
    items the plan does not cover: see :mod:`ketacost.documents._gfe_scope`) and lists the
    lines billed to a plan as not part of it. Sessions within 12 months of the first
    self-paid date are estimated; later ones are counted in ``later_sessions`` (they need a
    new estimate). ``expected_visits=(low, high)`` gives a range when the number of sessions
    is not known yet; a request listing ``unknowns`` needs the range of its 12 months,
    ``period_range`` (:func:`ketacost.good_faith_range` re-estimates each combination of
    them). The builder itself runs no estimate and reads no file. ``lang`` (``"en"`` or
    ``"es"``) is the language of its text (the disclaimers, the frequency, the items' plain
    descriptions); its figures are the same in every language.

    Raises:
        UnknownLanguageError: ``lang`` is not one ketacost speaks.
        DocumentError: the patient's name or birth date is missing, no line is
            self-paid, the estimate is not of this request, ``issued`` is after the first
            self-paid date, ``expected_visits`` does not include the planned sessions, or the
            range of the 12 months cannot be estimated exactly.
    """
    words(lang)  # an unknown language is refused first
    # One estimate covers recurring sessions for up to 12 months (45 CFR 149.610, §5.3).
    first, _ = twelve_months_of(request, estimate)
    if issued > first:
        # 45 CFR 149.610(b)(1): a Good Faith Estimate is given before the service.
        raise DocumentError(
            f"the Good Faith Estimate is issued on {issued.isoformat()}, after the first "
            f"scheduled date of service ({first.isoformat()}); it must come before "
            "the service"
        )
    # The deadline runs to the first self-paid date (45 CFR 149.610(b)(1)), not the plan's
    # first visit: covered visits before it do not count (the request checks only the last).
    dates = request.good_faith
    for name, day in (
        ("scheduled_on", dates.scheduled_on if dates else None),
        ("requested_on", dates.requested_on if dates else None),
    ):
        if day is not None and day > first:
            raise DocumentError(
                f"good_faith.{name} ({day.isoformat()}) is after the first self-paid date of "
                f"service ({first.isoformat()}): a Good Faith Estimate is asked for before "
                "the service"
            )
    return build_gfe_unchecked(
        request,
        estimate,
        issued=issued,
        expected_visits=expected_visits,
        period_range=period_range,
        lang=lang,
    )


def build_gfe_unchecked(
    request: EstimateRequest,
    estimate: Estimate,
    *,
    issued: date,
    expected_visits: tuple[int, int] | None = None,
    period_range: CostRange | None = None,
    lang: str = "en",
) -> GoodFaithEstimate:
    """:func:`build_gfe` without its check that ``issued`` is before the first service.

    A re-issued estimate (:func:`ketacost.documents.reissue_gfe`) may come during the course.
    """
    t = words(lang)
    first, period_end = twelve_months_of(request, estimate)
    patient = _check_inputs(request, estimate)
    phase_of = _phase_of_visits(request, estimate)
    clinic = request.clinic
    self_paid = self_pay_visits(request, estimate)
    in_period = [v for v in self_paid if v.date <= period_end]
    later = len(self_paid) - len(in_period)
    diagnoses = tuple(request.patient.diagnoses)

    providers = _provider_estimates(clinic, in_period, phase_of, diagnoses, t.lang)
    recurring = _recurring(request, in_period, phase_of, t.lang)
    # The primary service: the session with the most visits in the period (the first on a tie).
    counts: dict[str, int] = {}
    for v in in_period:
        counts[v.visit.session] = counts.get(v.visit.session, 0) + 1
    primary = max(counts, key=lambda s: counts[s])  # max keeps the first of equal counts
    primary_first = next(v for v in in_period if v.visit.session == primary)
    primary_tmpl = clinic.sessions[primary]
    separate = _separately_scheduled(clinic, list(counts), first, t.lang)

    dates = request.good_faith
    return GoodFaithEstimate(
        lang=t.lang,
        issued=issued,
        timing=gfe_timing(dates, first, issued) if dates is not None else None,
        patient=patient,
        primary_service=line_words(primary_first.lines[0].line, t.lang, primary_tmpl.description),
        primary_service_codes=tuple(sp.line.code for sp in primary_first.lines),
        scheduled_date=primary_first.date,
        period_start=first,
        period_end=period_end,
        diagnosis_codes=diagnoses,
        diagnosis_status="known" if diagnoses else "pending-evaluation",
        providers=tuple(providers),
        contact=clinic.contact,
        recurring=tuple(recurring),
        separately_scheduled=tuple(separate),
        not_included=not_included(request, estimate, period_end, t),
        total_expected=sum((p.expected_total for p in providers), Money(0)),
        range=_range(request, in_period, expected_visits, period_range, t),
        later_sessions=later,
        disclaimers=_disclaimers(clinic.name, clinic.phone, issued, t),
        library_version=estimate.library_version,
        rules_hash=estimate.rules_hash,
    )
