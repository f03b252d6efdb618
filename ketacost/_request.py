"""An estimate request: patient, coverage, clinic and plan."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from ._clinic import Clinic
from ._money import Money
from ._plan import Plan
from ._types import Icd10, Model, NetworkName, Slug, Usd

__all__ = [
    "AuthorizationStatus",
    "Coverage",
    "EstimateRequest",
    "FamilyAmounts",
    "Patient",
    "StartingAccumulators",
]

from typing import Literal

#: ``approved``: prior authorization granted; ``denied``; ``pending``/``not_requested``: not
#: (yet) granted, so a rule that requires it does not cover the line in a point estimate.
AuthorizationStatus = Literal["approved", "denied", "pending", "not_requested"]


class Patient(Model):
    """What the rules need to know of the patient. Name and member id are optional (only the
    Good Faith Estimate and superbill print them)."""

    name: str | None = Field(default=None, max_length=200)
    birth_date: date | None = None
    age: int | None = Field(default=None, ge=0, le=130, description="age when no birth date")
    diagnoses: tuple[Icd10, ...] = Field(default=(), max_length=12)
    failed_trials: int = Field(
        default=0, ge=0, le=50, description="failed antidepressant trials in this episode"
    )
    member_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _age_known(self) -> Patient:
        if self.birth_date is None and self.age is None:
            raise ValueError("give the patient's birth_date or age")
        return self

    def age_on(self, on: date) -> int:
        """Age in whole years on ``on`` (from the birth date if known, else ``age``)."""
        if self.birth_date is None:
            assert self.age is not None
            return self.age
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


class FamilyAmounts(Model):
    individual: Usd = Money(0)
    family: Usd = Money(0)

    @model_validator(mode="after")
    def _family_covers_individual(self) -> FamilyAmounts:
        if self.family.cents and self.family < self.individual:
            raise ValueError(
                f"the family amount ({self.family}) includes the individual's, so it cannot be "
                f"lower ({self.individual})"
            )
        return self


class StartingAccumulators(Model):
    """What is already met, as of a date; it belongs to the plan year containing ``as_of``."""

    as_of: date
    deductible_met: FamilyAmounts = FamilyAmounts()
    out_of_pocket_met: FamilyAmounts = FamilyAmounts()
    sessions_used: dict[Slug, int] = Field(
        default_factory=dict, description="visits already counted against each session limit"
    )


class Coverage(Model):
    """The patient's coverage: a payer id (``self-pay`` for none), network and status."""

    payer: Slug
    network: NetworkName = "in"
    tier: Literal["individual", "family"] = "individual"
    prior_authorization: AuthorizationStatus = "not_requested"
    authorization_start: date | None = Field(
        default=None,
        description="first day of the approval window; default: the first visit it covers",
    )
    accumulators: StartingAccumulators | None = None
    member_id: str | None = Field(default=None, max_length=64)


class EstimateRequest(Model):
    """Everything an estimate depends on. ``issued`` is the estimate's date (no clock)."""

    patient: Patient
    coverage: Coverage
    clinic: Clinic
    plan: Plan
    issued: date | None = Field(default=None, description="date the estimate is issued")
