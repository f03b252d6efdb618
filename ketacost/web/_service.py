"""The calculator behind the API: the patient's answers → a library request → an estimate.

No web framework here: :class:`Calculator` takes JSON text and gives pydantic models, so the
FastAPI layer only moves bytes and maps errors to status codes. The patient is never asked
for a name, birth date or member id: an age, and the treatment and coverage questions.

Two kinds of body are accepted by :meth:`Calculator.estimate_json`:

* the patient's answers (:class:`CalculatorInput`, what the page sends), told apart by
  having no ``plan``;
* a full library request (:class:`~ketacost.EstimateRequest`, with ``plan``), for clinics
  that build their own front end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ketacost._checks import accumulator_problems, request_problems
from ketacost._clinic import Clinic
from ketacost._engine import adjudicate as adjudicate_plan
from ketacost._errors import KetacostError, RequestFileError
from ketacost._estimate import CostRange, Estimate
from ketacost._estimating import adjudicate
from ketacost._json_parser import parse_json
from ketacost._money import Money
from ketacost._payer import Payer
from ketacost._plan import Plan, cadence_words
from ketacost._range import estimate_range
from ketacost._request import (
    AuthorizationStatus,
    Coverage,
    EstimateRequest,
    FamilyAmounts,
    Patient,
    StartingAccumulators,
    Unknowns,
    met_order_message,
)
from ketacost._source import SourceMap, issue_at
from ketacost._types import Int, Model, NetworkName, Slug, Usd, strict_day
from ketacost._validation import validate

from ._config import Resolved, Treatment, plan_limit_problem
from ._summary import Summary, summarize

__all__ = [
    "AnswerRange",
    "BodyError",
    "Calculator",
    "CalculatorInput",
    "EstimateResponse",
    "EstimateSummaryResponse",
    "PayerInfo",
    "RangeCase",
    "TreatmentInfo",
]

#: The name a request body goes by in error messages (``request body:3:15: age: ...``).
BODY = "request body"
NO_INSURANCE = "none"
_EARLIEST, _LATEST = date(2000, 1, 1), date(2099, 12, 31)

_NO_UNKNOWNS = (
    "this calculator does not take 'unknowns'; remove it (when prior authorization is not "
    'known, send the patient\'s answers with prior_authorization "not_sure")'
)

#: Plain dollars, as the page's field sends them: ASCII digits (8 at most: the library's
#: $10,000,000.00 ceiling then applies) and at most two decimals; the whole text, with no
#: trailing newline (``$`` would allow one).
_DOLLARS = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?", re.ASCII)


def _dollars_text(value: Any) -> Any:
    if not isinstance(value, str) or not _DOLLARS.fullmatch(value):
        raise PydanticCustomError(
            "dollars",
            'write the amount as text in dollars, e.g. "1200" or "1200.50" (got {value})',
            {"value": json.dumps(value) if isinstance(value, str) else str(value)},
        )
    return value


#: Dollars as the page sends them: text, at most two decimals, never negative. Stricter than
#: the library's money (which also takes "$1,200" and whole numbers) so that the API's schema
#: says exactly what it accepts.
Dollars = Annotated[
    Usd,
    BeforeValidator(_dollars_text),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{_DOLLARS.pattern}$",
            "description": 'US dollars, e.g. "1200" or "1200.50"',
            "examples": ["1200.50"],
        }
    ),
]


def _date_in_range(value: date) -> date:
    if not _EARLIEST <= value <= _LATEST:
        raise PydanticCustomError(
            "date_range",
            "must be between {earliest} and {latest} (got {value})",
            {"earliest": str(_EARLIEST), "latest": str(_LATEST), "value": str(value)},
        )
    return value


Day = Annotated[date, BeforeValidator(strict_day), AfterValidator(_date_in_range)]

PriorAuthorization = Literal["approved", "denied", "pending", "not_requested", "not_sure"]


class BodyError(RequestFileError):
    """The body is not JSON at all (a 400, where a JSON that fails validation is a 422)."""


class CalculatorInput(Model):
    """What the page asks the patient. Nothing that identifies them."""

    treatment: Slug = Field(description="a treatment id from GET /v1/treatments")
    insurance: Slug = Field(
        description=f"a payer id from GET /v1/payers, or {NO_INSURANCE!r} for no insurance"
    )
    network: NetworkName = Field(default="in", description="is the clinic in your network?")
    prior_authorization: PriorAuthorization = Field(
        default="not_sure",
        description="not_sure: the answer gives both outcomes as a range",
    )
    age: Int = Field(ge=0, le=130, description="age in years (no birth date is asked)")
    failed_trials: Int = Field(
        default=2, ge=0, le=50, description="antidepressants tried without enough relief"
    )
    deductible_met: Dollars | None = Field(default=None, description="deductible already met")
    out_of_pocket_met: Dollars | None = Field(
        default=None, description="out-of-pocket maximum already met this plan year"
    )
    start: Day | None = Field(
        default=None,
        description="first visit, 2000-01-01 to 2099-12-31; default: today (the server's date)",
    )
    other_coverage: Slug | None = Field(
        default=None,
        description="other coverage that pays after the insurance (a Medigap plan, Medicaid, "
        "TRICARE For Life, a spouse's plan): one of the insurance's second_payers from GET "
        f"/v1/payers, or {NO_INSURANCE!r}",
    )


class PhaseInfo(Model):
    name: str
    session: str
    session_description: str
    sessions: int
    cadence: str = Field(description="how often, in words")
    self_pay: Money | None = Field(description="the clinic's self-pay price per session")


class TreatmentInfo(Model):
    id: str
    name: str
    description: str
    sessions: int
    phases: tuple[PhaseInfo, ...]


class PayerInfo(Model):
    id: str
    name: str
    kind: str
    networks: tuple[NetworkName, ...]
    plan_year_start: str = Field(description="MM-DD")
    illustrative: bool = Field(description="the payer's figures are examples, not a real plan")
    second_payers: tuple[str, ...] = Field(
        description="ids of the offered payers that can pay after this one (other_coverage): "
        "those whose payer file follows this payer's kind (as_secondary)"
    )
    pays_only_second: bool = Field(
        description="a Medigap plan: it pays only after Original Medicare, never as the "
        "insurance itself"
    )


class RangeCase(Model):
    """One way an unknown answer can turn out."""

    label: str
    prior_authorization: AuthorizationStatus
    first_session: Money
    first_month: Money
    first_year: Money
    total: Money


class AnswerRange(CostRange):
    """Low and high first-year cost when an answer is not known yet.

    The library's one range model (:class:`ketacost.CostRange`): ``expected`` is the first
    year the table and chart show (the higher case), ``basis`` says so in words; ``unknown``
    and the ``cases`` are the calculator's own.
    """

    unknown: str = Field(description="what is not known, in words")
    cases: tuple[RangeCase, ...]


class EstimateSummaryResponse(Model):
    """The answer to ``POST /v1/estimate?detail=summary``: the figures, without the lines."""

    treatment: TreatmentInfo | None = Field(description="none for a full library request")
    summary: Summary
    range: AnswerRange | None = Field(description="set when an unknown answer changes the cost")
    assumptions: tuple[str, ...]


class EstimateResponse(EstimateSummaryResponse):
    """The answer to ``POST /v1/estimate``: the summary and the whole estimate, line by line."""

    estimate: Estimate


@dataclass(frozen=True)
class _Case:
    status: AuthorizationStatus
    label: str


_NOT_SURE_CASES = (
    _Case("approved", "if prior authorization is approved"),
    _Case("pending", "if prior authorization is not (yet) approved"),
)


class Calculator:
    """The configured clinic, payers and treatments, and the estimates they give."""

    def __init__(self, resolved: Resolved, today: Callable[[], date] = date.today) -> None:
        self.resolved = resolved
        self.clinic = resolved.clinic
        self.library = resolved.library
        self.limits = resolved.config.limits
        self.today = today
        self.labels = {sid: s.description for sid, s in self.clinic.sessions.items()}
        self.treatments = {
            tid: self._treatment_info(tid, t) for tid, t in resolved.treatments.items()
        }
        self.payers = tuple(self._payer_info(pid) for pid in resolved.offered)
        #: The first day the clinic can bill every session (the page's earliest start).
        self.first_day = _first_day(self.clinic)

    # ---- listings -----------------------------------------------------------------------
    def _treatment_info(self, tid: str, treatment: Treatment) -> TreatmentInfo:
        phases = tuple(
            PhaseInfo(
                name=p.name or f"phase {i + 1}",
                session=p.session,
                session_description=self.labels[p.session],
                sessions=p.count,
                cadence=cadence_words(p, treatment.closed_weekdays),
                self_pay=self.clinic.sessions[p.session].self_pay,
            )
            for i, p in enumerate(treatment.phases)
        )
        return TreatmentInfo(
            id=tid,
            name=treatment.name,
            description=treatment.description,
            sessions=sum(p.sessions for p in phases),
            phases=phases,
        )

    def _payer_info(self, pid: str) -> PayerInfo:
        payer = self.library[pid]
        start = payer.plan_year_start
        return PayerInfo(
            id=pid,
            name=payer.name,
            kind=payer.kind,
            networks=tuple(payer.networks),
            plan_year_start=f"{start.month:02d}-{start.day:02d}",
            illustrative=payer.metadata.illustrative,
            second_payers=self._second_payers(pid),
            pays_only_second=_pays_only_second(payer),
        )

    def _second_payers(self, pid: str) -> tuple[str, ...]:
        """The offered payers that pay after ``pid``, by their files' ``as_secondary``."""
        first = self.library[pid]
        if not first.networks:  # no insurance: nobody pays after it
            return ()
        return tuple(
            other
            for other in self.resolved.offered
            if other != pid and self.library[other].secondary_method(first.kind) is not None
        )

    # ---- estimates ------------------------------------------------------------------------
    def estimate_json(self, text: str) -> EstimateResponse:
        """Estimate a JSON body: the patient's answers, or a full library request.

        Raises:
            BodyError: the text is not one JSON document.
            RequestFileError: it is JSON but not a valid request (each issue names its
                field, line and column).
            KetacostError: the request cannot be estimated.
        """
        data, source = parse_json(text, BODY, BodyError)
        if isinstance(data, dict) and "plan" in data:
            return self.estimate_request(self._full_request(data, source), source)
        answers = validate(CalculatorInput, data, source, RequestFileError)
        return self.estimate_input(answers, source)

    def estimate_input(
        self, answers: CalculatorInput, source: SourceMap | None = None
    ) -> EstimateResponse:
        """Estimate the patient's answers (see :class:`CalculatorInput`)."""
        src = source or SourceMap.empty(BODY)
        treatment = self.resolved.treatments.get(answers.treatment)
        if treatment is None:
            known = ", ".join(self.resolved.treatments)
            raise _error(
                src, "treatment", f"unknown treatment {answers.treatment!r} (known: {known})"
            )
        payer_id = "self-pay" if answers.insurance == NO_INSURANCE else answers.insurance
        if payer_id not in self.resolved.offered and payer_id != "self-pay":
            known = ", ".join((*self.resolved.offered, NO_INSURANCE))
            raise _error(
                src,
                "insurance",
                f"this clinic's calculator does not offer {answers.insurance!r} (choose one of: "
                f"{known})",
            )
        second_id = self._check_other_coverage(answers, payer_id, src)
        start = answers.start or self.today()
        if start < self.first_day:
            first = self.first_day.isoformat()
            raise _error(
                src,
                "start",
                f"{self.clinic.name}'s billing codes start on {first}; choose a first visit on "
                f"or after {first} (got {start.isoformat()})",
            )
        plan = treatment.plan(start)
        self._check_plan(plan, src)
        self._check_met(answers, payer_id, plan.start, src)
        insured = bool(self.library[payer_id].networks)
        cases = (
            _NOT_SURE_CASES
            if answers.prior_authorization == "not_sure" and insured
            else (_Case(_status(answers.prior_authorization), ""),)
        )
        # The shown estimate is the last case; when the answer is not known it also carries
        # the library's own low/expected/high range over the other outcomes. Each outcome is
        # adjudicated once: the range mechanism re-runs the outcomes the cases already ran.
        others = tuple(c.status for c in cases[:-1])
        by_status: dict[str, Estimate] = {}

        def run(request: EstimateRequest) -> Estimate:
            status = request.coverage.prior_authorization
            if status not in by_status:
                by_status[status] = self._run(request, with_range=False)
            return by_status[status]

        for case in cases[:-1]:
            run(self._request(answers, treatment, plan, payer_id, case.status, second_id))
        shown = self._request(
            answers, treatment, plan, payer_id, cases[-1].status, second_id, others
        )
        main = run(shown.model_copy(update={"unknowns": None}))
        if shown.unknowns is not None:
            main = main.model_copy(update={"range": estimate_range(shown, main, run)})
        estimates = [*(by_status[c.status] for c in cases[:-1]), main]
        summaries = [summarize(e, start, self.labels) for e in estimates]
        return EstimateResponse(
            treatment=self.treatments[answers.treatment],
            summary=summaries[-1],
            range=_range(cases, summaries),
            assumptions=self._assumptions(answers, treatment, payer_id, start, second_id),
            estimate=main,
        )

    def _check_other_coverage(
        self, answers: CalculatorInput, payer_id: str, src: SourceMap
    ) -> str | None:
        """The second payer the answers name, checked against the insurance; None for none.

        A Medigap plan is not insurance on its own (it pays after Original Medicare), and a
        second payer must be one this clinic offers whose payer file follows the insurance's
        kind.
        """
        payer = self.library[payer_id]
        if _pays_only_second(payer):
            firsts = ", ".join(
                self.library[p].name
                for p in self.resolved.offered
                if payer_id in self._second_payers(p)
            )
            raise _error(
                src,
                "insurance",
                f"{payer.name} pays only after another plan ({firsts or 'Original Medicare'}): "
                f"choose that plan as your insurance and {payer.name} as your other coverage",
            )
        second = answers.other_coverage
        if second is None or second == NO_INSURANCE:
            return None
        allowed = self._second_payers(payer_id)
        if second not in allowed:
            choices = ", ".join((*allowed, NO_INSURANCE))
            known = self.library.get(second)
            what = repr(second) if known is None else known.name
            raise _error(
                src,
                "other_coverage",
                f"this calculator does not offer {what} as other coverage after {payer.name} "
                f"(choose one of: {choices})",
            )
        return second

    def _check_met(
        self, answers: CalculatorInput, payer_id: str, start: date, src: SourceMap
    ) -> None:
        """What the patient has met may not contradict itself nor exceed the plan's amounts.

        The same rules as a request's starting accumulators (issue 11 §6), named by the
        answers' fields.
        """
        ded, oop = answers.deductible_met, answers.out_of_pocket_met
        if ded is not None and oop is not None and oop.cents and oop < ded:
            message = met_order_message("deductible_met", ded, "out_of_pocket_met", oop)
            raise _error(src, "out_of_pocket_met", message)
        accumulators = _accumulators(answers, start)
        if accumulators is None:
            return
        coverage = Coverage(payer=payer_id, network=answers.network, accumulators=accumulators)
        problems = accumulator_problems((), coverage, self.library[payer_id])
        if problems:
            issues = [issue_at(src, (loc[1],), message) for loc, message in problems]
            raise RequestFileError(issues)

    def _full_request(self, data: dict[str, Any], source: SourceMap) -> EstimateRequest:
        """A full library request from a body, with the configured clinic.

        The body may not name or hold a clinic: a name would be a path on the server, and an
        inline clinic would set its own prices. Nor may it carry ``unknowns``: each
        combination is a whole estimate, beyond the calculator's limits.
        """
        refused = []
        if "clinic" in data:
            refused.append(("clinic", "the clinic is set by the server; remove 'clinic'"))
        if data.get("unknowns") is not None:
            refused.append(("unknowns", _NO_UNKNOWNS))
        if refused:
            raise RequestFileError([issue_at(source, (f,), m) for f, m in refused])
        request = validate(
            EstimateRequest, {**data, "clinic": self.clinic}, source, RequestFileError
        )
        issues = [issue_at(source, loc, m) for loc, m in request_problems(request, self.library)]
        if issues:
            raise RequestFileError(sorted(issues, key=lambda i: (i.line, i.column)))
        return request

    def estimate_request(
        self, request: EstimateRequest, source: SourceMap | None = None
    ) -> EstimateResponse:
        """Estimate a full library request.

        Every payer in it must be one this clinic offers (in a network it has), its plan
        within the limits, and it has no ``unknowns``. Its clinic is used as given:
        :meth:`estimate_json` puts the configured one in.
        """
        src = source or SourceMap.empty(BODY)
        coverages: list[tuple[tuple[str | int, ...], Coverage]] = [
            (("coverage",), request.coverage)
        ]
        coverages += [(("coverage_periods", i), p) for i, p in enumerate(request.coverage_periods)]
        coverages += [
            ((*at, "secondary"), cov.secondary)
            for at, cov in list(coverages)
            if cov.secondary is not None
        ]
        issues = [
            issue_at(src, (*at, problem[0]), problem[1])
            for at, cov in coverages
            if (problem := self._coverage_problem(cov)) is not None
        ]
        if request.unknowns is not None:
            issues.append(issue_at(src, ("unknowns",), _NO_UNKNOWNS))
        if issues:
            raise RequestFileError(issues)
        self._check_plan(request.plan, src)
        estimate = self._run(request)
        if not estimate.visits:
            raise _error(src, "plan", "the plan has no visits")
        return EstimateResponse(
            treatment=None,
            summary=summarize(estimate, request.plan.start, self.labels),
            range=None,
            assumptions=(),
            estimate=estimate,
        )

    def _coverage_problem(self, coverage: Coverage) -> tuple[str, str] | None:
        payer_id = coverage.payer
        if payer_id not in self.resolved.offered and payer_id != "self-pay":
            known = ", ".join(self.resolved.offered)
            return (
                "payer",
                f"this calculator does not offer payer {payer_id!r} (choose one of: {known})",
            )
        problem = _network_problem(self.library[payer_id], coverage.network)
        return None if problem is None else ("network", problem)

    def _check_plan(self, plan: Plan, src: SourceMap) -> None:
        try:
            problem = plan_limit_problem(plan, self.limits)
        except (OverflowError, ValueError):  # the plan's dates run past 9999-12-31
            problem = "a date in the plan is out of range (visits must fall before the year 9999)"
        if problem is not None:
            raise _error(src, "plan", problem)

    def _run(self, request: EstimateRequest, *, with_range: bool = True) -> Estimate:
        try:
            if with_range:
                return adjudicate(request, self.library)
            return adjudicate_plan(request, self.library)
        except KetacostError:
            # an EstimateError (also a ValueError) keeps its own message: the app makes it a
            # 422 "this request cannot be estimated: ..."
            raise
        except (OverflowError, ValueError):
            raise _error(
                SourceMap.empty(BODY), "plan", "a date is out of range (too far in the future)"
            ) from None

    def _request(
        self,
        answers: CalculatorInput,
        treatment: Treatment,
        plan: Plan,
        payer_id: str,
        status: AuthorizationStatus,
        second_id: str | None = None,
        other_outcomes: tuple[AuthorizationStatus, ...] = (),
    ) -> EstimateRequest:
        accumulators = _accumulators(answers, plan.start)
        # The other coverage is taken to have decided prior authorization as the insurance did.
        second = (
            None
            if second_id is None
            else Coverage(payer=second_id, network="in", prior_authorization=status)
        )
        return EstimateRequest(
            patient=Patient(
                age=answers.age,
                diagnoses=treatment.diagnoses,
                failed_trials=answers.failed_trials,
            ),
            coverage=Coverage(
                payer=payer_id,
                network=answers.network,
                prior_authorization=status,
                accumulators=accumulators,
                secondary=second,
            ),
            clinic=self.clinic,
            plan=plan,
            unknowns=Unknowns(prior_authorization=other_outcomes) if other_outcomes else None,
        )

    def _assumptions(
        self,
        answers: CalculatorInput,
        treatment: Treatment,
        payer_id: str,
        start: date,
        second_id: str | None = None,
    ) -> tuple[str, ...]:
        payer = self.library[payer_id]
        out = [
            f"The first visit is on or after {start.isoformat()}; the clinic is closed on "
            + (", ".join(treatment.closed_weekdays) or "no weekday")
            + ".",
            f"The clinic's prices are those of {self.clinic.name}.",
        ]
        if payer.networks:
            out.append(
                "Diagnosis: "
                + ", ".join(treatment.diagnoses)
                + f" (depression); {answers.failed_trials} antidepressant(s) tried before."
            )
            if answers.deductible_met is None:
                out.append("None of this year's deductible is met yet.")
            if answers.out_of_pocket_met is None and answers.deductible_met:
                # The deductible met counts toward the maximum (StartingAccumulators).
                out.append(
                    "Of this year's out-of-pocket maximum, only the deductible already met is paid."
                )
            elif answers.out_of_pocket_met is None:
                out.append("Nothing has been paid toward this year's out-of-pocket maximum yet.")
        else:
            out.append("No insurance is billed: the clinic's self-pay prices and packages apply.")
        if second_id is not None:
            second = self.library[second_id]
            out.append(
                f"{second.name} pays second, on what {payer.name} leaves to you (coordination "
                "of benefits); it is taken to have answered prior authorization as "
                f"{payer.name} did."
            )
        for shown in (payer, *((self.library[second_id],) if second_id else ())):
            if shown.metadata.illustrative:
                out.append(
                    f"{shown.name}'s figures are examples of a typical plan, not your plan's."
                )
        return tuple(out)


