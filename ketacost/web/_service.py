"""The calculator behind the API: the patient's answers → a library request → an estimate.

No web framework here: :class:`Calculator` takes JSON text and gives pydantic models, so the
FastAPI layer only moves bytes and maps errors to status codes. The patient is never asked
for a name, birth date or member id: an age, and the treatment and coverage questions.

Two kinds of body are accepted by :meth:`Calculator.estimate_json`:

* the patient's answers (:class:`CalculatorInput`, what the page sends), told apart by
  having no ``plan``;
* a full library request (:class:`~ketacost.EstimateRequest`, with ``plan``), for clinics
  that build their own front end.

The answer's words for the patient (the assumptions, the range, the treatment, the
plain-language explanations of each line) are in the language asked for, ``en`` or ``es``,
through the ``web`` catalog (and ``plain`` for the explanations); figures never change with it.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal, TypeVar, overload

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ketacost import _plain
from ketacost._checks import accumulator_problems, request_problems
from ketacost._clinic import Clinic
from ketacost._engine import adjudicate as adjudicate_plan
from ketacost._engine import adjudicate_totals
from ketacost._errors import FileIssue, KetacostError, RequestFileError
from ketacost._estimate import CostRange, Estimate, EstimateLine
from ketacost._estimating import adjudicate
from ketacost._i18n import LANGUAGES, N_, Language, Translator, check_language, translator
from ketacost._json_parser import parse_json
from ketacost._money import Money
from ketacost._payer import Payer
from ketacost._plan import Phase, Plan
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
from ketacost._types import Int, Model, NetworkName, Slug, Usd, Weekday, strict_day
from ketacost._validation import validate

from ._config import Resolved, Treatment, plan_limit_problem
from ._notices import good_faith_estimate_owed, notices, notices_of
from ._summary import Summary, summarize, summarize_visits

__all__ = [
    "AnswerRange",
    "BodyError",
    "Calculator",
    "CalculatorInput",
    "EstimateResponse",
    "EstimateSummaryResponse",
    "LineExplanation",
    "PayerInfo",
    "RangeCase",
    "TreatmentInfo",
    "VisitExplanation",
    "cadence",
]

_T = TypeVar("_T")

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


#: What is wrong with dollars text the page would not send, where it can be told.
_NOT_DOLLARS = (
    (re.compile(r"\s*-.*", re.ASCII | re.DOTALL), "an amount is never negative"),
    (re.compile(r"[0-9$,. ]*[$,][0-9$,. ]*", re.ASCII), 'plain digits, without "$" or ","'),
    (re.compile(r"[0-9]*\.[0-9]{3,}", re.ASCII), "at most two decimals (cents)"),
    (re.compile(r"[0-9]{9,}(\.[0-9]*)?", re.ASCII), "must be at most $10,000,000.00"),
)


def _dollars_text(value: Any) -> Any:
    if isinstance(value, str) and _DOLLARS.fullmatch(value):
        return value
    if isinstance(value, str):
        got = json.dumps(value)
        why = next((w for pattern, w in _NOT_DOLLARS if pattern.fullmatch(value)), None)
    else:  # a JSON number, true, null...: the page sends text
        got = str(value).lower() if isinstance(value, bool) else str(value)[:40]
        number = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        why = "send it as text, in quotes" if number else None
    raise PydanticCustomError(
        "dollars",
        'write the amount as text in dollars, e.g. "1200" or "1200.50" (got {value}{why})',
        {"value": got, "why": f": {why}" if why else ""},
    )


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
    self_pay: Money | None = Field(
        description="the clinic's self-pay price for one such session, before any package: a "
        "package prices the first sessions of a kind for less (6 infusions for $2,400 where "
        "one is $450), and an estimate (POST /v1/estimate) applies it, so this price times "
        "`sessions` may be more than the estimate"
    )


class TreatmentInfo(Model):
    """A treatment the patient can choose, its text in one language (see ``treatments_in``)."""

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

    label: str = Field(description="the case, in words (in the answer's language)")
    prior_authorization: AuthorizationStatus
    first_session: Money
    first_month: Money
    first_year: Money
    first_year_plan_pays: Money = Field(
        description="what the plan (the insurance) pays for the first year's visits in this "
        "case, as the summary's first_year_plan_pays"
    )
    total: Money


class AnswerRange(CostRange):
    """Low and high first-year cost when an answer is not known yet.

    The library's one range model (:class:`ketacost.CostRange`): ``expected`` is the first
    year the table and chart show (the higher case), ``basis`` says so in words; ``unknown``
    and the ``cases`` are the calculator's own.
    """

    unknown: str = Field(description="what is not known, in words")
    cases: tuple[RangeCase, ...] = Field(
        description="each way the unknown can turn out, with its own figures: only low and "
        "high hold for the range as a whole"
    )


class EstimateSummaryResponse(Model):
    """The answer to ``POST /v1/estimate?detail=summary``: the figures, without the lines.

    Text for the patient (the treatment, the first visit's label, the range's words, the
    assumptions) is in the answer's language, ``lang``; figures and dates are not (money is
    a string, dates are ISO).
    """

    treatment: TreatmentInfo | None = Field(description="none for a full library request")
    summary: Summary = Field(
        description="the figures of the estimate shown; when `range` is set, the higher case's "
        "(each case's own figures are in `range.cases`)"
    )
    range: AnswerRange | None = Field(description="set when an unknown answer changes the cost")
    assumptions: tuple[str, ...] = Field(
        description="what the estimate takes as given, in words: every answer that is not the "
        "default, with its value"
    )
    lang: Language = Field(
        default="en", description="the language of the answer's text: `lang`, else Accept-Language"
    )
    payer_name: str | None = Field(
        default=None,
        description="the insurance's name in the answer's language (none for a library request)",
    )
    insured: bool = Field(
        default=True, description="false when no insurance is billed (the patient pays the clinic)"
    )
    notices: tuple[str, ...] = Field(
        default=(),
        description="the estimate's warnings in plain words for the patient, in the answer's "
        "language (the billing text stays in `estimate.warnings`), and, when the plan leaves "
        "items at the clinic's self-pay price, that a Good Faith Estimate is owed for them",
    )


class LineExplanation(Model):
    """One line of a visit, in plain words (``ketacost._plain``)."""

    what: str = Field(description="what the charge is, in words a patient knows")
    why: str = Field(
        description="what the plan allows and pays and what the patient pays, and as what"
    )
    details: str = Field(
        description="the codes and the rule, for a details view (billing words, in English "
        "whatever the answer's language)"
    )
    not_covered: str | None = Field(
        description="why the plan does not pay for it (none when it covers it)"
    )


class VisitExplanation(Model):
    """A visit's lines, in plain words, in the estimate's line order."""

    visit: int = Field(description="the visit's number (as in `estimate.visits`)")
    lines: tuple[LineExplanation, ...]


class EstimateResponse(EstimateSummaryResponse):
    """The answer to ``POST /v1/estimate``: the summary and the whole estimate, line by line."""

    estimate: Estimate
    explanations: tuple[VisitExplanation, ...] = Field(
        default=(),
        description="each visit of `estimate.visits`, in order, line by line in plain words",
    )


@dataclass(frozen=True)
class _Case:
    status: AuthorizationStatus
    label: str


_NOT_SURE_CASES = (
    _Case("approved", N_("if prior authorization is approved")),
    _Case("pending", N_("if prior authorization is not (yet) approved")),
)


class Calculator:
    """The configured clinic, payers and treatments, and the estimates they give."""

    def __init__(self, resolved: Resolved, today: Callable[[], date] = date.today) -> None:
        self.resolved = resolved
        self.clinic = resolved.clinic
        self.library = resolved.library
        self.limits = resolved.config.limits
        self.today = today
        #: Each session's description, per language (the first visit's label).
        self._labels = {
            lang: {sid: resolved.session_text(sid, lang) for sid in self.clinic.sessions}
            for lang in LANGUAGES
        }
        self.labels = self._labels["en"]
        self._treatments = {
            lang: {
                tid: self._treatment_info(tid, t, translator(lang, "web"))
                for tid, t in resolved.treatments.items()
            }
            for lang in LANGUAGES
        }
        #: The treatments, in English (see :meth:`treatments_in`).
        self.treatments = self._treatments["en"]
        self.payers = tuple(self._payer_info(pid) for pid in resolved.offered)
        self._payers_in = {
            lang: tuple(
                p.model_copy(update={"name": resolved.payer_name(p.id, lang)}) for p in self.payers
            )
            for lang in LANGUAGES
        }
        #: The first day the clinic can bill every session (the page's earliest start).
        self.first_day = _first_day(self.clinic)

    # ---- listings -----------------------------------------------------------------------
    def payers_in(self, lang: str) -> tuple[PayerInfo, ...]:
        """The offered payers with their names in ``lang`` (``payers`` has them in English).

        Raises:
            UnknownLanguageError: ``lang`` is not one of ``en``, ``es``.
        """
        return self._payers_in[check_language(lang)]

    def treatments_in(self, lang: str) -> dict[str, TreatmentInfo]:
        """The treatments with their text in ``lang``.

        The name, description, each phase's name, session description and cadence (English
        where the configuration gives none).

        Raises:
            UnknownLanguageError: ``lang`` is not one of ``en``, ``es``.
        """
        return self._treatments[check_language(lang)]

    def _treatment_info(self, tid: str, treatment: Treatment, t: Translator) -> TreatmentInfo:
        text = treatment.text(t.lang)
        assert text.phases is not None  # Treatment.text names every phase
        phases = tuple(
            PhaseInfo(
                name=name,
                session=p.session,
                session_description=self._labels[t.lang][p.session],
                sessions=p.count,
                cadence=cadence(p, treatment.closed_weekdays, t),
                self_pay=self.clinic.sessions[p.session].self_pay,
            )
            for name, p in zip(text.phases, treatment.phases, strict=True)
        )
        return TreatmentInfo(
            id=tid,
            name=text.name,
            description=text.description,
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
    @overload
    def estimate_json(
        self, text: str, lang: str = ..., *, explain: bool = ..., summary: Literal[False] = ...
    ) -> EstimateResponse: ...

    @overload
    def estimate_json(
        self, text: str, lang: str = ..., *, explain: bool = ..., summary: bool
    ) -> EstimateSummaryResponse: ...

    def estimate_json(
        self, text: str, lang: str = "en", *, explain: bool = True, summary: bool = False
    ) -> EstimateSummaryResponse:
        """Estimate a JSON body: the patient's answers, or a full library request.

        Args:
            text: the body.
            lang: the language of the answer's text (``en``, ``es``).
            explain: False leaves ``explanations`` empty.
            summary: the summary form (``?detail=summary``): an answer to the patient's
                answers is an ``EstimateSummaryResponse`` (the answer without ``estimate``
                and ``explanations``), figured without the lines (:meth:`estimate_input`);
                one to a library request is still whole.

        Raises:
            BodyError: the text is not one JSON document.
            RequestFileError: it is JSON but not a valid request (each issue names its
                field, line and column).
            KetacostError: the request cannot be estimated (also ``UnknownLanguageError``
                for a ``lang`` ketacost does not speak).
        """
        check_language(lang)
        data, source = parse_json(text, BODY, BodyError)
        if isinstance(data, dict) and "plan" in data:
            request = self._full_request(data, source)
            return self.estimate_request(request, source, lang, explain=explain and not summary)
        try:
            answers = validate(CalculatorInput, data, source, RequestFileError)
        except RequestFileError as exc:
            raise _clearer(exc, translator(lang, "web")) from None
        if summary:
            return self.estimate_input(answers, source, lang, summary=True)
        return self.estimate_input(answers, source, lang, explain=explain)

    @overload
    def estimate_input(
        self,
        answers: CalculatorInput,
        source: SourceMap | None = ...,
        lang: str = ...,
        *,
        explain: bool = ...,
        summary: Literal[False] = ...,
    ) -> EstimateResponse: ...

    @overload
    def estimate_input(
        self,
        answers: CalculatorInput,
        source: SourceMap | None = ...,
        lang: str = ...,
        *,
        explain: bool = ...,
        summary: bool,
    ) -> EstimateSummaryResponse: ...

    def estimate_input(
        self,
        answers: CalculatorInput,
        source: SourceMap | None = None,
        lang: str = "en",
        *,
        explain: bool = True,
        summary: bool = False,
    ) -> EstimateSummaryResponse:
        """Estimate the patient's answers (see :class:`CalculatorInput`), text in ``lang``.

        With ``summary``, the summary form: each outcome adjudicated without building its
        lines (each visit's totals suffice), the same figures and words, to the byte, as the
        full answer's but for its ``estimate`` and ``explanations``.
        """
        t = translator(lang, "web")
        src = source or SourceMap.empty(BODY)
        treatment = self.resolved.treatments.get(answers.treatment)
        if treatment is None:
            known = ", ".join(self.resolved.treatments)
            message = t.gettext("unknown treatment {given} (known: {known})")
            raise _error(
                src, "treatment", message.format(given=repr(answers.treatment), known=known)
            )
        payer_id = "self-pay" if answers.insurance == NO_INSURANCE else answers.insurance
        if payer_id not in self.resolved.offered and payer_id != "self-pay":
            known = ", ".join((*self.resolved.offered, NO_INSURANCE))
            message = t.gettext(
                "this clinic's calculator does not offer {given} (choose one of: {known})"
            )
            raise _error(
                src, "insurance", message.format(given=repr(answers.insurance), known=known)
            )
        second_id = self._check_other_coverage(answers, payer_id, src, t)
        start = answers.start or self.today()
        if start < self.first_day:
            message = t.gettext(
                "{clinic}'s billing codes start on {first}; choose a first visit on or after "
                "{first} (got {start})"
            )
            # English keeps ISO days (as the API's dates); another language says them in words
            day = (lambda d: d.isoformat()) if t.lang == "en" else (lambda d: t.date(d, "long"))
            raise _error(
                src,
                "start",
                message.format(
                    clinic=self.clinic.name, first=day(self.first_day), start=day(start)
                ),
            )
        plan = treatment.plan(start)
        self._check_plan(plan, src)
        self._check_met(answers, payer_id, plan.start, src, t)
        insured = bool(self.library[payer_id].networks)
        cases = (
            _NOT_SURE_CASES
            if answers.prior_authorization == "not_sure" and insured
            else (_Case(_status(answers.prior_authorization), ""),)
        )
        if summary:
            return self._summary_answer(
                answers, treatment, plan, start, payer_id, second_id, cases, insured, t
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
        summaries = [summarize(e, start, self._labels[t.lang]) for e in estimates]
        answer_range = _range(cases, summaries, t)
        return EstimateResponse(
            treatment=self._treatments[t.lang][answers.treatment],
            summary=summaries[-1],
            range=answer_range,
            assumptions=self._assumptions(
                answers, treatment, payer_id, shown, second_id, t, ranged=answer_range is not None
            ),
            lang=t.lang,
            payer_name=self.resolved.payer_name(payer_id, t.lang),
            insured=insured,
            notices=notices(main, self.resolved.payer_name(payer_id, t.lang), t, insured=insured),
            estimate=main,
            explanations=explanations(main, t.lang) if explain else (),
        )

    def _summary_answer(
        self,
        answers: CalculatorInput,
        treatment: Treatment,
        plan: Plan,
        start: date,
        payer_id: str,
        second_id: str | None,
        cases: tuple[_Case, ...],
        insured: bool,
        t: Translator,
    ) -> EstimateSummaryResponse:
        """The summary form of :meth:`estimate_input`: each case's totals, visit by visit.

        The library's range (``estimate.range``) is not part of it, and is not figured.
        """
        requests = [
            self._request(answers, treatment, plan, payer_id, c.status, second_id) for c in cases
        ]
        found = [self._adjudicated(partial(adjudicate_totals, r, self.library, by_visit=True))
                 for r in requests]  # fmt: skip
        labels = self._labels[t.lang]
        summaries = [
            summarize_visits(
                f.by_visit,
                f.plan_years,
                f.totals.patient_net,
                start,
                labels,
                second_payer_name=(
                    f.coordination[0].secondary_payer_name if f.coordination else None
                ),
            )
            for f in found
        ]
        answer_range = _range(cases, summaries, t)
        others = tuple(c.status for c in cases[:-1])
        shown = self._request(
            answers, treatment, plan, payer_id, cases[-1].status, second_id, others
        )
        lines: list[EstimateLine] = []

        def line_of(code: str) -> EstimateLine | None:
            # a notice names what a line is: only then are the shown case's lines made
            if not lines:
                lines.extend(self._run(requests[-1], with_range=False).lines())
            return next((ln for ln in lines if ln.code == code), None)

        payer_name = self.resolved.payer_name(payer_id, t.lang)
        return EstimateSummaryResponse(
            treatment=self._treatments[t.lang][answers.treatment],
            summary=summaries[-1],
            range=answer_range,
            assumptions=self._assumptions(
                answers, treatment, payer_id, shown, second_id, t, ranged=answer_range is not None
            ),
            lang=t.lang,
            payer_name=payer_name,
            insured=insured,
            notices=notices_of(
                found[-1].warnings,
                line_of,
                payer_name,
                t,
                good_faith_estimate_owed=good_faith_estimate_owed(
                    found[-1].totals.non_covered, insured=insured
                ),
            ),
        )

    def _check_other_coverage(
        self, answers: CalculatorInput, payer_id: str, src: SourceMap, t: Translator
    ) -> str | None:
        """The second payer the answers name, checked against the insurance; None for none.

        A Medigap plan is not insurance on its own (it pays after Original Medicare), and a
        second payer must be one this clinic offers whose payer file follows the insurance's
        kind.
        """
        payer = self.library[payer_id]
        if _pays_only_second(payer):
            firsts = ", ".join(
                self.resolved.payer_name(p, t.lang)
                for p in self.resolved.offered
                if payer_id in self._second_payers(p)
            )
            name = self.resolved.payer_name(payer_id, t.lang)
            message = t.gettext(
                "{payer} pays only after another plan ({first}): choose that plan as your "
                "insurance and {payer} as your other coverage"
            )
            first = firsts or t.gettext("Original Medicare")
            raise _error(src, "insurance", message.format(payer=name, first=first))
        second = answers.other_coverage
        if second is None or second == NO_INSURANCE:
            return None
        allowed = self._second_payers(payer_id)
        if second not in allowed:
            choices = ", ".join((*allowed, NO_INSURANCE))
            known = self.library.get(second)
            what = repr(second) if known is None else self.resolved.payer_name(second, t.lang)
            message = t.gettext(
                "this calculator does not offer {other} as other coverage after {payer} "
                "(choose one of: {choices})"
            )
            raise _error(
                src,
                "other_coverage",
                message.format(
                    other=what, payer=self.resolved.payer_name(payer_id, t.lang), choices=choices
                ),
            )
        return second

    def _check_met(
        self, answers: CalculatorInput, payer_id: str, start: date, src: SourceMap, t: Translator
    ) -> None:
        """What the patient has met may not contradict itself nor exceed the plan's amounts.

        The same rules as a request's starting accumulators (issue 11 §6), named by the
        answers' fields; in Spanish, said in the patient's words (English keeps the library's
        message, which names the payer file's field).
        """
        ded, oop = answers.deductible_met, answers.out_of_pocket_met
        if ded is not None and oop is not None and oop.cents and oop < ded:
            message = met_order_message("deductible_met", ded, "out_of_pocket_met", oop)
            if t.lang != "en":
                message = t.gettext(
                    "out_of_pocket_met ({oop}) is below deductible_met ({deductible}): "
                    "deductible paid counts toward the out-of-pocket maximum"
                ).format(oop=t.money(oop), deductible=t.money(ded))
            raise _error(src, "out_of_pocket_met", message)
        accumulators = _accumulators(answers, start)
        if accumulators is None:
            return
        payer = self.library[payer_id]
        coverage = Coverage(payer=payer_id, network=answers.network, accumulators=accumulators)
        problems = accumulator_problems((), coverage, payer)
        if problems:
            issues = [
                issue_at(
                    src,
                    (loc[1],),
                    message if t.lang == "en" else _above_the_plan(loc[1], coverage, payer, t),
                )
                for loc, message in problems
            ]
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
        self,
        request: EstimateRequest,
        source: SourceMap | None = None,
        lang: str = "en",
        *,
        explain: bool = True,
    ) -> EstimateResponse:
        """Estimate a full library request, text in ``lang``.

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
        language = check_language(lang)
        return EstimateResponse(
            treatment=None,
            summary=summarize(estimate, request.plan.start, self._labels[language]),
            range=None,
            assumptions=(),
            lang=language,
            estimate=estimate,
            explanations=explanations(estimate, language) if explain else (),
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
        if with_range:
            return self._adjudicated(lambda: adjudicate(request, self.library))
        return self._adjudicated(lambda: adjudicate_plan(request, self.library))

    @staticmethod
    def _adjudicated(run: Callable[[], _T]) -> _T:
        """``run()``: an estimate, or its totals; a date past the calendar is the plan's error."""
        try:
            return run()
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
        shown: EstimateRequest,
        second_id: str | None,
        t: Translator,
        *,
        ranged: bool,
    ) -> tuple[str, ...]:
        """What the estimate takes as given, in words: every answer that is not the default.

        Made from the request the figures were computed from (``shown``: its plan, coverage
        and starting accumulators), so the list cannot say one thing while the figures count
        another.
        """
        payer = self.library[payer_id]
        coverage, plan = shown.coverage, shown.plan
        text = treatment.text(t.lang)
        out = [t.gettext("Treatment: {treatment}.").format(treatment=text.name)]
        when = t.date(plan.start, "long")
        first = (
            t.gettext("The first visit is on or after {date}.")
            if answers.start is not None
            else t.gettext("The first visit is on or after {date} (today).")
        ).format(date=when)
        closed = plan.closed_weekdays
        out.append(
            first
            + " "
            + (
                t.gettext("The clinic is closed on {days}.").format(days=_weekdays(closed, t))
                if closed
                else t.gettext("The clinic is open every day of the week.")
            )
        )
        out.append(
            t.gettext("The clinic's prices are those of {clinic}.").format(clinic=self.clinic.name)
        )
        out.append(t.gettext("Age: {age}.").format(age=t.number(answers.age)))
        if not payer.networks:
            out.append(
                t.gettext(
                    "No insurance is billed: the clinic's self-pay prices and packages apply."
                )
            )
            unused = self._unused_without_insurance(answers, t)
            if unused:
                out.append(
                    t.gettext(
                        "Without insurance, these answers do not change the cost: {answers}."
                    ).format(answers=t.join(unused))
                )
        else:
            out.append(
                (
                    t.gettext("Insurance: {payer}; the clinic is in its network.")
                    if coverage.network == "in"
                    else t.gettext("Insurance: {payer}; the clinic is out of its network.")
                ).format(payer=self.resolved.payer_name(payer_id, t.lang))
            )
            out.append(_authorization_words(answers.prior_authorization, t, ranged=ranged))
            out.append(
                t.ngettext(
                    "Diagnosis: depression ({codes}); {n} antidepressant tried before.",
                    "Diagnosis: depression ({codes}); {n} antidepressants tried before.",
                    shown.patient.failed_trials,
                ).format(
                    codes=t.join(shown.patient.diagnoses), n=t.number(shown.patient.failed_trials)
                )
            )
            network = payer.networks.get(coverage.network)
            has_maximum = network is not None and network.out_of_pocket_max is not None
            out += _met_words(coverage.accumulators, t, has_maximum=has_maximum)
        if second_id is not None:
            out.append(
                t.gettext(
                    "{second} pays second, on what {payer} leaves to you (coordination of "
                    "benefits); it is taken to have answered prior authorization as {payer} did."
                ).format(
                    second=self.resolved.payer_name(second_id, t.lang),
                    payer=self.resolved.payer_name(payer_id, t.lang),
                )
            )
        for named in (payer, *((self.library[second_id],) if second_id else ())):
            if named.metadata.illustrative:
                out.append(
                    t.gettext(
                        "{payer}'s figures are examples of a typical plan, not your plan's."
                    ).format(payer=self.resolved.payer_name(named.id, t.lang))
                )
        return tuple(out)

    @staticmethod
    def _unused_without_insurance(answers: CalculatorInput, t: Translator) -> list[str]:
        """The insurance answers given (not the defaults) that self-pay does not use."""
        unused = []
        if answers.network != "in":
            unused.append(t.gettext("the clinic out of network"))
        if answers.prior_authorization != "not_sure":
            unused.append(
                t.gettext("prior authorization {answer}").format(
                    answer=t.gettext(_AUTHORIZATION_ANSWERS[answers.prior_authorization])
                )
            )
        if answers.failed_trials != 2:
            unused.append(
                t.ngettext(
                    "{n} antidepressant tried", "{n} antidepressants tried", answers.failed_trials
                ).format(n=t.number(answers.failed_trials))
            )
        if answers.deductible_met is not None:
            unused.append(
                t.gettext("{amount} of the deductible met").format(
                    amount=t.money(answers.deductible_met)
                )
            )
        if answers.out_of_pocket_met is not None:
            unused.append(
                t.gettext("{amount} paid toward the out-of-pocket maximum").format(
                    amount=t.money(answers.out_of_pocket_met)
                )
            )
        return unused


#: The prior authorization answers but "not_sure", in words (after "prior authorization").
_AUTHORIZATION_ANSWERS: dict[str, str] = {
    "approved": N_("approved"),
    "denied": N_("denied"),
    "pending": N_("requested, not decided yet"),
    "not_requested": N_("not requested"),
}


def _authorization_words(answer: PriorAuthorization, t: Translator, *, ranged: bool) -> str:
    if answer != "not_sure":
        return t.gettext("Prior authorization: {answer}.").format(
            answer=t.gettext(_AUTHORIZATION_ANSWERS[answer])
        )
    if ranged:
        return t.gettext(
            "Prior authorization: not known yet; the range gives the cost if it is approved "
            "and if it is not."
        )
    return t.gettext(
        "Prior authorization: not known yet; whether it is approved does not change this estimate."
    )


def _met_words(
    accumulators: StartingAccumulators | None, t: Translator, *, has_maximum: bool = True
) -> list[str]:
    """What the patient has met this plan year, as the estimate counts it.

    A plan without an out-of-pocket maximum (Original Medicare) gets no word about one.

    The deductible met counts toward the out-of-pocket maximum: with no out-of-pocket amount
    (or 0, which is "not given"), the estimate starts the maximum at the deductible met.
    """
    if accumulators is None:
        return [
            t.gettext(
                "Nothing is paid yet toward this plan year's deductible or out-of-pocket maximum."
            )
            if has_maximum
            else t.gettext("Nothing is paid yet toward this plan year's deductible.")
        ]
    deductible = accumulators.deductible_met.individual
    out_of_pocket = accumulators.out_of_pocket_met.individual
    on = t.date(accumulators.as_of, "long")
    words = [
        t.gettext("Deductible already met this plan year, as of {date}: {amount}.").format(
            date=on, amount=t.money(deductible)
        )
        if deductible.cents
        else t.gettext("None of this plan year's deductible is met yet.")
    ]
    if not has_maximum:
        return words
    if out_of_pocket.cents:
        words.append(
            (
                t.gettext(
                    "Already paid toward this plan year's out-of-pocket maximum: {amount} "
                    "(the deductible met, {deductible}, counts toward it and is part of this)."
                )
                if deductible.cents
                else t.gettext(
                    "Already paid toward this plan year's out-of-pocket maximum: {amount}."
                )
            ).format(amount=t.money(out_of_pocket), deductible=t.money(deductible))
        )
    elif deductible.cents:
        words.append(
            t.gettext(
                "Already paid toward this plan year's out-of-pocket maximum: {amount}, the "
                "deductible met (deductible paid counts toward the maximum)."
            ).format(amount=t.money(deductible))
        )
    else:
        words.append(
            t.gettext("Nothing is paid yet toward this plan year's out-of-pocket maximum.")
        )
    return words


def _weekdays(days: tuple[Weekday, ...], t: Translator) -> str:
    """The days in words, in ``t``'s language (``ketacost._plain.weekdays``)."""
    return _plain.weekdays(days, t.lang)


def cadence(phase: Phase, closed_weekdays: tuple[Weekday, ...], t: Translator) -> str:
    """How often a phase's sessions happen, in ``t``'s language (``ketacost._plain.cadence``)."""
    return _plain.cadence(phase, closed_weekdays, t.lang)


#: A result line's fields but those of its visit (number, date, accumulators), which its
#: plain explanation never reads.
_NOT_PER_VISIT = operator.itemgetter(
    *(
        name
        for name in EstimateLine.model_fields
        if name not in {"visit", "date", "accumulators_before", "accumulators_after"}
    )
)


def explanations(estimate: Estimate, lang: Language) -> tuple[VisitExplanation, ...]:
    """Each visit's lines in plain words (``ketacost._plain``), in the estimate's order.

    Lines alike in everything but their visit (a plan's repeated sessions) are explained
    once: the words read no field of the visit. Found first by the identity of their values
    (the engine's visit memo repeats a visit's values, not copies: nothing is hashed), then
    by the values themselves (lines equal but built apart).
    """
    by_identity: dict[tuple[int, ...], LineExplanation] = {}
    made: dict[tuple[object, ...], LineExplanation] = {}

    def explain(line: EstimateLine) -> LineExplanation:
        values = _NOT_PER_VISIT(line.__dict__)
        key = tuple(map(id, values))  # the estimate keeps the values alive
        found = by_identity.get(key)
        if found is not None:
            return found
        found = made.get(values)
        if found is None:
            found = made[values] = LineExplanation(
                what=_plain.describe(line, lang),
                why=_plain.why(line, lang),
                details=_plain.details(line),
                not_covered=_plain.not_covered_reason(line, lang),
            )
        by_identity[key] = found
        return found

    return tuple(
        VisitExplanation(visit=visit.number, lines=tuple(explain(line) for line in visit.lines))
        for visit in estimate.visits
    )


def _accumulators(answers: CalculatorInput, start: date) -> StartingAccumulators | None:
    """What the patient has met, as of the first visit (an amount not given is 0: not given)."""
    if answers.deductible_met is None and answers.out_of_pocket_met is None:
        return None
    return StartingAccumulators(
        as_of=start,
        deductible_met=FamilyAmounts(individual=answers.deductible_met or Money(0)),
        out_of_pocket_met=FamilyAmounts(individual=answers.out_of_pocket_met or Money(0)),
    )


def _above_the_plan(field: str | int, coverage: Coverage, payer: Payer, t: Translator) -> str:
    """An amount met above the plan's own, in the patient's words (not the payer file's)."""
    accumulators, network = coverage.accumulators, payer.networks[coverage.network]
    assert accumulators is not None
    if field == "deductible_met":
        met, limit = accumulators.deductible_met.individual, network.deductible.individual
        message = t.gettext("{amount} is more than your plan's deductible, {plan_amount}")
    else:
        assert network.out_of_pocket_max is not None  # no maximum: nothing to be above
        met, limit = accumulators.out_of_pocket_met.individual, network.out_of_pocket_max.individual
        message = t.gettext(
            "{amount} is more than your plan's out-of-pocket maximum, {plan_amount}"
        )
    start = coverage.plan_year_of(accumulators.as_of, payer.plan_year_start)
    plan_amount = limit.in_plan_year(accumulators.as_of, start)  # the plan year's, as checked
    return message.format(amount=t.money(met), plan_amount=t.money(plan_amount))


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


def _range(cases: tuple[_Case, ...], summaries: list[Summary], t: Translator) -> AnswerRange | None:
    years = [s.first_year for s in summaries]
    if len(cases) < 2 or min(years) == max(years):
        return None
    return AnswerRange(
        unknown=t.gettext("whether prior authorization is approved"),
        low=min(years),
        expected=max(years),
        high=max(years),
        basis=t.gettext(
            "the first year's cost if prior authorization is approved and if it is not; the "
            "table and chart show the higher"
        ),
        cases=tuple(
            RangeCase(
                label=t.gettext(c.label),
                prior_authorization=c.status,
                first_session=s.first_session,
                first_month=s.first_month,
                first_year=s.first_year,
                first_year_plan_pays=s.first_year_plan_pays,
                total=s.total,
            )
            for c, s in zip(cases, summaries, strict=True)
        ),
    )


#: What each of the answers' fields takes, said to the patient in place of the validator's
#: English (in a language other than English; English keeps the validator's words).
_FIELD_WORDS: dict[str, str] = {
    "treatment": N_("choose one of the treatments in the list"),
    "insurance": N_("choose your insurance in the list, or “No insurance”"),
    "other_coverage": N_("choose your other coverage in the list, or “No other coverage”"),
    "network": N_("say whether the clinic is in your plan's network"),
    "prior_authorization": N_("choose one of the answers about your plan's approval"),
    "age": N_("write your age in years, a whole number from 0 to 130"),
    "failed_trials": N_(
        "write how many antidepressants you have tried, a whole number from 0 to 50"
    ),
    "deductible_met": N_("write the amount in dollars, for example $250 or $1,200.50"),
    "out_of_pocket_met": N_("write the amount in dollars, for example $250 or $1,200.50"),
    "start": N_("choose a date between {earliest} and {latest}"),
}


def _clearer(exc: RequestFileError, t: Translator) -> RequestFileError:
    """The validation error with a missing insurance said as a question to answer.

    The page asks for the insurance (no insurer is chosen for the patient): a body without it
    is refused, saying how to answer it. In a language other than English, each issue of one
    of the answers' fields is said in the patient's words (:data:`_FIELD_WORDS`).
    """

    def said(issue: FileIssue) -> FileIssue:
        field = (issue.field or "").split(".")[0]
        if t.lang != "en" and field in _FIELD_WORDS:
            earliest, latest = (t.date(d, "long") for d in (_EARLIEST, _LATEST))
            words = t.gettext(_FIELD_WORDS[field]).format(earliest=earliest, latest=latest)
            return replace(issue, message=words)
        if issue.field == "insurance" and issue.message == "required field is missing":
            return replace(
                issue,
                message=f"{issue.message}: choose your insurance (a payer id from GET "
                f"/v1/payers), or {NO_INSURANCE!r} for no insurance; none is assumed",
            )
        return issue

    return type(exc)([said(issue) for issue in exc.issues], omitted=exc.omitted)


def _error(source: SourceMap, field: str, message: str) -> RequestFileError:
    return RequestFileError([issue_at(source, tuple(field.split(".")), message)])
