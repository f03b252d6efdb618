"""A bare reference for the engine's arithmetic: plain ``Decimal``, no models, no text.

``bench_estimate.py`` times :func:`bare_totals` next to ``ketacost.estimate`` on the same
plan, checks that both give the same totals to the cent, and prints the ratio. The reference
does what ``ketacost/_engine.py``'s docstring (the adjudication contract) says for an
in-network, individual coverage, line by line:

* plan years from the payer's plan-year start; the accumulators reset on each;
* a line not covered: the patient owes the clinic's self-pay price for it (issue 11), at most
  its charge; nothing accumulates. A visit none of whose lines is covered is a self-pay visit:
  its session's price (or, among the first N sessions of a template with an N-session
  package, the package's share), shared over its lines by charge; on a visit the plan covers
  in part, the clinic's per-code price, else the line's share of the session's price. These
  prices depend on the visit's place in the plan only, so they are prepared per visit;
* a covered line: charge = unit charge × units; allowed = min(charge, rate × units);
* the copay: one per visit, the highest of the covered categories' copays (never carried by
  a category without one; ``copay_scope: visit``), or one per category (``category``), at
  most what the lines allow; then the deductible on what is left, then coinsurance on the
  rest, rounded half-up to the cent per line (a ``copay_after_deductible`` category takes the
  copay only once the deductible is met);
* the line's cost share is capped at the remaining out-of-pocket maximum, removing
  coinsurance first, then deductible, then copay;
* patient = cost share (or the self-pay price, not covered), payer = allowed − cost share,
  write-off = charge − allowed (or charge − self-pay price).

What may be decided once per plan is prepared outside the timed part by :func:`prepare`
from the request's fields: the rule in force for each code, whether it covers the patient,
the rate per unit, each category's cost sharing, the deductible and the maximum. It refuses
(``UnsupportedError``) what the reference does not model rather than guess: family coverage,
coverage periods, out of network, superbills, self-pay, savings programs, session limits,
starting accumulators, an allowed basis other than the payer's own fee schedule, an
authorization window shorter than the plan, and a rule value that changes during the plan.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import ketacost
from ketacost._money import share_cents  # the named rounding point self-pay-split

CENT = Decimal("0.01")
ZERO = Decimal(0)


class UnsupportedError(Exception):
    """The request uses something the bare reference does not model."""


class BareLine(NamedTuple):
    """One line of a session template, as the payer sees it."""

    unit_charge: Decimal
    units: int
    covered: bool
    unit_allowed: Decimal  # the payer's rate per unit (0 when not covered)
    category: str | None
    code: str


class BareShare(NamedTuple):
    """Cost sharing of one category."""

    copay: Decimal
    coinsurance: Decimal
    deductible_applies: bool
    copay_after_deductible: bool


class BareRules(NamedTuple):
    """The rule values one plan needs, as plain values."""

    plan_year_month: int
    plan_year_day: int
    deductible: Decimal
    out_of_pocket_max: Decimal | None  # None: no cap (Original Medicare)
    sessions: dict[str, tuple[BareLine, ...]]
    shares: dict[str, BareShare]
    copay_per_visit: bool  # copay_scope visit (else category)
    self_pay: tuple[tuple[Decimal, ...], ...]  # per visit, per line: owed when not covered
    payment_cut: Decimal = ZERO  # the payer's payment cut per line (Medicare's sequestration)


class BareTotals(NamedTuple):
    """What the reference computes: four totals and two counts."""

    charge: Decimal
    patient: Decimal
    payer: Decimal
    write_off: Decimal
    covered_lines: int
    moved_lines: int  # covered lines that moved the deductible or out-of-pocket accumulator


Visit = tuple[date, str]


def bare_totals(visits: list[Visit], rules: BareRules) -> BareTotals:  # noqa: C901 (one loop by design: a call per line would slow the reference)
    """Adjudicate ``visits`` (date, session) under ``rules`` in plain ``Decimal``."""
    month, day = rules.plan_year_month, rules.plan_year_day
    deductible, oop_max = rules.deductible, rules.out_of_pocket_max
    sessions, shares, per_visit = rules.sessions, rules.shares, rules.copay_per_visit
    year_start: date | None = None
    deductible_met = out_of_pocket_met = ZERO
    charge_total = patient_total = payer_total = write_off_total = ZERO
    covered_lines = moved_lines = 0
    for index, (on, session) in enumerate(visits):
        start = date(on.year, month, day)
        if on < start:
            start = date(on.year - 1, month, day)
        if start != year_start:
            year_start = start
            deductible_met = out_of_pocket_met = ZERO
        copay_left: dict[str, Decimal] = {}
        lines = sessions[session]
        visit_copay = ZERO
        if per_visit:
            visit_copay = max(
                (shares[ln.category].copay for ln in lines if ln.category), default=ZERO
            )
        for line, self_pay in zip(lines, rules.self_pay[index], strict=True):
            charge = line.unit_charge * line.units
            charge_total += charge
            if not line.covered:
                patient_total += self_pay
                write_off_total += charge - self_pay
                continue
            covered_lines += 1
            allowed = min(charge, line.unit_allowed * line.units)
            category = line.category
            assert category is not None
            share = shares[category]
            pool = "visit" if per_visit else category
            left = copay_left.get(pool, visit_copay if per_visit else share.copay)
            if not share.copay:
                left = ZERO
            deductible_left = max(ZERO, deductible - deductible_met)
            amount, copay, from_deductible = allowed, ZERO, ZERO
            if not share.copay_after_deductible:
                copay = min(left, amount)
                amount -= copay
            if share.deductible_applies:
                from_deductible = min(amount, deductible_left)
                amount -= from_deductible
            if share.copay_after_deductible and (
                deductible_left == from_deductible or not share.deductible_applies
            ):
                copay = min(left, amount)
                amount -= copay
            if share.copay:
                copay_left[pool] = left - copay
            coinsurance = (amount * share.coinsurance).quantize(CENT, ROUND_HALF_UP)
            if oop_max is not None:
                out_of_pocket_left = max(ZERO, oop_max - out_of_pocket_met)
                excess = copay + from_deductible + coinsurance - out_of_pocket_left
                if excess > 0:
                    cut = min(coinsurance, excess)
                    coinsurance -= cut
                    excess -= cut
                    cut = min(from_deductible, excess)
                    from_deductible -= cut
                    copay -= excess - cut
            cost = copay + from_deductible + coinsurance
            if cost:  # the deductible is part of the cost share, so cost 0 moves nothing
                moved_lines += 1
            deductible_met += from_deductible
            out_of_pocket_met += cost
            patient_total += cost
            payment = allowed - cost
            reduction = (payment * rules.payment_cut).quantize(CENT, ROUND_HALF_UP)
            payer_total += payment - reduction
            write_off_total += charge - allowed + reduction
    return BareTotals(
        charge_total,
        patient_total,
        payer_total,
        write_off_total,
        covered_lines,
        moved_lines,
    )


# -- preparation (not timed) ------------------------------------------------------------------
def _fixed(value: ketacost.Dated[Any], first: date, last: date, what: str) -> Any:
    """The value of a dated rule value over [first, last]; refuse one that changes there."""
    if any(first < changes <= last for changes in value.change_dates()):
        raise UnsupportedError(f"{what} changes between {first} and {last}")
    return value.at(first)


def _rule(payer: ketacost.Payer, code: str, network: str, first: date, last: date) -> Any:
    """The coverage rule for ``code`` over the plan (the first in file order), or None."""
    found = [
        rule
        for rule in payer.coverage
        if code in rule.codes and network in rule.networks and _in_force(rule, first)
    ]
    if found and not _in_force(found[0], last):
        raise UnsupportedError(f"the rule for {code} ends during the plan")
    return found[0] if found else None


def _in_force(rule: Any, on: date) -> bool:
    return (rule.effective_from is None or on >= rule.effective_from) and (
        rule.effective_until is None or on <= rule.effective_until
    )


def _covers(rule: Any, request: ketacost.EstimateRequest, first: date, last: date) -> bool:
    """Whether a covered rule's conditions hold for the whole plan."""
    c = rule.conditions
    patient = request.patient
    ages = {patient.age_on(first), patient.age_on(last)}
    if len(ages) > 1 and (c.min_age is not None or c.max_age is not None):
        raise UnsupportedError("the patient's age changes during the plan")
    age = ages.pop()
    if c.min_age is not None and age < c.min_age:
        return False
    if c.max_age is not None and age > c.max_age:
        return False
    if c.diagnoses and not set(patient.diagnoses) & set(c.diagnoses):
        return False
    if patient.failed_trials < c.min_failed_trials:
        return False
    if c.prior_authorization:
        if request.coverage.prior_authorization != "approved":
            return False
        if c.authorization_days is not None and (last - first).days >= c.authorization_days:
            raise UnsupportedError("an authorization window shorter than the plan")
    return True


