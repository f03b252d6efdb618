"""Hypothesis strategies for ketacost, all in one place.

Rule objects are drawn as plain Python data (what a YAML file parses to) and validated with
the public loaders (``payer_from_data``, ``clinic_from_data``, ``request_from_data``), so every
drawn object is one a user could have written. Sizes are kept small (at most three phases of a
few sessions each) so the ``ci`` profile stays fast.

Every drawn amount respects the loaders' cross-field checks (a deductible at most its
out-of-pocket maximum, an individual amount at most the family one, a package price at most
its sessions at the self-pay price), and every dated value starts on ``DATED_FROM`` so it is
in force on every date of service drawn here.

Speed: hypothesis validates a strategy the first time it draws from it, which costs more than
the draw, so strategies are built once (module constants and cached constructors) and amounts
with a data-dependent bound are drawn from a fixed range and clamped (which also lands on the
bound often: a deductible exactly met is an interesting case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import product
from typing import Any

from hypothesis import strategies as st

from ketacost import (
    EstimateRequest,
    Money,
    Payer,
    clinic_from_data,
    payer_from_data,
    request_from_data,
)

# -- vocabulary -----------------------------------
CODES = ("90791", "96365", "J3490", "J0013")
CATEGORIES = ("visit", "drug")
SESSION_IDS = ("s-one", "s-two", "s-three")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIAGNOSES = ("F33.2", "F32.9")

#: Every dated value is in force from here, so no date of service lacks a value.
DATED_FROM = date(2000, 1, 1)
#: Where dated values change, and where dated coverage rules switch.
CHANGE_ON = date(2026, 7, 1)

REF_PAYER_ID = "ref-schedule"
PAYER_ID = "gen-payer"
SELF_PAY_ID = "self-pay"
ISSUED = date(2026, 11, 21)

_METADATA = {
    "reference": [{"title": "generated for a property test", "href": "https://example.org/t"}],
    "last_reviewed": date(2026, 1, 1),
}


# -- scalars -----------------------------------
@lru_cache(maxsize=64)
def decimals_2(max_value: str, min_value: str = "0") -> st.SearchStrategy[Decimal]:
    """Dollar amounts with exactly two places in ``[min_value, max_value]``."""
    return st.decimals(
        min_value=Decimal(min_value),
        max_value=Decimal(max_value),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )


@lru_cache(maxsize=64)
def money(max_value: str = "1000.00", min_value: str = "0") -> st.SearchStrategy[Money]:
    """Money from ``min_value`` to ``max_value`` dollars."""
    return decimals_2(max_value, min_value).map(Money)


def signed_money(bound: str = "100000.00") -> st.SearchStrategy[Money]:
    """Money of either sign, for arithmetic properties."""
    return money(bound, f"-{bound}")


@lru_cache(maxsize=8)
def rates(max_value: str = "1") -> st.SearchStrategy[Decimal]:
    """A fraction in ``[0, max_value]`` with at most four places (coinsurance 0.2 = 20 %)."""
    return st.decimals(
        min_value=Decimal(0),
        max_value=Decimal(max_value),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    )


@lru_cache(maxsize=128)
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


@lru_cache(maxsize=128)
def _pick(*options: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


def _chance(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws."""
    return draw(_ints(1, one_in)) == 1


