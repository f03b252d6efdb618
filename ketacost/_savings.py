"""Manufacturer savings programs (a Spravato withMe-style copay program), declared as data.

A program file ``payers/programs/<id>.yaml`` says which plan kinds may use it (commercial
only: never Medicare, Medicaid, TRICARE or VA), which codes are its drug lines, the least the
patient pays per treatment, and the annual maximum per calendar year. The engine applies it
after the plan's adjudication of each visit; whether its payments count toward the plan's
deductible and out-of-pocket maximum is the plan's call (``Payer.copay_accumulator``).
"""

from __future__ import annotations

from typing import get_args

from pydantic import Field, model_validator

from ._dated import Dated
from ._payer import PayerKind, PayerMetadata
from ._types import Code, Model, Rate, Slug, Usd

__all__ = ["GOVERNMENT_KINDS", "SavingsProgram"]

#: Plan kinds a manufacturer program may never pay for (federal anti-kickback rules).
GOVERNMENT_KINDS: frozenset[str] = frozenset(
    {"medicare", "medicare-advantage", "medicaid", "tricare", "va"}
)


class ObservationRebate(Model):
    """A program's separate offer on the REMS observation (issue 11 §5).

    Spravato withMe: "pay as little as $0 after rebate for observation of each treatment",
    with its own annual limit, not valid for residents of MA, MI, MN or RI (spravatohcp.com
    patient support; domain.md 10.4).
    """

    codes: tuple[Code, ...] = Field(min_length=1, description="the observation codes")
    patient_pays: Dated[Usd] = Field(description="the least the patient pays per treatment")
    annual_max: Dated[Usd] = Field(description="most it pays per calendar year")
    excluded_states: tuple[str, ...] = Field(
        default=(), description="residents of these states (two-letter codes) cannot use it"
    )


class SavingsProgram(Model):
    """One manufacturer program. The file ``payers/programs/<id>.yaml`` holds program ``<id>``."""

    id: Slug
    name: str = Field(min_length=1)
    sponsor: str = Field(min_length=1)
    metadata: PayerMetadata
    eligible_kinds: tuple[PayerKind, ...] = Field(
        default=("commercial", "commercial-hdhp"), min_length=1
    )
    codes: tuple[Code, ...] = Field(min_length=1, description="the drug codes it pays toward")
    patient_pays: Dated[Usd] = Field(
        description="the least the patient pays per treatment (visit) on the drug lines"
    )
    annual_max: Dated[Usd] = Field(description="most the program pays per calendar year")
    bundled: dict[Code, Dated[Rate]] = Field(
        default_factory=dict,
        description="codes that bundle the drug with the visit and observation (G2082/G2083, "
        "billed by some commercial plans): the share of their cost share that is medication",
    )
    observation: ObservationRebate | None = None

    @model_validator(mode="after")
    def _commercial_only(self) -> SavingsProgram:
        bad = sorted(set(self.eligible_kinds) & GOVERNMENT_KINDS)
        if bad:
            raise ValueError(
                f"a manufacturer program cannot be used with government coverage ({', '.join(bad)})"
            )
        if "self-pay" in self.eligible_kinds:
            raise ValueError("a copay program needs insurance: remove self-pay")
        return self


assert set(get_args(PayerKind)) >= GOVERNMENT_KINDS
