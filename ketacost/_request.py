"""An estimate request: patient, coverage, clinic and plan."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from ._clinic import Address, Clinic, Email, Phone
from ._errors import EstimateError
from ._limits import MAX_VISITS
from ._money import Money
from ._payer import PlanYearStart
from ._plan import Plan, schedule
from ._types import Code, Day, Icd10, Int, Model, NetworkName, Slug, Usd, strict_day

__all__ = [
    "AmountRange",
    "AuthorizationStatus",
    "Coverage",
    "CoveragePeriod",
    "DoseChoice",
    "EstimateRequest",
    "FamilyAmounts",
    "GoodFaithDates",
    "Patient",
    "PolicyHolder",
    "SessionsRange",
    "StartingAccumulators",
    "Unknowns",
    "medicare_entitlement",
    "met_order_message",
]

from typing import Literal

#: ``approved``: prior authorization granted; ``denied``; ``pending``/``not_requested``: not
#: (yet) granted, so a rule that requires it does not cover the line in a point estimate.
AuthorizationStatus = Literal["approved", "denied", "pending", "not_requested"]


class Patient(Model):
    """What the rules need to know of the patient.

    Name and member id are optional (only the Good Faith Estimate and superbill print them).
    """

    name: str | None = Field(default=None, max_length=200, description="shown on documents")
    birth_date: Day | None = Field(default=None, description="gives the age on each visit")
    age: Int | None = Field(default=None, ge=0, le=130, description="age when no birth date")
    diagnoses: tuple[Icd10, ...] = Field(
        default=(), max_length=12, description="ICD-10 codes (a rule's diagnoses condition)"
    )
    failed_trials: Int = Field(
        default=0, ge=0, le=50, description="failed antidepressant trials in this episode"
    )
    state: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="state of residence, two letters (a savings offer may exclude some "
        "states); default: the clinic's state",
    )
    member_id: str | None = Field(default=None, max_length=64, description="printed on documents")
    # The HHS standard Good Faith Estimate (CMS-10791) carries the patient's contact details
    # and how they prefer to be contacted.
    address: Address | None = Field(default=None, description="mailing address")
    phone: Phone | None = Field(default=None, description="the patient's phone number")
    email: Email | None = Field(default=None, description="the patient's email address")
    contact_preference: Literal["mail", "email", "phone", "portal"] | None = Field(
        default=None,
        description="how the patient prefers to receive the Good Faith Estimate and be "
        "contacted (mail needs address, email needs email, phone needs phone)",
    )

    @model_validator(mode="after")
    def _age_known(self) -> Patient:
        if self.birth_date is None and self.age is None:
            raise ValueError("give the patient's birth_date or age")
        needs = {"mail": "address", "email": "email", "phone": "phone"}
        wanted = needs.get(self.contact_preference or "")
        if wanted is not None and getattr(self, wanted) is None:
            raise ValueError(
                f"contact_preference is {self.contact_preference}, but the patient has no "
                f"{wanted}: give patient.{wanted}"
            )
        return self

    def age_on(self, on: date) -> int:
        """Age in whole years on ``on`` (from the birth date if known, else ``age``)."""
        if self.birth_date is None:
            assert self.age is not None
            return self.age
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


class FamilyAmounts(Model):
    """What is met of one amount, for the patient and for the family.

    0 means not given: a family amount not given is taken as the individual's (what the
    patient met counts toward the family's).
    """

    individual: Usd = Money(0)
    family: Usd = Money(0)

    @model_validator(mode="after")
    def _family_covers_individual(self) -> FamilyAmounts:
        if self.family.cents and self.family < self.individual:
            raise ValueError(
                f"family ({self.family}) is below individual ({self.individual}): the family "
                "amount includes the individual's"
            )
        return self


#: (lower, higher): what is met of the first counts toward the second, so where both are
#: given the second is at least the first. In this order, the first broken pair is reported.
_MET_ORDER = (
    (("deductible_met", "individual"), ("out_of_pocket_met", "individual")),
    (("deductible_met", "family"), ("out_of_pocket_met", "family")),
    (("deductible_met", "individual"), ("out_of_pocket_met", "family")),
)


class StartingAccumulators(Model):
    """What is already met, as of a date; it belongs to the plan year containing ``as_of``.

    An amount of 0 is not given, and is taken as the least the others allow: deductible paid
    counts toward the out-of-pocket maximum, and the individual's toward the family's. Given
    amounts that contradict each other are refused, never adjusted: a deductible met above
    the out-of-pocket maximum met, an individual amount above the family's, an amount above
    the plan's own on the ``as_of`` date.
    """

    as_of: Day = Field(description="the date the amounts are known on")
    deductible_met: FamilyAmounts = Field(
        default=FamilyAmounts(), description="deductible already met"
    )
    out_of_pocket_met: FamilyAmounts = Field(
        default=FamilyAmounts(), description="out-of-pocket maximum already met"
    )
    sessions_used: dict[Slug, Annotated[Int, Field(ge=0, le=MAX_VISITS)]] = Field(
        default_factory=dict, description="visits already counted against each session limit"
    )

    @model_validator(mode="after")
    def _deductible_within_out_of_pocket(self) -> StartingAccumulators:
        for lower, higher in _MET_ORDER:
            low, high = self._met(lower), self._met(higher)
            if low.cents and high.cents and high < low:
                raise ValueError(met_order_message(".".join(lower), low, ".".join(higher), high))
        return self

    def _met(self, path: tuple[str, str]) -> Money:
        amounts: FamilyAmounts = getattr(self, path[0])
        return amounts.individual if path[1] == "individual" else amounts.family


def met_order_message(lower: str, low: Money, higher: str, high: Money) -> str:
    """Why an out-of-pocket amount met below a deductible amount met is refused."""
    return (
        f"{higher} ({high}) is below {lower} ({low}): deductible paid counts toward the "
        "out-of-pocket maximum"
    )


class HeldAuthorization(Model):
    """A prior authorization the patient holds: for some codes or an authorization group."""

    codes: tuple[Code, ...] = Field(default=(), max_length=20, description="the codes it covers")
    group: Slug | None = Field(default=None, description="a payer rule's authorization_group")
    approved_from: Day = Field(description="first day it covers")
    approved_to: Day | None = Field(default=None, description="last day it covers, inclusive")
    visits: Int | None = Field(default=None, ge=1, le=400, description="visits approved")
    units: Int | None = Field(
        default=None, ge=1, le=1_000_000, description="units approved (e.g. mg of J0013)"
    )

    @model_validator(mode="after")
    def _one_target(self) -> HeldAuthorization:
        if bool(self.codes) == (self.group is not None):
            raise ValueError("give either codes or group (one of them)")
        if self.approved_to is not None and self.approved_to < self.approved_from:
            raise ValueError(
                f"approved_to ({self.approved_to}) is before approved_from ({self.approved_from})"
            )
        return self


class PolicyHolder(Model):
    """Who holds a coverage, and the facts the order of benefits turns on.

    Read by :func:`ketacost.order_of_benefits` when a request lets the library decide which
    of two coverages pays first.
    """

    relationship: Literal["self", "spouse", "child"] = Field(
        default="self",
        description="the patient is the policyholder (self), the holder's spouse, or child",
    )
    birth_date: Day | None = Field(
        default=None, description="the policyholder's birth date (the birthday rule)"
    )
    employment: Literal["active", "retired", "none"] | None = Field(
        default=None,
        description="the coverage comes from the holder's current employment (active), a "
        "retirement plan (retired), or neither",
    )
    employer_size: Int | None = Field(
        default=None, ge=1, le=10_000_000, description="employees of the holder's employer"
    )
    covered_since: Day | None = Field(
        default=None, description="when the holder's coverage began (tie of the birthday rule)"
    )


class Coverage(Model):
    """The patient's coverage: a payer id (``self-pay`` for none), network and status."""

    payer: Slug = Field(description="the payer's id (a payer file); self-pay for none")
    network: NetworkName = Field(default="in", description="the payer's network the clinic is in")
    tier: Literal["individual", "family"] = Field(
        default="individual", description="family: the family deductible and maximum apply too"
    )
    prior_authorization: AuthorizationStatus = Field(
        default="not_requested", description="status of the prior authorization a rule requires"
    )
    authorization_start: Day | None = Field(
        default=None,
        description="first day of the approval window; default: the first visit it covers",
    )
    authorizations: tuple[HeldAuthorization, ...] = Field(
        default=(),
        max_length=10,
        description="authorizations held, each replacing the payer's initial approval for "
        "its codes or group",
    )
    authorization_renewal: Literal["expected", "approved", "denied"] = Field(
        default="expected",
        description="renewals of an approval, where the payer renews: expected (covered, and "
        "a range driver), approved, or denied (later sessions are self-pay)",
    )
    drug_benefit: Literal["medical", "pharmacy"] = Field(
        default="medical",
        description="the drug billed by the clinic under the medical benefit, or by a "
        "specialty pharmacy under the pharmacy benefit (where the payer allows it)",
    )
    accumulators: StartingAccumulators | None = Field(
        default=None, description="what is already met; none: nothing"
    )
    plan_year_start: PlanYearStart | None = Field(
        default=None,
        description="this patient's plan year starts on this month and day (e.g. from an "
        "eligibility response's plan dates); default: the payer file's",
    )
    member_id: str | None = Field(default=None, max_length=64, description="printed on documents")
    savings_program: Slug | None = Field(
        default=None,
        description="a manufacturer savings program the patient is enrolled in (e.g. "
        "spravato-withme); applied after the plan's adjudication, where eligible",
    )
    superbill: StrictBool = Field(
        default=False,
        description="the patient pays the clinic's self-pay price and files a superbill; the "
        "plan reimburses the patient on its terms for this network (usually out)",
    )
    holder: PolicyHolder = Field(
        default_factory=PolicyHolder, description="who holds this coverage (order of benefits)"
    )
    qmb: StrictBool = Field(
        default=False,
        description="Medicaid: the patient is a Qualified Medicare Beneficiary (owes nothing "
        "for Medicare-covered items; the clinic may not bill Medicare cost sharing)",
    )
    secondary: Coverage | None = Field(
        default=None,
        description="a second coverage that pays after this one on the same lines (Medigap, "
        "Medicaid, TRICARE For Life, a spouse's plan)",
    )
    order: Literal["stated", "decide"] = Field(
        default="stated",
        description="with a secondary: stated (this coverage pays first), or decide (the "
        "library's order_of_benefits decides which pays first)",
    )

    @model_validator(mode="after")
    def _one_second_payer(self) -> Coverage:
        second = self.secondary
        if second is None:
            if self.order != "stated":
                raise ValueError("order: decide needs a secondary coverage to order")
            return self
        if second.secondary is not None:
            raise ValueError("secondary: a third payer is not modelled (give at most two)")
        for name in ("superbill", "savings_program"):
            if getattr(second, name, None):
                raise ValueError(
                    f"secondary.{name}: give it on the coverage that pays first, not the second"
                )
        if second.drug_benefit != "medical" or self.drug_benefit != "medical":
            raise ValueError(
                "drug_benefit: pharmacy with a second payer is not modelled (medical only)"
            )
        if self.superbill:
            raise ValueError("superbill: a superbill claim with a second payer is not modelled")
        if second.payer == self.payer:
            raise ValueError(f"secondary.payer: the same payer as the first ({self.payer})")
        return self

    # Not assumed: an estimate is made before the service, and the ABN is signed (or not)
    # then. Without one, a service Original Medicare denies as not reasonable and necessary
    # is the clinic's (GZ), and the estimate warns the clinic to get one (GA).
    abn_signed: StrictBool = Field(
        default=False,
        description="Original Medicare: the patient has signed an Advance Beneficiary Notice "
        "(CMS-R-131) for the services Medicare is expected to deny as not reasonable and "
        "necessary (one ABN may cover an extended course of treatment)",
    )

    def plan_year_of(self, day: date, payer_start: PlanYearStart) -> date:
        """The first day of this coverage's plan year that holds ``day``.

        The plan year starts on this coverage's ``plan_year_start``, else on the payer
        file's (``payer_start``), as ``PlanYearStart.year_of`` works it out.
        """
        return (self.plan_year_start or payer_start).year_of(day)


