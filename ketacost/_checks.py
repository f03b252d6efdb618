"""Checks of a request against its clinic and the payer library, in one place.

The loader reports each problem at its place in the file (``file:line:column: field:
message``); the engine raises the same message as an :class:`~ketacost.EstimateError` when a
request reaches it unchecked (built in code); the web calculator reports them in its problem
documents. One function per check, each returning the message or ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ._dated import Dated, NoValueInForceError
from ._errors import EstimateError
from ._money import Money
from ._order import age_when_it_starts, decide_order
from ._payer import SCHEDULE_BASES, CoveredRule, Payer, PercentOfPayer
from ._plan import schedule
from ._request import Coverage, EstimateRequest, FamilyAmounts
from ._savings import SavingsProgram

__all__ = [
    "MAX_AGE",
    "Loc",
    "Problem",
    "accumulator_problems",
    "contradiction_problems",
    "coverage_problems",
    "family_deductible_problem",
    "locality_problem",
    "patient_problems",
    "reference_problem",
    "request_problems",
    "savings_program_problem",
    "secondary_problem",
    "unknown_payer_problem",
]

Loc = tuple[str | int, ...]
#: A problem: the path of the field at fault, and what is wrong.
Problem = tuple[Loc, str]
#: The oldest age accepted (the request's ``age`` field has the same limit).
MAX_AGE = 130


def request_problems(request: EstimateRequest, payers: Mapping[str, Payer] | None) -> list[Problem]:
    """Every cross-check between the request's parts, and with the payer library.

    With the library only when one is given; its savings programs are those of a
    :class:`~ketacost.PayerLibrary`.
    """
    problems: list[Problem] = []
    sessions = request.clinic.sessions
    for i, phase in enumerate(request.plan.phases):
        if phase.session not in sessions:
            known = ", ".join(sorted(sessions))
            problems.append(
                (
                    ("plan", "phases", i, "session"),
                    f"the clinic has no session {phase.session!r} (known: {known})",
                )
            )
    problems.extend(_unknowns_issues(request))
    problems.extend(patient_problems(request))
    if payers is None:
        return problems
    coverages: list[tuple[Loc, Coverage]] = [(("coverage",), request.coverage)]
    coverages += [(("coverage_periods", i), p) for i, p in enumerate(request.coverage_periods)]
    programs: Mapping[str, SavingsProgram] | None = getattr(payers, "programs", None)
    for at, cov in coverages:
        age = age_when_it_starts(request, cov)
        problems.extend(coverage_problems(at, cov, payers, programs, age=age))
    locality = locality_problem(request.clinic.medicare_locality, payers)
    if locality is not None:
        problems.append((("clinic", "medicare_locality"), locality))
    return problems


def locality_problem(locality: str | None, payers: Mapping[str, Payer]) -> str | None:
    """A clinic's Medicare locality must be one the library's fee schedules price.

    Checked with a :class:`~ketacost.PayerLibrary` (its ``fee_schedules``) only.
    """
    schedules: Mapping[str, Any] = getattr(payers, "fee_schedules", None) or {}
    if locality is None or not schedules:
        return None
    known = sorted({name for s in schedules.values() for name in s.localities})
    if locality in known:
        return None
    return (
        f"Medicare locality {locality!r} is not in the fee schedules "
        f"({', '.join(sorted(schedules))}); known: {', '.join(known)}"
    )


def coverage_problems(
    at: Loc,
    cov: Coverage,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None,
    *,
    pays_second: bool = False,
    age: int | None = None,
) -> list[Problem]:
    """Every problem of one coverage (the request's, or a coverage period at ``at``)."""
    unknown = unknown_payer_problem(cov, payers)
    if unknown is not None:
        return [((*at, "payer"), unknown)]
    payer = payers[cov.payer]
    problems: list[Problem] = []
    for field, message in (
        ("tier", family_deductible_problem(payer, cov)),
        ("network", reference_problem(payer, cov, payers)),
        ("savings_program", savings_program_problem(cov, programs)),
        ("drug_benefit", drug_benefit_problem(payer, cov)),
    ):
        if message is not None:
            problems.append(((*at, field), message))
    if cov.superbill and payer.kind == "self-pay":
        problems.append(((*at, "superbill"), "a superbill needs an insurer to send it to"))
    if cov.abn_signed and payer.kind != "medicare":
        problems.append(
            (
                (*at, "abn_signed"),
                f"an Advance Beneficiary Notice is for Original Medicare; payer {payer.id!r} is "
                f"kind {payer.kind}",
            )
        )
    problems.extend(accumulator_problems(at, cov, payer))
    problems.extend(held_authorization_problems(at, cov, payer))
    problems.extend(_second_payer_checks(at, cov, payer, payers, programs, pays_second, age))
    if cov.accumulators is not None:
        for name in cov.accumulators.sessions_used:
            if name not in payer.limits:
                known = ", ".join(sorted(payer.limits)) or "none"
                problems.append(
                    (
                        (*at, "accumulators", "sessions_used", name),
                        f"payer {payer.id!r} has no session limit {name!r} (known: {known})",
                    )
                )
    return problems


def contradiction_problems(request: EstimateRequest, payers: Mapping[str, Payer]) -> list[Problem]:
    """The checks of inputs that contradict each other, for a request built in code.

    The patient's dates, and accumulators above the plan's amounts: the loader and the web
    make them with the others (:func:`request_problems`).
    """
    problems = patient_problems(request)
    coverages: list[tuple[Loc, Coverage]] = [(("coverage",), request.coverage)]
    coverages += [(("coverage_periods", i), p) for i, p in enumerate(request.coverage_periods)]
    alternative = request.unknowns.accumulators if request.unknowns is not None else None
    if alternative is not None:  # the range's other starting point, on the first coverage
        other = request.coverage.model_copy(update={"accumulators": alternative})
        coverages.append((("unknowns",), other))
    for at, cov in coverages:
        if cov.payer in payers:
            problems.extend(accumulator_problems(at, cov, payers[cov.payer]))
    return problems


def patient_problems(request: EstimateRequest) -> list[Problem]:
    """The patient's birth date and age must make sense for the visits' dates.

    A birth date is on or before the first visit, and at most :data:`MAX_AGE` years before
    the last one. Given with a birth date, ``age`` must be the age on the first visit (the
    estimate reads the birth date; an age that disagrees would be silently ignored).
    """
    patient = request.patient
    if patient.birth_date is None:
        return [
            (
                ("coverage_periods", i, "starts"),
                "medicare_entitlement is computed from patient.birth_date: give the patient's "
                "birth_date",
            )
            for i, period in enumerate(request.coverage_periods)
            if period.starts == "medicare_entitlement"
        ]
    try:
        visits = schedule(request.plan)
    except EstimateError:  # the plan runs past 9999: reported by the plan's own check
        return []
    born = patient.birth_date.isoformat()
    first, last = visits[0].day, visits[-1].day
    if patient.birth_date > first:
        return [
            (
                ("patient", "birth_date"),
                f"the patient is born ({born}) after the first visit ({first.isoformat()})",
            )
        ]
    problems: list[Problem] = []
    oldest = patient.age_on(last)
    if oldest > MAX_AGE:
        problems.append(
            (
                ("patient", "birth_date"),
                f"the patient would be {oldest} on the last visit ({last.isoformat()}) by "
                f"birth_date {born}; at most {MAX_AGE} is accepted",
            )
        )
    age_then = patient.age_on(first)
    if patient.age is not None and patient.age != age_then:
        problems.append(
            (
                ("patient", "age"),
                f"age {patient.age} disagrees with birth_date {born}: the patient is {age_then} "
                f"on the first visit ({first.isoformat()}); give the age on that day, or "
                "leave age out",
            )
        )
    return problems


def accumulator_problems(at: Loc, cov: Coverage, payer: Payer) -> list[Problem]:
    """What is already met may not be above the plan's own amount for the ``as_of`` date.

    The amount is the plan year's: the one in force on the first day of the plan year that
    holds ``as_of`` (:meth:`Dated.in_plan_year`), as the estimate uses. Each problem names the
    request's field (its place) and the payer's (in the message). Nothing is checked where
    the plan has no such amount (no out-of-pocket maximum, no family amount) or none in force.
    """
    acc = cov.accumulators
    network = payer.networks.get(cov.network)
    if acc is None or network is None:
        return []
    # (the request's field, what is met; the payer's field, its individual and family amounts)
    checks: list[tuple[str, FamilyAmounts, str, Dated[Money], Dated[Money] | None]] = [
        (
            "deductible_met",
            acc.deductible_met,
            "deductible",
            network.deductible.individual,
            network.deductible.family,
        )
    ]
    cap = network.out_of_pocket_max
    if cap is not None:
        checks.append(
            (
                "out_of_pocket_met",
                acc.out_of_pocket_met,
                "out_of_pocket_max",
                cap.individual,
                cap.family,
            )
        )
    problems: list[Problem] = []
    start = cov.plan_year_of(acc.as_of, payer.plan_year_start)
    for met_field, met, plan_field, individual, family in checks:
        for who, amount, limit in (
            ("individual", met.individual, individual),
            ("family", met.family, family),
        ):
            plan_amount = _in_plan_year(limit, acc.as_of, start)
            if plan_amount is None or amount <= plan_amount:
                continue
            problems.append(
                (
                    (*at, "accumulators", met_field, who),
                    f"{amount} is above the plan's {who} amount, {plan_amount} (payer "
                    f"{payer.id!r}: networks.{cov.network}.{plan_field}.{who} on "
                    f"{acc.as_of.isoformat()})",
                )
            )
    return problems


def _in_plan_year(value: Dated[Money] | None, on: date, start: date) -> Money | None:
    if value is None:
        return None
    try:
        return value.in_plan_year(on, start)
    except NoValueInForceError:
        return None


def _second_payer_checks(
    at: Loc,
    cov: Coverage,
    payer: Payer,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None,
    pays_second: bool,
    age: int | None,
) -> list[Problem]:
    """A coverage's second payer: its own fields, then the pair in the order it pays.

    Also a supplement or a QMB flag where it cannot be.
    """
    problems: list[Problem] = []
    if cov.secondary is not None:
        second = coverage_problems(
            (*at, "secondary"), cov.secondary, payers, programs, pays_second=True
        )
        problems.extend(second)
        if not second:
            problems.extend(_second_payer_problems(at, cov, payers, age))
    elif payer.kind == "medigap" and not pays_second:
        problems.append(((*at, "payer"), f"{payer.name} pays only after Original Medicare: "
                         "give it as the secondary of a medicare-part-b coverage"))  # fmt: skip
    if cov.qmb and (not pays_second or payer.kind != "medicaid"):
        problems.append(((*at, "qmb"), "qmb belongs on the Medicaid coverage that pays after "
                         "Original Medicare (its secondary)"))  # fmt: skip
    return problems


def _second_payer_problems(
    at: Loc, cov: Coverage, payers: Mapping[str, Payer], age: int | None = None
) -> list[Problem]:
    """The pair in the order it pays (decided first under ``order: decide``) must fit."""
    try:
        first, second, _ = decide_order(cov, payers, age=age)
    except EstimateError as exc:
        field = "savings_program" if str(exc).startswith("savings_program") else "order"
        return [((*at, field), str(exc).removeprefix("savings_program: "))]
    assert second is not None
    found = secondary_problem(payers[first.payer], second, payers)
    if found is None:
        return []
    where = (*at, "secondary", found[0]) if second is cov.secondary else (*at, found[0])
    return [(where, found[1])]


def secondary_problem(
    first: Payer, second: Coverage, payers: Mapping[str, Payer]
) -> tuple[str, str] | None:
    """(field, why) when ``second`` cannot pay after a payer like ``first``, else None.

    The second payer's file must say how it pays after a first payer of that kind, and only a
    Medicaid coverage after Original Medicare may mark a Qualified Medicare Beneficiary.
    """
    payer = payers[second.payer]
    method = payer.secondary_method(first.kind)
    if method is None:
        follows = ", ".join(k for m in payer.as_secondary for k in m.after) or "no payer"
        return "payer", (
            f"{payer.id} does not pay after a {first.kind} payer ({first.id}); its payer "
            f"file's as_secondary follows: {follows}"
        )
    if second.qmb and method.method != "medicare_crossover":
        return "qmb", (
            "a Qualified Medicare Beneficiary's Medicaid pays after Original Medicare (got "
            f"{payer.id} after {first.id})"
        )
    return None


def unknown_payer_problem(cov: Coverage, payers: Mapping[str, Payer]) -> str | None:
    if cov.payer in payers:
        return None
    return f"unknown payer {cov.payer!r} (known: {', '.join(sorted(payers))})"


def held_authorization_problems(at: Loc, cov: Coverage, payer: Payer) -> list[Problem]:
    """Each authorization held names a group or codes of the payer's prior-authorization rules.

    A held approval also contradicts a denied prior authorization.
    """
    if not cov.authorizations:
        return []
    rules = [
        r for r in payer.coverage if isinstance(r, CoveredRule) and r.conditions.prior_authorization
    ]
    groups = sorted({g for r in rules if (g := r.conditions.authorization_group) is not None})
    codes = {code for r in rules for code in r.codes}
    problems: list[Problem] = []
    if cov.prior_authorization == "denied":
        problems.append(
            ((*at, "authorizations"), "an approval is held, but prior_authorization is denied")
        )
    for i, held in enumerate(cov.authorizations):
        where = (*at, "authorizations", i)
        if held.group is not None and held.group not in groups:
            known = ", ".join(groups) or "none"
            problems.append(
                (
                    (*where, "group"),
                    f"{payer.id} has no authorization group {held.group!r} (known: {known})",
                )
            )
        missing = [c for c in held.codes if c not in codes]
        if missing:
            problems.append(
                (
                    (*where, "codes"),
                    f"no rule of {payer.id} needs prior authorization for {', '.join(missing)}",
                )
            )
    return problems


def drug_benefit_problem(payer: Payer, cov: Coverage) -> str | None:
    """The drug's route must be one the payer offers."""
    if cov.drug_benefit in payer.drug_benefits or payer.kind == "self-pay":
        return None
    return (
        f"payer {payer.id!r} does not take the drug through its {cov.drug_benefit} benefit "
        f"(its routes: {', '.join(payer.drug_benefits)})"
    )


def family_deductible_problem(payer: Payer, cov: Coverage) -> str | None:
    """Family coverage needs a family deductible in the coverage's network."""
    network = payer.networks.get(cov.network)
    if cov.tier != "family" or network is None or network.deductible.family is not None:
        return None
    return (
        f"payer {payer.id!r} has no family deductible in network {cov.network!r}; "
        "use tier: individual"
    )


def reference_problem(payer: Payer, cov: Coverage, payers: Mapping[str, Payer]) -> str | None:
    """A network priced as a percent of another payer needs that payer's in-network fees.

    The payer library checks this when it loads; a hand-built one may not.
    """
    network = payer.networks.get(cov.network)
    if network is None or not isinstance(network.allowed, PercentOfPayer):
        return None
    reference = payers.get(network.allowed.payer)
    if reference is None:
        return (
            f"payer {payer.id!r} takes a percent of payer {network.allowed.payer!r}, "
            "which is unknown"
        )
    reference_in = reference.networks.get("in")
    if reference_in is None or not isinstance(reference_in.allowed, SCHEDULE_BASES):
        return (
            f"payer {payer.id!r} prices {cov.network}-of-network care as a percent of "
            f"{reference.id!r}, which has no in-network fee schedule"
        )
    return None


def savings_program_problem(
    cov: Coverage, programs: Mapping[str, SavingsProgram] | None
) -> str | None:
    """A named savings program must be one the library has (when the library is known)."""
    if cov.savings_program is None or programs is None or cov.savings_program in programs:
        return None
    known = ", ".join(sorted(programs)) or "none loaded"
    return f"unknown savings program {cov.savings_program!r} (known: {known})"


def _unknowns_issues(request: EstimateRequest) -> list[Problem]:
    unknowns = request.unknowns
    if unknowns is None:
        return []
    issues: list[Problem] = []
    names = [p.name or f"phase {i + 1}" for i, p in enumerate(request.plan.phases)]
    sessions = request.clinic.sessions
    phases: list[tuple[str, int, str]] = [
        ("sessions", i, e.phase) for i, e in enumerate(unknowns.sessions)
    ] + [("dose", i, e.phase) for i, e in enumerate(unknowns.dose)]
    for kind, i, phase in phases:
        if phase not in names:
            issues.append(
                (
                    ("unknowns", kind, i, "phase"),
                    f"the plan has no phase {phase!r} (phases: {', '.join(names)})",
                )
            )
    for i, dose in enumerate(unknowns.dose):
        for j, name in enumerate(dose.sessions):
            if name not in sessions:
                issues.append(
                    (
                        ("unknowns", "dose", i, "sessions", j),
                        f"the clinic has no session {name!r} "
                        f"(known: {', '.join(sorted(sessions))})",
                    )
                )
    return issues
