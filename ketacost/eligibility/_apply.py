"""From an eligibility snapshot to a request: :func:`apply_snapshot` and its policies.

:meth:`EligibilitySnapshot.apply` delegates here. The request's first coverage
(``request.coverage``; not its later coverage periods, not its second payer) gets its starting
accumulators and plan year from the snapshot; every figure used is recorded with its source.
The ambiguous cases are settled by :class:`ApplyPolicy`, declared and documented (README,
"Eligibility in"):

- **Which figures**: the first service type of ``service_types`` that has the figure in the
  coverage's network, both networks (EB12 W) or one the response did not say (``unknown``;
  see below); then each period (total, met, remaining) from the first of those tiers that
  sends it. Service types: mental health (MH, A4–A8) before the plan level (30), because
  ketamine and esketamine visits are behavioural-health visits. Other service types are not
  used for accumulators.
- **Periods**: annual terms (calendar year, service year, contract, years), and figures whose
  period code is not a term (29 remaining, 24 year to date: term ``other``), are the current
  plan year's; lifetime and per-visit amounts are never a plan year's accumulator (ignored,
  with a warning). Met is the figure the response sends (24 year to date, FHIR usedMoney); else
  total − remaining; else, with remaining only (period code 29 alone), the payer file's own
  amount on the snapshot's date − remaining, with a warning.
- **Duplicates** (two figures for the same thing that differ): ``higher`` (default) takes the
  higher amount, ``lower`` the lower, ``error`` refuses, naming both sources.
- **Network unknown**: ``range`` (default) uses the figures as the coverage's network's and
  makes the starting accumulators a range driver (``unknowns.accumulators``): the other end is
  the request's own accumulators before the response (nothing met, when it had none), as if
  the figures were another tier's; ``assume`` uses them without a range; ``ignore`` does not
  use them. Either way a warning says so.
- **Another payer** reported: a warning naming it, a candidate second payer; the request's
  ``coverage.secondary`` is set only when ``secondary_payer`` names the payer id to use.
- **Cost sharing**: copays and coinsurance that differ from the payer file are warnings, side
  by side. ``use_cost_sharing=True`` applies them (and the deductible and out-of-pocket
  totals the response gives) as this patient's: a derived payer ``<id>-eligibility`` named
  "… (this patient's eligibility response)", added to the returned payers, so the estimate
  says so and its rules hash covers the figures used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError

from ketacost._checks import accumulator_problems
from ketacost._dated import Dated, NoValueInForceError
from ketacost._errors import EligibilityError
from ketacost._library import PayerLibrary
from ketacost._money import Money
from ketacost._payer import CostShare, Network, Payer, PlanYearStart
from ketacost._request import (
    Coverage,
    EstimateRequest,
    FamilyAmounts,
    StartingAccumulators,
    Unknowns,
)
from ketacost._types import Model, Rate, Slug

from ._snapshot import AccumulatorFigure, CostShareFigure, Source

if TYPE_CHECKING:
    from ._snapshot import EligibilitySnapshot

__all__ = ["AppliedEligibility", "ApplyPolicy", "FigureUse", "apply_snapshot"]

#: Mental-health service types, in order of preference (domain.md §6.1): MH mental health,
#: A8 psychiatric outpatient, A4 psychiatric, A6 psychotherapy, A5 psychiatric room and
#: board, A7 psychiatric inpatient.
MENTAL_HEALTH = ("MH", "A8", "A4", "A6", "A5", "A7")
#: Terms that are never a plan year's accumulator. Any other term is the current plan year's:
#: the annual ones (calendar year, service year, contract, years) and ``other``, which a 271
#: reader gives a figure whose own period code is not a term (29 remaining, 24 year to date).
_NOT_A_PLAN_YEAR = ("lifetime", "visit", "not_annual")


class ApplyPolicy(Model):
    """How :meth:`EligibilitySnapshot.apply` settles the ambiguous cases (module doc)."""

    duplicates: Literal["higher", "lower", "error"] = "higher"
    service_types: tuple[str, ...] = Field(
        default=(*MENTAL_HEALTH, "30"),
        min_length=1,
        description="service types whose accumulators are used, first preferred",
    )
    unknown_network: Literal["range", "assume", "ignore"] = "range"
    categories: dict[Slug, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "behavioral-health": (*MENTAL_HEALTH, "30"),
            "office-visit": ("98", "96", "30"),
        },
        description="payer cost-sharing category → the service types whose copay and "
        "coinsurance it compares (and overrides), first preferred",
    )
    use_cost_sharing: bool = False
    secondary_payer: Slug | None = Field(
        default=None,
        description="a payer id to set as coverage.secondary when the response reports "
        "another payer (default: only a warning)",
    )


class FigureUse(Model):
    """One value ``apply`` set, and the figures it came from."""

    target: str = Field(description="what was set, e.g. deductible_met.individual")
    amount: Money | None = None
    percent: Rate | None = None
    how: str = Field(description="e.g. 'met as sent', 'total − remaining'")
    sources: tuple[Source, ...]

    def where(self) -> str:
        """The sources in words."""
        return "; ".join(s.where() for s in self.sources)


@dataclass(frozen=True)
class AppliedEligibility:
    """A request with the snapshot applied.

    ``request``: the new request; ``payers``: the payer library to estimate it with (the one
    given, plus the derived payer when cost sharing was applied); ``used``: every value set,
    with its sources; ``warnings``: what a billing office should read; ``network_unknown``:
    a figure used did not say its network.
    """

    request: EstimateRequest
    payers: Mapping[str, Payer]
    used: tuple[FigureUse, ...]
    warnings: tuple[str, ...]
    network_unknown: bool


@dataclass
class _Pick:
    amount: Money
    how: str
    sources: tuple[Source, ...]
    network: str


def _one(figures: list[AccumulatorFigure], policy: ApplyPolicy) -> AccumulatorFigure | None:
    """The figure of several for the same thing, by the duplicates policy."""
    if not figures:
        return None
    amounts = {f.amount for f in figures}
    if len(amounts) > 1 and policy.duplicates == "error":
        a, b = figures[0], next(f for f in figures if f.amount != figures[0].amount)
        raise EligibilityError(
            f"{a.source.where()}: {a.kind} {a.period} {a.amount} differs from "
            f"{b.amount} at {b.source.where()} (duplicates: error)"
        )
    pick = max if policy.duplicates == "higher" else min
    return pick(figures, key=lambda f: f.amount.cents)


def _tiers(network: str) -> tuple[str, ...]:
    return (network, "both", "unknown")


class _Applier:
    def __init__(
        self,
        snapshot: EligibilitySnapshot,
        request: EstimateRequest,
        payers: Mapping[str, Payer],
        policy: ApplyPolicy,
    ) -> None:
        self.snapshot = snapshot
        self.request = request
        self.policy = policy
        self.coverage = request.coverage
        self.payer = payers[self.coverage.payer]
        self.payers = payers
        self.net = self.payer.networks.get(self.coverage.network)
        self.used: list[FigureUse] = []
        self.warnings: list[str] = []
        self.network_unknown = False

    # -- accumulators -------------------------------------------------------------------

    def candidates(self, kind: str, level: str) -> list[AccumulatorFigure]:
        """The figures for one amount, of the first service type that has any.

        Those of the coverage's network, both networks, and (unless ignored) an unknown one;
        :meth:`period` takes each period's figure from the first of these that sends it.
        """
        tiers = _tiers(self.coverage.network)
        figures = [
            f
            for f in self.snapshot.accumulators
            if f.kind == kind and f.level == level and f.term not in _NOT_A_PLAN_YEAR
        ]
        if self.policy.unknown_network == "ignore":
            tiers = tiers[:2]
            if any(f.network == "unknown" for f in figures):
                self.warnings.append(
                    f"{kind} {level}: figures without a network were not used "
                    "(unknown_network: ignore)"
                )
        usable = [f for f in figures if f.network in tiers]
        # Per service type (in the policy's order) the figures it sends; the one chosen is
        # the first whose figures give what is met (met, or total and remaining) from known
        # networks, then from any, then the first with a remaining at all: a mental-health
        # remaining alone never displaces a plan-level (30) total and remaining.
        options = []
        for rank, service in enumerate(self.policy.service_types):
            group = [f for f in usable if f.service_type == service]
            if not group:
                continue
            picked = [self.period(group, p, quiet=True) for p in ("total", "met", "remaining")]
            total, met, remaining = picked
            complete = met is not None or (total is not None and remaining is not None)
            unknown = any(f is not None and f.network == "unknown" for f in picked)
            options.append((not complete, unknown, rank, group))
        return min(options, key=lambda o: o[:3])[3] if options else []

    def period(
        self, figures: list[AccumulatorFigure], period: str, *, quiet: bool = False
    ) -> AccumulatorFigure | None:
        """The figure for one period: the first network tier that sends it, by the policy.

        Figures that differ for the same thing are settled by the duplicates policy, and
        (unless ``quiet``: only looking) a warning names them and the policy.
        """
        for tier in _tiers(self.coverage.network):
            found = [f for f in figures if f.period == period and f.network == tier]
            if found:
                chosen = _one(found, self.policy)
                others = [f for f in found if f.amount != chosen.amount] if chosen else []
                if others and not quiet and chosen is not None:
                    self.warnings.append(
                        f"{chosen.kind} {chosen.level} {period}: the response sends "
                        f"{chosen.amount} ({chosen.source.where()}) and "
                        + ", ".join(f"{f.amount} ({f.source.where()})" for f in others)
                        + f"; {chosen.amount} is used (duplicates: {self.policy.duplicates})"
                    )
                return chosen
        return None

    def plan_amount(self, kind: str, level: str) -> Money | None:
        """The payer file's own amount for the snapshot's date, for this network.

        The plan year's amount (:meth:`Dated.in_plan_year`): the one in force on the first day
        of the plan year holding the snapshot's date, as the estimate uses; the plan year
        begins on the response's plan begin date when it gives one.
        """
        if self.net is None:
            return None
        amounts = self.net.deductible if kind == "deductible" else self.net.out_of_pocket_max
        if amounts is None:
            return None
        dated = amounts.individual if level == "individual" else amounts.family
        if dated is None:
            return None
        as_of = self.snapshot.as_of
        try:
            return dated.in_plan_year(as_of, self.plan_year_start().year_of(as_of))
        except NoValueInForceError:  # no value in force on that date: nothing to compare
            return None

    def plan_year_start(self) -> PlanYearStart:
        """When the plan year begins, as :meth:`plan_year` sets it (without its notes).

        The response's plan begin date, else the request's plan year, else the payer file's
        (:meth:`Coverage.plan_year_of` without the response's date, which comes first here).
        """
        begin = self.snapshot.plan_begin
        if begin is not None and (begin.month, begin.day) != (2, 29):
            return PlanYearStart(month=begin.month, day=begin.day)
        return self.coverage.plan_year_start or self.payer.plan_year_start

    def met(self, kind: str, level: str) -> _Pick | None:
        figures = self.candidates(kind, level)
        total, met, remaining = (self.period(figures, p) for p in ("total", "met", "remaining"))
        plan = self.plan_amount(kind, level)
        if total is not None and plan is not None and total.amount != plan:
            self.warnings.append(
                f"{kind} {level} ({self.coverage.network} network): the response says "
                f"{total.amount} ({total.source.where()}), the payer file "
                f"{self.payer.id} says {plan}"
            )
        if met is not None:
            if total is not None and remaining is not None:
                derived = total.amount - remaining.amount
                if derived != met.amount:
                    raise EligibilityError(
                        f"{met.source.where()}: {kind} {level} met {met.amount} contradicts the "
                        f"total {total.amount} ({total.source.where()}) less the remaining "
                        f"{remaining.amount} ({remaining.source.where()}) = {derived}"
                    )
            return _Pick(met.amount, "met as sent", (met.source,), met.network)
        if remaining is None:
            return None
        if total is not None:
            if remaining.amount > total.amount:
                raise EligibilityError(
                    f"{remaining.source.where()}: {kind} remaining {remaining.amount} is above "
                    f"the total {total.amount} ({total.source.where()})"
                )
            return _Pick(
                total.amount - remaining.amount,
                "total − remaining",
                (total.source, remaining.source),
                "unknown" if "unknown" in (total.network, remaining.network) else total.network,
            )
        if plan is None or remaining.amount > plan:
            self.warnings.append(
                f"{kind} {level}: only the remaining {remaining.amount} is sent "
                f"({remaining.source.where()}), and the payer file has no amount it fits "
                "under; not used"
            )
            return None
        self.warnings.append(
            f"{kind} {level}: only the remaining {remaining.amount} is sent "
            f"({remaining.source.where()}); met = the payer file's {plan} − remaining"
        )
        return _Pick(
            plan - remaining.amount,
            f"payer file {self.payer.id} {plan} − remaining",
            (remaining.source,),
            remaining.network,
        )

    def accumulators(self) -> StartingAccumulators | None:
        ignored = [f for f in self.snapshot.accumulators if f.term in _NOT_A_PLAN_YEAR]
        if ignored:
            self.warnings.append(
                f"{len(ignored)} lifetime, per-visit or other non-annual accumulator figure(s) "
                f"ignored: not a plan year's (first: {ignored[0].source.where()})"
            )
        amounts: dict[str, dict[str, Money]] = {}
        for kind in ("deductible", "out_of_pocket"):
            for level in ("individual", "family"):
                pick = self.met(kind, level)
                if pick is None:
                    continue
                amounts.setdefault(kind, {})[level] = pick.amount
                self.network_unknown |= pick.network == "unknown"
                self.used.append(
                    FigureUse(
                        target=f"{kind}_met.{level}",
                        amount=pick.amount,
                        how=pick.how,
                        sources=pick.sources,
                    )
                )
        if not amounts:
            return None
        old = self.coverage.accumulators
        if old is not None:
            self.warnings.append(
                f"the request's starting accumulators (as of {old.as_of}) are replaced by the "
                f"response's (as of {self.snapshot.as_of})"
            )
        try:
            return StartingAccumulators(
                as_of=self.snapshot.as_of,
                deductible_met=FamilyAmounts(**amounts.get("deductible", {})),
                out_of_pocket_met=FamilyAmounts(**amounts.get("out_of_pocket", {})),
                sessions_used=old.sessions_used if old is not None else {},
            )
        except ValidationError as exc:
            found = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            raise EligibilityError(
                f"the response's figures contradict each other: {found}"
            ) from None

    # -- plan year, network, other payers ---------------------------------------------------

    def plan_year(self) -> PlanYearStart | None:
        begin, end = self.snapshot.plan_begin, self.snapshot.plan_end
        if begin is None:
            return None
        if not (begin <= self.snapshot.as_of and (end is None or self.snapshot.as_of <= end)):
            self.warnings.append(
                f"the response's date {self.snapshot.as_of} is outside its plan dates "
                f"({begin} to {end or '…'})"
            )
        if begin.month == 2 and begin.day == 29:
            self.warnings.append(f"plan begins on {begin}: a plan year cannot start on Feb 29")
            return None
        start = PlanYearStart(month=begin.month, day=begin.day)
        if start == self.payer.plan_year_start and self.coverage.plan_year_start is None:
            return None
        self.used.append(
            FigureUse(
                target="plan_year_start",
                how=f"{start.month:02d}-{start.day:02d} from the plan begin date {begin}",
                sources=(Source(format=self.snapshot.format, element="plan_begin"),),
            )
        )
        return start

    def range_unknowns(self, accumulators: StartingAccumulators | None) -> Unknowns | None:
        """The unknowns, with the range a network not said makes (policy ``range``).

        The range's other starting point is the request's own (nothing met, when it had none).
        """
        old = self.request.unknowns
        if not self.network_unknown:
            return old
        policy = self.policy.unknown_network
        self.warnings.append(
            "the response does not say which network some figures are for (EB12 absent or "
            f"U); used as {self.coverage.network}-network figures (unknown_network: {policy})"
        )
        if policy != "range" or accumulators is None:
            return old
        if old is not None and old.accumulators is not None:
            self.warnings.append("unknowns.accumulators is the request's own: kept")
            return old
        alternative = self.coverage.accumulators or StartingAccumulators(as_of=self.snapshot.as_of)
        try:
            return Unknowns.model_validate(
                {**(_fields(old) if old else {}), "accumulators": alternative}
            )
        except ValidationError:
            self.warnings.append("the request has 4 unknowns already: no range added")
            return old

    def other_payers(self) -> Coverage | None:
        found = []
        for other in self.snapshot.other_payers:
            who = other.name or other.identifier or "another organisation"
            # A benefit administrator (EB01 U: a mental-health carve-out) is not a payer.
            if other.relation == "benefit_administrator":
                services = ", ".join(other.service_types) or "some services"
                self.warnings.append(
                    f"{who} administers the benefits for {services} ({other.source.where()}): "
                    "ask it for their figures; this response may not give them"
                )
                continue
            found.append(other)
            self.warnings.append(
                f"the response reports other coverage: {who} ({other.source.where()}); if it "
                "pays after this plan, give it as coverage.secondary"
            )
        chosen = self.policy.secondary_payer
        if not found or chosen is None:
            return self.coverage.secondary
        if chosen not in self.payers:
            raise EligibilityError(f"secondary_payer: unknown payer {chosen!r}")
        return Coverage(payer=chosen)

    # -- cost sharing -------------------------------------------------------------------

    def cost_share(self, kind: str, services: Iterable[str]) -> CostShareFigure | None:
        shares = [c for c in self.snapshot.cost_shares if c.kind == kind and c.per == "visit"]
        for tier in _tiers(self.coverage.network):
            for service in services:
                found = [c for c in shares if c.network == tier and c.service_type == service]
                if found:
                    chosen = max(found, key=lambda c: c.level == "individual")
                    self.network_unknown |= chosen.network == "unknown"
                    return chosen
        return None

    def cost_sharing(self) -> dict[str, CostShare]:
        """Categories whose copay or coinsurance the response gives otherwise, overridden."""
        if self.net is None:
            return {}
        changed: dict[str, CostShare] = {}
        for category, services in self.policy.categories.items():
            mine = self.net.cost_sharing.get(category)
            if mine is None:
                continue
            update: dict[str, object] = {}
            copay = self.cost_share("copay", services)
            if copay is not None and copay.amount is not None:
                ours = mine.copay.at(self.snapshot.as_of)
                self.compare(category, "copay", copay, ours, copay.amount)
                if copay.amount != ours:
                    update["copay"] = Dated(copay.amount)
            coins = self.cost_share("coinsurance", services)
            if coins is not None and coins.percent is not None:
                ours_rate = mine.coinsurance.at(self.snapshot.as_of)
                self.compare(category, "coinsurance", coins, ours_rate, coins.percent)
                if coins.percent != ours_rate:
                    update["coinsurance"] = Dated(coins.percent)
            if update and self.policy.use_cost_sharing:
                changed[category] = mine.model_copy(update=update)
        return changed

    def compare(
        self,
        category: str,
        what: str,
        figure: CostShareFigure,
        ours: Money | Decimal,
        theirs: Money | Decimal,
    ) -> None:
        if isinstance(theirs, Money):
            self.used.append(
                FigureUse(
                    target=f"{category}.{what}",
                    amount=theirs,
                    how="compared",
                    sources=(figure.source,),
                )
            )
        else:
            self.used.append(
                FigureUse(
                    target=f"{category}.{what}",
                    percent=theirs,
                    how="compared",
                    sources=(figure.source,),
                )
            )
        if ours == theirs:
            return
        action = (
            "applied for this patient"
            if self.policy.use_cost_sharing
            else ("the payer file's is used; use_cost_sharing applies the response's")
        )
        said = {"unknown": "network not stated", "both": "both networks"}.get(
            figure.network, f"{self.coverage.network} network"
        )
        self.warnings.append(
            f"{category} {what} ({said}): the response says "
            f"{_shown(theirs)} ({figure.source.where()}), the payer file {self.payer.id} says "
            f"{_shown(ours)}; {action}"
        )

    def derived_payer(self, categories: dict[str, CostShare]) -> Payer | None:
        """The payer with this patient's cost sharing and totals (use_cost_sharing)."""
        if not self.policy.use_cost_sharing or self.net is None:
            return None
        network: Network = self.net
        totals = self.totals()
        if not categories and not totals:
            return None
        update: dict[str, object] = {
            "cost_sharing": {**network.cost_sharing, **categories},
            **totals,
        }
        network = network.model_copy(update=update)
        networks = {**self.payer.networks, self.coverage.network: network}
        derived_id = f"{self.payer.id}-eligibility"[:64]
        return self.payer.model_copy(
            update={
                "id": derived_id,
                "name": f"{self.payer.name} (this patient's eligibility response)",
                "networks": networks,
            }
        )

    def totals(self) -> dict[str, object]:
        """The deductible and out-of-pocket totals the response gives, by the same picks."""
        assert self.net is not None
        found: dict[str, object] = {}
        for kind, field in (("deductible", "deductible"), ("out_of_pocket", "out_of_pocket_max")):
            amounts = getattr(self.net, field)
            if amounts is None:
                continue
            update: dict[str, object] = {}
            for level in ("individual", "family"):
                total = self.period(self.candidates(kind, level), "total")
                plan = self.plan_amount(kind, level)
                if total is not None and total.amount != plan:
                    update[level] = Dated(total.amount)
                    self.used.append(
                        FigureUse(
                            target=f"{field}.{level}",
                            amount=total.amount,
                            how="applied for this patient",
                            sources=(total.source,),
                        )
                    )
            if update:
                found[field] = amounts.model_copy(update=update)
        return found


def _shown(value: Money | Decimal) -> str:
    if isinstance(value, Money):
        return str(value)
    text = f"{value * 100:f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


def _library_with(payers: Mapping[str, Payer], extra: Payer) -> Mapping[str, Payer]:
    if isinstance(payers, PayerLibrary):
        return PayerLibrary(
            {**dict(payers.items()), extra.id: extra},
            programs=payers.programs,
            edits=payers.edits,
            fee_schedules=payers.fee_schedules,
            directory=payers.directory,
            source=payers.source,
            file_hashes=payers.file_hashes,
        )
    return {**payers, extra.id: extra}


def apply_snapshot(
    snapshot: EligibilitySnapshot,
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    policy: ApplyPolicy | None = None,
) -> AppliedEligibility:
    """The request with the snapshot applied (see :meth:`EligibilitySnapshot.apply`)."""
    policy = policy or ApplyPolicy()
    if request.coverage.payer not in payers:
        raise EligibilityError(f"coverage.payer: unknown payer {request.coverage.payer!r}")
    applier = _Applier(snapshot, request, payers, policy)
    if applier.net is None:
        raise EligibilityError(
            f"coverage: payer {applier.payer.id!r} has no {request.coverage.network!r} network "
            "to apply the response to (self-pay?)"
        )
    accumulators = applier.accumulators()
    update: dict[str, object] = {
        "accumulators": accumulators or request.coverage.accumulators,
        "secondary": applier.other_payers(),
    }
    start = applier.plan_year()
    if start is not None:
        update["plan_year_start"] = start
    derived = applier.derived_payer(applier.cost_sharing())
    if derived is not None:
        update["payer"] = derived.id
        payers = _library_with(payers, derived)
    for note in snapshot.authorizations:
        if note.required and note.service_type in policy.service_types:
            applier.warnings.append(
                f"the payer requires prior authorization for service type {note.service_type} "
                f"({note.source.where()})"
            )
    unknowns = applier.range_unknowns(accumulators)
    try:
        coverage = Coverage.model_validate({**_fields(request.coverage), **update})
        new = EstimateRequest.model_validate(
            {**_fields(request), "coverage": coverage, "unknowns": unknowns}
        )
    except ValidationError as exc:
        raise EligibilityError(
            f"the applied request is not valid: {exc.errors()[0]['msg']}"
        ) from None
    problems = accumulator_problems(("coverage",), coverage, payers[coverage.payer])
    if problems:
        found = "; ".join(text for _, text in problems)
        raise EligibilityError(
            f"the response's figures do not fit payer file {coverage.payer!r}: {found} (the "
            "payer file may be out of date for this patient: use_cost_sharing applies the "
            "response's amounts)"
        )
    return AppliedEligibility(
        request=new,
        payers=payers,
        used=tuple(applier.used),
        warnings=tuple(dict.fromkeys(applier.warnings)),
        network_unknown=applier.network_unknown,
    )


def _fields(model: Model) -> dict[str, object]:
    """The fields a model was given, as they are (validated objects), for re-validation."""
    return {name: getattr(model, name) for name in model.model_fields_set}
