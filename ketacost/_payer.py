"""The payer rule file format: ``payers/<id>.yaml`` validates into a :class:`Payer`.

Structural checks live on the models (types, ranges, unknown keys). Cross-field checks
(a deductible above its out-of-pocket maximum, a rule naming a category that does not exist,
a code covered twice) are in :func:`payer_issues`, which returns each problem with the path
of the field at fault so the loader can point at ``file:line:column``. Cross-payer checks
(a ``percent_of_payer`` naming a payer that is not in the library) are in ``_library``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import Field, PrivateAttr, StrictBool, model_validator

from ._dated import Dated
from ._limits import MAX_VISITS
from ._money import Money
from ._secondary import SecondaryBenefit
from ._types import (
    Code,
    Day,
    Icd10,
    Int,
    Model,
    Multiplier,
    NetworkName,
    Rate,
    Slug,
    UnitRate,
    Usd,
)

__all__ = [
    "SCHEDULE_BASES",
    "AllowedBasis",
    "CostShare",
    "CoverageRule",
    "CoveredRule",
    "Deductible",
    "ExcludedRule",
    "FeeSchedule",
    "MedicareFeeSchedule",
    "Network",
    "NonParticipating",
    "OutOfPocketMax",
    "Payer",
    "PayerKind",
    "PayerMetadata",
    "PaymentReduction",
    "PercentOfCharge",
    "PercentOfPayer",
    "PlanYearStart",
    "Reference",
    "RuleConditions",
    "SessionLimit",
    "payer_issues",
    "rule_in_force",
]

PayerKind = Literal[
    "commercial",
    "commercial-hdhp",
    "medicare",
    "medicare-advantage",
    "medicaid",
    "tricare",
    "va",
    "medigap",
    "self-pay",
]

Loc = tuple[str | int, ...]


class Reference(Model):
    """Where a figure in the file comes from."""

    title: str = Field(min_length=1, description="the source's title")
    href: str = Field(
        description="the source's address (http(s), urn: or doi:)",
        pattern=r"^(https?://|urn:|doi:)\S+$",
    )


class PayerMetadata(Model):
    reference: tuple[Reference, ...] = Field(
        min_length=1, description="the sources of the file's figures (at least one)"
    )
    last_reviewed: Day = Field(description="when the figures were last checked against them")
    illustrative: StrictBool = Field(
        default=False,
        description="true when some figures are not public and stand for a typical plan",
    )
    notes: str | None = Field(default=None, description="free text for the file's readers")


class PlanYearStart(Model):
    """First day of the plan year (accumulators reset on it). January 1 by default."""

    month: Int = Field(default=1, ge=1, le=12, description="month of the first day, 1-12")
    day: Int = Field(
        default=1, ge=1, le=31, description="day of the month; one every year has (not Feb 29)"
    )

    @model_validator(mode="after")
    def _real_day(self) -> PlanYearStart:
        # Feb 29 is refused: a plan year must start on the same day every year.
        try:
            date(2023, self.month, self.day)
        except ValueError:
            raise ValueError(
                f"month {self.month} has no day {self.day} in every year; choose another day"
            ) from None
        return self

    def year_of(self, on: date) -> date:
        """Start date of the plan year that contains ``on``."""
        start = date(on.year, self.month, self.day)
        return start if on >= start else date(on.year - 1, self.month, self.day)


FamilyType = Literal["embedded", "aggregate"]


class Deductible(Model):
    """Individual and family deductible.

    ``embedded``: each person's own amount applies inside the family amount; ``aggregate``:
    for family coverage only the family amount applies.
    """

    individual: Dated[Usd] = Field(description="the deductible of one person, by date")
    family: Dated[Usd] | None = Field(
        default=None, description="the family deductible, by date (family coverage only)"
    )
    family_type: FamilyType = Field(
        default="embedded",
        description="embedded: the smaller of what is left of the individual and the family "
        "amount applies; aggregate: on family coverage the family amount alone applies",
    )


class OutOfPocketMax(Model):
    """Individual and family out-of-pocket maximum (cost sharing stops when reached)."""

    individual: Dated[Usd] = Field(description="the maximum of one person, by date")
    family: Dated[Usd] | None = Field(
        default=None, description="the family maximum, by date (family coverage only)"
    )
    family_type: FamilyType = Field(
        default="embedded",
        description="embedded: the smaller of what is left of the individual and the family "
        "amount applies; aggregate: on family coverage the family amount alone applies",
    )


class CostShare(Model):
    """Cost sharing for one category of service in one network."""

    copay: Dated[Usd] = Field(
        default=Dated(Money(0)),
        description="fixed amount per copay (how many a visit takes: the network's copay_scope)",
    )
    coinsurance: Dated[Rate] = Field(
        default=Dated(Decimal(0)),
        description="the patient's fraction (0 to 1) of what is left of allowed after copay "
        "and deductible",
    )
    deductible_applies: StrictBool = Field(
        default=True, description="whether the category's lines go toward the deductible first"
    )
    copay_after_deductible: StrictBool = Field(
        default=False,
        description="HSA-qualified plans: the copay applies only once the deductible is met",
    )


class FeeSchedule(Model):
    """Allowed amount per unit from the payer's own fee schedule."""

    basis: Literal["fee_schedule"] = Field(description="which allowed-amount basis this is")
    rates: dict[Code, Dated[UnitRate]] = Field(
        description="allowed amount per unit, by code and date; a code not listed is not priced"
    )


