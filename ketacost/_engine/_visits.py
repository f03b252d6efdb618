"""The visit loop (contract rules 1 and 10).

Each visit in date order under the coverage in force on its date, plan years opening and
closing, starting accumulators, and the estimate they add up to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from ketacost._clinic import Clinic, TemplateLine
from ketacost._dated import Dated
from ketacost._errors import EstimateError
from ketacost._estimate import (
    Accumulators,
    Coordination,
    Estimate,
    EstimateLine,
    PlanYearSummary,
    Totals,
    VisitEstimate,
)
from ketacost._money import Money
from ketacost._order import age_when_it_starts, decide_order
from ketacost._payer import Payer
from ketacost._plan import VisitTuple, schedule
from ketacost._request import Coverage, EstimateRequest
from ketacost._savings import SavingsProgram
from ketacost._types import builder
from ketacost._version import __version__

from . import _explain as explain
from . import _memo
from ._approvals import Counted
from ._billing import bill_visit, pay_assistance
from ._coordination import coordinate, second_in_force
from ._coverage import CoverageInForce, RulesKey, has_value_on, value_on, yearly_until
from ._hash import rules_hash
from ._ledger import (
    TOTAL_FIELDS,
    Accumulated,
    BillLine,
    add_line,
    column_sums,
    post_lines,
    totals,
)
from ._remaining import remaining
from ._results import Met, PlanFacts, PlanTotals, VisitTotals
from ._savings import Assistance
from ._self_pay import (
    cash_total,
    price_lines,
    price_not_covered,
    self_pay_items,
    self_pay_prices,
    session_price,
)

__all__ = [
    "adjudicate_plan",
    "adjudicate_totals",
    "adjudicate_with_facts",
]

_visit = builder(VisitEstimate)
_plan_year = builder(PlanYearSummary)
_estimate = builder(Estimate)
_coordination = builder(Coordination)
_QMB = (
    "the patient is a Qualified Medicare Beneficiary ({}): the clinic may not bill the patient "
    "any Medicare deductible or coinsurance (SSA §1902(n)(3)(B); 42 U.S.C. 1396d(p)(3))"
)


#: A session's billing variant, template lines, codes, charges and coverage rules in force
#: (``CoverageInForce.rules_key``; None: a decision depends on a session limit).
_Shape = tuple[str, tuple[TemplateLine, ...], list[str], list[int], RulesKey | None]


@dataclass
class _Year:
    """The plan year being added up: its coverage, start, visits and sums."""

    coverage: int
    start: date
    accumulated: Accumulated
    opened: Accumulators
    rows: list[list[int]] = field(default_factory=list)
    visits: int = 0


def _plan_year_terms(coverage: CoverageInForce) -> Iterator[tuple[str, Dated[Money]]]:
    """A coverage's plan-year amounts, each with its name in a warning.

    The deductible and the maximum (their family amounts on family coverage) and, for a
    pharmacy benefit with its own accumulators, the benefit's own.
    """
    network = coverage.network
    if network is None or coverage.self_pay:
        return
    cap = network.out_of_pocket_max
    terms = (("deductible", network.deductible), ("out-of-pocket maximum", cap))
    for what, amounts in terms:
        if amounts is None:
            continue
        yield what, amounts.individual
        if coverage.family and amounts.family is not None:
            yield f"family {what}", amounts.family
    pharmacy = coverage.pharmacy
    if pharmacy is not None and pharmacy.accumulators == "separate":
        own = (
            ("pharmacy deductible", pharmacy.deductible),
            ("pharmacy out-of-pocket maximum", pharmacy.out_of_pocket_max),
        )
        yield from ((what, value) for what, value in own if value is not None)


def adjudicate_plan(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
    *,
    lines: bool = True,
) -> Estimate:
    """Every visit of ``request``'s plan, adjudicated; the estimate without a range.

    With ``lines=False`` the estimate has its totals, plan years, assistance and warnings but
    no visits: no result line or explanation text is built (the batch's path).
    """
    return _run(request, payers, programs, lines=lines)[1]


def adjudicate_with_facts(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
) -> tuple[Estimate, PlanFacts]:
    """:func:`adjudicate_plan`, and the facts of the run (:class:`PlanFacts`)."""
    plan, found = _run(request, payers, programs, lines=True)
    assumed = any(
        c.cov.authorization_renewal == "expected" and c.approvals.renewals for c in plan.coverages
    )
    return found, PlanFacts(assumed, cash_total(request.clinic, plan.visits))


def _run(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
    *,
    lines: bool,
    by_visit: bool = False,
) -> tuple[_Plan, Estimate]:
    """Run the plan; again when a package turns out to price visits the plan does not cover.

    Which visits no line of is covered is known only once they are billed; coverage never
    depends on what a non-covered item costs, so the second run decides every line the same
    way and only prices those visits as the package's sessions (contract rule 3).
    """
    plan = _Plan(request, payers, programs, lines=lines, by_visit=by_visit)
    found = plan.run()
    if plan.repackage():
        plan = _Plan(request, payers, programs, lines=lines, by_visit=by_visit,
                     wholly_not_covered=plan.wholly)  # fmt: skip
        found = plan.run()
    return plan, found


def adjudicate_totals(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
    *,
    by_visit: bool = False,
) -> PlanTotals:
    """Every visit of ``request``'s plan adjudicated, keeping only the totals.

    No result line and no explanation text is built. With ``by_visit``, each visit's totals
    and accumulators too (:class:`VisitTotals`).
    """
    plan, found = _run(request, payers, programs, lines=False, by_visit=by_visit)
    visits = plan.visits
    return PlanTotals(
        totals=found.totals,
        plan_years=found.plan_years,
        visits=len(visits),
        first_visit=visits[0][1] if visits else None,
        last_visit=visits[-1][1] if visits else None,
        warnings=found.warnings,
        by_visit=tuple(plan.by_visit or ()),
        coordination=found.coordination,
    )


def _in_force(
    request: EstimateRequest,
    cov: Coverage,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram],
) -> CoverageInForce:
    """A coverage in force, with its second payer when it has one (in the order of benefits)."""
    first, second, order = decide_order(cov, payers, age=age_when_it_starts(request, cov))
    found = CoverageInForce(request, first, payers, programs)
    if second is not None:
        found.second = second_in_force(request, found, second, payers, programs, order)
    return found


def _starting(cov: Coverage, payer: Payer, start: date) -> Accumulated:
    """A plan year's accumulators (rule 1).

    Zero, or the coverage's starting ones when they belong to the plan year from ``start``.
    """
    accumulated = Accumulated()
    starting = cov.accumulators
    if starting is not None and start == payer.plan_year_start.year_of(starting.as_of):
        ded = starting.deductible_met
        oop = starting.out_of_pocket_met
        accumulated.deductible_individual = ded.individual.cents
        accumulated.deductible_family = max(ded.family.cents, ded.individual.cents)
        # Deductible paid counts toward the maximum, so what is met of the maximum is at least
        # what is met of the deductible.
        accumulated.out_of_pocket_individual = max(
            oop.individual.cents, accumulated.deductible_individual
        )
        accumulated.out_of_pocket_family = max(
            oop.family.cents,
            accumulated.out_of_pocket_individual,
            accumulated.deductible_family,
        )
        accumulated.sessions = dict(starting.sessions_used)
    return accumulated


def _first_sessions(clinic: Clinic, visits: list[VisitTuple]) -> frozenset[int]:
    """The visits a package may price when the plan does not cover them.

    A package prices "the first N sessions of its template": a visit of an insured plan that
    the plan covers nothing of counts toward it only when it is among the first N visits of
    its session in the plan (boosters after a covered induction are not "the first 6").
    """
    sizes = {p.session: p.sessions for p in clinic.packages}
    seen: dict[str, int] = {}
    out = set()
    for i, v in enumerate(visits):
        n = seen.get(v.session, 0)
        seen[v.session] = n + 1
        if n < sizes.get(v.session, 0):
            out.add(i)
    return frozenset(out)


def _to_pharmacy(lines: list[BillLine], coverage: CoverageInForce, on: date) -> None:
    """The drug lines a specialty pharmacy bills under the pharmacy benefit (issue 11 §4).

    Their charge is the pharmacy's rate × units; the clinic bills the rest of the visit.
    """
    ph = coverage.pharmacy
    assert ph is not None
    for line in lines:
        if line.template.drug and line.code in ph.codes:
            unit = value_on(ph.rates[line.code], on, f"pharmacy rate for {line.code}").cents
            line.clinic_charge, line.charge = line.charge, unit * line.template.units
            line.pharmacy = True


class _Plan:
    def __init__(
        self,
        request: EstimateRequest,
        payers: Mapping[str, Payer],
        programs: Mapping[str, SavingsProgram],
        *,
        lines: bool = True,
        by_visit: bool = False,
        wholly_not_covered: frozenset[int] = frozenset(),
    ) -> None:
        self.request = request
        # Visits of an insured plan none of whose lines is covered: self-pay visits in all
        # but name, so a package counts them (from a first run; see _run).
        self.priced_as_self_pay = wholly_not_covered
        self.wholly: frozenset[int] = frozenset()
        self.found_wholly: set[int] = set()
        self.self_pay_lines: list[tuple[EstimateLine, str, Money]] = []
        self.lines = lines  # False: totals only (no result lines, no explanation text)
        # totals only, with each visit's totals and accumulators (VisitTotals)
        self.by_visit: list[VisitTotals] | None = [] if by_visit and not lines else None
        self.met = Met(0, 0, 0, 0)  # what is met when the visit being billed starts
        self.coverages = [
            _in_force(request, cov, payers, programs)
            for cov in (request.coverage, *request.coverage_periods)
        ]
        self.warnings: list[str] = []
        self.assistance = Assistance()
        self.memo = _memo.Memo()
        self.charged: dict[tuple[str, str], tuple[list[str], list[int]]] = {}
        self.shapes: dict[tuple[int, str, int], _Shape] = {}
        self.warned: set[int] = set()
        self.years: list[PlanYearSummary] = []
        self.year_sums: list[list[int]] = []

    # ---- the plan ----------------------------------------------------------------------
    def run(self) -> Estimate:
        visits = schedule(self.request.plan)
        clinic = self.request.clinic
        for v in visits:
            if v.session not in clinic.sessions:
                raise EstimateError(
                    f"plan phase {v.phase + 1} names session {v.session!r}, which the clinic "
                    f"does not have (known: {', '.join(sorted(clinic.sessions))})"
                )
        which = self._coverage_of(visits)
        first = _first_sessions(clinic, visits)
        priced = [
            (i, v)
            for i, v in enumerate(visits)
            if self.coverages[which[i]].self_pay
            or self.coverages[which[i]].superbill
            or (i in self.priced_as_self_pay and i in first)
        ]
        self.prices = self_pay_prices(clinic, priced) if priced else {}
        self.visits = visits
        out: list[VisitEstimate] = []
        year: _Year | None = None
        running: Accumulators | None = None
        for index, visit in enumerate(visits):
            coverage = self.coverages[which[index]]
            start = coverage.payer.plan_year_start.year_of(visit.day)
            if year is None or (which[index], start) != (year.coverage, year.start):
                if year is not None:
                    self._close(year)
                year = self._open(which[index], start, visit.day)
                running = year.opened
                self.met = Met(*year.accumulated.snapshot_cents())
            assert running is not None
            result = self._visit(index, visit, which[index], year, running)
            if result is not None:
                running = result.lines[-1].accumulators_after
                out.append(result)
        if year is not None:
            self._close(year)
        self.wholly = frozenset(self.found_wholly)
        return self._estimate(out)

    def repackage(self) -> bool:
        """Whether a package would price visits this run found wholly not covered."""
        first = _first_sessions(self.request.clinic, self.visits)
        return bool((self.wholly - self.priced_as_self_pay) & first)

    def _coverage_of(self, visits: list[VisitTuple]) -> list[int]:
        """Which coverage each visit falls under (rule 10)."""
        return [self.request.coverage_index(v.day) for v in visits]

    # ---- plan years ------------------------------------------------------------------------
    def _open(self, index: int, start: date, first_visit: date) -> _Year:
        """A plan year's accumulators (rule 1).

        Zero, or the request's starting ones when they belong to this plan year.
        """
        coverage = self.coverages[index]
        payer = coverage.payer
        starting = coverage.cov.accumulators
        if starting is not None and index not in self.warned and starting.as_of > first_visit:
            self.warned.add(index)
            self.warnings.append(
                f"accumulators for {payer.id} are as of {starting.as_of.isoformat()}, "
                f"after its first visit ({first_visit.isoformat()}); they are applied "
                "from the start of that plan year"
            )
        accumulated = _starting(coverage.cov, payer, start)
        self._note_last_figures(coverage, start)
        return _Year(index, start, accumulated, accumulated.snapshot())

    def _note_last_figures(self, coverage: CoverageInForce, start: date) -> None:
        """Warn when a plan year begins after the last year of an amount set each year.

        The amount of the last year is used (``Dated``: a value holds until the next one);
        the billing staff should check the year's own figure (``yearly_until``).
        """
        for what, value in _plan_year_terms(coverage):
            last = yearly_until(value)
            if last is None or start.year <= last.year:
                continue
            amount = value.at(last)
            warning = explain.last_figure_warning(coverage.payer.name, what, start, last, amount)
            if warning not in self.warnings:
                self.warnings.append(warning)

    def _close(self, year: _Year) -> None:
        coverage = self.coverages[year.coverage]
        start = year.start
        if start.year == date.max.year:  # the last plan year the calendar can hold
            end = date.max
        else:
            end = date(start.year + 1, start.month, start.day) - timedelta(days=1)
        network = coverage.network
        ded = oop = None
        if network is not None and not coverage.self_pay:
            if has_value_on(network.deductible.individual, start):
                ded = network.deductible.individual.at(start)
            limit = network.out_of_pocket_max
            if limit is not None and has_value_on(limit.individual, start):
                oop = limit.individual.at(start)
        sums = column_sums(year.rows)
        self.year_sums.append(sums)
        second = coverage.second
        self.years.append(
            _plan_year(
                {
                    "start": start,
                    "end": end,
                    "payer_id": coverage.payer.id,
                    "payer_name": coverage.payer.name,
                    "visits": year.visits,
                    "totals": totals(sums),
                    "accumulators_start": year.opened,
                    "accumulators_end": year.accumulated.snapshot(),
                    "deductible_individual": ded,
                    "out_of_pocket_max_individual": oop,
                    "secondary_payer_id": None if second is None else second.payer.id,
                    "secondary_accumulators_end": (
                        None if second is None or second.last is None else second.last.snapshot()
                    ),
                }
            )
        )

    # ---- one visit ---------------------------------------------------------------------------
    def _visit(
        self, index: int, visit: VisitTuple, which: int, year: _Year, running: Accumulators
    ) -> VisitEstimate | None:
        number, on, _nominal, _phase, phase_name, session = visit
        coverage = self.coverages[which]
        year.visits += 1
        variant, template_lines, codes, charges, rules = self._shape(which, session, on)
        age = 0 if coverage.self_pay else self.request.patient.age_on(on)
        key, counted, oop_left = self._memo_key(
            index, which, year, session, variant, age, codes, charges, rules, on
        )
        hit = self.memo.get(key, oop_left)
        if hit is not None:
            if counted:
                coverage.count(counted, on)
            if hit.wholly_not_covered:
                self.found_wholly.add(index)
            year.accumulated.add(*hit.credit)
            if not self.lines:
                year.rows.append(hit.sums)
                self._keep_visit(visit, year, hit.totals, hit.credit)
                return None
            lines = _memo.replay(hit, number, on, phase_name, session, running)
            sums, visit_totals = hit.sums, hit.totals
        else:
            bill = [
                BillLine(tl, code, charge)
                for tl, code, charge in zip(template_lines, codes, charges, strict=True)
            ]
            if coverage.pharmacy is not None:
                _to_pharmacy(bill, coverage, on)
            self._bill(index, bill, coverage, on, age, year, number)
            sums = [0] * len(TOTAL_FIELDS)
            second_id = coverage.second.payer.id if coverage.second is not None else None
            if self.lines:
                lines = post_lines(visit, variant, bill, running, sums, coverage.payer.id,
                                   coverage.self_pay, coverage.superbill, second_id)  # fmt: skip
            else:
                for line in bill:
                    add_line(line, coverage.payer.id, coverage.superbill, sums, second_id)
                lines = []
            visit_totals = totals(sums)
            covered = any(line.covered for line in bill)
            if covered:
                self.memo.covered_once.add((which, session, variant))
            if key is not None and (not covered or key[0] == _memo.COVERED):
                wholly = index in self.found_wholly
                entry = _memo.MemoEntry(
                    _memo.statics(lines), sums, visit_totals, _memo.credits(bill), wholly
                )
                self.memo.keep(key, entry, oop_left)
        year.rows.append(sums)
        if not self.lines:
            self._keep_visit(visit, year, visit_totals, _memo.credit_of(_memo.credits(bill)))
            return None
        self._note_self_pay(coverage, lines)
        return _visit(
            {
                "number": number,
                "date": on,
                "phase": phase_name,
                "session": session,
                "plan_year": year.start,
                "payer_id": coverage.payer.id,
                "network": coverage.cov.network,
                "lines": tuple(lines),
                "totals": visit_totals,
            }
        )

    def _keep_visit(
        self, visit: VisitTuple, year: _Year, visit_totals: Totals, credit: tuple[int, int]
    ) -> None:
        """Keep a visit's totals without its lines, when asked to (``by_visit``).

        Its lines would move the accumulators by ``credit`` (deductible, out-of-pocket),
        individual and family alike.
        """
        if self.by_visit is None:
            return
        before = self.met
        ded, oop = credit
        after = Met(before[0] + ded, before[1] + ded, before[2] + oop, before[3] + oop)
        found = VisitTotals(
            visit.number, visit.day, visit.session, year.start, visit_totals, before, after
        )
        self.by_visit.append(found)
        self.met = after

    def _note_self_pay(self, coverage: CoverageInForce, lines: list[EstimateLine]) -> None:
        """Keep the lines billed as self-pay: a Good Faith Estimate is owed for them."""
        if coverage.self_pay or coverage.superbill:
            why = "self-pay" if coverage.self_pay else f"superbill to {coverage.payer.name}"
            self.self_pay_lines += [(ln, why, ln.charge) for ln in lines]
        else:  # the clinic's items only: a pharmacy gives its own estimate
            self.self_pay_lines += [
                (ln, f"not covered: {ln.reason}", ln.patient)
                for ln in lines
                if not ln.covered and ln.billed_by == "clinic" and "GZ" not in ln.modifiers
            ]

    def _shape(self, which: int, session: str, on: date) -> _Shape:
        """A session's billing variant, lines, codes, charges and rules in force on ``on``.

        The same throughout a stretch between change dates (``CoverageInForce.stretch``):
        worked out once per coverage, session and stretch.
        """
        coverage = self.coverages[which]
        key = (which, session, coverage.stretch(on))
        found = self.shapes.get(key) if _memo.ENABLED else None
        if found is None:
            variant, template_lines, codes, charges = self._charged(session, coverage, on)
            units = [tl.units for tl in template_lines]
            rules = None if coverage.self_pay else coverage.rules_key(codes, units, on)
            found = self.shapes[key] = (variant, template_lines, codes, charges, rules)
        return found

    def _charged(
        self, session: str, coverage: CoverageInForce, on: date
    ) -> tuple[str, tuple[TemplateLine, ...], list[str], list[int]]:
        """A session's billing variant, lines, codes and charges on ``on``.

        Remembered per session and variant when no code or charge of it changes with the date.
        """
        clinic = self.request.clinic
        variant, template_lines = clinic.sessions[session].billing(coverage.payer.billing_variants)
        found = self.charged.get((session, variant))
        if found is not None:
            return variant, template_lines, found[0], found[1]
        codes: list[str] = []
        charges: list[int] = []
        dated = False
        for tl in template_lines:
            code = value_on(tl.code, on, "clinic code")
            charge = clinic.chargemaster.get(code)
            if charge is None:
                raise EstimateError(f"clinic chargemaster has no charge for code {code}")
            unit = value_on(charge, on, f"chargemaster {code}")
            dated = dated or not (tl.code.plain and charge.plain)
            codes.append(code)
            charges.append(unit.cents * tl.units)
        if not dated:
            self.charged[(session, variant)] = (codes, charges)
        return variant, template_lines, codes, charges

    def _bill(
        self,
        index: int,
        lines: list[BillLine],
        coverage: CoverageInForce,
        on: date,
        age: int,
        year: _Year,
        number: int,
    ) -> None:
        if coverage.self_pay or coverage.superbill:
            price, rule = self.prices[index]
            price_lines(lines, price, rule, self_pay=coverage.self_pay,
                        payer_name=coverage.payer.name,
                        private_contract=coverage.opted_out)  # fmt: skip
        if coverage.self_pay:
            return
        bill_visit(coverage, lines, on, age, year.accumulated, self.warnings)
        if not coverage.superbill:
            price, rule = self._session_price(index)
            price_not_covered(lines, price, rule, self.request.clinic)
            second = coverage.second
            if second is not None:
                start = second.payer.plan_year_start.year_of(on)
                if start not in second.years:  # the second payer's plan year opens
                    self._note_last_figures(second.coverage, start)
                starting = None if start in second.years else _starting(
                    second.coverage.cov, second.payer, start
                )  # fmt: skip
                coordinate(second, lines, on, age, second.accumulated(on, starting))
            if not any(line.covered for line in lines):
                self.found_wholly.add(index)
        pay_assistance(coverage, lines, on, year.accumulated, self.assistance, number,
                       self.warnings)  # fmt: skip

    def _session_price(self, index: int) -> tuple[int, str]:
        """The self-pay price of a visit's session: a package's share, or the session's."""
        found = self.prices.get(index)
        if found is None:
            found = session_price(self.request.clinic, self.visits[index].session)
        return found

    def _memo_key(
        self,
        index: int,
        which: int,
        year: _Year,
        session: str,
        variant: str,
        age: int,
        codes: list[str],
        charges: list[int],
        rules: RulesKey | None,
        on: date,
    ) -> tuple[tuple[object, ...] | None, tuple[Counted, ...], int | None]:
        """The key under which a visit's lines repeat, or None (see _memo), and what it counts.

        What a repeat counts against approvals: ``CoverageInForce.authorizing``. And for a
        session covered before, what is left of the out-of-pocket maximum (None: no maximum),
        which :meth:`_memo.Memo.get` checks against what a remembered visit adds to it.
        ``rules``: the coverage rules in force for its codes, and whether one counts visits
        against an approval (``CoverageInForce.rules_key``).
        """
        coverage = self.coverages[which]
        if not _memo.ENABLED:
            return None, (), None
        if coverage.second is not None:  # a second payer may cover what the first does not
            return None, (), None
        if coverage.self_pay:
            return (which, session, variant, *codes, *charges, *self.prices[index]), (), None
        if coverage.superbill or coverage.pharmacy is not None or rules is None:
            return None, (), None
        covered_before = (which, session, variant) in self.memo.covered_once
        if covered_before and coverage.program is not None:
            return None, (), None  # a savings program keeps its own state
        ids, counting = rules
        counted: tuple[Counted, ...] = ()
        if counting:
            # Under an approval in force with room for the visit, a line's decision is its
            # rule's alone; past it (ended, used up, renewed or denied) it is not.
            found = coverage.authorizing(counting, on, age)
            if found is None:
                return None, (), None
            counted = found
        price = self._session_price(index)
        stretch = coverage.stretch(on)
        if not covered_before:
            # Not covered so far, by the rules and rates of this stretch: a rate the payer's
            # fee schedule lacks leaves a covered rule's line not covered until it has one.
            key = (which, year.start, stretch, session, variant, age, *codes, *charges,
                   *ids, *price)  # fmt: skip
            return key, counted, None
        # A session covered before: its cost share depends on the rule values in force (the
        # same throughout a stretch between change dates) and on what is left of the
        # deductible and the maximum. The maximum caps a line only when the visit would add
        # more than is left of it: how much more is left does not matter (Memo.get checks it).
        ded_left, oop_left = remaining(coverage, on, year.accumulated)
        key = (_memo.COVERED, which, year.start, stretch, session, variant, age,
               *codes, *charges, *ids, *price, ded_left)  # fmt: skip
        return key, counted, oop_left

    # ---- the estimate ------------------------------------------------------------------------
    def _coordination(self) -> tuple[Coordination, ...]:
        """Each coverage with a second payer: who pays first and why, and how the second pays."""
        out = []
        periods = (None, *(p.starts for p in self.request.coverage_periods))
        for starts, c in zip(periods, self.coverages, strict=True):
            second = c.second
            if second is None:
                continue
            order = second.order
            out.append(
                _coordination(
                    {
                        "starts": starts,
                        "primary_payer_id": c.payer.id,
                        "secondary_payer_id": second.payer.id,
                        "secondary_payer_name": second.payer.name,
                        "method": second.method.method,
                        "method_source": second.method.source,
                        "order_rule": "as the request states" if order is None else order.rule,
                        "order_source": None if order is None else order.source,
                        "balance_billing_prohibited": second.qmb,
                    }
                )
            )
        return tuple(out)

    def _estimate(self, visits: list[VisitEstimate]) -> Estimate:
        first = self.coverages[0]
        used_payers = [p for c in self.coverages for p in c.used_payers]
        for c in self.coverages:
            used_payers += c.second.coverage.used_payers if c.second is not None else []
        used_programs = [c.used_program for c in self.coverages if c.used_program is not None]
        used_schedules = [s for c in self.coverages for s in c.used_schedules]
        return _estimate(
            {
                "library_version": __version__,
                "rules_hash": rules_hash(
                    used_payers, self.request.clinic, used_programs, used_schedules
                ),
                "issued": self.request.issued,
                "payer_id": first.payer.id,
                "payer_name": first.payer.name,
                "network": first.cov.network,
                "visits": tuple(visits),
                "plan_years": tuple(self.years),
                "totals": totals(column_sums(self.year_sums)),
                "assistance": self.assistance.years(),
                "range": None,
                "warnings": tuple(
                    self.warnings
                    + [w for c in self.coverages for w in c.approvals.renewal_warnings()]
                    + [
                        _QMB.format(c.second.payer.name)
                        for c in self.coverages
                        if c.second is not None and c.second.qmb
                    ]
                ),
                "self_pay_items": self_pay_items(self.self_pay_lines),
                "self_pay_comparison": None,
                "coordination": self._coordination(),
            }
        )
