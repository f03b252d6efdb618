"""The Medicare Physician Fee Schedule as Medicare computes it (issue 12 §1).

A schedule file (``payers/fee-schedules/<id>.yaml``) holds, for one year, the relative value
units of each code (work, practice expense in and out of a facility, malpractice), the
geographic practice cost indices of each Medicare locality and the conversion factor. The
amount of a code in a locality is (42 CFR 414.20-414.26; the CMS RVU file's read-me)::

    (work RVU × work GPCI + PE RVU × PE GPCI + MP RVU × MP GPCI) × conversion factor

computed exactly and rounded half-up to the cent once, per unit (the named rounding point
``fee-schedule``; the CMS payment files carry two places). The place of service decides which
practice expense applies: the facility one for the codes the file lists as facility settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool

from ._money import round_half_up_cents
from ._payer import PayerMetadata
from ._types import Code, Int, Model, Slug, _exact_rate, _rate_places

__all__ = [
    "NATIONAL_LOCALITY",
    "Locality",
    "PhysicianFeeSchedule",
    "RelativeValues",
    "fee_schedule_issues",
]

#: The locality whose indices are all 1.000: the national (unadjusted) amounts.
NATIONAL_LOCALITY = "00000-00"

#: Relative value units: at most two places, as the CMS RVU files print them.
Rvu = Annotated[
    Decimal,
    BeforeValidator(_exact_rate),
    Field(ge=0, le=1000, description="relative value units, e.g. 1.92"),
    AfterValidator(_rate_places),
]
#: A geographic practice cost index, e.g. 1.029 (three places in the CMS GPCI files).
Gpci = Annotated[
    Decimal,
    BeforeValidator(_exact_rate),
    Field(gt=0, le=5, description="a geographic practice cost index, e.g. 1.029"),
    AfterValidator(_rate_places),
]
#: The conversion factor in dollars per RVU, e.g. 33.4009.
ConversionFactor = Annotated[
    Decimal,
    BeforeValidator(_exact_rate),
    Field(gt=0, le=1000, description="dollars per relative value unit, e.g. 33.4009"),
    AfterValidator(_rate_places),
]
#: A Medicare locality: the MAC's carrier number and the locality number (``14212-01``).
LocalityId = Annotated[str, Field(pattern=r"^[0-9]{5}-[0-9]{2}$")]
PlaceOfService = Annotated[str, Field(pattern=r"^[0-9]{2}$")]


class RelativeValues(Model):
    """One code's relative value units (the CMS RVU file's columns)."""

    work: Rvu
    pe_nonfacility: Rvu
    pe_facility: Rvu | None = Field(
        description="null where CMS marks the facility PE 'NA' or it was not verified: the code "
        "then has no facility amount here"
    )
    mp: Rvu
    illustrative: StrictBool = Field(
        default=False, description="true when a component could not be verified (see notes)"
    )
    carrier_priced: StrictBool = Field(
        default=False,
        description="CMS leaves the price to the MAC (pricing indicator 13): the national amount "
        "stands in at every locality, not adjusted by its indices",
    )
    source: str = Field(min_length=1, max_length=400, description="where these figures come from")


class Locality(Model):
    """One Medicare payment locality and its three indices (work with its 1.000 floor)."""

    name: str = Field(min_length=1, max_length=120)
    state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    work: Gpci
    pe: Gpci
    mp: Gpci
    illustrative: StrictBool = False
    source: str = Field(min_length=1, max_length=400)


class PhysicianFeeSchedule(Model):
    """One year's physician fee schedule. The file ``fee-schedules/<id>.yaml`` holds ``<id>``."""

    id: Slug
    name: str = Field(min_length=1)
    year: Int = Field(ge=1992, le=2100)
    metadata: PayerMetadata
    conversion_factor: ConversionFactor
    facility_places_of_service: tuple[PlaceOfService, ...] = Field(
        min_length=1,
        max_length=100,
        description="places of service paid at the facility rate; every other one at the "
        "non-facility rate",
    )
    codes: dict[Code, RelativeValues] = Field(min_length=1, max_length=20_000)
    localities: dict[LocalityId, Locality] = Field(min_length=1, max_length=200)

    def facility(self, place_of_service: str) -> bool:
        """Whether a place of service is paid at the facility rate."""
        return place_of_service in self.facility_places_of_service

    def unrounded(
        self, code: str, locality: str, place_of_service: str, conversion_factor: Decimal
    ) -> Decimal | None:
        """The exact amount before rounding, or None when the schedule does not price it."""
        rvu = self.codes.get(code)
        area = self.localities.get(locality)
        if rvu is None or area is None:
            return None
        if rvu.carrier_priced:
            area = self.localities[NATIONAL_LOCALITY]
        pe = rvu.pe_facility if self.facility(place_of_service) else rvu.pe_nonfacility
        if pe is None:
            return None
        adjusted = rvu.work * area.work + pe * area.pe + rvu.mp * area.mp
        return adjusted * conversion_factor

    def amount_cents(self, code: str, locality: str, place_of_service: str) -> int | None:
        """The fee schedule amount of one unit in cents (rounding point ``fee-schedule``)."""
        exact = self.unrounded(code, locality, place_of_service, self.conversion_factor)
        return None if exact is None else round_half_up_cents(exact)


def _locations(schedule: PhysicianFeeSchedule) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if NATIONAL_LOCALITY not in schedule.localities:
        yield ("localities",), f"needs the national locality {NATIONAL_LOCALITY!r} (all 1.000)"
    else:
        national = schedule.localities[NATIONAL_LOCALITY]
        if {national.work, national.pe, national.mp} != {Decimal(1)}:
            loc = ("localities", NATIONAL_LOCALITY)
            yield loc, "the national locality's indices are 1.000 each"
    if len(set(schedule.facility_places_of_service)) != len(schedule.facility_places_of_service):
        yield ("facility_places_of_service",), "lists a place of service twice"


def fee_schedule_issues(schedule: PhysicianFeeSchedule) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field problems in a schedule, each with the path of the field at fault."""
    return list(_locations(schedule))
