"""The coverage in force for a visit (contract rules 2 and 10).

The payer, its network, the savings program, which rule covers each code on a date, and
whether its conditions are met (prior authorization: :mod:`._approvals`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from ketacost._checks import (
    drug_benefit_problem,
    family_deductible_problem,
    reference_problem,
    savings_program_problem,
    unknown_payer_problem,
)
from ketacost._dated import Dated, NoValueInForceError
from ketacost._errors import EstimateError, UnknownPayerError
from ketacost._fee_schedule import NATIONAL_LOCALITY, PhysicianFeeSchedule
from ketacost._payer import (
    CoveredRule,
    ExcludedRule,
    MedicareFeeSchedule,
    Network,
    NonParticipating,
    Payer,
    PercentOfPayer,
    PharmacyBenefit,
    rule_in_force,
)
from ketacost._request import Coverage, EstimateRequest
from ketacost._savings import SavingsProgram

from ._approvals import Approvals, Counted

if TYPE_CHECKING:
    from ._coordination import SecondInForce

__all__ = [
    "Amount",
    "CoverageInForce",
    "Decision",
    "RulesKey",
    "change_dates",
    "has_value_on",
    "plan_year_value",
    "value_on",
    "yearly_until",
]

T = TypeVar("T")

#: A plan-year amount in cents: (individual, family or None, whether the family amount is
#: embedded). The family amount is None unless the coverage is family coverage with one.
Amount = tuple[int, int | None, bool]

#: A coverage decision: (covered, the rule that decided it, why not, cost-sharing category).
Decision = tuple[bool, str, str | None, str | None]


def value_on(value: Dated[T], on: date, what: str) -> T:
    """A rule value in force on ``on``; an :class:`EstimateError` naming ``what`` when none."""
    if value.plain:
        return value.values[0]
    try:
        return value.at(on)
    except NoValueInForceError as exc:
        raise EstimateError(f"{what}: {exc}") from None


#: The change dates of each payer walked so far, by identity: (the payer, its dates). The
#: payer is kept with its dates so that its id cannot be reused while it is here.
_CHANGES: dict[int, tuple[object, frozenset[date]]] = {}
_CHANGES_KEPT = 256


def change_dates(*sources: BaseModel) -> tuple[date, ...]:
    """Every date on which some dated value or coverage rule of ``sources`` changes, in order.

    ``sources`` are payers and clinics. Two dates of service with no change date between
    them (the same ``bisect_right(change_dates, on)``) see the same value of every dated
    value (rates, amounts, codes, charges) and the same coverage rules in force. Each source
    is walked once (its models, mappings and sequences).
    """
    found: set[date] = set()
    for source in sources:
        kept = _CHANGES.get(id(source))
        if kept is None or kept[0] is not source:
            if len(_CHANGES) >= _CHANGES_KEPT:
                _CHANGES.clear()
            kept = (source, frozenset(_dated_changes(source)))
            _CHANGES[id(source)] = kept
        found |= kept[1]
    return tuple(sorted(found))


def _dated_changes(value: object) -> Iterator[date]:
    """The change dates in ``value`` (a model, mapping or sequence).

    Those of every dated value, and the first day and the day after the last of every
    coverage rule.
    """
    if isinstance(value, Dated):
        yield from value.change_dates()
    elif isinstance(value, BaseModel):
        if isinstance(value, CoveredRule | ExcludedRule):
            if value.effective_from is not None:
                yield value.effective_from
            if value.effective_until is not None and value.effective_until < date.max:
                yield value.effective_until + timedelta(days=1)
        for name in type(value).model_fields:
            yield from _dated_changes(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _dated_changes(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _dated_changes(item)


def has_value_on(value: Dated[T], on: date) -> bool:
    """Whether a rule value is in force on ``on``."""
    try:
        value.at(on)
    except NoValueInForceError:
        return False
    return True


def yearly_until(value: Dated[Any]) -> date | None:
    """The last date of a value set once a year, or None for any other value.

    A value dated on the same day of consecutive years (at least two: the IRS limits of an
    HDHP, Original Medicare's Part B deductible) is one the payer sets each year: a plan year
    beginning in a later year than its last has no figure of its own in the file.
    """
    dates = value.change_dates()
    if len(dates) < 2:
        return None
    for a, b in pairwise(dates):
        if (b.month, b.day) != (a.month, a.day) or b.year != a.year + 1:
            return None
    return dates[-1]


def plan_year_value(value: Dated[T], on: date, start: date, what: str) -> T:
    """A plan-year amount for the date of service ``on`` (:meth:`Dated.in_plan_year`).

    The value in force on the plan year's first day (``start``) for the whole plan year; an
    :class:`EstimateError` naming ``what`` when none is in force.
    """
    if value.plain:
        return value.values[0]
    try:
        return value.in_plan_year(on, start)
    except NoValueInForceError as exc:
        raise EstimateError(f"{what}: {exc}") from None


class CoverageInForce:
    """One coverage (the request's, or one of its coverage periods) and its rules."""

    def __init__(
        self,
        request: EstimateRequest,
        coverage: Coverage,
        payers: Mapping[str, Payer],
        programs: Mapping[str, SavingsProgram],
    ) -> None:
        self.request = request
        self.cov = coverage
        self.payers = payers
        unknown = unknown_payer_problem(coverage, payers)
        if unknown is not None:
            raise UnknownPayerError(coverage.payer, tuple(sorted(payers)))
        payer = payers[coverage.payer]
        if coverage.plan_year_start is not None:
            # This patient's plan year (an eligibility response's plan dates): every plan-year
            # decision reads self.payer.plan_year_start, so the override is made once, here.
            payer = payer.model_copy(update={"plan_year_start": coverage.plan_year_start})
        self.payer = payer
        network = payer.networks.get(coverage.network)
        basis = network.allowed if network is not None else None
        if isinstance(basis, PercentOfPayer) and basis.payer not in payers:
            raise UnknownPayerError(basis.payer, tuple(sorted(payers)))
        # The checks the loader makes with the library; a request built in code reaches here
        # unchecked (one home for each: ketacost._checks).
        for problem in (
            family_deductible_problem(payer, coverage),
            reference_problem(payer, coverage, payers),
            savings_program_problem(coverage, programs),
            drug_benefit_problem(payer, coverage),
        ):
            if problem is not None:
                raise EstimateError(problem)
        self.network: Network | None = payer.networks.get(coverage.network)
        # The clinic's status with Original Medicare (domain.md §4.8): an opted-out clinic's
        # Medicare patients are private-contract self-pay patients.
        enrollment = request.clinic.medicare if payer.kind == "medicare" else None
        participation = "participating" if enrollment is None else enrollment.participation
        self.opted_out = participation == "opted_out"
        self.non_participating: NonParticipating | None = None
        if participation == "non_participating":
            if payer.non_participating is None:
                raise EstimateError(
                    f"the clinic does not participate in Medicare, and payer {payer.id!r} has "
                    "no non_participating terms"
                )
            self.non_participating = payer.non_participating
        self.unassigned = enrollment is not None and enrollment.assignment == "not_accepted"
        self.self_pay = payer.kind == "self-pay" or self.opted_out
        self.superbill = coverage.superbill and not self.self_pay
        # The drug through a specialty pharmacy under the pharmacy benefit (issue 11 §4).
        self.pharmacy: PharmacyBenefit | None = (
            payer.pharmacy
            if coverage.drug_benefit == "pharmacy" and not (self.self_pay or self.superbill)
            else None
        )
        self.family = coverage.tier == "family"
        self.used_payers = [payer, *self._reference_payer()]
        # Between two of these dates every dated value and coverage rule of the payers that
        # price a line, and every code and charge of the clinic, holds still (``stretch``).
        self.change_dates = change_dates(
            payers[coverage.payer], *self.used_payers[1:], request.clinic
        )
        self.schedule_basis = self._schedule_basis()
        self.used_schedules = self._fee_schedules(payers)
        self.places: dict[int, str] = {}  # id(template line) -> its session's place of service
        self.schedule_amounts: dict[tuple[str, str, str], int | None] = {}
        self.program, self.used_program, self.program_note = self._savings_program(programs)
        self.approvals = Approvals(coverage, payer.name)
        self.rule_index = payer.rule_index()  # read once: a model's private attribute is slow
        # Per rule (by identity) and age: why the patient does not meet its other conditions.
        self.patient_problems: dict[tuple[int, int], str | None] = {}
        self.decisions: dict[tuple[int, int], Decision] = {}
        self.limited_codes = frozenset(c for lim in payer.limits.values() for c in lim.codes)
        # (plan year start, stretch) -> the deductible and out-of-pocket maximum in force, in
        # cents (_remaining): the same throughout a plan year's stretch between change dates.
        self.plan_year_amounts: dict[tuple[date, int], tuple[Amount, Amount | None]] = {}
        self.second: SecondInForce | None = None  # a second payer (_coordination)

    def _reference_payer(self) -> list[Payer]:
        """The payer whose fee schedule this network takes a percent of, if any."""
        if self.network is None or not isinstance(self.network.allowed, PercentOfPayer):
            return []
        return [self.payers[self.network.allowed.payer]]

    def _schedule_basis(self) -> MedicareFeeSchedule | None:
        """The physician fee schedule basis that prices this coverage, if any.

        Its own, or the one of the payer it takes a percent of.
        """
        if self.network is None:
            return None
        basis = self.network.allowed
        if isinstance(basis, PercentOfPayer):
            reference = self.payers[basis.payer].networks.get("in")
            basis = reference.allowed if reference is not None else basis
        return basis if isinstance(basis, MedicareFeeSchedule) else None

    def _fee_schedules(self, payers: Mapping[str, Payer]) -> list[PhysicianFeeSchedule]:
        """The schedules the basis names (every date's), checked against the library.

        They come from a :class:`~ketacost.PayerLibrary` (its ``fee_schedules``); the clinic's
        Medicare locality (default: national) must be in each.
        """
        if self.schedule_basis is None:
            return []
        library: Mapping[str, PhysicianFeeSchedule] = getattr(payers, "fee_schedules", None) or {}
        locality = self.request.clinic.medicare_locality or NATIONAL_LOCALITY
        found = []
        for name in dict.fromkeys(self.schedule_basis.schedule.values):
            schedule = library.get(name)
            if schedule is None:
                raise EstimateError(
                    f"fee schedule {name!r} is not loaded: price with a PayerLibrary whose "
                    "fee-schedules/ folder holds it"
                )
            if locality not in schedule.localities:
                raise EstimateError(
                    f"clinic.medicare_locality: locality {locality!r} is not in fee schedule "
                    f"{name!r} (known: {', '.join(sorted(schedule.localities))})"
                )
            found.append(schedule)
        return found

    def schedule_amount(
        self, schedule: PhysicianFeeSchedule, code: str, place_of_service: str
    ) -> int | None:
        """A code's fee schedule amount per unit in cents at the clinic's locality, or None.

        Remembered per (schedule, code, place of service): the clinic is fixed per request.
        """
        key = (schedule.id, code, place_of_service)
        if key not in self.schedule_amounts:
            locality = self.request.clinic.medicare_locality or NATIONAL_LOCALITY
            self.schedule_amounts[key] = schedule.amount_cents(code, locality, place_of_service)
        return self.schedule_amounts[key]

    def place_of_service(self, template_line: object) -> str:
        """The place of service of the session a template line belongs to (else the clinic's)."""
        if not self.places:
            clinic = self.request.clinic
            for tmpl in clinic.sessions.values():
                where = tmpl.place_of_service or clinic.place_of_service
                for lines in (tmpl.lines, *tmpl.variants.values()):
                    for line in lines:
                        self.places[id(line)] = where
        return self.places.get(id(template_line), self.request.clinic.place_of_service)

    def _savings_program(
        self, programs: Mapping[str, SavingsProgram]
    ) -> tuple[SavingsProgram | None, SavingsProgram | None, str | None]:
        """(the program where it applies, the program named (for the hash), why it does not)."""
        name = self.cov.savings_program
        if name is None:
            return None, None, None
        program = programs[name]  # checked: savings_program_problem
        payer = self.payer
        if self.superbill or self.self_pay or payer.kind not in program.eligible_kinds:
            note = (
                f"{program.name} does not apply: {payer.name} ({payer.kind}"
                f"{', superbill' if self.superbill else ''}) is not eligible"
            )
            return None, program, note
        return program, program, None

    def stretch(self, on: date) -> int:
        """Which stretch between change dates ``on`` is in (:func:`change_dates`)."""
        return bisect_right(self.change_dates, on)

    # ---- which rule ----------------------------------------------------------------------
    def rule_in_force(self, code: str, on: date) -> CoveredRule | ExcludedRule | None:
        """The first rule for ``code`` in the coverage's network in force on ``on``."""
        return rule_in_force(self.rule_index.get(code, ()), on, self.cov.network)

    def rules_key(self, codes: list[str], units: list[int], on: date) -> RulesKey | None:
        """The rules in force for ``codes`` on ``on`` (by identity), and those that count.

        Those that count visits against an approval, each with its line's ``units``, in the
        order of the lines: see :meth:`authorizing`. None when a decision could depend on a
        session limit. A fee schedule amount depends on the clinic (fixed per request) and
        the session's place of service (the session is part of every memo key).
        """
        if self.network is None:
            return (), ()
        found: list[int] = []
        counting: list[tuple[CoveredRule, int]] = []
        for code, n in zip(codes, units, strict=True):
            rule = self.rule_in_force(code, on)
            if isinstance(rule, CoveredRule) and self.approvals.stateful(rule):
                counting.append((rule, n))
            found.append(0 if rule is None else id(rule))
        if self.limited_codes and not self.limited_codes.isdisjoint(codes):
            return None
        return tuple(found), tuple(counting)

    def authorizing(
        self, counting: tuple[tuple[CoveredRule, int], ...], on: date, age: int
    ) -> tuple[Counted, ...] | None:
        """What deciding a visit's lines on ``on`` would count against approvals.

        ``counting``: the rules in force for its lines that count visits against an approval,
        each with its line's units (:meth:`rules_key`).

        A line whose other conditions (age, diagnoses, trials) the patient does not meet is
        not covered whatever the approvals say; the others go to
        :meth:`Approvals.authorizing <._approvals.Approvals.authorizing>`. Where it gives a
        value, each decision is its rule's alone: the visit memo may repeat an earlier
        visit's lines and :meth:`count` what they would have counted.
        """
        met = [(rule, n) for rule, n in counting if self._patient_problem(rule, age) is None]
        return self.approvals.authorizing(met, on)

    def count(self, counted: tuple[Counted, ...], on: date) -> None:
        """Count a repeated visit's lines against their approvals (:meth:`authorizing`)."""
        self.approvals.count(counted, on)

    # ---- the decision --------------------------------------------------------------------
    def decide(self, code: str, on: date, age: int, units: int = 1) -> Decision:
        """Whether ``code`` (``units`` of it) is covered on ``on`` for a patient of ``age``."""
        payer, cov = self.payer, self.cov
        if self.network is None:
            where = "out of" if cov.network == "out" else "in"
            return False, f"{payer.id}:networks", f"{payer.name} pays nothing {where} network", None
        rule = self.rule_in_force(code, on)
        if rule is None:
            reason = f"no coverage rule for code {code} under {payer.name}"
            return False, f"{payer.id}:coverage", reason, None
        # A decision depends on the date only through the rule in force (found above), the
        # patient's age and an authorization window; without a window it is cached per rule
        # and age.
        key = (id(rule), age)
        hit = self.decisions.get(key)
        if hit is None:
            if isinstance(rule, ExcludedRule):
                hit = (False, payer.rule_label(rule), rule.reason, None)
            else:
                why_not = self._condition_not_met(rule, on, age, units)
                hit = (why_not is None, payer.rule_label(rule), why_not, rule.category)
            if isinstance(rule, ExcludedRule) or not self.approvals.stateful(rule):
                self.decisions[key] = hit
        return hit

    def _condition_not_met(
        self, rule: CoveredRule, on: date, age: int, units: int = 1
    ) -> str | None:
        problem = self._patient_problem(rule, age)
        if problem is None and rule.conditions.prior_authorization:
            return self.approvals.problem(rule, on, units)
        return problem

    def _patient_problem(self, rule: CoveredRule, age: int) -> str | None:
        """Why the patient does not meet ``rule``'s conditions (age, diagnoses, trials)."""
        key = (id(rule), age)
        if key not in self.patient_problems:
            self.patient_problems[key] = self._patient_problem_of(rule, age)
        return self.patient_problems[key]

    def _patient_problem_of(self, rule: CoveredRule, age: int) -> str | None:
        c = rule.conditions
        patient = self.request.patient
        if c.min_age is not None and age < c.min_age:
            return f"age: coverage starts at age {c.min_age} (patient is {age})"
        if c.max_age is not None and age > c.max_age:
            return f"age: coverage ends after age {c.max_age} (patient is {age})"
        if c.diagnoses and not set(patient.diagnoses) & set(c.diagnoses):
            got = ", ".join(patient.diagnoses) or "none given"
            return f"diagnosis: none of the accepted codes ({', '.join(c.diagnoses)}); got {got}"
        if patient.failed_trials < c.min_failed_trials:
            return (
                f"step therapy: {patient.failed_trials} of {c.min_failed_trials} required "
                f"failed trials"
            )
        return None


#: The rules in force for a visit's lines (by identity), and those that count visits against
#: an approval with their lines' units (:meth:`CoverageInForce.rules_key`).
RulesKey = tuple[tuple[int, ...], tuple[tuple[CoveredRule, int], ...]]
