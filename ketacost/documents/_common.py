"""What the documents share: their error, party models, money text and the clinic's identities."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from ketacost._clinic import Address, Clinic, SessionTemplate, TemplateLine
from ketacost._errors import EstimateError
from ketacost._estimate import EstimateLine
from ketacost._render import usd  # the one money-as-text path: format(m, "$")
from ketacost._types import Model

__all__ = [
    "DocumentError",
    "Party",
    "billed_template_lines",
    "one_year_after",
    "party_of",
    "usd",
]


class DocumentError(EstimateError):
    """A Good Faith Estimate or superbill cannot be made from this request and estimate.

    A subclass of :class:`ketacost.EstimateError` (so also a ``ValueError``): the request is
    valid, but the document needs something it lacks (the patient's name, self-pay billing).
    """


class Party(Model):
    """A provider or facility as a document shows it: who, where, and its identifiers."""

    key: str | None = None
    name: str
    credentials: str | None = None
    npi: str
    tin: str
    address: Address
    state: str
    location: str
    phone: str | None = None
    taxonomy: str | None = Field(
        default=None, description="NUCC taxonomy code, as the clinic file gives it for this party"
    )


def party_of(clinic: Clinic, key: str | None) -> Party:
    """The clinic itself (``key`` None) or one of its providers, with the clinic's defaults."""
    if key is None:
        return Party(
            name=clinic.name,
            npi=clinic.npi,
            tin=clinic.tin,
            address=clinic.address,
            state=clinic.address.state,
            location=clinic.address.one_line(),
            phone=clinic.phone,
            taxonomy=clinic.taxonomy,
        )
    found = clinic.providers.get(key)
    if found is None:
        raise DocumentError(f"the clinic has no provider {key!r}")
    address = found.address or clinic.address
    return Party(
        key=key,
        name=found.name,
        credentials=found.credentials,
        npi=found.npi,
        tin=found.tin or clinic.tin,
        address=address,
        state=address.state,
        location=address.one_line(),
        phone=clinic.phone,
        taxonomy=found.taxonomy,
    )


def billed_template_lines(
    clinic: Clinic, session: str, variant: str, lines: tuple[EstimateLine, ...]
) -> tuple[SessionTemplate, tuple[TemplateLine, ...]]:
    """The session template of a visit and the template line behind each estimate line.

    The engine emits a visit's lines in its template's order, one per template line.
    """
    tmpl = clinic.sessions.get(session)
    if tmpl is None:
        raise DocumentError(
            f"the estimate has a session {session!r} that the request's clinic does not have; "
            "was the estimate made from this request?"
        )
    tlines = tmpl.lines if variant == "default" else tmpl.variants.get(variant)
    if tlines is None or len(tlines) != len(lines):
        raise DocumentError(
            f"the estimate bills session {session!r} as {variant!r}, which does not match the "
            "request's clinic; was the estimate made from this request?"
        )
    return tmpl, tlines


def one_year_after(day: date) -> date:
    """The same day a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)