#: ``starts: medicare_entitlement``: the period starts when Medicare does at 65.
MEDICARE_ENTITLEMENT = "medicare_entitlement"


def medicare_entitlement(birth_date: date) -> date:
    """The first day of Medicare (Part A, and Part B taken when first eligible) at 65.

    The first day of the month in which the patient turns 65; the month before when the
    birthday is on the 1st, because a person attains an age the day before the birthday
    (Medicare.gov "When does Medicare coverage start"; SSA POMS HI 00805). Part B starts then
    for a patient enrolled automatically or who signs up in the three months before.

    >>> medicare_entitlement(date(1962, 3, 15)), medicare_entitlement(date(1962, 3, 1))
    (datetime.date(2027, 3, 1), datetime.date(2027, 2, 1))
    """
    if birth_date.year + 65 > date.max.year:
        return date.max  # later than any date of service
    # The day before the 65th birthday (Feb 29 → the day before Mar 1 when there is none).
    first_of_month = date(birth_date.year + 65, birth_date.month, 1)
    attains = first_of_month + timedelta(days=birth_date.day - 2)
    return attains.replace(day=1)


def _start_day(value: object) -> object:
    """A date, or the word ``medicare_entitlement``; one clear message for anything else."""
    if value == MEDICARE_ENTITLEMENT:
        return value
    try:
        return strict_day(value)
    except PydanticCustomError as exc:
        got = exc.context["got"] if exc.context else "?"
        raise PydanticCustomError(
            "start_day",
            "expected a date (YYYY-MM-DD) or medicare_entitlement (got {got})",
            {"got": got},
        ) from None


