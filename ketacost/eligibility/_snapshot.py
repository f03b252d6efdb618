"""What a payer's eligibility response says, as one model: :class:`EligibilitySnapshot`.

Both readers (:func:`ketacost.eligibility.read_x12_271`, :func:`ketacost.eligibility.read_fhir`)
produce it; :meth:`EligibilitySnapshot.apply` turns it into a request's starting point. Every
figure carries where it came from (:class:`Source`): the segment and element of a 271, or the
JSON path of a FHIR resource, so a billing office can check any number against the response.

Money is exact (:class:`~ketacost.Money`); percents are decimals (0.2 is 20%). Nothing here is
guessed: a figure the response does not give is ``None``, and ambiguous cases are settled in
``apply`` by declared policies, never while reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ketacost._money import Money
from ketacost._types import Model, Rate

if TYPE_CHECKING:
    from ketacost._payer import Payer
    from ketacost._request import EstimateRequest

    from ._apply import AppliedEligibility, ApplyPolicy

__all__ = [
    "AccumulatorFigure",
    "AuthorizationNote",
    "CostShareFigure",
    "EligibilitySnapshot",
    "Member",
    "OtherPayer",
    "Source",
]

#: in: in-network benefits (EB12 Y); out: out of network (EB12 N); both: applies to both (EB12
#: W); unknown: not said (EB12 absent or U) — never read as in-network.
Network = Literal["in", "out", "both", "unknown"]
#: EB02 IND (and EMP) is the individual; FAM (and the other family codes) the family.
Level = Literal["individual", "family"]


class Source(Model):
    """Where a figure was read.

    ``segment``: the segment's position in the interchange (1 is the ISA) and its text, for a
    271; ``path``: the JSON path, for FHIR. ``element``: the element the figure is (``EB07``).
    """

    format: Literal["x12-271", "fhir"]
    position: int | None = Field(default=None, ge=1, description="x12: segment number (ISA = 1)")
    segment: str | None = Field(default=None, max_length=500, description="x12: the segment text")
    element: str | None = Field(default=None, max_length=20, description="e.g. EB07")
    path: str | None = Field(default=None, max_length=300, description="fhir: the JSON path")

    def where(self) -> str:
        """``segment 14 (EB*C*IND*30***29*1200~), EB07`` or the FHIR path, in words."""
        if self.format == "fhir":
            return str(self.path)
        text = f"segment {self.position}"
        if self.segment:
            text += f" ({self.segment})"
        return f"{text}, {self.element}" if self.element else text


class AccumulatorFigure(Model):
    """One deductible or out-of-pocket figure of one network and coverage level.

    A 271 sends the period amount (EB06 23 calendar year, 22 service year, 25 contract, 21
    years, 32 lifetime), what is met so far (24 year to date) and what remains (29 remaining, 33
    lifetime remaining) as separate EB segments of one service type; a reader adds one figure
    per EB segment. ``apply`` combines them (met = total − remaining when met is not sent).
    """

    kind: Literal["deductible", "out_of_pocket"]
    network: Network
    level: Level
    service_type: str = Field(min_length=1, max_length=3, description="EB03, e.g. 30 or MH")
    period: Literal["total", "met", "remaining"] = Field(
        description="what the amount is: the period's amount, met so far, or what remains"
    )
    term: Literal[
        "calendar_year",
        "service_year",
        "contract",
        "years",
        "lifetime",
        "visit",
        "other",
        "not_annual",
    ] = Field(
        description="the period the amount is for (EB06 23, 22, 25, 21, 32/33, 27); other: "
        "a 271 period code that is not a term (24, 29); not_annual: a FHIR term that is not a "
        "year (day, ...), never a plan year's figure"
    )
    amount: Money
    place_of_service: str | None = Field(
        default=None, max_length=2, description="x12: III02 when III01 is ZZ (11 office)"
    )
    source: Source


class CostShareFigure(Model):
    """A copay (EB01 B: an amount) or a coinsurance (EB01 A: a percent) for a service type."""

    kind: Literal["copay", "coinsurance"]
    network: Network
    level: Level
    service_type: str = Field(min_length=1, max_length=3)
    amount: Money | None = None
    percent: Rate | None = None
    per: Literal["visit", "day", "other"] = "visit"
    place_of_service: str | None = Field(
        default=None, max_length=2, description="x12: III02 when III01 is ZZ (11 office)"
    )
    source: Source


class AuthorizationNote(Model):
    """EB11: whether the payer requires prior authorization for a service type."""

    service_type: str = Field(min_length=1, max_length=3)
    network: Network
    required: bool | None = Field(description="Y true, N false, U (unknown) None")
    source: Source


class OtherPayer(Model):
    """Another coverage the response reports (EB01 R, loop 2120): a candidate second payer.

    ``relation`` ``benefit_administrator`` is EB01 U (contact the following entity): another
    organisation administers the benefits of ``service_types`` (a mental-health carve-out to a
    behavioural health administrator) — not a second payer.
    """

    relation: Literal["other_payer", "benefit_administrator"] = "other_payer"
    service_types: tuple[str, ...] = Field(default=(), description="EB03 of the EB R or U")
    name: str | None = Field(default=None, max_length=200)
    identifier: str | None = Field(default=None, max_length=80, description="payer or member id")
    insurance_type: str | None = Field(default=None, max_length=3, description="EB04, e.g. MB")
    source: Source


class Member(Model):
    """The person the benefits are for: a subscriber (2000C) or a dependent (2000D)."""

    role: Literal["subscriber", "dependent"]
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    member_id: str | None = Field(default=None, max_length=80)
    birth_date: date | None = None


class EligibilitySnapshot(Model):
    """One member's benefits as the payer reported them, with every figure's source."""

    format: Literal["x12-271", "fhir"]
    payer_name: str | None = Field(default=None, max_length=200)
    payer_identifier: str | None = Field(default=None, max_length=80)
    member: Member
    active: bool = Field(description="EB01 1 (active) seen; a reader refuses inactive coverage")
    insurance_type: str | None = Field(default=None, max_length=3, description="EB04")
    plan_name: str | None = Field(default=None, max_length=200, description="EB05")
    plan_begin: date | None = Field(default=None, description="DTP 346 / 291 begin")
    plan_end: date | None = Field(default=None, description="DTP 347 / 291 end")
    as_of: date = Field(description="the date the response speaks for (DTP 307, else BHT04)")
    accumulators: tuple[AccumulatorFigure, ...] = ()
    cost_shares: tuple[CostShareFigure, ...] = ()
    authorizations: tuple[AuthorizationNote, ...] = ()
    other_payers: tuple[OtherPayer, ...] = ()
    messages: tuple[str, ...] = Field(default=(), description="MSG free text, in order")
    unmapped: tuple[Source, ...] = Field(
        default=(),
        description=(
            "benefit segments read but not turned into figures (EB01 F limitations, I "
            "non-covered, a time period or qualifier the mapping does not use), so that "
            "nothing is dropped unseen"
        ),
    )

    def apply(
        self,
        request: EstimateRequest,
        payers: Mapping[str, Payer],
        *,
        policy: ApplyPolicy | None = None,
    ) -> AppliedEligibility:
        """The request with this snapshot's accumulators, plan year and cost sharing.

        Sets ``request.coverage``'s starting accumulators (as of ``as_of``) for the
        coverage's network, and its plan year when the snapshot gives plan dates; records
        every figure used with its source; warns of what differs from the payer file. The
        policies for the ambiguous cases are :class:`~ketacost.eligibility.ApplyPolicy`'s
        (README, "Eligibility in").

        Args:
            request: the request to start from (its ``coverage`` is the one applied to).
            payers: the payer library (the payer file's figures are compared).
            policy: how ambiguous figures are settled; default ``ApplyPolicy()``.

        Raises:
            EligibilityError: figures that contradict each other (remaining above total,
                duplicates under ``duplicates: error``), or a coverage with no such network.

        Example:
            >>> applied = snapshot.apply(request, default_payers())  # doctest: +SKIP
            >>> estimate(applied.request, payers=applied.payers)  # doctest: +SKIP
        """
        from ._apply import apply_snapshot  # same package, same layer

        return apply_snapshot(self, request, payers, policy)
