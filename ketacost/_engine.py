"""The adjudication engine: pure (no I/O, no clock), deterministic, exact to the cent.

The contract, in the order it is applied (README "How an estimate is computed"):

1. Visits are processed in date order. Each date belongs to the plan year given by the payer's
   plan-year start; accumulators reset to zero at each plan-year boundary. Starting
   accumulators in the request belong to the plan year containing their ``as_of`` date.
2. Coverage per line: no rule, or an excluded rule, means not covered; a condition not met
   means not covered, with the reason. A visit counts once against a session limit, however
   many of its lines belong to the limited group.
3. A line that is not covered: the patient owes the clinic's charge; nothing accumulates.
4. A covered line: allowed = min(charge, the payer's rate × units). Out of network where
   balance billing is allowed, the patient also owes charge − allowed, which never accumulates.
5. Cost sharing, per visit and category: the copay is taken once per visit per category
   (never more than that category's allowed amount in the visit); then the deductible, where it
   applies, on what is left; then coinsurance on the rest, rounded half-up to the cent per line.
   (A category with ``copay_after_deductible`` takes the deductible first and the copay only
   from what is left once the deductible is met.)
6. Remaining deductible = min(individual remaining, family remaining) when the family
   deductible is embedded; the family amount alone when it is aggregate (family coverage).
7. A line's cost share (copay + deductible + coinsurance) is capped at the remaining
   out-of-pocket maximum (individual and family, as for the deductible). The cap removes
   coinsurance first, then deductible, then copay. Copays, deductible and coinsurance count
   toward the maximum; non-covered charges and balance bills do not.
8. Self-pay: the session's self-pay price, or the package price for the sessions a package
   covers; nothing accumulates.
9. Every line: patient + payer + write-off = charge, and
   patient = copay + deductible + coinsurance + balance bill + non-covered, to the cent.

Issue 3 additions, applied in this order after the steps above:

10. Coverage periods: each visit is adjudicated under the coverage in force on its date
    (``EstimateRequest.coverage_on``). Each period keeps its own accumulators and plan years
    (a new plan starts from zero, or from the period's own starting accumulators).
11. Superbill (``coverage.superbill``): the patient pays the clinic the self-pay price (the
    line's charge); the plan adjudicates that charge as a claim in the coverage's network
    (allowed = min(charge, the payer's rate × units), then deductible, coinsurance and the
    maximum as above) and reimburses the patient its payment (``payer`` = ``reimbursement``);
    the patient keeps charge − allowed (``balance_bill``), which never accumulates; an
    excluded code reimburses nothing.
12. Manufacturer savings (``coverage.savings_program``, commercial plans only): after the
    plan's adjudication of a visit, the program pays the patient's cost share on its drug
    lines above the least the patient pays per treatment, up to what is left of its annual
    maximum for the calendar year (the maximum in force on the year's first visit the program
    considers); per line it takes coinsurance first, then deductible, then
    copay. On a ``copay_accumulator`` plan those payments do not count toward the deductible
    or out-of-pocket maximum (only the patient's own payments do), from the next visit on.
    Every line: patient_net = patient − assistance.

Named rounding points (all ROUND_HALF_UP to the cent): ``allowed-rate`` (a percentage of
another fee schedule, per unit), ``allowed-charge`` (a percentage of the charge, per line),
``coinsurance`` (per line), and ``self-pay-split`` (a package or session price shared over
sessions and lines: whole cents, remainder to the earliest sessions / largest lines).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from ._clinic import Clinic, TemplateLine
from ._dated import Dated, NoValueInForceError
from ._errors import EstimateError, UnknownPayerError
from ._estimate import (
    Accumulators,
    AssistanceYear,
    Estimate,
    EstimateLine,
    PlanYearSummary,
    Totals,
    VisitEstimate,
)
from ._money import Money
from ._payer import (
    CoveredRule,
    ExcludedRule,
    FeeSchedule,
    Network,
    Payer,
    PercentOfCharge,
    PercentOfPayer,
)
from ._plan import VisitTuple, schedule
from ._request import Coverage, EstimateRequest
from ._savings import SavingsProgram
from ._types import builder
from ._version import __version__

__all__ = ["adjudicate", "rules_hash"]

_T = TypeVar("_T")

#: Money by cents: ``_M[cents]`` (shared immutable instances; the engine's hottest lookup).
_M = Money._interned

# Fast constructors for the engine's own (already typed) output objects.
_accumulators = builder(Accumulators)
_line = builder(EstimateLine)
_visit = builder(VisitEstimate)
_plan_year = builder(PlanYearSummary)
_estimate = builder(Estimate)
_assistance_year = builder(AssistanceYear)
_totals_of = builder(Totals)


# -- exact integer arithmetic ------------------------------------------------------------
_RATIOS: dict[Decimal, tuple[int, int]] = {}


def _times_rate(cents: int, rate: Decimal) -> int:
    """``cents × rate`` rounded half-up (away from zero) to whole cents, in exact integers."""
    ratio = _RATIOS.get(rate)
    if ratio is None:
        ratio = rate.as_integer_ratio()
        _RATIOS[rate] = ratio
    num, den = ratio
    product = cents * num
    if product >= 0:
        return (2 * product + den) // (2 * den)
    return -((-2 * product + den) // (2 * den))


def _fmt(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{part:02d}"


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


# -- rule hashing --------------------------------------------------------------------------
_HASHES: dict[int, tuple[object, str]] = {}


def _digest(obj: Payer | Clinic | SavingsProgram) -> str:
    """sha256 of a rule object's canonical JSON, cached per object (objects are frozen)."""
    hit = _HASHES.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    digest = hashlib.sha256(obj.model_dump_json().encode()).hexdigest()
    if len(_HASHES) > 512:
        _HASHES.clear()
    _HASHES[id(obj)] = (obj, digest)
    return digest