class CoveragePeriod(Coverage):
    """Coverage in force from ``starts`` (inclusive) until the next period starts.

    ``starts: medicare_entitlement`` is computed from the patient's birth date
    (``medicare_entitlement(birth_date)``).
    """

    starts: Annotated[Day | Literal["medicare_entitlement"], BeforeValidator(_start_day)] = Field(
        description="the first day, or medicare_entitlement: the first day of the month the "
        "patient turns 65 (the month before for a birthday on the 1st), from patient.birth_date"
    )


class SessionsRange(Model):
    """An unknown number of sessions in one phase (e.g. 6 to 12 boosters)."""

    phase: str = Field(min_length=1, description="the phase's name (or 'phase N')")
    low: Int = Field(ge=1, le=400, description="a phase has at least 1 session")
    high: Int = Field(ge=1, le=400, description="the most sessions, at least low")

    @model_validator(mode="after")
    def _ordered(self) -> SessionsRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class DoseChoice(Model):
    """An unknown session template in one phase (e.g. esketamine 56 or 84 mg)."""

    phase: str = Field(min_length=1, description="the phase's name (or 'phase N')")
    sessions: tuple[Slug, ...] = Field(
        min_length=1, max_length=4, description="session templates the phase may use instead"
    )


class AmountRange(Model):
    low: Usd
    high: Usd

    @model_validator(mode="after")
    def _ordered(self) -> AmountRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        return self