def _accumulators(answers: CalculatorInput, start: date) -> StartingAccumulators | None:
    """What the patient has met, as of the first visit (an amount not given is 0: not given)."""
    if answers.deductible_met is None and answers.out_of_pocket_met is None:
        return None
    return StartingAccumulators(
        as_of=start,
        deductible_met=FamilyAmounts(individual=answers.deductible_met or Money(0)),
        out_of_pocket_met=FamilyAmounts(individual=answers.out_of_pocket_met or Money(0)),
    )


def _pays_only_second(payer: Payer) -> bool:
    """A Medigap plan: it pays only after Original Medicare (its file has no networks)."""
    return payer.kind == "medigap"


def _network_problem(payer: Payer, network: str) -> str | None:
    """A full request's coverage must be in one of its payer's networks.

    (The patient's answers may say "out" for an in-network-only plan: the estimate says it
    pays nothing.)
    """
    if not payer.networks or network in payer.networks:
        return None
    return f"{payer.name} has no {network!r} network here (choose: {', '.join(payer.networks)})"


def _first_day(clinic: Clinic) -> date:
    """The first day every line of every session has a code and a charge in force."""
    first = _EARLIEST
    for session in clinic.sessions.values():
        for lines in (session.lines, *session.variants.values()):
            for line in lines:
                since, code = line.code.steps[0]
                charge = clinic.chargemaster.get(code)
                first = max(first, since, charge.steps[0][0] if charge is not None else first)
    return first


def _status(answer: PriorAuthorization) -> AuthorizationStatus:
    return "pending" if answer == "not_sure" else answer


def _range(cases: tuple[_Case, ...], summaries: list[Summary]) -> AnswerRange | None:
    years = [s.first_year for s in summaries]
    if len(cases) < 2 or min(years) == max(years):
        return None
    return AnswerRange(
        unknown="whether prior authorization is approved",
        low=min(years),
        expected=max(years),
        high=max(years),
        basis=(
            "the first year's cost if prior authorization is approved and if it is not; the "
            "table and chart show the higher"
        ),
        cases=tuple(
            RangeCase(
                label=c.label,
                prior_authorization=c.status,
                first_session=s.first_session,
                first_month=s.first_month,
                first_year=s.first_year,
                total=s.total,
            )
            for c, s in zip(cases, summaries, strict=True)
        ),
    )


def _error(source: SourceMap, field: str, message: str) -> RequestFileError:
    return RequestFileError([issue_at(source, tuple(field.split(".")), message)])