def _check_supported(request: ketacost.EstimateRequest, payer: ketacost.Payer) -> None:
    cov = request.coverage
    problems = {
        "coverage periods": bool(request.coverage_periods),
        "family coverage": cov.tier != "individual",
        "out of network": cov.network != "in",
        "superbill": cov.superbill,
        "savings program": cov.savings_program is not None,
        "starting accumulators": cov.accumulators is not None,
        "unknowns": request.unknowns is not None,
        "self-pay": payer.kind == "self-pay",
        "session limits": bool(payer.limits),
    }
    found = [name for name, present in problems.items() if present]
    if found:
        raise UnsupportedError(", ".join(found))


def prepare(request: ketacost.EstimateRequest, payers: Any) -> tuple[list[Visit], BareRules]:
    """The plan's visits as (date, session) and its rule values as plain values."""
    payer = payers[request.coverage.payer]
    _check_supported(request, payer)
    network = payer.networks["in"]
    if network.allowed.basis not in ("fee_schedule", "medicare_fee_schedule"):
        raise UnsupportedError(f"allowed basis {network.allowed.basis}")
    enrolled = request.clinic.medicare
    if payer.kind == "medicare" and enrolled and enrolled.participation != "participating":
        raise UnsupportedError("Medicare participation other than participating")
    visits = [(v.date, v.session) for v in ketacost.expand(request.plan)]
    first, last = visits[0][0], visits[-1][0]
    clinic = request.clinic
    sessions: dict[str, tuple[BareLine, ...]] = {}
    categories: set[str] = set()
    for name in {session for _, session in visits}:
        template = clinic.sessions[name]
        lines = template.lines
        for variant in payer.billing_variants:
            if variant in template.variants:
                lines = template.variants[variant]
                break
        bare: list[BareLine] = []
        for line in lines:
            code = _fixed(line.code, first, last, f"{name} code")
            unit_charge = _fixed(clinic.chargemaster[code], first, last, f"charge {code}").amount
            rule = _rule(payer, code, "in", first, last)
            unit_rate = _unit_rate(payers, network.allowed, code, clinic, template, first, last)
            covered = (
                rule is not None
                and rule.status == "covered"
                and _covers(rule, request, first, last)
                and unit_rate is not None
            )
            if covered:
                assert unit_rate is not None
                rate = unit_rate
                bare.append(BareLine(unit_charge, line.units, True, rate, rule.category, code))
                categories.add(rule.category)
            else:
                bare.append(BareLine(unit_charge, line.units, False, ZERO, None, code))
        sessions[name] = tuple(bare)
    if network.copay_scope not in ("visit", "category"):
        raise UnsupportedError(f"copay_scope {network.copay_scope}")
    shares = {}
    for category in categories:
        s = network.cost_sharing[category]
        shares[category] = BareShare(
            _fixed(s.copay, first, last, f"{category} copay").amount,
            _fixed(s.coinsurance, first, last, f"{category} coinsurance"),
            s.deductible_applies,
            s.copay_after_deductible,
        )
    oop = network.out_of_pocket_max
    rules = BareRules(
        payer.plan_year_start.month,
        payer.plan_year_start.day,
        _fixed(network.deductible.individual, first, last, "deductible").amount,
        None if oop is None else _fixed(oop.individual, first, last, "out-of-pocket max").amount,
        sessions,
        shares,
        network.copay_scope == "visit",
        _self_pay_per_visit(clinic, visits, sessions),
        _payment_cut(payer, first, last),
    )
    return visits, rules