class MedicareFeeSchedule(Model):
    """Allowed amount per unit from a physician fee schedule file, as Medicare computes it.

    The amount of a code in the clinic's Medicare locality, at the facility or non-facility
    rate by the session's place of service (``ketacost._fee_schedule``). ``rates`` prices the
    codes the schedule does not (carrier-priced codes, codes whose RVUs were not found).
    """

    basis: Literal["medicare_fee_schedule"] = Field(
        description="which allowed-amount basis this is"
    )
    schedule: Dated[Slug] = Field(
        description="the schedule file in force (``fee-schedules/<id>.yaml``), dated by date "
        "of service"
    )
    rates: dict[Code, Dated[UnitRate]] = Field(
        default_factory=dict,
        description="this payer's own rate per unit for codes the schedule does not price",
    )


class PercentOfPayer(Model):
    """Allowed amount per unit = percent × another payer's in-network fee schedule rate.

    Rounded half-up to the cent per unit (e.g. 140% of Medicare).
    """

    basis: Literal["percent_of_payer"] = Field(description="which allowed-amount basis this is")
    payer: Slug = Field(description="id of the payer whose in-network rates are taken")
    percent: Dated[Multiplier] = Field(
        description="the multiplier of that payer's rate per unit (1.4 = 140%), by date"
    )
    fallback_rates: dict[Code, Dated[UnitRate]] = Field(
        default_factory=dict,
        description="this plan's own rate per unit for codes the other payer does not price "
        "(e.g. J0013, which Medicare pays only inside G2082/G2083); not multiplied by percent",
    )


class PercentOfCharge(Model):
    """Allowed amount = percent × the billed charge, rounded half-up to the cent per line."""

    basis: Literal["percent_of_charge"] = Field(description="which allowed-amount basis this is")
    percent: Dated[Rate] = Field(description="the fraction (0 to 1) of the charge, by date")


AllowedBasis = Annotated[
    FeeSchedule | MedicareFeeSchedule | PercentOfPayer | PercentOfCharge,
    Field(discriminator="basis"),
]

#: A basis another payer may take a percent of: a rate per code.
SCHEDULE_BASES = (FeeSchedule, MedicareFeeSchedule)


class Network(Model):
    """Benefits for one network tier (in or out)."""

    deductible: Deductible = Field(description="the network's deductible")
    out_of_pocket_max: OutOfPocketMax | None = Field(
        description="null when there is no cap (Original Medicare)"
    )
    allowed: AllowedBasis = Field(description="how the allowed amount is found, chosen by basis")
    balance_billing: StrictBool = Field(
        default=False, description="whether the patient may be billed charge minus allowed"
    )
    cost_sharing: dict[Slug, CostShare] = Field(
        min_length=1, description="cost sharing by category (a covered rule's category)"
    )
    # Most plans take one office-visit copay per provider per date of service; an add-on such
    # as 90833 is part of the E/M visit, not a second one. Some plans do charge an office
    # copay plus an in-office procedure copay on one date (domain.md 10.1).
    copay_scope: Literal["visit", "category", "line"] = Field(
        default="visit",
        description="visit: one copay per visit, the highest of its covered lines' categories; "
        "category: one per category per visit; line: one per covered line",
    )


