"""The clinic file: identity, chargemaster, session templates, self-pay prices and packages."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from ._dated import Dated
from ._errors import InvalidArgumentError
from ._ndc import NdcUnit, ndc_claim_text, ndc_layout, to_ndc11
from ._types import Code, Int, Model, Modifier, Npi, Slug, Taxonomy, Tin, UnitRate, Usd

__all__ = [
    "Address",
    "Clinic",
    "ContactPerson",
    "Email",
    "MedicareEnrollment",
    "Package",
    "Phone",
    "Provider",
    "SessionTemplate",
    "TemplateLine",
    "clinic_issues",
]

Loc = tuple[str | int, ...]

_STATES = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "PR",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "VI",
        "WA",
        "WV",
        "WI",
        "WY",
        "GU",
        "AS",
        "MP",
    }
)


class Address(Model):
    line1: str = Field(min_length=1, description="street address")
    line2: str | None = Field(default=None, description="suite, floor, ...")
    city: str = Field(min_length=1, description="city")
    state: str = Field(pattern=r"^[A-Z]{2}$", description="USPS state code, e.g. MA")
    zip: str = Field(pattern=r"^[0-9]{5}(-[0-9]{4})?$", description="ZIP code, quoted in YAML")

    def one_line(self) -> str:
        parts = [self.line1, self.line2, f"{self.city}, {self.state} {self.zip}"]
        return ", ".join(p for p in parts if p)


def _valid_ndc(value: str) -> str:
    try:
        ndc_layout(value)
    except InvalidArgumentError as exc:
        raise ValueError(str(exc)) from None
    return value


#: An NDC as printed on the package (4-4-2, 5-3-2 or 5-4-1) or in the 11-digit 5-4-2 form.
Ndc = Annotated[
    str,
    # The pattern is for the JSON Schema only: the validator gives the clearer message (the
    # layout found) for every malformed NDC, not pydantic's bare pattern mismatch.
    Field(
        examples=["0409-2051-05"],
        json_schema_extra={"pattern": r"^[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2}$"},
    ),
    AfterValidator(_valid_ndc),
]


class TemplateLine(Model):
    """One billable line of a session: a code, its units and modifiers.

    ``code`` may be dated when a code set changes (``{2019-03-05: S0013, 2026-01-01: J0013}``):
    each date of service bills the code in force on it.

    A drug line on a claim names the drug's NDC (written as on the package; the claim carries
    its 11-digit 5-4-2 form, :attr:`ndc11`, after the ``N4`` qualifier) with the quantity given
    and its unit (``UN``, ``ML``, ``GR`` or ``F2``): e.g. Spravato's 84 mg kit 50458-028-03,
    ``UN`` 3 (devices). An unlisted-drug code (J3490) also names the drug, strength and dose
    in ``narrative``.
    """

    code: Dated[Code] = Field(description="the billing code, or codes by date of service")
    units: Int = Field(default=1, ge=1, le=999, description="units billed")
    modifiers: tuple[Modifier, ...] = Field(
        default=(), max_length=4, description="billing modifiers, at most 4"
    )
    description: str = Field(min_length=1, description="plain-language description")
    ndc: Ndc | None = Field(
        default=None,
        description="National Drug Code as printed on the package: 10 digits as 4-4-2, 5-3-2 "
        "or 5-4-1, or 11 digits as 5-4-2 (quoted in YAML)",
    )
    ndc_unit: NdcUnit | None = Field(
        default=None,
        description="unit of the NDC quantity on the claim: UN unit (each), ML millilitre, "
        "GR gram, F2 international unit",
    )
    ndc_quantity: Decimal | None = Field(
        default=None,
        gt=0,
        le=Decimal("9999999.999"),
        decimal_places=3,
        description="quantity of the drug given, in ndc_unit (up to 3 decimal places)",
    )
    narrative: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="drug name, strength and dose, for an unlisted-drug code such as J3490 "
        "(the claim's line note: 837P SV101-7, at most 80 characters)",
    )
    drug: StrictBool = Field(default=False, description="a drug line (manufacturer savings apply)")

    @model_validator(mode="after")
    def _ndc_with_quantity(self) -> TemplateLine:
        given = [
            name
            for name, value in (("ndc_unit", self.ndc_unit), ("ndc_quantity", self.ndc_quantity))
            if value is not None
        ]
        if self.ndc is None and given:
            raise ValueError(f"{' and '.join(given)} needs ndc (the drug it measures)")
        if self.ndc is not None and len(given) < 2:
            missing = [n for n in ("ndc_unit", "ndc_quantity") if n not in given]
            raise ValueError(
                f"an NDC on a claim goes with its quantity and unit; missing: {', '.join(missing)}"
            )
        return self

    @property
    def ndc11(self) -> str | None:
        """The NDC in the 11-digit 5-4-2 form a claim carries (hyphenated), if any."""
        return None if self.ndc is None else to_ndc11(self.ndc)

    @property
    def ndc_claim_text(self) -> str | None:
        """The NDC as a claim prints it (``N400409205105 ML0.35``), if the line has one."""
        if self.ndc is None or self.ndc_unit is None or self.ndc_quantity is None:
            return None
        return ndc_claim_text(self.ndc, self.ndc_unit, self.ndc_quantity)


class SessionTemplate(Model):
    """A named bundle of billable lines, with its billing variants and self-pay price.

    ``lines`` is the default billing. ``variants`` holds other ways to bill the same clinical
    session (``medicare-g-code: [G2082]``); a payer's ``billing_variants`` picks one.
    """

    description: str = Field(min_length=1, description="plain-language name of the session")
    lines: tuple[TemplateLine, ...] = Field(min_length=1, description="the default billing")
    variants: dict[Slug, tuple[TemplateLine, ...]] = Field(
        default_factory=dict, description="other billings of the session, by variant name"
    )
    self_pay: Usd | None = Field(default=None, description="self-pay price for one session")
    minutes: Int | None = Field(
        default=None, ge=1, le=24 * 60, description="how long the session lasts"
    )
    provider: Slug | None = Field(
        default=None,
        description="the clinic's provider (key of 'providers') who furnishes this session; "
        "default: the clinic itself",
    )
    place_of_service: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2}$",
        description="CMS place-of-service code for this session (02 telehealth); default: the "
        "clinic's",
    )
    separately_scheduled: tuple[Slug, ...] = Field(
        default=(),
        max_length=12,
        description="sessions the clinic expects to be scheduled separately, before or after a "
        "course of this one (listed on a Good Faith Estimate, 45 CFR 149.610(c)(1)(vi))",
    )

    def billing(self, accepted: tuple[str, ...]) -> tuple[str, tuple[TemplateLine, ...]]:
        """(variant name, lines) for a payer that accepts ``accepted`` variants, in order."""
        for name in accepted:
            found = self.variants.get(name)
            if found is not None:
                return name, found
        return "default", self.lines


class Package(Model):
    """A price for the first N sessions of one template (e.g. 6 infusions for $2,400)."""

    id: Slug = Field(description="the package's id")
    session: Slug = Field(description="the session template it prices (a key of sessions)")
    sessions: Int = Field(
        ge=2, le=100, description="N: it prices the first N self-pay sessions of that template"
    )
    price: Usd = Field(description="the price of the N sessions")
    description: str | None = Field(default=None, description="plain-language description")


_PHONE = re.compile(
    r"^(\+?1[ .-]?)?(\([0-9]{3}\)|[0-9]{3})[ .-]?[0-9]{3}[ .-]?[0-9]{4}( ?(x|ext\.?) ?[0-9]{1,6})?$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _check_phone(value: str) -> str:
    if not _PHONE.match(value):
        raise PydanticCustomError(
            "phone",
            "not a U.S. phone number: ten digits, e.g. 617-555-0100 or (617) 555-0100 x12 "
            "(got '{value}')",
            {"value": value},
        )
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise PydanticCustomError(
            "email",
            "not an email address: one @ and a dotted domain, no spaces, e.g. "
            "billing@example.org (got '{value}')",
            {"value": value},
        )
    return value


#: A U.S. phone number: ten digits (an optional leading 1), written with spaces, dots, dashes
#: or parentheses as people write them (``617-555-0100``, ``(617) 555-0100``), and an
#: optional extension (``x123``). The pattern is for the JSON Schema; the validator gives
#: the message.
Phone = Annotated[
    str,
    Field(
        max_length=40,
        description="a U.S. phone number, e.g. 617-555-0100",
        json_schema_extra={"pattern": _PHONE.pattern},
    ),
    AfterValidator(_check_phone),
]

#: An email address: one @, a dotted domain, no spaces (the form's check, not RFC 5322's).
Email = Annotated[
    str,
    Field(
        max_length=254,
        description="an email address, e.g. billing@example.org",
        json_schema_extra={"pattern": _EMAIL.pattern},
    ),
    AfterValidator(_check_email),
]


class ContactPerson(Model):
    """Whom a patient contacts about a Good Faith Estimate (HHS standard form CMS-10791)."""

    name: str = Field(min_length=1, max_length=200, description="the person's name")
    phone: Phone | None = Field(default=None, description="their phone number")
    email: Email | None = Field(default=None, description="their email address")

    @model_validator(mode="after")
    def _reachable(self) -> ContactPerson:
        if self.phone is None and self.email is None:
            raise ValueError("give the contact person's phone or email (or both)")
        return self


class Provider(Model):
    """A provider or facility of the clinic with its own NPI (e.g. a rendering psychiatrist).

    ``tin`` and ``address`` default to the clinic's when not given.
    """

    name: str = Field(min_length=1, description="the provider's name")
    npi: Npi = Field(description="the provider's own NPI")
    tin: Tin | None = Field(default=None, description="default: the clinic's")
    address: Address | None = Field(default=None, description="default: the clinic's")
    credentials: str | None = Field(default=None, max_length=40, description="e.g. MD, PMHNP")
    taxonomy: Taxonomy | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="the provider's NUCC taxonomy code, as the NPPES NPI registry lists it "
        "(e.g. 2084P0800X psychiatry); a FHIR Good Faith Estimate carries it",
    )


class MedicareEnrollment(Model):
    """The clinic's status with Original Medicare (``kind: medicare`` payers only).

    ``participating``: it accepts assignment on every claim (the patient owes the deductible
    and 20%). ``non_participating``: Medicare allows 95% of the fee schedule amount; on a claim
    whose assignment it does not accept it may bill the patient up to the limiting charge (115%
    of that), and Medicare pays its share to the patient. ``opted_out``: it sees Medicare
    patients under private contracts only: they pay its self-pay prices and Medicare pays
    nothing. (Noridian JF Part B, "Non-participation"; domain.md §4.8, §10.2.)
    """

    participation: Literal["participating", "non_participating", "opted_out"] = Field(
        default="participating", description="the clinic's status with Original Medicare"
    )
    assignment: Literal["accepted", "not_accepted"] | None = Field(
        default=None,
        description="non_participating only: whether it accepts assignment on these claims "
        "(a participating clinic always does; an opted-out one files no claims)",
    )

    @model_validator(mode="after")
    def _assignment_fits(self) -> MedicareEnrollment:
        if self.participation == "non_participating" and self.assignment is None:
            raise ValueError(
                "a non_participating clinic chooses assignment claim by claim: give "
                "assignment: accepted or not_accepted"
            )
        if self.participation == "participating" and self.assignment == "not_accepted":
            raise ValueError(
                "a participating clinic accepts assignment on every claim: assignment "
                "not_accepted contradicts participation participating"
            )
        if self.participation == "opted_out" and self.assignment is not None:
            raise ValueError(
                "an opted-out clinic files no Medicare claims (private contracts): leave "
                "assignment out"
            )
        return self


class Clinic(Model):
    """Who bills, what they charge, and how sessions are billed."""

    id: Slug | None = Field(default=None, description="the clinic file's id")
    name: str = Field(min_length=1, description="the name that bills")
    npi: Npi = Field(description="the billing NPI")
    tin: Tin
    address: Address = Field(description="the billing address")
    phone: str | None = Field(default=None, description="shown on documents")
    # Left out of the clinic's JSON when not given, so the rules hash of a clinic without one
    # (every estimate made before it existed) keeps its bytes.
    contact: ContactPerson | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="the person a patient contacts about a Good Faith Estimate (name, phone, "
        "email), as the HHS standard form names one",
    )
    # Left out of the clinic's JSON when not given (the rules hash keeps its bytes).
    taxonomy: Taxonomy | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="the clinic's NUCC taxonomy code (NPPES NPI registry), e.g. 261QM0801X "
        "(mental health clinic) or 2084P0800X (psychiatry); a FHIR Good Faith Estimate "
        "(HL7 Da Vinci PCT) requires one for each provider",
    )
    place_of_service: str = Field(
        default="11",
        pattern=r"^[0-9]{2}$",
        description="CMS place-of-service code of its sessions (11: office)",
    )
    medicare_locality: str | None = Field(
        default=None,
        pattern=r"^[0-9]{5}-[0-9]{2}$",
        description="the clinic's Medicare payment locality: the MAC's carrier number and the "
        "locality number (14212-01 is Metropolitan Boston); fee schedule amounts and other "
        "payers' percent of Medicare follow it; default: the national amounts (00000-00)",
    )
    chargemaster: dict[Code, Dated[UnitRate]] = Field(min_length=1, description="charge per unit")
    sessions: dict[Slug, SessionTemplate] = Field(
        min_length=1, max_length=500, description="session templates, by id"
    )
    packages: tuple[Package, ...] = Field(default=(), description="self-pay package prices")
    providers: dict[Slug, Provider] = Field(
        default_factory=dict, description="providers with their own NPI, named by sessions"
    )
    # A patient whose plan does not cover an item is a self-pay patient for that item (45 CFR
    # 149.610(a)(2)): clinics charge it at their cash price and owe a Good Faith Estimate.
    self_pay_codes: dict[Code, Usd] = Field(
        default_factory=dict,
        max_length=500,
        description="self-pay price of one item (a line, all its units) a plan does not cover; "
        "without one, the item's share of its session's self-pay price",
    )
    non_covered_price: Literal["self_pay", "charge"] = Field(
        default="self_pay",
        description="what a patient owes for an item the plan does not cover: the clinic's "
        "self-pay price for it (default) or the gross charge",
    )
    medicare: MedicareEnrollment | None = Field(
        default=None,
        description="the clinic's status with Original Medicare; default: participating",
    )


def clinic_issues(clinic: Clinic) -> list[tuple[Loc, str]]:
    """Cross-field problems in a clinic, each with the path of the field at fault."""
    issues: list[tuple[Loc, str]] = []
    if clinic.address.state not in _STATES:
        issues.append((("address", "state"), f"not a US state code (got {clinic.address.state!r})"))
    issues += _uncharged_codes(clinic)
    for sid, tmpl in clinic.sessions.items():
        issues += _session_references(clinic, sid, tmpl)
    issues += _package_issues(clinic)
    for code, price in clinic.self_pay_codes.items():
        charge = clinic.chargemaster.get(code)
        if charge is None:
            issues.append(
                (("self_pay_codes", code), f"code {code} has no charge in the chargemaster")
            )
        else:
            # A cash price above every gross charge of the item is a typo or a chargemaster out
            # of date; the engine would cap it at the line's charge without a word.
            units = [
                ln.units
                for tmpl in clinic.sessions.values()
                for ln in (*tmpl.lines, *(x for v in tmpl.variants.values() for x in v))
                if code in ln.code.values
            ]
            highest = max(charge.values) * max(units, default=1)
            if price > highest:
                issues.append(
                    (
                        ("self_pay_codes", code),
                        f"self-pay price {price} is above the clinic's charge for the item "
                        f"({highest}: {max(units, default=1)} × {max(charge.values)})",
                    )
                )
    return issues


def _uncharged_codes(clinic: Clinic) -> list[tuple[Loc, str]]:
    """Every code a session bills (in any variant, on any date) has a charge."""
    issues: list[tuple[Loc, str]] = []
    for sid, tmpl in clinic.sessions.items():
        groups: list[tuple[Loc, tuple[TemplateLine, ...]]] = [
            (("sessions", sid, "lines"), tmpl.lines)
        ]
        groups += [(("sessions", sid, "variants", v), ls) for v, ls in tmpl.variants.items()]
        issues += [
            ((*base, i, "code"), f"code {code} has no charge in the chargemaster")
            for base, lines in groups
            for i, line in enumerate(lines)
            for code in line.code.values
            if code not in clinic.chargemaster
        ]
    return issues


def _session_references(clinic: Clinic, sid: str, tmpl: SessionTemplate) -> list[tuple[Loc, str]]:
    """A session's provider and separately scheduled sessions exist."""
    issues: list[tuple[Loc, str]] = []
    if tmpl.provider is not None and tmpl.provider not in clinic.providers:
        known = ", ".join(sorted(clinic.providers)) or "none"
        issues.append(
            (("sessions", sid, "provider"), f"no provider {tmpl.provider!r} (known: {known})")
        )
    for i, other in enumerate(tmpl.separately_scheduled):
        if other == sid:
            issues.append(
                (("sessions", sid, "separately_scheduled", i), "a session cannot name itself")
            )
        elif other not in clinic.sessions:
            known = ", ".join(sorted(clinic.sessions))
            issues.append(
                (
                    ("sessions", sid, "separately_scheduled", i),
                    f"no session {other!r} (known: {known})",
                )
            )
    return issues


def _package_issues(clinic: Clinic) -> list[tuple[Loc, str]]:
    """Each package names a session, once, at no more than its sessions' self-pay price."""
    issues: list[tuple[Loc, str]] = []
    for i, pkg in enumerate(clinic.packages):
        packaged = clinic.sessions.get(pkg.session)
        if packaged is None:
            known = ", ".join(sorted(clinic.sessions))
            issues.append(
                (("packages", i, "session"), f"no session {pkg.session!r} (known: {known})")
            )
        elif packaged.self_pay is not None and pkg.price > packaged.self_pay * pkg.sessions:
            issues.append(
                (
                    ("packages", i, "price"),
                    f"package price {pkg.price} is above {pkg.sessions} sessions at the "
                    f"self-pay price ({packaged.self_pay * pkg.sessions})",
                )
            )
    ids = [p.id for p in clinic.packages]
    for i, pid in enumerate(ids):
        if pid in ids[:i]:
            issues.append((("packages", i, "id"), f"duplicate package id {pid!r}"))
    sessions_packaged = [p.session for p in clinic.packages]
    for i, sid in enumerate(sessions_packaged):
        if sid in sessions_packaged[:i]:
            issues.append((("packages", i, "session"), f"session {sid!r} already has a package"))
    return issues