def rules_hash(
    payers: list[Payer], clinic: Clinic, programs: list[SavingsProgram] | None = None
) -> str:
    """One sha256 over the payers (by id), the savings programs and the clinic an estimate
    used."""
    h = hashlib.sha256()
    for p in sorted({p.id: p for p in payers}.values(), key=lambda p: p.id):
        h.update(f"payer:{p.id}:{_digest(p)}\n".encode())
    for g in sorted({g.id: g for g in programs or ()}.values(), key=lambda g: g.id):
        h.update(f"program:{g.id}:{_digest(g)}\n".encode())
    h.update(f"clinic:{_digest(clinic)}\n".encode())
    return h.hexdigest()


# -- state ---------------------------------------------------------------------------------
@dataclass(slots=True)
class _Acc:
    ded_ind: int = 0
    ded_fam: int = 0
    oop_ind: int = 0
    oop_fam: int = 0
    sessions: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> Accumulators:
        return _accumulators(
            {
                "deductible_individual": _M[self.ded_ind],
                "deductible_family": _M[self.ded_fam],
                "out_of_pocket_individual": _M[self.oop_ind],
                "out_of_pocket_family": _M[self.oop_fam],
            }
        )


#: The money fields of :class:`Totals`, in order; visit and year sums are lists in this order
#: (:func:`_totals` names them; the property "totals are the sums of their lines" checks it).
_TOTAL_FIELDS = tuple(Totals.model_fields)


def _totals(t: list[int]) -> Totals:
    """Totals from cents in ``_TOTAL_FIELDS`` order."""
    return _totals_of(
        {
            "charge": _M[t[0]],
            "allowed": _M[t[1]],
            "copay": _M[t[2]],
            "deductible": _M[t[3]],
            "coinsurance": _M[t[4]],
            "balance_bill": _M[t[5]],
            "non_covered": _M[t[6]],
            "patient": _M[t[7]],
            "payer": _M[t[8]],
            "write_off": _M[t[9]],
            "assistance": _M[t[10]],
            "reimbursement": _M[t[11]],
            "patient_net": _M[t[12]],
        }
    )


def _column_sums(rows: list[list[int]]) -> list[int]:
    """Per-field sums of rows of cents (an empty list sums to zeros)."""
    if not rows:
        return [0] * len(_TOTAL_FIELDS)
    return [sum(column) for column in zip(*rows, strict=True)]


#: Reuse the lines of an earlier, identical, stateless visit (an optimisation only; a property
#: test checks that turning it off changes no byte of any estimate).
MEMO = True

#: The fields of an output line that belong to its visit (the rest can repeat across visits).
_PER_VISIT = frozenset(
    {"visit", "date", "phase", "session", "accumulators_before", "accumulators_after"}
)


@dataclass(slots=True)
class _Line:
    """A line being adjudicated (cents)."""

    tmpl: TemplateLine
    code: str
    charge: int
    covered: bool = False
    rule: str = ""
    reason: str | None = None
    category: str | None = None
    allowed: int = 0
    copay: int = 0
    deductible: int = 0
    coinsurance: int = 0
    balance: int = 0
    assistance: int = 0
    # What counts toward the accumulators (less than the cost share under a copay accumulator).
    credit_ded: int = 0
    credit_oop: int = 0
    notes: list[str] = field(default_factory=list)


def _at(value: Dated[_T], on: date, what: str) -> _T:
    if value.plain:
        return value.values[0]
    try:
        return value.at(on)
    except NoValueInForceError as exc:
        raise EstimateError(f"{what}: {exc}") from None


def _has(value: Dated[Money], on: date) -> bool:
    try:
        value.at(on)
    except NoValueInForceError:
        return False
    return True