class PharmacyBenefit(Model):
    """The payer's pharmacy benefit, for a drug a specialty pharmacy dispenses (issue 11 §4).

    On this route the pharmacy bills the drug (its allowed amount is also its charge) and the
    clinic bills the visit and observation. The drug's cost share is the tier's copay (per
    claim line), then the deductible where it applies, then coinsurance, capped at the
    maximum: the medical ones (``integrated``) or the benefit's own (``separate``).
    """

    codes: tuple[Code, ...] = Field(min_length=1, max_length=50, description="drug codes")
    rates: dict[Code, Dated[UnitRate]] = Field(description="allowed (and charged) per unit")
    tier: str = Field(
        default="specialty", min_length=1, max_length=40, description="the formulary tier's name"
    )
    copay: Dated[Usd] = Field(
        default=Dated(Money(0)), description="the tier's copay, per drug claim line"
    )
    coinsurance: Dated[Rate] = Field(
        default=Dated(Decimal(0)), description="the patient's fraction (0 to 1), by date"
    )
    deductible_applies: StrictBool = Field(
        default=True, description="whether the drug goes toward the deductible first"
    )
    accumulators: Literal["integrated", "separate"] = Field(
        default="integrated",
        description="integrated: the medical deductible and maximum; separate: its own",
    )
    deductible: Dated[Usd] | None = Field(default=None, description="separate: individual")
    out_of_pocket_max: Dated[Usd] | None = Field(default=None, description="separate: individual")


class RuleConditions(Model):
    """Conditions a covered rule puts on coverage; each one not met denies the line."""

    prior_authorization: StrictBool = Field(
        default=False, description="the line is covered only with an approval"
    )
    authorization_days: Int | None = Field(
        default=None, ge=1, description="an approval lasts this many days from its start"
    )
    authorization_visits: Int | None = Field(
        default=None,
        ge=1,
        le=400,
        description="an approval covers this many visits (with authorization_days: whichever "
        "runs out first)",
    )
    # Approvals are renewed on documented response, each renewal for its own length, e.g.
    # 4 weeks, then 4 weeks, then 3 months (Medica/Credence PH-0481; domain.md 10.4).
    renewal_days: tuple[Int, ...] = Field(
        default=(),
        max_length=12,
        description="each renewal's length in days, in order (the last repeats); none: the "
        "approval is not renewed",
    )
    authorization_group: Slug | None = Field(
        default=None,
        description="rules with the same group share one approval and its window (one "
        "approval covering either of two drugs); by default each rule has its own",
    )
    min_failed_trials: Int = Field(
        default=0, ge=0, le=20, description="step therapy: failed trials the patient must have"
    )
    min_age: Int | None = Field(
        default=None, ge=0, le=130, description="the youngest age covered, in years"
    )
    max_age: Int | None = Field(default=None, ge=0, le=130, description="the oldest age covered")
    diagnoses: tuple[Icd10, ...] = Field(
        default=(), description="ICD-10 codes of which the patient needs one; none: any"
    )


class _RuleBase(Model):
    id: Slug | None = Field(default=None, description="a name for the rule, unique in the file")
    codes: tuple[Code, ...] = Field(min_length=1, description="the codes the rule applies to")
    effective_from: Day | None = Field(default=None, description="first date of service, inclusive")
    effective_until: Day | None = Field(default=None, description="last date of service, inclusive")
    networks: tuple[NetworkName, ...] = Field(
        default=("in", "out"), description="the networks the rule applies in"
    )

    def in_force(self, on: date) -> bool:
        return (self.effective_from is None or on >= self.effective_from) and (
            self.effective_until is None or on <= self.effective_until
        )


class CoveredRule(_RuleBase):
    status: Literal["covered"] = Field(description="a rule that covers its codes")
    category: Slug = Field(description="the cost-sharing category (a key of cost_sharing)")
    conditions: RuleConditions = Field(
        default=RuleConditions(), description="what coverage requires"
    )
    policy: str | None = Field(default=None, description="the payer policy the rule comes from")