def _payment_cut(payer: ketacost.Payer, first: date, last: date) -> Decimal:
    """The payer's payment cut (a rate) in force over the plan, or 0."""
    cut = getattr(payer, "payment_reduction", None)
    return ZERO if cut is None else _fixed(cut.percent, first, last, "payment reduction")


def _unit_rate(
    payers: Any,
    basis: Any,
    code: str,
    clinic: ketacost.Clinic,
    template: Any,
    first: date,
    last: date,
) -> Decimal | None:
    """The payer's rate per unit for ``code``: its own schedule's, or Medicare's fee schedule
    amount at the clinic's locality and the session's place of service (prepared once)."""
    if basis.basis == "medicare_fee_schedule":
        name = _fixed(basis.schedule, first, last, "fee schedule")
        schedule = payers.fee_schedules[name]
        place = template.place_of_service or clinic.place_of_service
        cents = schedule.amount_cents(code, clinic.medicare_locality or "00000-00", place)
        if cents is not None:
            return Decimal(cents) / 100
    rate = basis.rates.get(code)
    return None if rate is None else _fixed(rate, first, last, f"rate {code}").amount


def _self_pay_per_visit(
    clinic: ketacost.Clinic, visits: list[Visit], sessions: dict[str, tuple[BareLine, ...]]
) -> tuple[tuple[Decimal, ...], ...]:
    """Per visit, what each line costs the patient when the plan does not cover it."""
    packages = {p.session: p for p in clinic.packages}
    counts: dict[str, int] = {}
    for _, session in visits:
        counts[session] = counts.get(session, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for _, session in visits:
        lines = sessions[session]
        k = seen.get(session, 0)
        seen[session] = k + 1
        charges = [int(ln.unit_charge * ln.units * 100) for ln in lines]
        template = clinic.sessions[session]
        wholly = not any(ln.covered for ln in lines)
        package = packages.get(session)
        price: int | None = None if template.self_pay is None else template.self_pay.cents
        if (
            wholly
            and package is not None
            and counts[session] >= package.sessions
            and (k < package.sessions)
        ):
            base, extra = divmod(package.price.cents, package.sessions)
            price = base + (1 if k < extra else 0)
        if clinic.non_covered_price == "charge":
            owed = charges
        else:
            shares = charges if price is None else share_cents(price, charges)
            owed = []
            for ln, code_charge, part in zip(lines, charges, shares, strict=True):
                per_code = None if wholly else clinic.self_pay_codes.get(ln.code)
                owed.append(min(code_charge, part if per_code is None else per_code.cents))
        out.append(tuple(Decimal(c) / 100 for c in owed))
    return tuple(out)