# -- one coverage period ---------------------------------------------------------------------
class _Coverage:
    """The rules of one coverage (payer, network, status) and how they price a line."""

    def __init__(
        self,
        request: EstimateRequest,
        cov: Coverage,
        payers: Mapping[str, Payer],
        programs: Mapping[str, SavingsProgram],
    ) -> None:
        self.request = request
        self.cov = cov
        self.payers = payers
        payer = payers.get(cov.payer)
        if payer is None:
            raise UnknownPayerError(cov.payer, tuple(sorted(payers)))
        self.payer = payer
        self.network: Network | None = payer.networks.get(cov.network)
        self.self_pay = payer.kind == "self-pay"
        self.superbill = cov.superbill and not self.self_pay
        self.family = cov.tier == "family"
        if self.family and self.network is not None and self.network.deductible.family is None:
            raise EstimateError(
                f"payer {payer.id!r} has no family deductible in network "
                f"{cov.network!r}; use tier: individual"
            )
        self.used_payers = [payer]
        if self.network is not None and isinstance(self.network.allowed, PercentOfPayer):
            ref = payers.get(self.network.allowed.payer)
            if ref is None:
                raise UnknownPayerError(self.network.allowed.payer, tuple(sorted(payers)))
            ref_in = ref.networks.get("in")
            if ref_in is None or not isinstance(ref_in.allowed, FeeSchedule):
                raise EstimateError(
                    f"payer {payer.id!r} prices {cov.network}-of-network care as a percent of "
                    f"{ref.id!r}, which has no in-network fee schedule"
                )
            self.used_payers.append(ref)
        self.program: SavingsProgram | None = None  # the program, where it applies
        self.used_program: SavingsProgram | None = None  # the program named (for the hash)
        self.program_note: str | None = None
        if cov.savings_program is not None:
            program = programs.get(cov.savings_program)
            if program is None:
                known = ", ".join(sorted(programs)) or "none loaded"
                raise EstimateError(
                    f"unknown savings program {cov.savings_program!r} (known: {known})"
                )
            if self.superbill or self.self_pay or payer.kind not in program.eligible_kinds:
                self.program_note = (
                    f"{program.name} does not apply: {payer.name} ({payer.kind}"
                    f"{', superbill' if self.superbill else ''}) is not eligible"
                )
            else:
                self.program = program
            self.used_program = program
        self.auth_start: dict[str | int, date] = {}
        # Coverage rules per code, only those that apply in the coverage's network.
        self.candidates: dict[str, list[CoveredRule | ExcludedRule]] = {
            code: [r for r in rules if cov.network in r.networks]
            for code, rules in payer.rule_index().items()
        }
        self.decisions: dict[tuple[int, int], tuple[bool, str, str | None, str | None]] = {}
        self.limited_codes = frozenset(c for lim in payer.limits.values() for c in lim.codes)

    # ---- coverage ---------------------------------------------------------------------
    def rules_key(self, codes: list[str], on: date) -> tuple[int, ...] | None:
        """The rules in force for ``codes`` on ``on`` (by identity), or None when a decision
        could depend on the date itself (an authorization window) or on a session limit."""
        if self.network is None:
            return ()
        found: list[int] = []
        for code in codes:
            rule = self.rule_in_force(code, on)
            if isinstance(rule, CoveredRule) and rule.conditions.authorization_days is not None:
                return None
            found.append(0 if rule is None else id(rule))
        if self.limited_codes and not self.limited_codes.isdisjoint(codes):
            return None
        return tuple(found)

    def rule_in_force(self, code: str, on: date) -> CoveredRule | ExcludedRule | None:
        """The first rule for ``code`` in the coverage's network in force on ``on``."""
        for candidate in self.candidates.get(code, ()):
            if candidate.in_force(on):
                return candidate
        return None

    def decide(self, line: _Line, on: date, age: int) -> None:
        payer, cov = self.payer, self.cov
        if self.network is None:
            line.rule = f"{payer.id}:networks"
            line.reason = (
                f"{payer.name} pays nothing {'out of' if cov.network == 'out' else 'in'} network"
            )
            return
        rule = self.rule_in_force(line.code, on)
        if rule is None:
            line.rule = f"{payer.id}:coverage"
            line.reason = f"no coverage rule for code {line.code} under {payer.name}"
            return
        # A decision depends on the date only through the rule in force (found above), the
        # patient's age and an authorization window; without a window it is cached per rule
        # and age.
        key = (id(rule), age)
        hit = self.decisions.get(key)
        if hit is None:
            covered, reason, category = True, None, None
            if isinstance(rule, ExcludedRule):
                covered, reason = False, rule.reason
            else:
                category = rule.category
                reason = self._condition_not_met(rule, on, age)
                covered = reason is None
            hit = (covered, payer.rule_label(rule), reason, category)
            if isinstance(rule, ExcludedRule) or rule.conditions.authorization_days is None:
                self.decisions[key] = hit
        line.covered, line.rule, line.reason, line.category = hit

    def _condition_not_met(self, rule: CoveredRule, on: date, age: int) -> str | None:
        c = rule.conditions
        patient, cov = self.request.patient, self.cov
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
        if c.prior_authorization:
            if cov.prior_authorization != "approved":
                status = {
                    "denied": "denied",
                    "pending": "pending",
                    "not_requested": "not requested",
                }[cov.prior_authorization]
                return f"prior authorization {status} (required)"
            if c.authorization_days is not None:
                window = c.authorization_group or id(rule)
                start = cov.authorization_start or self.auth_start.setdefault(window, on)
                end = start + timedelta(days=c.authorization_days - 1)
                if on < start:
                    return f"prior authorization starts {start.isoformat()}"
                if on > end:
                    return (
                        f"prior authorization window of {c.authorization_days} days "
                        f"({start.isoformat()} to {end.isoformat()}) has ended"
                    )
        return None

    # ---- allowed amount ------------------------------------------------------------------
    def allow(self, line: _Line, on: date) -> None:
        net = self.network
        assert net is not None
        basis = net.allowed
        units = line.tmpl.units
        if isinstance(basis, PercentOfCharge):
            pct = _at(basis.percent, on, "allowed.percent")
            amount = _times_rate(line.charge, pct)
            how = f"{_pct(pct)} of the charge {_fmt(line.charge)} = {_fmt(amount)}"
        else:
            if isinstance(basis, FeeSchedule):
                schedule, pct = basis, None
                source = f"{self.payer.id} fee schedule"
            else:
                ref = self.payers[basis.payer]
                ref_net = ref.networks.get("in")
                assert ref_net is not None and isinstance(ref_net.allowed, FeeSchedule)
                schedule = ref_net.allowed
                pct_v = _at(basis.percent, on, "allowed.percent")
                pct = pct_v
                source = f"{_pct(pct)} of {ref.id} fee schedule"
            rate = schedule.rates.get(line.code)
            if rate is None and isinstance(basis, PercentOfPayer):
                rate = basis.fallback_rates.get(line.code)
                if rate is not None:
                    pct = None
                    source = (
                        f"{self.payer.id} {self.cov.network}-of-network rate ({basis.payer} does "
                        f"not price {line.code})"
                    )
            if rate is None:
                line.covered = False
                line.rule = f"{self.payer.id}:networks.{self.cov.network}.allowed"
                line.reason = f"no allowed amount for code {line.code} in the {source}"
                return
            unit_cents = _at(rate, on, f"fee schedule rate for {line.code}")
            unit = unit_cents.cents if pct is None else _times_rate(unit_cents.cents, pct)
            amount = unit * units
            how = f"{source}: {_fmt(unit)} × {units} = {_fmt(amount)}"
        line.allowed = min(line.charge, amount)
        if line.allowed < amount:
            how += f"; capped at the charge {_fmt(line.charge)}"
        line.notes.append(f"allowed {_fmt(line.allowed)} ({how})")
        if self.superbill:
            line.balance = line.charge - line.allowed
            if line.balance:
                line.notes.append(
                    f"not reimbursed {_fmt(line.balance)} = paid {_fmt(line.charge)} − allowed "
                    f"{_fmt(line.allowed)} (does not count toward the deductible or "
                    "out-of-pocket maximum)"
                )
        elif self.cov.network == "out" and net.balance_billing:
            line.balance = line.charge - line.allowed
            if line.balance:
                line.notes.append(
                    f"balance bill {_fmt(line.balance)} = charge {_fmt(line.charge)} − allowed "
                    f"{_fmt(line.allowed)} (out of network; does not count toward the deductible "
                    "or out-of-pocket maximum)"
                )

    # ---- limits --------------------------------------------------------------------------
    def apply_limits(self, lines: list[_Line], on: date, acc: _Acc) -> list[str]:
        """Count this visit against each session limit its covered lines belong to (or make
        them not covered when the limit is reached); returns the limits counted."""
        counted: list[str] = []
        for name, limit in self.payer.limits.items():
            group = [ln for ln in lines if ln.covered and ln.code in limit.codes]
            if not group:
                continue
            cap = _at(limit.sessions_per_plan_year, on, f"limits.{name}")
            used = acc.sessions.get(name, 0)
            if used >= cap:
                for ln in group:
                    ln.covered = False
                    ln.rule = f"{self.payer.id}:limits.{name}"
                    ln.reason = f"limit: {cap} sessions per plan year reached"
            else:
                acc.sessions[name] = used + 1
                counted.append(name)
        return counted

    def uncount(self, lines: list[_Line], counted: list[str], acc: _Acc) -> None:
        """Give back a counted session when pricing left none of its group covered."""
        for name in counted:
            codes = self.payer.limits[name].codes
            if not any(ln.covered and ln.code in codes for ln in lines):
                acc.sessions[name] -= 1

    # ---- cost sharing ----------------------------------------------------------------------
    def _remaining(self, on: date, acc: _Acc) -> tuple[int, int | None]:
        """(remaining deductible, remaining out-of-pocket or None for no cap) on ``on``."""
        net = self.network
        assert net is not None
        d = net.deductible
        ind = _at(d.individual, on, "deductible.individual")
        ded_rem = max(0, ind.cents - acc.ded_ind)
        if self.family and d.family is not None:
            fam = _at(d.family, on, "deductible.family")
            fam_rem = max(0, fam.cents - acc.ded_fam)
            ded_rem = min(ded_rem, fam_rem) if d.family_type == "embedded" else fam_rem
        oop = net.out_of_pocket_max
        if oop is None:
            return ded_rem, None
        oind = _at(oop.individual, on, "out_of_pocket_max.individual")
        oop_rem = max(0, oind.cents - acc.oop_ind)
        if self.family and oop.family is not None:
            ofam = _at(oop.family, on, "out_of_pocket_max.family")
            ofam_rem = max(0, ofam.cents - acc.oop_fam)
            oop_rem = min(oop_rem, ofam_rem) if oop.family_type == "embedded" else ofam_rem
        return ded_rem, oop_rem

    def share(self, lines: list[_Line], on: date, acc: _Acc) -> None:
        net = self.network
        assert net is not None
        copay_left: dict[str, int] = {}
        for ln in lines:
            if not ln.covered:
                continue
            assert ln.category is not None
            share = net.cost_sharing[ln.category]
            if ln.category not in copay_left:
                cp = _at(share.copay, on, f"cost_sharing.{ln.category}.copay")
                copay_left[ln.category] = cp.cents
            ded_rem, oop_rem = self._remaining(on, acc)
            amount = ln.allowed
            copay = ded = 0
            if not share.copay_after_deductible:
                copay = min(copay_left[ln.category], amount)
                amount -= copay
            if share.deductible_applies:
                ded = min(amount, ded_rem)
                amount -= ded
            if share.copay_after_deductible and (
                ded_rem - ded == 0 or not share.deductible_applies
            ):
                copay = min(copay_left[ln.category], amount)
                amount -= copay
            copay_left[ln.category] -= copay
            rate = _at(share.coinsurance, on, f"cost_sharing.{ln.category}.coinsurance")
            coins = _times_rate(amount, rate)
            notes = ln.notes
            if copay:
                notes.append(f"copay {_fmt(copay)} ({ln.category}, once per visit)")
            if share.deductible_applies:
                notes.append(
                    f"deductible {_fmt(ded)} (remaining before this line: {_fmt(ded_rem)})"
                )
            if rate:
                notes.append(f"coinsurance {_pct(rate)} of {_fmt(amount)} = {_fmt(coins)}")
            if oop_rem is not None and copay + ded + coins > oop_rem:
                excess = copay + ded + coins - oop_rem
                cut = min(coins, excess)
                coins -= cut
                excess -= cut
                cut_d = min(ded, excess)
                ded -= cut_d
                excess -= cut_d
                copay -= excess
                notes.append(
                    f"out-of-pocket maximum reached: cost share capped at the remaining "
                    f"{_fmt(oop_rem)}"
                )
            ln.copay, ln.deductible, ln.coinsurance = copay, ded, coins
            cost = copay + ded + coins
            ln.credit_ded, ln.credit_oop = ded, cost
            acc.ded_ind += ded
            acc.ded_fam += ded
            acc.oop_ind += cost
            acc.oop_fam += cost
            if self.superbill:
                notes.append(
                    f"reimbursed {_fmt(ln.allowed - cost)} = allowed {_fmt(ln.allowed)} − "
                    f"cost share {_fmt(cost)} (paid to the patient on the superbill claim)"
                )