class ExcludedRule(_RuleBase):
    status: Literal["excluded"] = Field(description="a rule that excludes its codes")
    reason: str = Field(min_length=1, description="the payer's reason, shown to the patient")
    # Original Medicare only (CMS-R-131; Claims Processing Manual 100-04 ch. 30 §50): a
    # statutory exclusion needs no notice and the patient owes it; a service Medicare denies as
    # not reasonable and necessary is the patient's only with a signed ABN (modifier GA),
    # else the clinic's (GZ). The default is the reading every other payer has always had.
    liability: Literal["statutory", "not_reasonable_and_necessary"] = Field(
        default="statutory",
        description="statutory: the patient owes it (no notice needed); "
        "not_reasonable_and_necessary (kind medicare only): the patient owes it only with a "
        "signed Advance Beneficiary Notice, else the clinic writes it off",
    )


CoverageRule = Annotated[CoveredRule | ExcludedRule, Field(discriminator="status")]


class SessionLimit(Model):
    """At most N visits per plan year that bill any code of the group (a visit counts once)."""

    codes: tuple[Code, ...] = Field(min_length=1, description="the group's codes")
    sessions_per_plan_year: Dated[Annotated[Int, Field(ge=0, le=MAX_VISITS)]] = Field(
        description="visits covered per plan year, by date"
    )


class PaymentReduction(Model):
    """A cut to what the payer pays on each line, e.g. Medicare's sequestration.

    The payer's payment (allowed − the patient's cost share) is reduced by ``percent``,
    rounded half-up per line; the patient's cost share is not reduced. On an assigned claim
    the clinic writes the cut off; where the payer pays the patient (an unassigned claim, a
    superbill) the patient bears it.
    """

    percent: Dated[Rate] = Field(description="by date of service; none before the first date")
    reason: str = Field(min_length=1, max_length=200, description="shown on each line cut")


class NonParticipating(Model):
    """What the payer allows a provider that does not participate (Original Medicare).

    The allowed amount per unit is ``allowed`` × the fee schedule's; on an unassigned claim
    the patient may be billed up to ``limiting_charge`` × that per unit. Each is rounded
    half-up to the cent per unit (the fee schedule publishes per-unit amounts).
    """

    allowed: Dated[Rate] = Field(description="fraction of the fee schedule amount allowed, by date")
    limiting_charge: Dated[Multiplier] = Field(
        description="most the patient may be billed on an unassigned claim, as a multiple of "
        "the non-participating allowed amount, by date"
    )