class Unknowns(Model):
    """Inputs not known yet.

    The estimate is the request as written (the expected case); the range spans every
    combination of the values listed here with the expected values.
    """

    prior_authorization: tuple[AuthorizationStatus, ...] = Field(
        default=(), max_length=4, description="outcomes to consider, e.g. [approved, denied]"
    )
    authorization_renewal: tuple[Literal["approved", "denied"], ...] = Field(
        default=(), max_length=2, description="renewal outcomes to consider"
    )
    sessions: tuple[SessionsRange, ...] = Field(
        default=(), max_length=3, description="phases whose session count is not known"
    )
    dose: tuple[DoseChoice, ...] = Field(
        default=(), max_length=3, description="phases whose session template is not known"
    )
    deductible_met: AmountRange | None = Field(
        default=None,
        description="individual deductible already met, as of the coverage's accumulators "
        "date (or the plan start)",
    )
    accumulators: StartingAccumulators | None = Field(
        default=None,
        description="another starting point for the coverage to consider beside its "
        "accumulators (e.g. nothing met, when an eligibility response did not say which "
        "network its figures are for)",
    )

    @model_validator(mode="after")
    def _bounded(self) -> Unknowns:
        n = (
            bool(self.prior_authorization)
            + bool(self.authorization_renewal)
            + len(self.sessions)
            + len(self.dose)
            + (self.deductible_met is not None)
            + (self.accumulators is not None)
        )
        if n > 4:
            raise ValueError(f"at most 4 unknown inputs at once (got {n})")
        return self