# -- the whole plan ---------------------------------------------------------------------------
class _Adjudicator:
    def __init__(
        self,
        request: EstimateRequest,
        payers: Mapping[str, Payer],
        programs: Mapping[str, SavingsProgram],
    ) -> None:
        self.request = request
        self.coverages = [_Coverage(request, request.coverage, payers, programs)] + [
            _Coverage(request, period, payers, programs) for period in request.coverage_periods
        ]
        self.starts = [date.min] + [p.starts for p in request.coverage_periods]
        self.warnings: list[str] = []
        # Manufacturer assistance per calendar year: cents used; (visit, date) it ran out.
        self.assist_used: dict[int, int] = {}
        self.assist_out: dict[int, tuple[int, date]] = {}
        self.assist_program: dict[int, SavingsProgram] = {}
        self.assist_cap: dict[int, int] = {}

    # ---- self-pay ----------------------------------------------------------------------------
    def _self_pay_prices(self, visits: list[tuple[int, VisitTuple]]) -> dict[int, tuple[int, str]]:
        """Per visit index: (price in cents or -1 for chargemaster, the rule that set it).
        Packages count the self-priced visits only, in order."""
        clinic = self.request.clinic
        out: dict[int, tuple[int, str]] = {}
        for pkg in clinic.packages:
            idx = [i for i, v in visits if v[5] == pkg.session and i not in out]
            if len(idx) < pkg.sessions:
                continue
            base, extra = divmod(pkg.price.cents, pkg.sessions)
            for k, i in enumerate(idx[: pkg.sessions]):
                out[i] = (
                    base + (1 if k < extra else 0),
                    f"{clinic.name} package {pkg.id}: {_fmt(pkg.price.cents)} for "
                    f"{pkg.sessions} sessions (session {k + 1} of {pkg.sessions})",
                )
        for i, v in visits:
            if i in out:
                continue
            session = v[5]
            tmpl = clinic.sessions[session]
            if tmpl.self_pay is not None:
                out[i] = (tmpl.self_pay.cents, f"{clinic.name} self-pay price for {session}")
            else:
                out[i] = (-1, f"{clinic.name} chargemaster (no self-pay price for {session})")
        return out

    @staticmethod
    def _split(total: int, weights: list[int]) -> list[int]:
        """Share ``total`` cents over lines by weight; leftover cents go to the largest
        remainders, ties to the earlier line (named rounding point ``self-pay-split``)."""
        wsum = sum(weights)
        if wsum == 0:
            return [total] + [0] * (len(weights) - 1)
        shares = [total * w // wsum for w in weights]
        left = total - sum(shares)
        order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % wsum), i))
        for i in order[:left]:
            shares[i] += 1
        return shares

    # ---- manufacturer savings ----------------------------------------------------------------
    def _assist(self, c: _Coverage, lines: list[_Line], number: int, on: date, acc: _Acc) -> None:
        program = c.program
        assert program is not None
        drug = [ln for ln in lines if ln.covered and ln.code in program.codes]
        share = sum(ln.copay + ln.deductible + ln.coinsurance for ln in drug)
        if not share:
            return
        year = on.year
        floor = _at(program.patient_pays, on, f"{program.id}.patient_pays").cents
        # One maximum per calendar year: the one in force on the year's first visit the
        # program considers (a maximum that changes mid-year applies from the next year).
        cap = self.assist_cap.get(year)
        if cap is None:
            cap = _at(program.annual_max, on, f"{program.id}.annual_max").cents
            self.assist_cap[year] = cap
        used = self.assist_used.get(year, 0)
        want = max(0, share - floor)
        give = min(want, max(0, cap - used))
        self.assist_program.setdefault(year, program)
        if want and give == cap - used and year not in self.assist_out:
            self.assist_out[year] = (number, on)
        self.assist_used[year] = used + give
        left = give
        for ln in drug:
            cost = ln.copay + ln.deductible + ln.coinsurance
            part = min(cost, left)
            left -= part
            ln.assistance = part
            if part:
                ln.notes.append(
                    f"{program.name} pays {_fmt(part)} (the patient pays at least "
                    f"{_fmt(floor)} per treatment; {_fmt(cap - used - (give - left))} left of "
                    f"{_fmt(cap)} for {year})"
                )
            elif want and cost:
                ln.notes.append(f"{program.name}: the {_fmt(cap)} maximum for {year} is used up")
            if part and c.payer.copay_accumulator:
                # The program's money pays coinsurance first, then deductible, then copay; only
                # the patient's own payments count toward the deductible and the maximum.
                from_ded = max(0, min(ln.deductible, part - ln.coinsurance))
                ln.credit_ded -= from_ded
                ln.credit_oop -= part
                acc.ded_ind -= from_ded
                acc.ded_fam -= from_ded
                acc.oop_ind -= part
                acc.oop_fam -= part
                ln.notes.append(
                    f"copay accumulator: {c.payer.name} does not count the program's "
                    f"{_fmt(part)} toward the deductible or out-of-pocket maximum"
                )

    # ---- main loop --------------------------------------------------------------------------
    def run(self) -> Estimate:
        req = self.request
        clinic = req.clinic
        visits = schedule(req.plan)
        for v in visits:
            if v[5] not in clinic.sessions:
                raise EstimateError(
                    f"plan phase {v[3] + 1} names session {v[5]!r}, which the clinic "
                    f"does not have (known: {', '.join(sorted(clinic.sessions))})"
                )
        # Which coverage each visit falls under (visits are in date order).
        which: list[int] = []
        k = 0
        for v in visits:
            while k + 1 < len(self.starts) and self.starts[k + 1] <= v[1]:
                k += 1
            which.append(k)
        priced = [
            (i, v)
            for i, v in enumerate(visits)
            if self.coverages[which[i]].self_pay or self.coverages[which[i]].superbill
        ]
        self_pay_prices = self._self_pay_prices(priced) if priced else {}
        chargemaster = clinic.chargemaster

        out_visits: list[VisitEstimate] = []
        years: list[PlanYearSummary] = []
        year_totals: list[list[int]] = []
        acc = _Acc()
        cur: tuple[int, date] | None = None  # (coverage index, plan-year start)
        year_rows: list[list[int]] = []
        year_visits = 0
        year_start_snap = running = acc.snapshot()
        warned: set[int] = set()
        memo: dict[tuple[object, ...], tuple[list[dict[str, object]], list[int], Totals]] = {}
        covered_once: set[tuple[int, str, str]] = set()  # sessions not worth a memo key

        def close_year() -> None:
            assert cur is not None
            c = self.coverages[cur[0]]
            py = cur[1]
            if py.year == date.max.year:  # the last plan year the calendar can hold
                end = date.max
            else:
                end = date(py.year + 1, py.month, py.day) - timedelta(days=1)
            net = c.network
            ded = oop = None
            if net is not None and not c.self_pay:
                if _has(net.deductible.individual, py):
                    ded = net.deductible.individual.at(py)
                if net.out_of_pocket_max is not None and _has(net.out_of_pocket_max.individual, py):
                    oop = net.out_of_pocket_max.individual.at(py)
            year_sum = _column_sums(year_rows)
            year_totals.append(year_sum)
            years.append(
                _plan_year(
                    {
                        "start": py,
                        "end": end,
                        "payer_id": c.payer.id,
                        "visits": year_visits,
                        "totals": _totals(year_sum),
                        "accumulators_start": year_start_snap,
                        "accumulators_end": acc.snapshot(),
                        "deductible_individual": ded,
                        "out_of_pocket_max_individual": oop,
                    }
                )
            )

        for vi, visit in enumerate(visits):
            number, on, _nominal, _phase, phase_name, session = visit
            ci = which[vi]
            c = self.coverages[ci]
            payer = c.payer
            py = payer.plan_year_start.year_of(on)
            if cur is None or (ci, py) != cur:
                if cur is not None:
                    close_year()
                cur, year_rows, year_visits = (ci, py), [], 0
                acc = _Acc()
                start_acc = c.cov.accumulators
                if start_acc is not None:
                    if ci not in warned and start_acc.as_of > on:
                        warned.add(ci)
                        self.warnings.append(
                            f"accumulators for {payer.id} are as of "
                            f"{start_acc.as_of.isoformat()}, after its first visit "
                            f"({on.isoformat()}); they are applied from the start of that "
                            "plan year"
                        )
                    if py == payer.plan_year_start.year_of(start_acc.as_of):
                        acc.ded_ind = start_acc.deductible_met.individual.cents
                        acc.ded_fam = max(start_acc.deductible_met.family.cents, acc.ded_ind)
                        # Deductible paid counts toward the maximum, so what is met of the
                        # maximum is at least what is met of the deductible.
                        acc.oop_ind = max(start_acc.out_of_pocket_met.individual.cents, acc.ded_ind)
                        acc.oop_fam = max(
                            start_acc.out_of_pocket_met.family.cents, acc.oop_ind, acc.ded_fam
                        )
                        acc.sessions = dict(start_acc.sessions_used)
                year_start_snap = running = acc.snapshot()
            year_visits += 1
            tmpl = clinic.sessions[session]
            variant, tlines = tmpl.billing(payer.billing_variants)
            codes: list[str] = []
            charges: list[int] = []
            for tl in tlines:
                code = tl.code.values[0] if tl.code.plain else _at(tl.code, on, "clinic code")
                charge = chargemaster.get(code)
                if charge is None:
                    raise EstimateError(f"clinic chargemaster has no charge for code {code}")
                unit = charge.values[0] if charge.plain else _at(charge, on, f"chargemaster {code}")
                codes.append(code)
                charges.append(unit.cents * tl.units)

            # A visit whose lines are all priced without touching any state (self-pay, or not
            # covered by a rule whose decision does not depend on the date) repeats the lines
            # of an earlier visit with the same key, but for its date and number.
            age = 0 if c.self_pay else req.patient.age_on(on)
            key: tuple[object, ...] | None = None
            if not MEMO or (ci, session, variant) in covered_once:
                pass
            elif c.self_pay:
                key = (ci, session, variant, *codes, *charges, *self_pay_prices[vi])
            elif not c.superbill:
                rules = c.rules_key(codes, on)
                if rules is not None:
                    key = (ci, py, session, variant, age, *codes, *charges, *rules)
            hit = memo.get(key) if key is not None else None
            if hit is not None:
                statics, vsum, visit_totals = hit
                out_lines = [
                    _line(
                        {  # in field order: the JSON follows the dict's order
                            "visit": number,
                            "date": on,
                            "phase": phase_name,
                            "session": session,
                            **static,
                            "accumulators_before": running,
                            "accumulators_after": running,
                        }
                    )
                    for static in statics
                ]
            else:
                lines = [
                    _Line(tl, code, charge)
                    for tl, code, charge in zip(tlines, codes, charges, strict=True)
                ]
                if c.self_pay or c.superbill:
                    price, rule = self_pay_prices[vi]
                    if price >= 0:
                        for ln, part in zip(
                            lines, self._split(price, [ln.charge for ln in lines]), strict=True
                        ):
                            ln.charge = part
                    for ln in lines:
                        if c.self_pay:
                            ln.rule = rule
                            ln.reason = "self-pay"
                            ln.notes.append(f"self-pay {_fmt(ln.charge)} ({rule})")
                        else:
                            ln.notes.append(
                                f"paid to the clinic {_fmt(ln.charge)} ({rule}); claimed on a "
                                f"superbill to {payer.name}"
                            )
                if not c.self_pay:
                    for ln in lines:
                        c.decide(ln, on, age)
                    if c.network is not None:  # else: no benefits in this network at all
                        counted = c.apply_limits(lines, on, acc)
                        for ln in lines:
                            if ln.covered:
                                c.allow(ln, on)
                        if counted:
                            c.uncount(lines, counted, acc)
                        c.share(lines, on, acc)
                        if c.program is not None:
                            self._assist(c, lines, number, on, acc)
                        elif c.program_note is not None and c.program_note not in self.warnings:
                            self.warnings.append(c.program_note)

                vsum = [0] * len(_TOTAL_FIELDS)
                out_lines = self._emit(visit, variant, lines, running, vsum, c)
                visit_totals = _totals(vsum)
                if any(ln.covered for ln in lines):
                    covered_once.add((ci, session, variant))
                elif key is not None:
                    memo[key] = (
                        [
                            {k: v for k, v in o.__dict__.items() if k not in _PER_VISIT}
                            for o in out_lines
                        ],
                        vsum,
                        visit_totals,
                    )
            running = out_lines[-1].accumulators_after
            year_rows.append(vsum)
            out_visits.append(
                _visit(
                    {
                        "number": number,
                        "date": on,
                        "phase": phase_name,
                        "session": session,
                        "plan_year": py,
                        "payer_id": payer.id,
                        "network": c.cov.network,
                        "lines": tuple(out_lines),
                        "totals": visit_totals,
                    }
                )
            )
        if cur is not None:
            close_year()

        first = self.coverages[0]
        used_payers = [p for c in self.coverages for p in c.used_payers]
        used_programs = [c.used_program for c in self.coverages if c.used_program is not None]
        return _estimate(
            {
                "library_version": __version__,
                "rules_hash": rules_hash(used_payers, clinic, used_programs),
                "issued": req.issued,
                "payer_id": first.payer.id,
                "payer_name": first.payer.name,
                "network": first.cov.network,
                "visits": tuple(out_visits),
                "plan_years": tuple(years),
                "totals": _totals(_column_sums(year_totals)),
                "assistance": self._assistance_years(),
                "range": None,
                "warnings": tuple(self.warnings),
            }
        )

    def _assistance_years(self) -> tuple[AssistanceYear, ...]:
        out = []
        for year in sorted(self.assist_program):
            program = self.assist_program[year]
            cap = self.assist_cap[year]
            used = self.assist_used.get(year, 0)
            gone = self.assist_out.get(year)
            out.append(
                _assistance_year(
                    {
                        "program_id": program.id,
                        "program_name": program.name,
                        "year": year,
                        "annual_max": _M[cap],
                        "used": _M[used],
                        "remaining": _M[max(0, cap - used)],
                        "exhausted_visit": gone[0] if gone else None,
                        "exhausted_on": gone[1] if gone else None,
                    }
                )
            )
        return tuple(out)

    def _emit(
        self,
        visit: VisitTuple,
        variant: str,
        lines: list[_Line],
        before: Accumulators,
        vsum: list[int],
        c: _Coverage,
    ) -> list[EstimateLine]:
        """Build the output lines, adding their cents to ``vsum`` (``_TOTAL_FIELDS`` order)."""
        out: list[EstimateLine] = []
        number, on, _nominal, _phase, phase_name, session = visit
        # Accumulators move only on covered lines; replay them line by line.
        running = before
        ded_i, ded_f = before.deductible_individual.cents, before.deductible_family.cents
        oop_i, oop_f = before.out_of_pocket_individual.cents, before.out_of_pocket_family.cents
        superbill = c.superbill
        for ln in lines:
            assistance = ln.assistance
            if ln.covered:
                non_covered = 0
                cost = ln.copay + ln.deductible + ln.coinsurance
                payer_pays = ln.allowed - cost
                write_off = ln.charge - ln.allowed - ln.balance
                allowed, copay, ded, coins, balance = (
                    ln.allowed,
                    ln.copay,
                    ln.deductible,
                    ln.coinsurance,
                    ln.balance,
                )
            else:
                non_covered, cost, payer_pays, write_off = ln.charge, 0, 0, 0
                allowed = copay = ded = coins = balance = 0
                if not c.self_pay:
                    ln.notes.append(
                        f"not covered: {ln.reason}"
                        + ("; nothing is reimbursed" if superbill else "")
                    )
            after = running
            if ln.covered and (ln.credit_ded or ln.credit_oop):
                ded_i += ln.credit_ded
                ded_f += ln.credit_ded
                oop_i += ln.credit_oop
                oop_f += ln.credit_oop
                after = _accumulators(
                    {
                        "deductible_individual": _M[ded_i],
                        "deductible_family": _M[ded_f],
                        "out_of_pocket_individual": _M[oop_i],
                        "out_of_pocket_family": _M[oop_f],
                    }
                )
            patient = cost + balance + non_covered
            reimbursement = payer_pays if superbill else 0
            net = patient - assistance
            vsum[0] += ln.charge
            vsum[1] += allowed
            vsum[2] += copay
            vsum[3] += ded
            vsum[4] += coins
            vsum[5] += balance
            vsum[6] += non_covered
            vsum[7] += patient
            vsum[8] += payer_pays
            vsum[9] += write_off
            vsum[10] += assistance
            vsum[11] += reimbursement
            vsum[12] += net
            tl = ln.tmpl
            out.append(
                _line(
                    {
                        "visit": number,
                        "date": on,
                        "phase": phase_name,
                        "session": session,
                        "variant": variant,
                        "code": ln.code,
                        "units": tl.units,
                        "modifiers": tl.modifiers,
                        "description": tl.description,
                        "charge": _M[ln.charge],
                        "allowed": _M[allowed],
                        "covered": ln.covered,
                        "rule": ln.rule,
                        "reason": ln.reason,
                        "category": ln.category,
                        "copay": _M[copay],
                        "deductible": _M[ded],
                        "coinsurance": _M[coins],
                        "balance_bill": _M[balance],
                        "non_covered": _M[non_covered],
                        "patient": _M[patient],
                        "payer": _M[payer_pays],
                        "write_off": _M[write_off],
                        "assistance": _M[assistance],
                        "reimbursement": _M[reimbursement],
                        "patient_net": _M[net],
                        "explanation": tuple(ln.notes),
                        "accumulators_before": running,
                        "accumulators_after": after,
                    }
                )
            )
            running = after
        return out


def adjudicate(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None = None,
) -> Estimate:
    """Estimate a request against a set of payers. Pure: no I/O, no clock.

    ``programs`` are the manufacturer savings programs a request may name; by default those
    of ``payers`` when it is a :class:`~ketacost.PayerLibrary`. When the request lists
    ``unknowns``, the estimate carries a low/expected/high ``range``.

    Raises:
        UnknownPayerError: the request (or a payer it uses) names a payer not in ``payers``.
        EstimateError: the request cannot be priced (a value not in force on a date, ...).
    """
    if programs is None:
        programs = getattr(payers, "programs", None) or {}
    estimate = _Adjudicator(request, payers, programs).run()
    if request.unknowns is None:
        return estimate
    from ._range import estimate_range  # a sibling of the engine: it only re-runs it

    def run(variant: EstimateRequest) -> Estimate:
        return _Adjudicator(variant, payers, programs).run()

    found = estimate_range(request, estimate, run)
    return estimate.model_copy(update={"range": found})