class Payer(Model):
    """One payer's rules. The file ``payers/<id>.yaml`` holds payer ``<id>``."""

    id: Slug = Field(description="the payer's id; the file is payers/<id>.yaml")
    name: str = Field(min_length=1, description="the name shown on an estimate")
    kind: PayerKind = Field(description="the kind of payer, which decides the rules that apply")
    metadata: PayerMetadata = Field(description="the file's sources and review date")
    plan_year_start: PlanYearStart = Field(
        default=PlanYearStart(), description="first day of the plan year"
    )
    billing_variants: tuple[Slug, ...] = Field(
        default=(),
        description="billing variants of a session the payer takes, in order of preference",
    )
    networks: dict[NetworkName, Network] = Field(
        default_factory=dict, description="benefits per network (in, out)"
    )
    coverage: tuple[CoverageRule, ...] = Field(
        default=(), max_length=1_000, description="at most 1,000 rules"
    )
    limits: dict[Slug, SessionLimit] = Field(
        default_factory=dict, description="session limits, by name"
    )
    copay_accumulator: StrictBool = Field(
        default=False,
        description="true: manufacturer assistance does not count toward the deductible or "
        "out-of-pocket maximum (only what the patient pays does)",
    )
    drug_benefits: tuple[Literal["medical", "pharmacy"], ...] = Field(
        default=("medical",),
        min_length=1,
        description="the routes a drug may take: the clinic bills it (medical) or a specialty "
        "pharmacy does (pharmacy, under `pharmacy`)",
    )
    pharmacy: PharmacyBenefit | None = Field(
        default=None, description="the pharmacy benefit, when drug_benefits lists pharmacy"
    )
    as_secondary: tuple[SecondaryBenefit, ...] = Field(
        default=(),
        max_length=10,
        description="how the plan pays when it is the second payer, per kind of primary payer "
        "(coordination of benefits); the first entry whose `after` lists the primary's kind",
    )

    def secondary_method(self, primary_kind: str) -> SecondaryBenefit | None:
        """How this plan pays after a primary payer of ``primary_kind``, if it does."""
        return next((m for m in self.as_secondary if primary_kind in m.after), None)

    payment_reduction: PaymentReduction | None = Field(
        default=None, description="a dated cut to the payer's payment on each line"
    )
    non_participating: NonParticipating | None = Field(
        default=None,
        description="kind medicare: the allowed amount and limiting charge for a clinic that "
        "does not participate (its `medicare.participation`)",
    )

    _index: dict[str, tuple[CoveredRule | ExcludedRule, ...]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _build_index(self) -> Payer:
        # Derived from `coverage` at construction, so equal payers have equal indexes.
        index: dict[str, list[CoveredRule | ExcludedRule]] = {}
        for rule in self.coverage:
            for code in rule.codes:
                index.setdefault(code, []).append(rule)
        self._index = {k: tuple(v) for k, v in index.items()}
        return self

    def rule_index(self) -> dict[str, tuple[CoveredRule | ExcludedRule, ...]]:
        """Coverage rules by code, in file order (built once, at validation)."""
        return self._index

    def rules_for(self, code: str, on: date, network: str) -> CoveredRule | ExcludedRule | None:
        """The coverage rule in force for ``code`` on ``on`` in ``network``, if any."""
        return rule_in_force(self._index.get(code, ()), on, network)

    def rule_label(self, rule: CoveredRule | ExcludedRule) -> str:
        """A stable name for a rule: its id, else ``coverage[i]``."""
        if rule.id:
            return f"{self.id}:{rule.id}"
        for i, r in enumerate(self.coverage):
            if r is rule:
                return f"{self.id}:coverage[{i}]"
        return f"{self.id}:coverage"


def _dated_max_over(a: Dated[Usd], b: Dated[Usd]) -> Iterator[tuple[date, Money, Money]]:
    """(date, a, b) at each date where either changes, for comparing two dated amounts."""
    dates = sorted({date.min, *a.change_dates(), *b.change_dates()})
    for d in dates:
        try:
            yield d, a.at(d), b.at(d)
        except LookupError:
            continue


def rule_in_force(
    rules: tuple[CoveredRule | ExcludedRule, ...], on: date, network: str
) -> CoveredRule | ExcludedRule | None:
    """The first of a code's rules (in file order) that applies in ``network`` on ``on``."""
    for rule in rules:
        if network in rule.networks and rule.in_force(on):
            return rule
    return None


def payer_issues(payer: Payer) -> list[tuple[Loc, str]]:
    """Cross-field problems in one payer, each with the path of the field at fault."""
    issues: list[tuple[Loc, str]] = []
    if payer.kind in ("self-pay", "medigap") and (payer.networks or payer.coverage):
        issues.append((("kind",), f"a {payer.kind} payer has no networks or coverage rules"))
    if payer.kind not in ("self-pay", "medigap") and not payer.networks:
        issues.append((("networks",), "a payer needs at least one network ('in' or 'out')"))
    issues += _secondary_issues(payer)
    for net_name, net in payer.networks.items():
        issues += _network_amount_issues(("networks", net_name), net)
    issues += _pharmacy_issues(payer)
    if payer.non_participating is not None and payer.kind != "medicare":
        issues.append((("non_participating",), f"applies to kind medicare only (got {payer.kind})"))
    seen: dict[tuple[str, str], list[int]] = {}
    ids: dict[str, int] = {}
    for i, rule in enumerate(payer.coverage):
        loc: Loc = ("coverage", i)
        if rule.id is not None:
            if rule.id in ids:
                issues.append(
                    ((*loc, "id"), f"duplicate rule id {rule.id!r} (also coverage[{ids[rule.id]}])")
                )
            ids[rule.id] = i
        if (
            rule.effective_from is not None
            and rule.effective_until is not None
            and rule.effective_until < rule.effective_from
        ):
            issues.append(((*loc, "effective_until"), "ends before effective_from"))
        if isinstance(rule, CoveredRule):
            issues += _covered_rule_issues(payer, loc, rule)
        elif rule.liability == "not_reasonable_and_necessary" and payer.kind != "medicare":
            issues.append(
                (
                    (*loc, "liability"),
                    "an Advance Beneficiary Notice is Original Medicare's: "
                    f"not_reasonable_and_necessary needs kind medicare (got {payer.kind})",
                )
            )
        issues += _overlap_issues(payer, loc, i, rule, seen)
    return issues


def _first_over(pairs: Iterator[tuple[date, Money, Money]]) -> tuple[date, Money, Money] | None:
    """The first date on which the first amount is above the second."""
    return next(((d, a, b) for d, a, b in pairs if a > b), None)


def _from(d: date) -> str:
    return "" if d == date.min else f" from {d.isoformat()}"


def _network_amount_issues(base: Loc, net: Network) -> list[tuple[Loc, str]]:
    """A deductible never above its maximum, nor an individual amount above the family one.

    Checked on every date either amount changes.
    """
    issues: list[tuple[Loc, str]] = []
    ded, oop = net.deductible, net.out_of_pocket_max
    if oop is not None:
        over = _first_over(_dated_max_over(ded.individual, oop.individual))
        if over is not None:
            issues.append(
                (
                    (*base, "deductible", "individual"),
                    f"deductible {over[1]} is above the out-of-pocket maximum {over[2]}"
                    + _from(over[0]),
                )
            )
        if ded.family is not None and oop.family is not None:
            over = _first_over(_dated_max_over(ded.family, oop.family))
            if over is not None:
                issues.append(
                    (
                        (*base, "deductible", "family"),
                        f"family deductible {over[1]} is above the family out-of-pocket "
                        f"maximum {over[2]}" + _from(over[0]),
                    )
                )
    for label, pair in (("deductible", ded), ("out_of_pocket_max", oop)):
        if pair is None or pair.family is None:
            continue
        over = _first_over(_dated_max_over(pair.individual, pair.family))
        if over is not None:
            issues.append(
                (
                    (*base, label, "individual"),
                    f"individual amount {over[1]} is above the family amount {over[2]}"
                    + _from(over[0]),
                )
            )
    return issues


def _covered_rule_issues(payer: Payer, loc: Loc, rule: CoveredRule) -> list[tuple[Loc, str]]:
    """A covered rule's category exists in each of its networks; its conditions agree."""
    issues: list[tuple[Loc, str]] = []
    for net_name in rule.networks:
        rule_net = payer.networks.get(net_name)
        if rule_net is not None and rule.category not in rule_net.cost_sharing:
            known = ", ".join(sorted(rule_net.cost_sharing))
            issues.append(
                (
                    (*loc, "category"),
                    f"category {rule.category!r} does not exist in "
                    f"networks.{net_name}.cost_sharing (known: {known})",
                )
            )
    c = rule.conditions
    if c.min_age is not None and c.max_age is not None and c.max_age < c.min_age:
        issues.append(((*loc, "conditions", "max_age"), "is below min_age"))
    for name in ("authorization_days", "authorization_visits", "renewal_days"):
        if getattr(c, name) and not c.prior_authorization:
            issues.append(((*loc, "conditions", name), "needs prior_authorization: true"))
    if c.renewal_days and c.authorization_days is None and c.authorization_visits is None:
        issues.append(
            (
                (*loc, "conditions", "renewal_days"),
                "needs an initial length (authorization_days or authorization_visits)",
            )
        )
    if any(days < 1 or days > 366 for days in c.renewal_days):
        issues.append(((*loc, "conditions", "renewal_days"), "each must be 1 to 366 days"))
    return issues


def _pharmacy_issues(payer: Payer) -> list[tuple[Loc, str]]:
    """A pharmacy route has a benefit, each of its codes a rate, separate amounts only apart."""
    issues: list[tuple[Loc, str]] = []
    route = "pharmacy" in payer.drug_benefits
    if len(set(payer.drug_benefits)) != len(payer.drug_benefits):
        issues.append((("drug_benefits",), "lists a route twice"))
    if route and payer.pharmacy is None:
        issues.append((("pharmacy",), "drug_benefits lists pharmacy: give the pharmacy benefit"))
    if payer.pharmacy is None:
        return issues
    if not route:
        issues.append((("drug_benefits",), "has a pharmacy benefit: list pharmacy here"))
    ph = payer.pharmacy
    issues += [
        (("pharmacy", "codes", i), f"code {code} has no rate in pharmacy.rates")
        for i, code in enumerate(ph.codes)
        if code not in ph.rates
    ]
    if ph.accumulators == "separate" and ph.deductible is None and ph.deductible_applies:
        issues.append((("pharmacy", "deductible"), "a separate deductible needs an amount"))
    if ph.accumulators == "integrated":
        for name in ("deductible", "out_of_pocket_max"):
            if getattr(ph, name) is not None:
                issues.append(
                    (("pharmacy", name), "only with accumulators: separate (integrated uses "
                     "the medical amounts)")
                )  # fmt: skip
    return issues


def _overlap_issues(
    payer: Payer,
    loc: Loc,
    index: int,
    rule: CoveredRule | ExcludedRule,
    seen: dict[tuple[str, str], list[int]],
) -> list[tuple[Loc, str]]:
    """No code has two rules in force on the same dates in one network.

    Each code's first clash is reported.
    """
    issues: list[tuple[Loc, str]] = []
    for j, code in enumerate(rule.codes):
        for net_name in rule.networks:
            key = (code, net_name)
            clash = next((k for k in seen.get(key, []) if _overlap(rule, payer.coverage[k])), None)
            if clash is not None:
                issues.append(
                    (
                        (*loc, "codes", j),
                        f"code {code} already has a rule in force on the same dates "
                        f"(coverage[{clash}])",
                    )
                )
                break
            seen.setdefault(key, []).append(index)
    return issues


def _overlap(a: CoveredRule | ExcludedRule, b: CoveredRule | ExcludedRule) -> bool:
    a_from = a.effective_from or date.min
    a_until = a.effective_until or date.max
    b_from = b.effective_from or date.min
    b_until = b.effective_until or date.max
    return a_from <= b_until and b_from <= a_until


def _secondary_issues(payer: Payer) -> list[tuple[Loc, str]]:
    """A second payer's methods: each fits its method, follows known kinds, none twice."""
    issues: list[tuple[Loc, str]] = []
    kinds = set(get_args(PayerKind))
    seen: dict[str, int] = {}
    if payer.kind == "medigap" and not payer.as_secondary:
        issues.append((("as_secondary",), "a medigap plan pays only second: give as_secondary"))
    for i, m in enumerate(payer.as_secondary):
        loc: Loc = ("as_secondary", i)
        for j, kind in enumerate(m.after):
            if kind not in kinds or kind in ("self-pay", "medigap"):
                issues.append(((*loc, "after", j), f"not a kind of primary payer: {kind!r}"))
            elif kind in seen:
                issues.append(((*loc, "after", j), f"{kind} is in as_secondary[{seen[kind]}]"))
            seen.setdefault(kind, i)
        issues += _method_issues(payer, loc, m)
    return issues


def _method_issues(payer: Payer, loc: Loc, m: SecondaryBenefit) -> list[tuple[Loc, str]]:
    """One ``as_secondary`` entry: its fields fit its method and the payer's kind."""
    issues: list[tuple[Loc, str]] = []
    supplement = m.method == "supplement"
    if supplement != (payer.kind == "medigap"):
        what = "only a medigap plan" if supplement else "a medigap plan only"
        issues.append(((*loc, "method"), f"{what} pays as a supplement"))
    if supplement and m.after != ("medicare",):
        issues.append(((*loc, "after"), "a supplement follows Original Medicare only"))
    if not supplement and (m.pays or m.office_visit_copay or m.sold_to_eligible_before):
        issues.append(((*loc, "method"), "pays, office_visit_copay and "
                       "sold_to_eligible_before belong to the supplement method"))  # fmt: skip
    if supplement and not m.pays:
        issues.append(((*loc, "pays"), "list the parts of Medicare's cost share it pays"))
    if len(set(m.pays)) != len(m.pays):
        issues.append(((*loc, "pays"), "lists a part twice"))
    if m.payment == "lesser_of" and m.method not in ("medicare_crossover", "last_resort"):
        issues.append(((*loc, "payment"), "lesser_of belongs to Medicaid's methods"))
    if m.method in ("medicare_crossover", "last_resort") and payer.kind != "medicaid":
        issues.append(((*loc, "method"), f"{m.method} is Medicaid's method"))
    if m.method == "medicare_crossover" and m.after != ("medicare",):
        issues.append(((*loc, "after"), "medicare_crossover follows Original Medicare only"))
    if m.method == "medicare_secondary_payer" and payer.kind != "medicare":
        issues.append(((*loc, "method"), "medicare_secondary_payer is Original Medicare's"))
    if m.method == "tricare_for_life" and (payer.kind != "tricare" or m.after != ("medicare",)):
        issues.append(((*loc, "method"), "tricare_for_life is a TRICARE plan after Medicare"))
    return issues
