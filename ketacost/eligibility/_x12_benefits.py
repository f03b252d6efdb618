"""The 271's benefit loops (2110C/2110D) as figures: the mapping of EB segments.

One ``EB`` segment may give several figures (one per EB03 service type). The codes follow
005010X279A1 (domain facts §6.1):

- EB01: 1-5 active coverage, 6-8 inactive; A coinsurance (EB08), B copay (EB07), C deductible
  and G out of pocket (EB07 with EB06), R another payer and U another entity to contact (the
  2120 loop's NM1), any EB with EB11 an authorization note;
- EB02: IND, EMP individual; FAM, ESP, ECH, CHD, DEP, SPC, SPO, TWO family;
- EB06 for a deductible or out-of-pocket amount: 23 calendar year, 22 service year, 25
  contract, 21 years, 32 lifetime, 27 visit are the period's total; 24 year to date is what is
  met; 29 remaining and 33 lifetime remaining what remains;
- EB12: Y in network, N out, W both, absent or U unknown (never read as in network).

A benefit the mapping cannot place without guessing (no coverage level on a deductible, a
time period it does not use, an amount tied to a quantity (EB09) or a procedure (EB13), a
place of service qualifier other than ZZ) gives no figure and is listed as unmapped.
Malformed values (an amount that is not a number, a percent above 1, an unknown code) are
errors naming the segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from ketacost._limits import MAX_AMOUNT_CENTS
from ketacost._money import Money

from ._snapshot import (
    AccumulatorFigure,
    AuthorizationNote,
    CostShareFigure,
    OtherPayer,
    Source,
)
from ._x12_segments import Delimiters, Segment, error_at

__all__ = ["LEVELS", "NETWORKS", "PERIODS", "Benefit", "BenefitMapper", "parse_date", "source_of"]

ACTIVE: Final = frozenset("12345")
INACTIVE: Final = frozenset("678")
#: EB02 coverage level codes.
LEVELS: Final[dict[str, Literal["individual", "family"]]] = {
    "IND": "individual",
    "EMP": "individual",
    **dict.fromkeys(("FAM", "ESP", "ECH", "CHD", "DEP", "SPC", "SPO", "TWO"), "family"),
}
#: EB12 in-plan-network indicator.
NETWORKS: Final[dict[str, Literal["in", "out", "both", "unknown"]]] = {
    "Y": "in",
    "N": "out",
    "W": "both",
    "U": "unknown",
    "": "unknown",
}
_Period = Literal["total", "met", "remaining"]
_Term = Literal["calendar_year", "service_year", "contract", "years", "lifetime", "visit", "other"]
#: EB06 for a deductible (C) or out-of-pocket (G) amount: what the amount is, for what term.
PERIODS: Final[dict[str, tuple[_Period, _Term]]] = {
    "23": ("total", "calendar_year"),
    "22": ("total", "service_year"),
    "25": ("total", "contract"),
    "21": ("total", "years"),
    "32": ("total", "lifetime"),
    "27": ("total", "visit"),
    "24": ("met", "other"),
    "29": ("remaining", "other"),
    "33": ("remaining", "lifetime"),
}
#: EB06 time period qualifiers (X12 element 615).
_TIME_PERIODS: Final = frozenset({"6", "7", "13", *(str(code) for code in range(21, 37))})
_AUTHORIZATION: Final = {"Y": True, "N": False, "U": None}
_SERVICE_TYPE: Final = re.compile(r"[A-Z0-9]{1,3}", re.ASCII)
_DECIMAL: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_DATE: Final = re.compile(r"[0-9]{8}", re.ASCII)
#: Longest X12 R (decimal) value (element 782 monetary amount: 1-18).
_MAX_DECIMAL_CHARS: Final = 18
_SOURCE_CHARS: Final = 500


def source_of(segment: Segment, element: str | None = None) -> Source:
    """The :class:`Source` of a segment (its text cut to what the model holds)."""
    text = segment.text
    if len(text) > _SOURCE_CHARS:
        text = text[: _SOURCE_CHARS - 3] + "..."
    return Source(format="x12-271", position=segment.position, segment=text, element=element)


def parse_date(segment: Segment, number: int, value: str) -> date:
    """A CCYYMMDD date of element ``number``, or an error naming the segment."""
    if _DATE.fullmatch(value):
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            pass
    name = f"{segment.id}{number:02}"
    raise error_at(segment, f"{name} {value[:20]!r} is not a date (CCYYMMDD)")


@dataclass
class Benefit:
    """One 2110 loop: the EB segment and what follows it."""

    eb: Segment
    dates: list[Segment] = field(default_factory=list)
    messages: list[Segment] = field(default_factory=list)
    places: list[Segment] = field(default_factory=list)
    entities: list[Segment] = field(default_factory=list)

    def add(self, segment: Segment) -> None:
        """Keep a segment of this loop the mapping uses."""
        if segment.id == "DTP":
            self.dates.append(segment)
        elif segment.id == "MSG":
            self.messages.append(segment)
        elif segment.id == "III":
            self.places.append(segment)
        elif segment.id == "NM1":
            raise error_at(segment, "NM1 in a 2110 loop belongs inside LS/LE (loop 2120)")


@dataclass
class _Read:
    """The checked elements of one EB segment."""

    code: str
    level: Literal["individual", "family"] | None
    service_types: tuple[str, ...]
    insurance_type: str | None
    plan_name: str | None
    period: str
    amount: Money | None
    percent: Decimal | None
    quantity: bool
    authorization: bool | None
    has_authorization: bool
    network: Literal["in", "out", "both", "unknown"]
    place: str | None
    specific: bool  # tied to a procedure (EB13) or a place qualifier the mapping does not use


@dataclass
class BenefitMapper:
    """Figures of one member, added one benefit loop at a time."""

    delimiters: Delimiters
    active: bool = False
    insurance_type: str | None = None
    plan_name: str | None = None
    inactive: Segment | None = None
    accumulators: list[AccumulatorFigure] = field(default_factory=list)
    cost_shares: list[CostShareFigure] = field(default_factory=list)
    authorizations: list[AuthorizationNote] = field(default_factory=list)
    other_payers: list[OtherPayer] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    dates: list[Segment] = field(default_factory=list)
    unmapped: list[Segment] = field(default_factory=list)

    def add(self, benefit: Benefit) -> None:
        """Map one 2110 loop."""
        eb = benefit.eb
        read = self._read(eb, benefit.places)
        self.dates.extend(benefit.dates)
        self.messages.extend(
            message for segment in benefit.messages if (message := segment.get(1).strip())
        )
        used = self._coverage(eb, read)
        if read.code in ("C", "G"):
            used = self._accumulator(eb, read) or used
        elif read.code in ("A", "B"):
            used = self._cost_share(eb, read) or used
        elif read.code in ("R", "U"):
            used = self._other_payer(eb, read, benefit.entities) or used
        if read.has_authorization and read.service_types:
            self.authorizations.extend(
                AuthorizationNote(
                    service_type=service_type,
                    network=read.network,
                    required=read.authorization,
                    source=source_of(eb, "EB11"),
                )
                for service_type in read.service_types
            )
            used = True
        if not used:
            self.unmapped.append(eb)

    def refuse_inactive(self) -> None:
        """Inactive coverage with nothing active is an error naming the EB segment."""
        if self.inactive is not None and not self.active:
            meaning = {"6": "inactive", "7": "inactive, pending eligibility update"}.get(
                self.inactive.get(1), "inactive, pending investigation"
            )
            raise error_at(self.inactive, f"EB01 {self.inactive.get(1)}: coverage is {meaning}")

    # -- one EB segment -------------------------------------------------------------------
    def _read(self, eb: Segment, places: list[Segment]) -> _Read:
        code = eb.get(1)
        if not code:
            raise error_at(eb, "EB01 (the benefit code) is empty")
        level_code = eb.get(2)
        if level_code and level_code not in LEVELS:
            raise error_at(eb, f"EB02 {level_code!r} is not a coverage level code")
        network = eb.get(12)
        if network not in NETWORKS:
            raise error_at(eb, f"EB12 {network!r}: expected Y, N, W or U")
        authorization = eb.get(11)
        if authorization and authorization not in _AUTHORIZATION:
            raise error_at(eb, f"EB11 {authorization!r}: expected Y, N or U")
        if len(eb.get(4).strip()) > 3:
            raise error_at(eb, f"EB04 {eb.get(4)[:10]!r} is not an insurance type code")
        place, other_place = _place(places)
        return _Read(
            code=code,
            level=LEVELS.get(level_code),
            service_types=self._service_types(eb),
            insurance_type=eb.get(4).strip() or None,
            plan_name=eb.get(5).strip() or None,
            period=_period(eb),
            amount=_amount(eb),
            percent=_percent(eb),
            quantity=_quantity(eb),
            authorization=_AUTHORIZATION.get(authorization),
            has_authorization=bool(authorization),
            network=NETWORKS[network],
            place=place,
            specific=bool(eb.get(13)) or other_place,
        )

    def _service_types(self, eb: Segment) -> tuple[str, ...]:
        codes = tuple(code for code in eb.get(3).split(self.delimiters.repetition) if code)
        for code in codes:
            if not _SERVICE_TYPE.fullmatch(code):
                raise error_at(eb, f"EB03 {code[:10]!r} is not a service type code")
        return codes

    def _coverage(self, eb: Segment, read: _Read) -> bool:
        if read.code in INACTIVE:
            self.inactive = self.inactive or eb
            return False
        if read.code not in ACTIVE:
            return False
        self.active = True
        self.insurance_type = self.insurance_type or read.insurance_type
        self.plan_name = self.plan_name or read.plan_name
        return True

    def _accumulator(self, eb: Segment, read: _Read) -> bool:
        mapped = PERIODS.get(read.period)
        if (
            mapped is None
            or read.level is None
            or read.amount is None
            or read.percent is not None
            or read.quantity
            or read.specific
        ):
            return False
        period, term = mapped
        kind: Literal["deductible", "out_of_pocket"] = (
            "deductible" if read.code == "C" else "out_of_pocket"
        )
        self.accumulators.extend(
            AccumulatorFigure(
                kind=kind,
                network=read.network,
                level=read.level,
                service_type=service_type,
                period=period,
                term=term,
                amount=read.amount,
                place_of_service=read.place,
                source=source_of(eb, "EB07"),
            )
            for service_type in read.service_types
        )
        return bool(read.service_types)

    def _cost_share(self, eb: Segment, read: _Read) -> bool:
        copay = read.code == "B"
        value, other = (read.amount, read.percent) if copay else (read.percent, read.amount)
        if value is None or other is not None or read.quantity or read.specific:
            return False
        per: Literal["visit", "day", "other"] = (
            "visit" if read.period in ("", "27") else "day" if read.period == "7" else "other"
        )
        self.cost_shares.extend(
            CostShareFigure(
                kind="copay" if copay else "coinsurance",
                network=read.network,
                # A copay or coinsurance is the patient's own: no EB02 is the individual's.
                level=read.level or "individual",
                service_type=service_type,
                amount=read.amount if copay else None,
                percent=None if copay else read.percent,
                per=per,
                place_of_service=read.place,
                source=source_of(eb, "EB07" if copay else "EB08"),
            )
            for service_type in read.service_types
        )
        return bool(read.service_types)

    def _other_payer(self, eb: Segment, read: _Read, entities: list[Segment]) -> bool:
        relation: Literal["other_payer", "benefit_administrator"] = (
            "other_payer" if read.code == "R" else "benefit_administrator"
        )
        named: list[tuple[str | None, str | None, Segment]] = [
            (_name(nm1), nm1.get(9).strip() or None, nm1) for nm1 in entities
        ]
        for name, identifier, segment in named or [(None, None, eb)]:
            self.other_payers.append(
                OtherPayer(
                    relation=relation,
                    service_types=read.service_types,
                    name=name,
                    identifier=identifier,
                    insurance_type=read.insurance_type,
                    source=source_of(segment, "NM103" if segment is not eb else "EB01"),
                )
            )
        return True


def _name(nm1: Segment) -> str | None:
    last, first = nm1.get(3).strip(), nm1.get(4).strip()
    name = f"{last}, {first}" if last and first else last or first
    return name or None


def _place(places: list[Segment]) -> tuple[str | None, bool]:
    """The place of service (III01 ZZ), and whether another III qualifier was there."""
    place: str | None = None
    other = False
    for iii in places:
        if iii.get(1) == "ZZ" and iii.get(2).strip():
            place = place or iii.get(2).strip()
        else:
            other = True
    return place, other


def _period(eb: Segment) -> str:
    period = eb.get(6)
    if period and period not in _TIME_PERIODS:
        raise error_at(eb, f"EB06 {period!r} is not a time period qualifier")
    return period


def _decimal(eb: Segment, number: int) -> Decimal | None:
    value = eb.get(number)
    if not value:
        return None
    if len(value) > _MAX_DECIMAL_CHARS or not _DECIMAL.fullmatch(value):
        raise error_at(eb, f"EB{number:02} {value[:20]!r} is not a number")
    return Decimal(value)


def _amount(eb: Segment) -> Money | None:
    value = _decimal(eb, 7)
    if value is None:
        return None
    if value < 0:
        raise error_at(eb, f"EB07 {eb.get(7)!r}: an amount is never negative")
    if value != value.quantize(Decimal("0.01")):
        raise error_at(eb, f"EB07 {eb.get(7)!r}: money has at most 2 decimal places")
    cents = int(value.scaleb(2))
    if cents > MAX_AMOUNT_CENTS:
        raise error_at(eb, f"EB07 {eb.get(7)!r}: more than $10,000,000.00")
    return Money.from_cents(cents)


def _percent(eb: Segment) -> Decimal | None:
    value = _decimal(eb, 8)
    if value is None:
        return None
    if not 0 <= value <= 1:
        raise error_at(eb, f"EB08 {eb.get(8)!r}: a percent is a decimal from 0 to 1 (0.2 is 20%)")
    if value != value.quantize(Decimal("0.000001")):
        raise error_at(eb, f"EB08 {eb.get(8)!r}: at most 6 decimal places")
    return value.normalize() if value else Decimal(0)


def _quantity(eb: Segment) -> bool:
    qualifier, quantity = eb.get(9), eb.get(10)
    if quantity:
        _decimal(eb, 10)
    if bool(qualifier) != bool(quantity):
        raise error_at(eb, "EB09 (quantity qualifier) and EB10 (quantity) go together")
    return bool(qualifier)