class GoodFaithDates(Model):
    """When a Good Faith Estimate was asked for (45 CFR 149.610(b)(1)).

    The day the primary service was scheduled, or the day the patient asked; its deadline is
    counted from them.
    """

    scheduled_on: Day | None = Field(
        default=None, description="the day the primary service was scheduled"
    )
    requested_on: Day | None = Field(
        default=None, description="the day the patient asked for a Good Faith Estimate"
    )

    @model_validator(mode="after")
    def _one_given(self) -> GoodFaithDates:
        if self.scheduled_on is None and self.requested_on is None:
            raise ValueError("give scheduled_on or requested_on (or both)")
        return self


class EstimateRequest(Model):
    """Everything an estimate depends on. ``issued`` is the estimate's date (no clock)."""

    patient: Patient = Field(description="the patient")
    coverage: Coverage = Field(description="the patient's coverage")
    coverage_periods: tuple[CoveragePeriod, ...] = Field(
        default=(),
        max_length=10,
        description="later coverage, each from its start date (e.g. Medicare from a 65th "
        "birthday, or self-pay after insurance ends); `coverage` applies before the first",
    )
    clinic: Clinic = Field(description="the clinic, as in its clinic file")
    plan: Plan = Field(description="the treatment plan")
    unknowns: Unknowns | None = Field(default=None, description="inputs not known yet")
    issued: Day | None = Field(default=None, description="date the estimate is issued")
    good_faith: GoodFaithDates | None = Field(
        default=None,
        description="when the service was scheduled or a Good Faith Estimate requested: the "
        "estimate's deadline in federal business days",
    )

    @model_validator(mode="after")
    def _good_faith_before_the_service(self) -> EstimateRequest:
        if self.good_faith is None:
            return self
        # Only a date after the plan's last visit is wrong whatever is covered: the Good Faith
        # Estimate's deadline runs to its first *self-paid* date, which may come after covered
        # visits (an intake billed to the plan, then excluded infusions). build_gfe compares
        # the dates with that one.
        visits = schedule(self.plan)
        last = max(v.day for v in visits) if visits else self.plan.start
        for name in ("scheduled_on", "requested_on"):
            day: date | None = getattr(self.good_faith, name)
            if day is not None and day > last:
                raise ValueError(
                    f"good_faith.{name} ({day.isoformat()}) is after the last date of service "
                    f"({last.isoformat()}): a Good Faith Estimate is asked for before the "
                    "service"
                )
        return self

    @model_validator(mode="after")
    def _periods_in_order(self) -> EstimateRequest:
        if self.patient.birth_date is None and any(
            p.starts == MEDICARE_ENTITLEMENT for p in self.coverage_periods
        ):
            return self  # reported where the period names it (ketacost._checks)
        starts = [self.period_start(p) for p in self.coverage_periods]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("coverage_periods must start on strictly increasing dates")
        return self

    def period_start(self, period: CoveragePeriod) -> date:
        """The first day of ``period`` (its date, or the patient's Medicare entitlement)."""
        if isinstance(period.starts, date):
            return period.starts
        if self.patient.birth_date is None:
            raise EstimateError(
                "coverage_periods: starts medicare_entitlement is computed from "
                "patient.birth_date: give the patient's birth_date"
            )
        return medicare_entitlement(self.patient.birth_date)

    def coverage_index(self, on: date) -> int:
        """Which coverage is in force on ``on``.

        0 for ``coverage``, i for the i-th of ``coverage_periods`` (each holds from its
        ``starts`` until the next one starts).
        """
        found = 0
        for i, period in enumerate(self.coverage_periods, start=1):
            if self.period_start(period) > on:
                break
            found = i
        return found

    def coverage_on(self, on: date) -> Coverage:
        """The coverage in force on ``on``."""
        index = self.coverage_index(on)
        return self.coverage if index == 0 else self.coverage_periods[index - 1]
