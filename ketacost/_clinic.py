"""The clinic file: identity, chargemaster, session templates, self-pay prices and packages."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool

from ._dated import Dated
from ._types import Code, Int, Model, Modifier, Npi, Slug, Tin, UnitRate, Usd

__all__ = [
    "Address",
    "Clinic",
    "Package",
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
    line1: str = Field(min_length=1)
    line2: str | None = None
    city: str = Field(min_length=1)
    state: str = Field(pattern=r"^[A-Z]{2}$", description="USPS state code, e.g. MA")
    zip: str = Field(pattern=r"^[0-9]{5}(-[0-9]{4})?$", description="ZIP code, quoted in YAML")

    def one_line(self) -> str:
        parts = [self.line1, self.line2, f"{self.city}, {self.state} {self.zip}"]
        return ", ".join(p for p in parts if p)


class TemplateLine(Model):
    """One billable line of a session: a code, its units and modifiers.

    ``code`` may be dated when a code set changes (``{2019-03-05: S0013, 2026-01-01: J0013}``):
    each date of service bills the code in force on it.
    """

    code: Dated[Code]
    units: Int = Field(default=1, ge=1, le=999)
    modifiers: tuple[Modifier, ...] = Field(default=(), max_length=4)
    description: str = Field(min_length=1, description="plain-language description")
    ndc: str | None = Field(default=None, pattern=r"^[0-9]{4,5}-[0-9]{3,4}-[0-9]{1,2}$")
    drug: StrictBool = Field(default=False, description="a drug line (manufacturer savings apply)")


class SessionTemplate(Model):
    """A named bundle of billable lines, with its billing variants and self-pay price.

    ``lines`` is the default billing. ``variants`` holds other ways to bill the same clinical
    session (``medicare-g-code: [G2082]``); a payer's ``billing_variants`` picks one.
    """

    description: str = Field(min_length=1)
    lines: tuple[TemplateLine, ...] = Field(min_length=1)
    variants: dict[Slug, tuple[TemplateLine, ...]] = Field(default_factory=dict)
    self_pay: Usd | None = Field(default=None, description="self-pay price for one session")
    minutes: Int | None = Field(default=None, ge=1, le=24 * 60)
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

    id: Slug
    session: Slug
    sessions: Int = Field(ge=2, le=100)
    price: Usd
    description: str | None = None


class Provider(Model):
    """A provider or facility of the clinic with its own NPI (e.g. a rendering psychiatrist).

    ``tin`` and ``address`` default to the clinic's when not given.
    """

    name: str = Field(min_length=1)
    npi: Npi
    tin: Tin | None = None
    address: Address | None = None
    credentials: str | None = Field(default=None, max_length=40, description="e.g. MD, PMHNP")


class Clinic(Model):
    """Who bills, what they charge, and how sessions are billed."""

    id: Slug | None = None
    name: str = Field(min_length=1)
    npi: Npi
    tin: Tin
    address: Address
    phone: str | None = None
    place_of_service: str = Field(default="11", pattern=r"^[0-9]{2}$")
    chargemaster: dict[Code, Dated[UnitRate]] = Field(min_length=1, description="charge per unit")
    sessions: dict[Slug, SessionTemplate] = Field(min_length=1, max_length=500)
    packages: tuple[Package, ...] = ()
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


def clinic_issues(clinic: Clinic) -> list[tuple[Loc, str]]:
    """Cross-field problems in a clinic, each with the path of the field at fault."""
    issues: list[tuple[Loc, str]] = []
    if clinic.address.state not in _STATES:
        issues.append((("address", "state"), f"not a US state code (got {clinic.address.state!r})"))
    issues += _uncharged_codes(clinic)
    for sid, tmpl in clinic.sessions.items():
        issues += _session_references(clinic, sid, tmpl)
    issues += _package_issues(clinic)
    issues += [
        (("self_pay_codes", code), f"code {code} has no charge in the chargemaster")
        for code in clinic.self_pay_codes
        if code not in clinic.chargemaster
    ]
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