def _dated(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plain value; sometimes one that changes on ``CHANGE_ON`` (dated keys)."""
    dated = st.tuples(values, values).map(lambda ab: {DATED_FROM: ab[0], CHANGE_ON: ab[1]})
    return st.one_of(values, values, values, dated)


def _usd(m: Money) -> str:
    return str(m)


def _dated_one_of(
    draw: st.DrawFn, values: st.SearchStrategy[Any], keys: tuple[str, ...]
) -> dict[str, Any]:
    """A value per key; sometimes one of them changes on ``CHANGE_ON`` (one draw for the
    choice instead of one per value: every draw costs hypothesis time)."""
    out: dict[str, Any] = {k: draw(values) for k in keys}
    if keys and _chance(draw, 3):
        k = draw(_pick(*keys))
        out[k] = {DATED_FROM: out[k], CHANGE_ON: draw(values)}
    return out


_BOOL = st.booleans()
_RATE_USD = money("400.00").map(_usd)
_CHARGE_USD = money("900.00").map(_usd)
_COPAY_USD = money("80.00").map(_usd)
_COINSURANCE = rates()
_PERCENT = _dated(rates())
_MULTIPLIER = st.decimals(
    min_value=Decimal(0), max_value=Decimal(3), places=2, allow_nan=False, allow_infinity=False
)
_LIMIT = _dated(st.integers(0, 6))
_CODE = st.sampled_from(CODES)
_FAMILY_TYPE = st.sampled_from(["embedded", "aggregate"])
_RATED_CODES = st.lists(_CODE, unique=True, max_size=3)
_LIMIT_CODES = st.lists(_CODE, min_size=1, max_size=3, unique=True)
_DIAGNOSES = st.lists(st.sampled_from(DIAGNOSES), unique=True, max_size=2)
_CLOSED = st.lists(st.sampled_from(WEEKDAYS), unique=True, max_size=3)
_PLAN_START = st.dates(date(2025, 1, 1), date(2027, 12, 31))
_NETWORK_SETS = (*[("in", "out")] * 5, ("in",), ("out",))
#: (kind, networks, category) of a coverage rule, drawn at once.
_RULE_SHAPES = st.sampled_from(
    list(
        product(
            ["covered"] * 12 + ["excluded", "none", "switch-to-excluded", "switch-to-covered"],
            _NETWORK_SETS,
            CATEGORIES,
        )
    )
)
#: (kind, has_family, networks) of a payer: Medicare-like has one network and no family.
_PAYER_SHAPES = st.sampled_from(
    [
        *product(["commercial", "commercial-hdhp"], [False, True], _NETWORK_SETS),
        ("medicare", False, ("in",)),
        ("medicare", False, ("in",)),
    ]
)
#: (deductible_applies, copay_after_deductible)
_SHARE_FLAGS = st.sampled_from(list(product([True, False], [False, True])))
_LINE_SHAPES = st.sampled_from(list(product(CODES, [1, 1, 1, 2, 3, 56])))


_ZERO = Money(0)


def _clamp(draw: st.DrawFn, limit: Money, low: Money = _ZERO, top: str = "3000.00") -> Money:
    """An amount in ``[low, limit]`` (``low`` ≤ ``limit``), drawn from a fixed range."""
    return max(low, min(limit, draw(money(top))))


# -- payers -----------------------------------
@st.composite
def fee_schedules(draw: st.DrawFn) -> dict[str, Any]:
    """A fee schedule basis; sometimes codes lack a rate (the line then has no allowed amount)."""
    codes = tuple(draw(_RATED_CODES)) if _chance(draw, 6) else CODES
    return {"basis": "fee_schedule", "rates": _dated_one_of(draw, _RATE_USD, codes)}


@st.composite
def networks(draw: st.DrawFn, *, has_family: bool, medicare: bool) -> dict[str, Any]:
    """One network's benefits, within the payer cross-field checks."""
    ded_ind = draw(money("1000.00"))
    deductible: dict[str, Any] = {"individual": _usd(ded_ind)}
    ded_fam = ded_ind
    if has_family:
        ded_fam = ded_ind + draw(money("1000.00"))
        deductible |= {"family": _usd(ded_fam), "family_type": draw(_FAMILY_TYPE)}
    oop: dict[str, Any] | None = None
    if not medicare and not _chance(draw, 4):  # a cap three times in four
        oop_ind = ded_ind + draw(money(draw(_pick("150.00", "1500.00"))))
        oop = {"individual": _usd(oop_ind)}
        if has_family and draw(_BOOL):
            oop["family"] = _usd(max(oop_ind, ded_fam) + draw(money("1500.00")))
            oop["family_type"] = draw(_FAMILY_TYPE)
    basis = draw(_pick("fee_schedule", "percent_of_charge", "percent_of_payer"))
    if basis == "fee_schedule":
        allowed = draw(fee_schedules())
    elif basis == "percent_of_charge":
        allowed = {"basis": "percent_of_charge", "percent": draw(_PERCENT)}
    else:
        allowed = {"basis": "percent_of_payer", "payer": REF_PAYER_ID, "percent": draw(_MULTIPLIER)}
    cost_sharing = {}
    for cat in CATEGORIES:
        applies, after = draw(_SHARE_FLAGS)
        share: dict[str, Any] = {"coinsurance": draw(_COINSURANCE), "deductible_applies": applies}
        if not medicare:
            share |= {"copay": draw(_COPAY_USD), "copay_after_deductible": after}
        cost_sharing[cat] = share
    return {
        "deductible": deductible,
        "out_of_pocket_max": oop,
        "allowed": allowed,
        "balance_billing": draw(_BOOL),
        "cost_sharing": cost_sharing,
    }


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    """Conditions on a covered rule (none at all, three times in four)."""
    if not _chance(draw, 4):
        return {}
    out: dict[str, Any] = {}
    if draw(_BOOL):
        out["prior_authorization"] = True
        if draw(_BOOL):
            out["authorization_days"] = draw(_ints(7, 120))
    out["min_failed_trials"] = draw(_ints(0, 3))
    min_age = draw(_ints(-1, 25))  # -1: no minimum
    if min_age >= 0:
        out["min_age"] = min_age
    max_age = draw(_ints(60, 91))  # 91: no maximum
    if max_age <= 90:
        out["max_age"] = max_age
    out["diagnoses"] = list(draw(_pick((), ("F33.2",), ("F32.9", "F33.1"))))
    return out


@st.composite
def coverage_rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    """At most one rule in force per code and network: covered, excluded, none, or a switch
    between covered and excluded on ``CHANGE_ON``."""
    rules: list[dict[str, Any]] = []
    for code in CODES:
        kind, nets, category = draw(_RULE_SHAPES)
        covered = {
            "codes": [code],
            "networks": list(nets),
            "status": "covered",
            "category": category,
            "conditions": draw(conditions()) if kind != "excluded" else {},
        }
        excluded = {
            "codes": [code],
            "networks": list(nets),
            "status": "excluded",
            "reason": "excluded by the generated plan",
        }
        if kind == "covered":
            rules.append(covered)
        elif kind == "excluded":
            rules.append(excluded)
        elif kind.startswith("switch"):
            first, then = (covered, excluded) if kind.endswith("excluded") else (excluded, covered)
            rules.append({**first, "effective_until": CHANGE_ON - timedelta(days=1)})
            rules.append({**then, "effective_from": CHANGE_ON})
    return rules


@st.composite
def payer_data(draw: st.DrawFn) -> dict[str, Any]:
    """A commercial or Medicare-like payer as Python data (valid for ``payer_from_data``).

    Medicare-like: one network, no out-of-pocket cap, no copays, no family amounts.
    """
    kind, has_family, names = draw(_PAYER_SHAPES)
    medicare = kind == "medicare"
    data: dict[str, Any] = {
        "id": PAYER_ID,
        "name": "Generated payer",
        "kind": kind,
        "metadata": _METADATA,
        "plan_year_start": {"month": draw(_ints(1, 12)), "day": draw(_ints(1, 28))},
        "billing_variants": list(draw(_pick((), ("alt",)))),
        "networks": {n: draw(networks(has_family=has_family, medicare=medicare)) for n in names},
        "coverage": draw(coverage_rules()),
    }
    if draw(_BOOL):
        data["limits"] = {
            "sessions": {"codes": draw(_LIMIT_CODES), "sessions_per_plan_year": draw(_LIMIT)}
        }
    return data


#: The payer a ``percent_of_payer`` basis points at: a fee schedule for every code.
REFERENCE_PAYER = payer_from_data(
    {
        "id": REF_PAYER_ID,
        "name": "Reference fee schedule",
        "kind": "medicare",
        "metadata": _METADATA,
        "networks": {
            "in": {
                "deductible": {"individual": "0.00"},
                "out_of_pocket_max": None,
                "allowed": {
                    "basis": "fee_schedule",
                    "rates": {
                        "90791": "173.35",
                        "96365": {DATED_FROM: "72.00", CHANGE_ON: "74.13"},
                        "J3490": "0.01",
                        "J0013": "10.57",
                    },
                },
                "cost_sharing": {"part-b": {"coinsurance": "0.2"}},
            }
        },
    }
)

SELF_PAY_PAYER = payer_from_data(
    {"id": SELF_PAY_ID, "name": "Self-pay", "kind": "self-pay", "metadata": _METADATA}
)


# -- clinics -----------------------------------
@st.composite
def template_lines(draw: st.DrawFn) -> dict[str, Any]:
    """A line of a session template; sometimes its code changes on ``CHANGE_ON``."""
    code: Any
    code, units = draw(_LINE_SHAPES)
    if _chance(draw, 5):
        code = {DATED_FROM: code, CHANGE_ON: draw(_CODE)}
    return {"code": code, "units": units, "description": "a line"}


_LINES = st.lists(template_lines(), min_size=1, max_size=3)
_VARIANT_LINES = st.lists(template_lines(), min_size=1, max_size=2)


@st.composite
def clinic_data(draw: st.DrawFn, *, packages: bool = True) -> dict[str, Any]:
    """A clinic with every code in its chargemaster and 1–3 session templates of 1–3 lines,
    with optional billing variants, self-pay prices and packages."""
    sessions: dict[str, Any] = {}
    pkgs: list[dict[str, Any]] = []
    for sid in SESSION_IDS[: draw(_ints(1, 3))]:
        tmpl: dict[str, Any] = {"description": f"session {sid}", "lines": draw(_LINES)}
        if _chance(draw, 3):
            tmpl["variants"] = {"alt": draw(_VARIANT_LINES)}
        self_pay = draw(money("1500.00")) if not _chance(draw, 3) else None
        if self_pay is not None:
            tmpl["self_pay"] = _usd(self_pay)
        if packages and _chance(draw, 3):
            n = draw(_ints(2, 4))
            top = Money(4000) if self_pay is None else self_pay * n
            price = _clamp(draw, top, top="4000.00")
            pkgs.append({"id": f"pkg-{sid}", "session": sid, "sessions": n, "price": _usd(price)})
        sessions[sid] = tmpl
    return {
        "id": "gen-clinic",
        "name": "Generated clinic",
        "npi": "1234567893",
        "tin": "12-3456789",
        "address": {"line1": "1 Main St", "city": "Boston", "state": "MA", "zip": "02134"},
        "chargemaster": _dated_one_of(draw, _CHARGE_USD, CODES),
        "sessions": sessions,
        "packages": pkgs,
    }


# -- plans -----------------------------------
def phase_span_days(phase: Mapping[str, Any]) -> int:
    """Days from a phase's start to where the next phase starts (module docstring of _plan)."""
    if "per_week" in phase:
        return 7 * int(phase["weeks"])
    step = phase.get("every_days") or 7 * phase.get("every_weeks", 0) or 1
    return int(phase["sessions"]) * int(step)


@st.composite
def phase_data(
    draw: st.DrawFn, *, sessions: tuple[str, ...], first: bool = False
) -> dict[str, Any]:
    """One phase, in one of four cadence shapes, with an optional gap before it (never on the
    first phase: the docstring says the first phase starts on the plan's start)."""
    cadence = draw(_pick("every_days", "every_weeks", "per_week", "single"))
    phase: dict[str, Any] = {"session": draw(_pick(*sessions))}
    if cadence == "every_days":
        phase |= {"sessions": draw(_ints(1, 6)), "every_days": draw(_ints(1, 10))}
    elif cadence == "every_weeks":
        phase |= {"sessions": draw(_ints(1, 6)), "every_weeks": draw(_ints(1, 4))}
    elif cadence == "per_week":
        phase |= {"per_week": draw(_ints(1, 7)), "weeks": draw(_ints(1, 2))}
    else:
        phase["sessions"] = 1
    if draw(_BOOL):
        phase["name"] = draw(_pick("induction", "maintenance", "boosters"))
    if not first and _chance(draw, 4):
        phase[draw(_pick("start_after_days", "start_after_weeks"))] = draw(_ints(0, 30))
    return phase


@st.composite
def plan_data(
    draw: st.DrawFn,
    *,
    sessions: tuple[str, ...] = SESSION_IDS,
    closed: bool = True,
    explicit_starts: str = "none",
    max_phases: int = 3,
    start: date | None = None,
) -> dict[str, Any]:
    """A plan as Python data.

    Args:
        sessions: session template ids the phases may use.
        closed: whether closed weekdays may be drawn.
        explicit_starts: ``"none"``; ``"after"``: a later phase may have its own ``start`` on
            or after the end of the previous phase's period (no overlap); ``"any"``: its own
            ``start`` anywhere near, overlapping earlier phases too.
        max_phases: 1 to this many phases.
        start: the plan's start (drawn when not given).
    """
    if start is None:
        start = draw(_PLAN_START)
    phases: list[dict[str, Any]] = []
    cursor = start
    for i in range(draw(_ints(1, max_phases))):
        phase = draw(phase_data(sessions=sessions, first=i == 0))
        if i and explicit_starts != "none" and draw(_BOOL):
            phase.pop("start_after_days", None)
            phase.pop("start_after_weeks", None)
            low = -60 if explicit_starts == "any" else 0
            phase["start"] = cursor + timedelta(days=draw(_ints(low, 30)))
        if "start" in phase:
            cursor = phase["start"]
        else:
            after = phase.get("start_after_days", 0) + 7 * phase.get("start_after_weeks", 0)
            cursor += timedelta(days=after)
        cursor += timedelta(days=phase_span_days(phase))
        phases.append(phase)
    plan: dict[str, Any] = {"start": start, "phases": phases}
    if closed:
        plan["closed_weekdays"] = draw(_CLOSED)
    return plan


# -- requests -----------------------------------
@dataclass(frozen=True)
class Case:
    """A validated request, the data it was built from, and the payer library it needs."""

    payers: dict[str, Payer]
    data: dict[str, Any]
    request: EstimateRequest

    @property
    def payer(self) -> Payer:
        return self.payers[self.request.coverage.payer]

    def __repr__(self) -> str:
        # What a falsifying example prints: the payer and the request as JSON data, without
        # defaults (the reference payer is the constant REFERENCE_PAYER).
        payer = self.payer.model_dump(mode="json", exclude_defaults=True, exclude={"metadata"})
        request = self.request.model_dump(mode="json", exclude_defaults=True)
        return f"Case(payer={payer!r}, request={request!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis would otherwise print every dataclass field

    def with_changes(self, **parts: Any) -> EstimateRequest:
        """A new request with some top-level parts replaced, validated again (never
        ``model_copy(update=...)``, which does not validate)."""
        return request_from_data({**self.data, **parts}, payers=self.payers)

    def with_coverage(self, **fields: Any) -> EstimateRequest:
        return self.with_changes(coverage={**self.data["coverage"], **fields})


@st.composite
def family_amounts(draw: st.DrawFn, ind_limit: Money, fam_limit: Money) -> dict[str, str]:
    """Amounts already met: individual ≤ its limit; family 0 (not given) or between the
    individual amount and the family limit."""
    ind = _clamp(draw, ind_limit)
    fam = _clamp(draw, fam_limit, low=ind) if draw(_BOOL) and fam_limit >= ind else Money(0)
    return {"individual": _usd(ind), "family": _usd(fam)}


@st.composite
def starting_accumulators(
    draw: st.DrawFn, payer: Payer, network: str, start: date
) -> dict[str, Any]:
    """Starting accumulators as of a date near the plan start, amounts within the limits."""
    as_of = start + timedelta(days=draw(_ints(-400, 60)))
    net = payer.networks.get(network)
    ded_i = ded_f = oop_i = oop_f = Money(0)
    if net is not None:
        ded_i = net.deductible.individual.at(as_of)
        ded_f = ded_i if net.deductible.family is None else net.deductible.family.at(as_of)
        oop = net.out_of_pocket_max
        if oop is None:
            oop_i = oop_f = Money(3000)
        else:
            oop_i = oop.individual.at(as_of)
            oop_f = oop_i if oop.family is None else oop.family.at(as_of)
    return {
        "as_of": as_of,
        "deductible_met": draw(family_amounts(ded_i, ded_f)),
        "out_of_pocket_met": draw(family_amounts(oop_i, oop_f)),
        "sessions_used": {
            name: draw(_ints(0, limit.sessions_per_plan_year.at(as_of)))
            for name, limit in payer.limits.items()
        },
    }


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    self_pay: bool | None = None,
    packages: bool = True,
    accumulators: bool | None = None,
) -> Case:
    """A valid estimate request and its payer library.

    Args:
        self_pay: True for the self-pay payer, False for a generated insurer, None for either
            (insurers three times in four).
        packages: whether the clinic may offer packages.
        accumulators: True to always give starting accumulators (insurers only), None for
            sometimes.
    """
    if self_pay is None:
        self_pay = _chance(draw, 4)
    payer = SELF_PAY_PAYER if self_pay else payer_from_data(draw(payer_data()))
    payers = {REF_PAYER_ID: REFERENCE_PAYER, payer.id: payer}
    clinic = clinic_from_data(draw(clinic_data(packages=packages)))
    start = None
    if not self_pay and draw(_BOOL):  # start shortly before a plan year ends
        pys = payer.plan_year_start
        start = date(2026, pys.month, pys.day) - timedelta(days=draw(_ints(1, 90)))
    plan = draw(plan_data(sessions=tuple(clinic.sessions), start=start))
    coverage: dict[str, Any] = {"payer": payer.id}
    if not self_pay:
        # Mostly a network the payer has; sometimes one it lacks (then nothing is covered).
        network = draw(_pick(*sorted(payer.networks) * 5, "in", "out"))
        net = payer.networks.get(network)
        tiers = ["individual"]
        if net is None or net.deductible.family is not None:
            tiers.append("family")
        coverage |= {
            "network": network,
            "tier": draw(_pick(*tiers, tiers[-1])),
            "prior_authorization": draw(
                _pick("approved", "approved", "approved", "denied", "pending", "not_requested")
            ),
        }
        if _chance(draw, 5):
            coverage["authorization_start"] = plan["start"] + timedelta(days=draw(_ints(-30, 30)))
        if draw(_BOOL) if accumulators is None else accumulators:
            coverage["accumulators"] = draw(starting_accumulators(payer, network, plan["start"]))
    patient = {
        "age": draw(_ints(10, 90)),
        "diagnoses": draw(_DIAGNOSES),
        "failed_trials": draw(_ints(0, 4)),
    }
    data = {
        "patient": patient,
        "coverage": coverage,
        "clinic": clinic,
        "plan": plan,
        "issued": ISSUED,
    }
    return Case(payers=payers, data=data, request=request_from_data(data, payers=payers))


@st.composite
def raised_amounts(draw: st.DrawFn, amounts: Mapping[str, str]) -> dict[str, str]:
    """Family amounts at least as high as ``amounts`` in effect (the engine reads a family
    amount of 0 as 'the individual amount'), still valid for ``FamilyAmounts``."""
    ind = Money(amounts["individual"]) + draw(money("2000.00"))
    fam = Money(amounts["family"])
    if fam:
        fam = max(fam + draw(money("2000.00")), ind)
    return {"individual": _usd(ind), "family": _usd(fam)}
