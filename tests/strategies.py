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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any

from hypothesis import event
from hypothesis import strategies as st

import ketacost
from ketacost import (
    Clinic,
    Estimate,
    EstimateRequest,
    Money,
    Payer,
    SavingsProgram,
    adjudicate,
    clinic_from_data,
    load_clinic,
    payer_from_data,
    program_from_data,
    request_from_data,
)
from ketacost._claim_edits import ClaimEdits
from ketacost._edit_files import edits_from_data
from ketacost._payer import CoveredRule

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
#: The second generated payer a coverage period may switch to.
PAYER_2_ID = "gen-payer-2"
PROGRAM_ID = "gen-savings"
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


def _highest(value: Any) -> Money:
    """The highest of a plain or dated amount given as text."""
    values = value.values() if isinstance(value, dict) else [value]
    return max(Money(v) for v in values)


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
_RATE_USD_POSITIVE = money("400.00", "20.00").map(_usd)
_CHARGE_USD_POSITIVE = money("900.00", "50.00").map(_usd)
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

# -- extreme but valid values -----------------------------------
#: No amount of money above this is accepted anywhere; no per-unit rate above the other
#: (issue 9). Generated payers and clinics reach both, and their neighbours.
MONEY_CEILING = Money("10000000.00")
UNIT_RATE_CEILING = Money("1000000.00")
#: The youngest and oldest patient a request accepts.
AGE_LIMITS = (0, 130)
_EXTREME_AMOUNT = st.sampled_from(
    [Money(0), Money("0.01"), Money("1.00"), MONEY_CEILING - Money("0.01"), MONEY_CEILING]
)
_EXTREME_RATE = st.sampled_from(
    ["0.00", "0.01", str(UNIT_RATE_CEILING - Money("0.01")), str(UNIT_RATE_CEILING)]
)
_RATE_USD_EXTREME = st.one_of(_RATE_USD, _EXTREME_RATE)
_CHARGE_USD_EXTREME = st.one_of(_CHARGE_USD, _EXTREME_RATE)
#: Plan starts next to a year's end or start (the default plan-year boundary).
_YEAR_EDGE_START = st.sampled_from(
    [date(2025, 12, 31), date(2026, 1, 1), date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1)]
)


def _clamp(draw: st.DrawFn, limit: Money, low: Money = _ZERO, top: str = "3000.00") -> Money:
    """An amount in ``[low, limit]`` (``low`` ≤ ``limit``), drawn from a fixed range."""
    return max(low, min(limit, draw(money(top))))


# -- payers -----------------------------------
@st.composite
def fee_schedules(
    draw: st.DrawFn, *, extreme: bool = False, every_code: bool = False
) -> dict[str, Any]:
    """A fee schedule basis; sometimes codes lack a rate (the line then has no allowed amount).
    ``extreme``: sometimes per-unit rates at the ceiling or a cent."""
    codes = tuple(draw(_RATED_CODES)) if not every_code and _chance(draw, 6) else CODES
    values = _RATE_USD_EXTREME if extreme else _RATE_USD_POSITIVE if every_code else _RATE_USD
    return {"basis": "fee_schedule", "rates": _dated_one_of(draw, values, codes)}


@st.composite
def _deductible_and_cap(
    draw: st.DrawFn,
    *,
    has_family: bool,
    medicare: bool,
    extreme: bool,
    capped: bool,
    low: str = "0",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A network's deductible and out-of-pocket maximum, within the cross-field checks.

    ``extreme``: sometimes amounts at the ceiling or a cent from zero. ``capped``: a small
    deductible (never zero) and always a cap a little above it, so a few sessions reach both.
    ``low``: the least the cap is above the deductible (room for a savings program to pay).
    Sometimes every amount rises by one sum on ``CHANGE_ON`` (as a yearly figure does), which
    is inside the plan year unless that starts on July 1: the plan year keeps its first day's.
    """
    deductible, oop = draw(
        _plain_deductible_and_cap(
            has_family=has_family, medicare=medicare, extreme=extreme, capped=capped, low=low
        )
    )
    if not _chance(draw, 4):
        return deductible, oop
    rise = draw(money("300.00", "0.01"))

    def dated(amount: str) -> dict[date, str]:
        return {DATED_FROM: amount, CHANGE_ON: _usd(min(MONEY_CEILING, Money(amount) + rise))}

    for amounts in (deductible, oop or {}):
        for key in ("individual", "family"):
            if key in amounts:
                amounts[key] = dated(amounts[key])
    return deductible, oop


@st.composite
def _plain_deductible_and_cap(
    draw: st.DrawFn,
    *,
    has_family: bool,
    medicare: bool,
    extreme: bool,
    capped: bool,
    low: str,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """:func:`_deductible_and_cap`'s amounts, each one value."""
    if capped:
        ded_ind = draw(money("600.00", "0.01"))
    elif extreme and _chance(draw, 3):
        ded_ind = draw(_EXTREME_AMOUNT)
    else:
        ded_ind = draw(money("1000.00"))
    deductible: dict[str, Any] = {"individual": _usd(ded_ind)}
    ded_fam = ded_ind
    if has_family:
        ded_fam = min(MONEY_CEILING, ded_ind + draw(money("1000.00")))
        deductible |= {"family": _usd(ded_fam), "family_type": draw(_FAMILY_TYPE)}
    if medicare or (not capped and _chance(draw, 4)):  # a cap three times in four
        return deductible, None
    top = "400.00" if capped else draw(_pick("150.00", "1500.00"))
    oop_ind = min(MONEY_CEILING, ded_ind + draw(money(top, "0" if capped else low)))
    oop: dict[str, Any] = {"individual": _usd(oop_ind)}
    if has_family and draw(_BOOL):
        oop["family"] = _usd(min(MONEY_CEILING, max(oop_ind, ded_fam) + draw(money("1500.00"))))
        oop["family_type"] = draw(_FAMILY_TYPE)
    return deductible, oop


@st.composite
def networks(
    draw: st.DrawFn,
    *,
    has_family: bool,
    medicare: bool,
    extreme: bool = False,
    capped: bool = False,
    covered: bool = False,
) -> dict[str, Any]:
    """One network's benefits, within the payer cross-field checks.

    ``capped``: a small deductible and maximum (see ``_deductible_and_cap``). ``covered``
    (implied by ``capped``): a positive fee for every code, the deductible applies to every
    category and coinsurance is at least 50 %, so every covered line costs the patient
    something until the deductible and the maximum are reached.
    """
    covered = covered or capped
    deductible, oop = draw(
        _deductible_and_cap(
            has_family=has_family,
            medicare=medicare,
            extreme=extreme,
            capped=capped,
            low="100.00" if covered and not capped else "0",
        )
    )
    basis = draw(_pick("fee_schedule", "percent_of_charge", "percent_of_payer"))
    if covered:  # a rate of at least $20 a unit for every code, so every line costs something
        basis = "fee_schedule"
    if basis == "fee_schedule":
        allowed = draw(fee_schedules(extreme=extreme, every_code=covered))
    elif basis == "percent_of_charge":
        allowed = {"basis": "percent_of_charge", "percent": draw(_PERCENT)}
    else:
        allowed = {"basis": "percent_of_payer", "payer": REF_PAYER_ID, "percent": draw(_MULTIPLIER)}
    cost_sharing = {}
    for cat in CATEGORIES:
        applies, after = draw(_SHARE_FLAGS)
        rate = draw(_COINSURANCE)
        if covered:
            applies, rate = True, max(rate, Decimal("0.5"))
        share: dict[str, Any] = {"coinsurance": rate, "deductible_applies": applies}
        if not medicare:
            share |= {"copay": draw(_COPAY_USD), "copay_after_deductible": after}
        cost_sharing[cat] = share
    return {
        "deductible": deductible,
        "out_of_pocket_max": oop,
        "allowed": allowed,
        "balance_billing": draw(_BOOL),
        "cost_sharing": cost_sharing,
        "copay_scope": draw(_pick("visit", "visit", "category", "line")),
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
        if _chance(draw, 3):
            out["authorization_visits"] = draw(_ints(1, 8))
        if ("authorization_days" in out or "authorization_visits" in out) and draw(_BOOL):
            out["renewal_days"] = draw(st.lists(_ints(7, 120), min_size=1, max_size=3))
    out["min_failed_trials"] = draw(_ints(0, 3))
    min_age = draw(_ints(-1, 25))  # -1: no minimum
    if min_age >= 0:
        out["min_age"] = min_age
    max_age = draw(_ints(60, 91))  # 91: no maximum
    if max_age <= 90:
        out["max_age"] = max_age
    out["diagnoses"] = list(draw(_pick((), ("F33.2",), ("F32.9", "F33.1"))))
    return out


_COVERED_SHAPES = st.sampled_from(list(product(["covered"], [("in", "out")], CATEGORIES)))


@st.composite
def coverage_rules(draw: st.DrawFn, *, all_covered: bool = False) -> list[dict[str, Any]]:
    """At most one rule in force per code and network: covered, excluded, none, or a switch
    between covered and excluded on ``CHANGE_ON``. ``all_covered``: every code covered in
    both networks, without conditions."""
    rules: list[dict[str, Any]] = []
    for code in CODES:
        kind, nets, category = draw(_COVERED_SHAPES if all_covered else _RULE_SHAPES)
        covered = {
            "codes": [code],
            "networks": list(nets),
            "status": "covered",
            "category": category,
            "conditions": draw(conditions()) if kind != "excluded" and not all_covered else {},
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
def payer_data(
    draw: st.DrawFn,
    *,
    payer_id: str = PAYER_ID,
    extreme: bool = False,
    capped: bool = False,
    covered: bool = False,
    kind: str | None = None,
) -> dict[str, Any]:
    """A commercial or Medicare-like payer as Python data (valid for ``payer_from_data``).

    Medicare-like: one network, no out-of-pocket cap, no copays, no family amounts.

    Args:
        payer_id: its id (a request with coverage periods uses two generated payers).
        extreme: amounts and rates sometimes at their ceilings or a cent.
        capped: every code covered without conditions in both networks, a small deductible
            that applies to everything and a cap a little above it (never Medicare-like).
        covered: as ``capped``, with the usual deductible and maximum.
        kind: ``"medicare"`` or a commercial kind, instead of drawing one.
    """
    shape_kind, has_family, names = draw(_PAYER_SHAPES)
    covered = covered or capped
    if covered and shape_kind == "medicare":
        shape_kind, names = "commercial", ("in", "out")
    if kind is not None and (kind == "medicare") != (shape_kind == "medicare"):
        shape_kind, has_family, names = kind, False, (("in",) if kind == "medicare" else names)
    elif kind is not None:
        shape_kind = kind
    medicare = shape_kind == "medicare"
    if medicare:
        has_family = False
    data: dict[str, Any] = {
        "id": payer_id,
        "name": f"Generated payer {payer_id}",
        "kind": shape_kind,
        "metadata": _METADATA,
        "plan_year_start": {"month": draw(_ints(1, 12)), "day": draw(_ints(1, 28))},
        "billing_variants": list(draw(_pick((), ("alt",)))),
        "networks": {
            n: draw(
                networks(
                    has_family=has_family,
                    medicare=medicare,
                    extreme=extreme,
                    capped=capped,
                    covered=covered,
                )
            )
            for n in names
        },
        "coverage": draw(coverage_rules(all_covered=covered)),
        "copay_accumulator": draw(_BOOL),
    }
    if _chance(draw, 3):  # issue 11 §4: a pharmacy benefit for the drug codes
        separate = draw(_BOOL)
        data["drug_benefits"] = ["medical", "pharmacy"]
        data["pharmacy"] = {
            "codes": ["J0013", "J3490"],
            "rates": {"J0013": _usd(draw(money("20.00", "0.01"))),
                      "J3490": _usd(draw(money("80.00", "0.01")))},
            "copay": _usd(draw(money("60.00"))),
            "coinsurance": draw(_COINSURANCE),
            "deductible_applies": draw(_BOOL),
            "accumulators": "separate" if separate else "integrated",
            **({"deductible": _usd(draw(money("300.00"))),
                "out_of_pocket_max": _usd(draw(money("900.00")))} if separate else {}),
        }  # fmt: skip
    if not covered and draw(_BOOL):
        data["limits"] = {
            "sessions": {"codes": draw(_LIMIT_CODES), "sessions_per_plan_year": draw(_LIMIT)}
        }
    if medicare:  # issue 12 §1: participation terms, liability notices, a payment cut
        data["non_participating"] = {"allowed": draw(rates()), "limiting_charge": draw(_MULTIPLIER)}
        for rule in data["coverage"]:
            if rule["status"] == "excluded":
                rule["liability"] = draw(_pick("statutory", "not_reasonable_and_necessary"))
        if draw(_BOOL):
            data["payment_reduction"] = {"percent": draw(_PERCENT), "reason": "a generated cut"}
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


# -- drug codes -----------------------------------
#: Segment lengths of the three 10-digit NDC layouts a package may print.
NDC_SEGMENTS = {"4-4-2": (4, 4, 2), "5-3-2": (5, 3, 2), "5-4-1": (5, 4, 1)}


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def ndc10(draw: st.DrawFn, layout: str | None = None) -> tuple[str, str]:
    """(layout, a hyphenated 10-digit NDC in it): any digits, as the FDA assigns them."""
    layout = layout or draw(st.sampled_from(sorted(NDC_SEGMENTS)))
    return layout, "-".join(draw(_digits(n)) for n in NDC_SEGMENTS[layout])


#: Hyphenated digit groups that are no NDC: wrong lengths (3-4-2, 5-4-3, 6-3-1 …).
bad_ndcs = (
    st.tuples(_ints(1, 6), _ints(1, 5), _ints(1, 3))
    .filter(lambda n: n not in {(4, 4, 2), (5, 3, 2), (5, 4, 1), (5, 4, 2)})
    .flatmap(lambda n: st.tuples(*(_digits(k) for k in n)).map("-".join))
)


# -- clinics -----------------------------------
@st.composite
def template_lines(draw: st.DrawFn) -> dict[str, Any]:
    """A line of a session template; sometimes its code changes on ``CHANGE_ON``."""
    code: Any
    code, units = draw(_LINE_SHAPES)
    if _chance(draw, 5):
        code = {DATED_FROM: code, CHANGE_ON: draw(_CODE)}
    line: dict[str, Any] = {"code": code, "units": units, "description": "a line"}
    if code in ("J0013", "J3490") and draw(_BOOL):
        line["drug"] = True  # issue 11 §4: a drug line may go through the pharmacy benefit
    return line


_LINES = st.lists(template_lines(), min_size=1, max_size=3)
_VARIANT_LINES = st.lists(template_lines(), min_size=1, max_size=2)


@st.composite
def clinic_data(
    draw: st.DrawFn, *, packages: bool = True, extreme: bool = False, positive: bool = False
) -> dict[str, Any]:
    """A clinic with every code in its chargemaster and 1–3 session templates of 1–3 lines,
    with optional billing variants, self-pay prices and packages. ``extreme``: unit charges
    and self-pay prices sometimes at their ceilings or a cent; ``positive``: every unit
    charge at least $50."""
    sessions: dict[str, Any] = {}
    pkgs: list[dict[str, Any]] = []
    for sid in SESSION_IDS[: draw(_ints(1, 3))]:
        tmpl: dict[str, Any] = {"description": f"session {sid}", "lines": draw(_LINES)}
        if _chance(draw, 3):
            tmpl["variants"] = {"alt": draw(_VARIANT_LINES)}
        self_pay = draw(money("1500.00")) if not _chance(draw, 3) else None
        if extreme and self_pay is not None and _chance(draw, 3):
            self_pay = draw(_EXTREME_AMOUNT)
        if self_pay is not None:
            tmpl["self_pay"] = _usd(self_pay)
        if packages and _chance(draw, 3):
            n = draw(_ints(2, 4))
            top = Money(4000) if self_pay is None else min(MONEY_CEILING, self_pay * n)
            price = _clamp(draw, top, top="4000.00")
            pkgs.append({"id": f"pkg-{sid}", "session": sid, "sessions": n, "price": _usd(price)})
        sessions[sid] = tmpl
    chargemaster = _dated_one_of(
        draw,
        _CHARGE_USD_EXTREME if extreme else _CHARGE_USD_POSITIVE if positive else _CHARGE_USD,
        CODES,
    )
    return {
        "id": "gen-clinic",
        "name": "Generated clinic",
        "npi": "1234567893",
        "tin": "12-3456789",
        "address": {"line1": "1 Main St", "city": "Boston", "state": "MA", "zip": "02134"},
        "chargemaster": chargemaster,
        "sessions": sessions,
        "packages": pkgs,
        # Issue 11: per-code self-pay prices for items a plan does not cover (sometimes), at
        # most the code's unit charge (a price above the item's charge is refused), and
        # sometimes gross-charge billing instead of the self-pay price.
        "self_pay_codes": {
            code: _usd(draw(money(str(_highest(chargemaster[code])))))
            for code in CODES
            if _chance(draw, 4)
        },
        "non_covered_price": draw(_pick("self_pay", "self_pay", "self_pay", "charge")),
        # Issue 12 §1: the clinic's status with Original Medicare (sometimes given).
        **({"medicare": draw(_MEDICARE_ENROLLMENT)} if _chance(draw, 2) else {}),
    }


_MEDICARE_ENROLLMENT = st.sampled_from(
    [
        {"participation": "participating"},
        {"participation": "participating", "assignment": "accepted"},
        {"participation": "non_participating", "assignment": "accepted"},
        {"participation": "non_participating", "assignment": "not_accepted"},
        {"participation": "non_participating", "assignment": "not_accepted"},
        {"participation": "opted_out"},
    ]
)


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
    """A validated request, the data it was built from, the payer library it needs and the
    savings programs it may name."""

    payers: Mapping[str, Payer]
    data: dict[str, Any]
    request: EstimateRequest
    programs: Mapping[str, SavingsProgram] = field(default_factory=dict)

    @property
    def payer(self) -> Payer:
        """The payer of the first coverage (before any coverage period)."""
        return self.payers[self.request.coverage.payer]

    def estimate(self) -> Estimate:
        return adjudicate(self.request, self.payers, self.programs)

    def __repr__(self) -> str:
        # What a falsifying example prints: the payers and the request as JSON data, without
        # defaults (the reference payer is the constant REFERENCE_PAYER; a bundled payer is
        # named by its id only).
        ids = {self.request.coverage.payer, *(p.payer for p in self.request.coverage_periods)}
        payers = {
            i: self.payers[i].model_dump(mode="json", exclude_defaults=True, exclude={"metadata"})
            if i not in _bundled_ids()
            else "(bundled)"
            for i in sorted(ids)
        }
        programs = {
            k: v.model_dump(mode="json", exclude_defaults=True, exclude={"metadata"})
            for k, v in self.programs.items()
            if k == PROGRAM_ID
        }
        request = self.request.model_dump(mode="json", exclude_defaults=True)
        return f"Case(payers={payers!r}, programs={programs!r}, request={request!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis would otherwise print every dataclass field

    def with_changes(self, **parts: Any) -> EstimateRequest:
        """A new request with some top-level parts replaced, validated again (never
        ``model_copy(update=...)``, which does not validate)."""
        return request_from_data({**self.data, **parts}, payers=self.payers)

    def with_coverage(self, **fields: Any) -> EstimateRequest:
        return self.with_changes(coverage={**self.data["coverage"], **fields})


def _below(limit: Money, cents: int) -> Money:
    return max(_ZERO, limit - Money.from_cents(cents))


@st.composite
def near_limit(draw: st.DrawFn, limit: Money, low: Money = _ZERO) -> Money:
    """An amount in ``[low, limit]``, mostly at an edge: the limit itself, a cent or a few
    dollars below it, or ``low``."""
    how = draw(_pick("at", "cent", "below", "low", "any"))
    if how == "at":
        out = limit
    elif how == "cent":
        out = _below(limit, 1)
    elif how == "below":
        out = _below(limit, draw(_ints(2, 5000)))
    elif how == "low":
        out = low
    else:
        out = _clamp(draw, limit)
    return max(low, min(limit, out))


@st.composite
def family_amounts(
    draw: st.DrawFn,
    ind_limit: Money,
    fam_limit: Money,
    *,
    edge: bool = False,
    low: Money = _ZERO,
    family_low: Money = _ZERO,
) -> dict[str, str]:
    """Amounts already met: individual ≤ its limit; family 0 (not given) or between the
    individual amount and the family limit. ``edge``: mostly at or just below the limits;
    ``low`` and ``family_low``: the least individual and family amounts (what is met of the
    maximum is at least what is met of the deductible: a request that says otherwise is
    refused, issue 11 §6)."""
    low = min(low, ind_limit)
    ind = draw(near_limit(ind_limit, low)) if edge else max(low, _clamp(draw, ind_limit))
    fam = Money(0)
    fam_low = max(ind, family_low)
    if draw(_BOOL) and fam_limit >= fam_low:
        fam = draw(near_limit(fam_limit, fam_low)) if edge else _clamp(draw, fam_limit, low=fam_low)
    return {"individual": _usd(ind), "family": _usd(fam)}


def _in_force(value: ketacost.Dated[Any], on: date) -> bool:
    try:
        value.at(on)
    except LookupError:
        return False
    return True


def _limits(payer: Payer, network: str, on: date) -> tuple[Money, Money, Money, Money]:
    """(deductible individual, family, maximum individual, family) of a network for a date:
    the plan year's (``Dated.in_plan_year``), as what is met is checked; $3,000 stands for
    'no cap'."""
    net = payer.networks.get(network)
    if net is None or not _in_force(net.deductible.individual, on):
        return _ZERO, _ZERO, _ZERO, _ZERO  # (a bundled payer's first values are from 2025)
    start = payer.plan_year_start.year_of(on)

    def amount(value: Any) -> Money:
        return value.in_plan_year(on, start)  # type: ignore[no-any-return]

    ded_i = amount(net.deductible.individual)
    ded_f = ded_i if net.deductible.family is None else amount(net.deductible.family)
    oop = net.out_of_pocket_max
    if oop is None:  # what is met of the maximum is at least what is met of the deductible
        return ded_i, ded_f, max(Money(3000), ded_i), max(Money(3000), ded_f)
    oop_i = amount(oop.individual)
    return ded_i, ded_f, oop_i, oop_i if oop.family is None else amount(oop.family)


@st.composite
def starting_accumulators(
    draw: st.DrawFn, payer: Payer, network: str, start: date, *, edge: bool = False
) -> dict[str, Any]:
    """Starting accumulators as of a date near the plan start, amounts within the limits,
    and what is met of the maximum at least what is met of the deductible (issue 11 §6: a
    request that says otherwise is refused). ``edge``: as of the plan start, amounts at or
    just below the deductible and maximum."""
    as_of = start if edge else start + timedelta(days=draw(_ints(-400, 60)))
    ded_i, ded_f, oop_i, oop_f = _limits(payer, network, as_of)
    deductible = draw(family_amounts(ded_i, ded_f, edge=edge))
    ded_met_i, ded_met_f = Money(deductible["individual"]), Money(deductible["family"])
    out_of_pocket = family_amounts(
        oop_i, oop_f, edge=edge, low=ded_met_i, family_low=max(ded_met_i, ded_met_f)
    )
    return {
        "as_of": as_of,
        "deductible_met": deductible,
        "out_of_pocket_met": draw(out_of_pocket),
        "sessions_used": {
            name: draw(_ints(0, limit.sessions_per_plan_year.at(as_of)))
            for name, limit in payer.limits.items()
            if _in_force(limit.sessions_per_plan_year, as_of)
        },
    }


# -- savings programs -----------------------------------
_PROGRAM_SHAPES = st.sampled_from(
    list(
        product(
            [("J0013",), ("J3490",), ("J0013", "J3490"), ("96365", "J0013")],
            ["0.00", "10.00", "75.00"],
            ["0.00", "40.00", "600.00", "7150.00", str(MONEY_CEILING)],
        )
    )
)


@lru_cache(maxsize=128)
def _program(codes: tuple[str, ...], patient_pays: str, annual_max: Any) -> SavingsProgram:
    if isinstance(annual_max, tuple):  # dated keys, hashable for the cache
        annual_max = dict(annual_max)
    return program_from_data(
        {
            "id": PROGRAM_ID,
            "name": "Generated savings",
            "sponsor": "A manufacturer",
            "metadata": _METADATA,
            "codes": list(codes),
            "patient_pays": patient_pays,
            "annual_max": annual_max,
        }
    )


@st.composite
def savings_programs(draw: st.DrawFn) -> SavingsProgram:
    """A manufacturer savings program over one or two of the drug codes: a floor of $0–$75 a
    treatment and an annual maximum from $0 (used up at once) to the money ceiling;
    sometimes the maximum changes on ``CHANGE_ON``."""
    codes, floor, cap = draw(_PROGRAM_SHAPES)
    annual: Any = cap
    if _chance(draw, 4):
        annual = ((DATED_FROM, cap), (CHANGE_ON, draw(_pick("100.00", "2000.00"))))
    return _program(codes, floor, annual)


# -- coverage -----------------------------------
_AUTH = _pick("approved", "approved", "approved", "denied", "pending", "not_requested")


@st.composite
def coverage_data(
    draw: st.DrawFn,
    payer: Payer,
    start: date,
    *,
    accumulators: bool | None = None,
    edge: bool = False,
    superbill: bool | None = False,
    savings: bool | None = False,
) -> dict[str, Any]:
    """A coverage (or, with ``starts`` added, a coverage period) for ``payer``.

    Args:
        start: the first date it applies to (for the authorization start and accumulators).
        accumulators: always (True), never (False) or sometimes (None) starting accumulators.
        edge: starting accumulators at or just below the limits.
        superbill: a superbill claim (mostly out of network): always (True), sometimes
            (None) or never (False).
        savings: enrolled in the generated savings program: always, sometimes or never.
    """
    coverage: dict[str, Any] = {"payer": payer.id}
    if payer.kind == "self-pay":
        return coverage
    is_superbill = superbill or (superbill is None and _chance(draw, 3))
    # Mostly a network the payer has; sometimes one it lacks (then nothing is covered).
    names = sorted(payer.networks)
    network = draw(_pick("out", "out", *names) if is_superbill else _pick(*names * 5, "in", "out"))
    net = payer.networks.get(network)
    tiers = ["individual"]
    if net is None or net.deductible.family is not None:
        tiers.append("family")
    coverage |= {
        "network": network,
        "tier": draw(_pick(*tiers, tiers[-1])),
        "prior_authorization": draw(_AUTH),
    }
    if is_superbill:
        coverage["superbill"] = True
    if savings or (savings is None and not _chance(draw, 3)):
        coverage["savings_program"] = PROGRAM_ID
    if _chance(draw, 5):
        coverage["authorization_start"] = start + timedelta(days=draw(_ints(-30, 30)))
    if _chance(draw, 3):
        coverage["authorization_renewal"] = draw(_pick("expected", "approved", "denied"))
    if coverage["prior_authorization"] != "denied" and _chance(draw, 4):
        held = draw(held_authorizations(payer, start))
        if held:
            coverage["authorizations"] = held
    if "pharmacy" in payer.drug_benefits and draw(_BOOL):
        coverage["drug_benefit"] = "pharmacy"
    if payer.kind == "medicare" and draw(_BOOL):
        coverage["abn_signed"] = True
    if draw(_BOOL) if accumulators is None else accumulators:
        coverage["accumulators"] = draw(starting_accumulators(payer, network, start, edge=edge))
    return coverage


@st.composite
def held_authorizations(draw: st.DrawFn, payer: Payer, start: date) -> list[dict[str, Any]]:
    """One to three approvals the patient holds, for a group or codes of ``payer``'s
    prior-authorization rules (none if it has none): from around ``start``, with or without
    an end, a visit count and a unit count (small enough to run out within a plan)."""
    rules = [
        r for r in payer.coverage if isinstance(r, CoveredRule) and r.conditions.prior_authorization
    ]
    if not rules:
        return []
    out: list[dict[str, Any]] = []
    for _ in range(draw(_ints(1, 3))):
        rule = draw(st.sampled_from(rules))
        group = rule.conditions.authorization_group
        held: dict[str, Any] = (
            {"group": group}
            if group is not None and draw(_BOOL)
            else {"codes": sorted(draw(st.sets(st.sampled_from(sorted(rule.codes)), min_size=1)))}
        )
        approved_from = start + timedelta(days=draw(_ints(-20, 120)))
        held["approved_from"] = approved_from
        if draw(_BOOL):
            held["approved_to"] = approved_from + timedelta(days=draw(_ints(0, 90)))
        if draw(_BOOL):
            held["visits"] = draw(_ints(1, 12))
        if _chance(draw, 3):
            held["units"] = draw(_ints(1, 400))
        out.append(held)
    return out


def plan_span_days(plan: Mapping[str, Any]) -> int:
    """Days from the plan's start to the end of its last phase's period (phases drawn with
    ``explicit_starts="none"``; closed days move visits a few days later at most)."""
    total = 0
    for phase in plan["phases"]:
        total += phase.get("start_after_days", 0) + 7 * phase.get("start_after_weeks", 0)
        total += phase_span_days(phase)
    return total


@st.composite
def coverage_periods(
    draw: st.DrawFn,
    payers: tuple[Payer, ...],
    plan: Mapping[str, Any],
    *,
    superbill: bool | None = False,
    savings: bool | None = False,
) -> list[dict[str, Any]]:
    """One to three later coverages, on strictly increasing dates inside (or just around)
    the plan, each under one of ``payers`` (another insurer, the same one again, self-pay)."""
    span = plan_span_days(plan)
    count = draw(_ints(1, 3))
    offsets = sorted({draw(_ints(-3, span + 3)) for _ in range(count)})
    periods = []
    for offset in offsets:
        starts = plan["start"] + timedelta(days=offset)
        payer = payers[draw(_ints(0, len(payers) - 1))]
        cov = draw(coverage_data(payer, starts, superbill=superbill, savings=savings))
        periods.append({**cov, "starts": starts})
    return periods


# -- unknowns -----------------------------------
_UNKNOWN_KINDS = st.lists(
    st.sampled_from(["prior_authorization", "sessions", "dose", "deductible_met"]),
    min_size=1,
    max_size=4,
)
_AUTH_OUTCOMES = st.lists(
    st.sampled_from(["approved", "denied", "pending", "not_requested"]),
    min_size=1,
    max_size=2,
    unique=True,
)


def _phase_name(phase: Mapping[str, Any], index: int) -> str:
    return str(phase.get("name") or f"phase {index + 1}")


@st.composite
def unknowns_data(
    draw: st.DrawFn, plan: Mapping[str, Any], sessions: tuple[str, ...], deductible: Money
) -> dict[str, Any]:
    """Up to four unknown inputs (at most three values each, so at most 81 combinations):
    the authorization outcome, a phase's number of sessions, a phase's dose, the deductible
    already met (a range around ``deductible``, the individual deductible)."""
    out: dict[str, Any] = {}
    phases = list(plan["phases"])
    names = [_phase_name(p, i) for i, p in enumerate(phases)]
    for kind in draw(_UNKNOWN_KINDS):
        name = names[draw(_ints(0, len(phases) - 1))]
        phase = phases[names.index(name)]  # a name means its first phase (_range)
        if kind == "prior_authorization":
            out["prior_authorization"] = draw(_AUTH_OUTCOMES)
        elif kind == "sessions" and "per_week" not in phase and len(out.get("sessions", ())) < 3:
            low = draw(_ints(1, 6))
            ranges = out.setdefault("sessions", [])
            ranges.append({"phase": name, "low": low, "high": low + draw(_ints(0, 6))})
        elif kind == "dose" and len(out.get("dose", ())) < 3:
            choices = draw(st.lists(st.sampled_from(sessions), min_size=1, max_size=2))
            out.setdefault("dose", []).append({"phase": name, "sessions": choices})
        elif kind == "deductible_met":
            low = draw(near_limit(deductible))
            high = draw(near_limit(deductible, low))
            out["deductible_met"] = {"low": _usd(low), "high": _usd(high)}
    return out


# -- patients -----------------------------------
def _birthday(on: date, years: int) -> date:
    """The date ``years`` before ``on`` (Feb 29 becomes Feb 28)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


@st.composite
def patient_data(
    draw: st.DrawFn, *, extreme: bool = False, turns_65: date | None = None
) -> dict[str, Any]:
    """A patient by age (sometimes 0 or 130 with ``extreme``), or born 65 years before
    ``turns_65``."""
    patient: dict[str, Any] = {
        "diagnoses": draw(_DIAGNOSES),
        "failed_trials": draw(_ints(0, 4)),
    }
    if turns_65 is not None:
        patient["birth_date"] = _birthday(turns_65, 65)
    elif extreme and _chance(draw, 4):
        patient["age"] = draw(_pick(*AGE_LIMITS))
    else:
        patient["age"] = draw(_ints(10, 90))
    return patient


# -- requests -----------------------------------
@st.composite
def cases(
    draw: st.DrawFn,
    *,
    self_pay: bool | None = None,
    packages: bool = True,
    accumulators: bool | None = None,
    periods: bool = False,
    savings: bool | None = False,
    superbill: bool | None = False,
    unknowns: bool | None = False,
    extreme: bool = False,
    capped: bool = False,
    covered: bool = False,
) -> Case:
    """A valid estimate request and its payer library.

    Args:
        self_pay: True for the self-pay payer, False for a generated insurer, None for either
            (insurers three times in four).
        packages: whether the clinic may offer packages.
        accumulators: True to always give starting accumulators (insurers only), None for
            sometimes.
        periods: sometimes one to three coverage periods (another generated payer, sometimes
            Medicare-like from the patient's 65th birthday, the same payer again, self-pay).
        savings: a generated savings program; the first coverage is enrolled always (True)
            or sometimes (None), later ones sometimes (unless False).
        superbill: the first coverage claims on a superbill always (True) or sometimes
            (None); later ones sometimes (unless False).
        unknowns: unknown inputs (a range): always (True), sometimes (None) or never.
        extreme: amounts, rates and ages sometimes at their limits; plans sometimes start on
            a year's edge.
        capped: every code covered, a small deductible and a cap, starting accumulators
            often at or just below them when ``accumulators`` is None (the cap and
            deductible properties).
        covered: every code covered at a positive rate with at least 50 % coinsurance, and
            the usual deductible and maximum (the savings and superbill properties).
    """
    if self_pay is None:
        self_pay = _chance(draw, 4)
    payer = (
        SELF_PAY_PAYER
        if self_pay
        else payer_from_data(draw(payer_data(extreme=extreme, capped=capped, covered=covered)))
    )
    payers: dict[str, Payer] = {REF_PAYER_ID: REFERENCE_PAYER, payer.id: payer}
    programs: dict[str, SavingsProgram] = {}
    if savings is not False:
        program = draw(savings_programs())
        programs[program.id] = program
    clinic = clinic_from_data(
        draw(clinic_data(packages=packages, extreme=extreme, positive=capped or covered))
    )
    start = None
    if extreme and _chance(draw, 4):
        start = draw(_YEAR_EDGE_START)
    elif not self_pay and draw(_BOOL):  # start shortly before a plan year ends
        pys = payer.plan_year_start
        start = date(2026, pys.month, pys.day) - timedelta(days=draw(_ints(1, 90)))
    plan = draw(plan_data(sessions=tuple(clinic.sessions), start=start))
    edge = capped and accumulators is None and draw(_BOOL)
    coverage = draw(
        coverage_data(
            payer,
            plan["start"],
            accumulators=True if edge else accumulators,
            edge=edge,
            superbill=superbill,
            savings=savings,
        )
    )
    data: dict[str, Any] = {"coverage": coverage, "clinic": clinic, "plan": plan, "issued": ISSUED}
    turns_65 = None
    if periods and draw(_BOOL):
        kind = draw(_pick("medicare", "commercial", "commercial-hdhp"))
        second = payer_from_data(
            draw(
                payer_data(
                    payer_id=PAYER_2_ID, extreme=extreme, capped=capped, covered=covered, kind=kind
                )
            )
        )
        payers[second.id] = second
        payers[SELF_PAY_ID] = SELF_PAY_PAYER
        choices = (second, SELF_PAY_PAYER) if self_pay else (second, payer, SELF_PAY_PAYER)
        data["coverage_periods"] = draw(
            coverage_periods(
                choices,
                plan,
                superbill=None if superbill is not False else False,
                savings=None if savings is not False else False,
            )
        )
        medicare_from = [p["starts"] for p in data["coverage_periods"] if p["payer"] == PAYER_2_ID]
        if kind == "medicare" and medicare_from and draw(_BOOL):
            turns_65 = medicare_from[0]  # Medicare from the 65th birthday
    data["patient"] = draw(patient_data(extreme=extreme, turns_65=turns_65))
    if unknowns or (unknowns is None and _chance(draw, 3)):
        ded = _limits(payer, coverage.get("network", "in"), plan["start"])[0]
        data["unknowns"] = draw(unknowns_data(plan, tuple(clinic.sessions), ded))
    request = request_from_data(data, payers=payers)
    return Case(payers=payers, data=data, request=request, programs=programs)


def rich_cases(*, self_pay: bool | None = None) -> st.SearchStrategy[Case]:
    """Everything at once: coverage periods, savings programs, superbills, unknowns and
    extreme values, over generated payers (sometimes built to reach their caps); and
    requests over the bundled payer library."""
    if self_pay:
        return _RICH[True]
    return st.one_of(_RICH[self_pay], _RICH_CAPPED, library_cases())


_RICH = {
    flag: cases(
        self_pay=flag,
        periods=True,
        savings=None,
        superbill=None,
        unknowns=None,
        extreme=True,
    )
    for flag in (None, True, False)
}
_RICH_CAPPED = cases(
    self_pay=False, capped=True, periods=True, savings=None, superbill=None, unknowns=None
)


# -- the bundled payer library -----------------------------------
ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def bundled_payers() -> ketacost.PayerLibrary:
    """The payer library of the repository's ``payers/`` folder (with its programs)."""
    return ketacost.load_payers(ROOT / "payers")


@lru_cache(maxsize=1)
def example_clinic() -> Clinic:
    return load_clinic(ROOT / "examples" / "clinics" / "example-clinic.yaml")


@lru_cache(maxsize=1)
def _bundled_ids() -> frozenset[str]:
    return frozenset(bundled_payers())


_LIBRARY_START = st.dates(date(2025, 6, 1), date(2027, 9, 30))


@st.composite
def library_cases(draw: st.DrawFn) -> Case:
    """A request over the bundled payer library and the example clinic: any payer, often a
    patient who meets the esketamine criteria, sometimes commercial coverage then another
    payer (Medicare from the 65th birthday), the bundled savings program, a superbill, and
    unknowns."""
    library = bundled_payers()
    clinic = example_clinic()
    # A Medigap plan pays only second: it is never a coverage of its own (the second payers are
    # drawn in tests/test_second_payers.py).
    ids = tuple(sorted(i for i in library if library[i].kind != "medigap"))
    payer = library[draw(_pick(*ids))]
    plan = draw(plan_data(sessions=tuple(sorted(clinic.sessions)), start=draw(_LIBRARY_START)))
    coverage = draw(coverage_data(payer, plan["start"], superbill=None))
    if payer.kind != "self-pay" and _chance(draw, 2):
        coverage["savings_program"] = draw(_pick(*sorted(library.programs)))
    data: dict[str, Any] = {"coverage": coverage, "clinic": clinic, "plan": plan, "issued": ISSUED}
    turns_65 = None
    if draw(_BOOL):
        choices = tuple(library[i] for i in ids)
        data["coverage_periods"] = periods = draw(coverage_periods(choices, plan, superbill=None))
        for period in periods:
            if library[period["payer"]].kind.startswith("medicare") and draw(_BOOL):
                turns_65 = period["starts"]
                break
    patient = draw(patient_data(extreme=True, turns_65=turns_65))
    if draw(_BOOL):  # the esketamine criteria of the commercial plans
        patient |= {"diagnoses": ["F33.2"], "failed_trials": draw(_ints(2, 4))}
        if "age" in patient:
            patient["age"] = draw(_ints(18, 90))
    data["patient"] = patient
    if _chance(draw, 3):
        ded = _limits(payer, coverage.get("network", "in"), plan["start"])[0]
        data["unknowns"] = draw(unknowns_data(plan, tuple(sorted(clinic.sessions)), ded))
    request = request_from_data(data, payers=library)
    return Case(payers=library, data=data, request=request, programs=library.programs)


#: Bundled payers with rules that need prior authorization (iv-trd-payer's approval lasts 28
#: days and renews; the others' approvals hold until the request's own say otherwise).
_APPROVAL_PAYERS = ("iv-trd-payer", "commercial-ppo", "commercial-hmo", "medicare-advantage")
#: The example clinic's sessions those rules cover (drawn more often than the others).
_APPROVAL_SESSIONS = ("esketamine-56", "esketamine-84", "iv-infusion") * 3


@st.composite
def approval_cases(draw: st.DrawFn) -> Case:
    """A request where approvals decide: a bundled payer whose rules need prior authorization
    (one time in three a payer whose two rules of one group bill together:
    :func:`split_group_payers`), a patient who meets their other criteria, approved, often with approvals held (from
    dates, with ends and visit and unit counts that run out within a plan), sometimes an
    authorization start or a renewal outcome, often the deductible met or nearly (so that
    visits repeat); one to three phases of the example clinic's sessions, mostly those the
    rules cover, 1 to 14 sessions each."""
    library: Mapping[str, Payer] = bundled_payers()
    programs: Mapping[str, SavingsProgram] = bundled_payers().programs
    clinic = example_clinic()
    if _chance(draw, 3):
        payer = draw(split_group_payers())
        library, programs = {payer.id: payer}, {}
    else:
        payer = library[draw(_pick(*_APPROVAL_PAYERS))]
    phases = [
        {
            "session": draw(_pick(*_APPROVAL_SESSIONS, *sorted(clinic.sessions))),
            "sessions": draw(_ints(1, 14)),
            "every_days": draw(_pick(1, 2, 3, 7, 14, 28)),
        }
        for _ in range(draw(_ints(1, 3)))
    ]
    plan = {"start": draw(_LIBRARY_START), "phases": phases}
    coverage: dict[str, Any] = {
        "payer": payer.id,
        "network": "in",
        "prior_authorization": "approved",
    }
    if payer.id == "split-group-plan" and draw(_BOOL):
        # group approvals with neither an end nor a count: each rule's own count applies
        held = {"group": "grp", "approved_from": plan["start"]}
        coverage["authorizations"] = [held] * draw(_ints(1, 2))
    elif draw(_BOOL):
        coverage["authorizations"] = draw(held_authorizations(payer, plan["start"]))
    if _chance(draw, 3):
        coverage["authorization_start"] = plan["start"] + timedelta(days=draw(_ints(-30, 60)))
    if draw(_BOOL):
        coverage["authorization_renewal"] = draw(_pick("expected", "approved", "denied"))
    if draw(_BOOL):  # the deductible (and at times the maximum) met or nearly: visits repeat
        coverage["accumulators"] = draw(
            starting_accumulators(payer, "in", plan["start"], edge=True)
        )
    patient = {"age": draw(_ints(18, 64)), "diagnoses": ["F33.2"], "failed_trials": 4}
    data = {"coverage": coverage, "clinic": clinic, "plan": plan, "issued": ISSUED}
    data["patient"] = patient
    request = request_from_data(data, payers=library)
    return Case(payers=library, data=data, request=request, programs=programs)


@st.composite
def split_group_payers(draw: st.DrawFn) -> Payer:
    """The example clinic's IV infusion codes under two rules of one authorization group, each
    with its own visit count (sometimes days, a renewal): a visit's two lines count against
    the same approvals, which a held group approval without an end or a count gives each
    rule with that rule's own count."""
    rules = []
    for code in draw(st.permutations(["96365", "J3490"])):
        conditions: dict[str, Any] = {
            "prior_authorization": True,
            "authorization_group": "grp",
            "authorization_visits": draw(_ints(1, 8)),
        }
        if draw(_BOOL):
            conditions["authorization_days"] = draw(_ints(7, 60))
        if draw(_BOOL):
            conditions["renewal_days"] = [draw(_ints(7, 60))]
        rules.append({"codes": [code], "status": "covered", "category": "visit",
                      "conditions": conditions})  # fmt: skip
    cost_sharing = {
        "copay": draw(_pick("0.00", "25.00")),
        "coinsurance": draw(_pick("0", "0.2")),
        "deductible_applies": True,
    }
    network = {
        "deductible": {"individual": draw(_pick("0.00", "500.00")), "family_type": "embedded"},
        "out_of_pocket_max": (
            {"individual": "1500.00", "family_type": "embedded"} if draw(_BOOL) else None
        ),
        "allowed": {"basis": "fee_schedule", "rates": {"96365": "400.00", "J3490": "20.00"}},
        "cost_sharing": {"visit": cost_sharing},
    }
    return payer_from_data(
        {
            "id": "split-group-plan",
            "name": "A plan with one approval group over two rules",
            "kind": "commercial",
            "metadata": _METADATA,
            "networks": {"in": network},
            "coverage": rules,
        }
    )


@st.composite
def raised_amounts(
    draw: st.DrawFn, amounts: Mapping[str, str], ind_limit: Money, fam_limit: Money
) -> dict[str, str]:
    """Family amounts at least as high as ``amounts`` in effect (the engine reads a family
    amount of 0 as 'the individual amount'), still valid for ``FamilyAmounts`` and at most
    the plan's amounts (more is refused, issue 11 §6; met at the plan's amount is met in
    full, so the cap changes nothing the engine sees)."""
    ind = Money(amounts["individual"])
    ind = max(ind, min(ind + draw(money("2000.00")), ind_limit))
    fam = Money(amounts["family"])
    if fam:
        fam = max(fam, min(max(fam + draw(money("2000.00")), ind), max(fam_limit, ind)))
    return {"individual": _usd(ind), "family": _usd(fam)}


@st.composite
def raised_accumulators(draw: st.DrawFn, case: Case, field: str) -> dict[str, Any]:
    """The case's starting accumulators with ``field`` (``deductible_met`` or
    ``out_of_pocket_met``) raised, within the plan's amounts on the ``as_of`` date.

    Raising the deductible met raises the out-of-pocket amounts given to at least it: the
    engine counts deductible paid toward the maximum (so it read them so before), and a request
    that says less is refused (issue 11 §6).
    """
    acc = case.data["coverage"]["accumulators"]
    network = case.data["coverage"].get("network", "in")
    ded_i, ded_f, oop_i, oop_f = _limits(case.payer, network, acc["as_of"])
    if field == "out_of_pocket_met":
        return {**acc, field: draw(raised_amounts(acc[field], oop_i, oop_f))}
    ded = draw(raised_amounts(acc[field], ded_i, ded_f))
    oop = dict(acc["out_of_pocket_met"])
    for who, least in (
        ("individual", Money(ded["individual"])),
        ("family", max(Money(ded["family"]), Money(ded["individual"]))),
    ):
        if Money(oop[who]):
            oop[who] = _usd(max(Money(oop[who]), least))
    return {**acc, field: ded, "out_of_pocket_met": oop}


# -- how many examples exercised each property -----------------------------------
@dataclass
class _Count:
    examples: int = 0
    hits: int = 0
    minimum: float = 0.0


#: Shares are judged from this many examples on (the ``ci`` profile runs 2,000, derandomized,
#: so its shares are the same every run; a quick ``dev`` run of 100 random examples only
#: reports them, since hypothesis's first examples are deliberately small and simple).
ENFORCE_FROM = 1000

#: (property, branch) → counts of the last run, for the session summary (conftest.py).
EXERCISED: dict[tuple[str, str], _Count] = {}
_CURRENT: list[str] = []


def note(branch: str, hit: bool) -> None:
    """Record whether this example exercised ``branch`` of the running property (once per
    example and branch); shown by ``--hypothesis-show-statistics`` too."""
    count = EXERCISED.setdefault((_CURRENT[-1], branch), _Count())
    count.examples += 1
    count.hits += hit
    event(f"{branch}: {'yes' if hit else 'no'}")


def exercises(**minimum: float) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Run a hypothesis property, then fail unless each named branch was exercised by at
    least its share of the examples (``deductible_met=0.5``: half of them), so a generator
    that stops reaching a branch fails the test instead of passing vacuously.

    The branch names are the keyword names with ``_`` read as a space, as ``note`` takes them.
    """

    def wrap(prop: Callable[[], None]) -> Callable[[], None]:
        name = prop.__name__

        def test() -> None:
            _CURRENT.append(name)
            try:
                for branch, share in minimum.items():
                    EXERCISED[(name, branch.replace("_", " "))] = _Count(minimum=share)
                prop()
            finally:
                _CURRENT.pop()
            for branch, share in minimum.items():
                count = EXERCISED[(name, branch.replace("_", " "))]
                assert count.examples, f"{name}: no example recorded {branch!r}"
                if count.examples < ENFORCE_FROM:
                    continue  # a quick run: reported, not judged
                got = count.hits / count.examples
                assert got >= share, (
                    f"{name}: only {count.hits} of {count.examples} examples ({got:.0%}) "
                    f"exercised {branch.replace('_', ' ')!r}; at least {share:.0%} must (the generator regressed?)"
                )

        test.__name__ = test.__qualname__ = name
        test.__doc__ = prop.__doc__
        test.__module__ = prop.__module__
        return test

    return wrap


# -- batch rows ------------------------------------------------------------------------------
#: Cells a batch row may hold: valid ones, and the hostile ones issue 9 found (huge exponents,
#: other scripts' digits, money in undocumented forms, dates in other ISO forms).
def _mostly(
    valid: st.SearchStrategy[str], hostile: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """A cell that is valid eleven times in twelve, and hostile otherwise."""
    return st.integers(0, 11).flatmap(lambda k: hostile if k == 0 else valid)


_WHOLE_CELLS = _mostly(
    st.integers(0, 90).map(str),
    st.sampled_from(["", "1e999999999", "\u0663\u0660", "\uff13\uff10", "45.0", "-3", "9" * 30]),
)
_COUNT_CELLS = _mostly(st.integers(1, 12).map(str), _WHOLE_CELLS)
_MONEY_CELLS = _mostly(
    st.one_of(st.just(""), money("12000.00").map(str), st.just("$1,234.56")),
    st.sampled_from(["1e5000", "1e999999", "$1,2,3", "1,50", "3_5_0", "10000000.01", "0.001"]),
)
_DATE_CELLS = _mostly(
    st.dates(date(2025, 1, 1), date(2027, 12, 31)).map(date.isoformat),
    st.sampled_from(["", "20260105", "2026-W02-1", "2026-02-30", "10000-01-01"]),
)
BATCH_PAYERS = (
    "self-pay",
    "commercial-ppo",
    "medicare-part-b",
    "medicaid",
    "hdhp",
    "iv-trd-payer",
)
BATCH_PLANS = (
    "iv-year",
    "iv-induction",
    "esketamine-year",
    "esketamine-induction",
    "kap-series",
    "",
)


#: Second payers of a batch row (the Medigap plans and TRICARE For Life follow Medicare only,
#: so after another first payer the row is refused, by its secondary_payer column).
_BATCH_SECONDS = ("", "medigap-plan-g", "medigap-plan-n", "tricare-for-life", "spouse-employer-ppo")
_HOSTILE_SECOND = st.sampled_from(["no-such-payer", "Medigap G!", "=1+1"])


@st.composite
def batch_rows(draw: st.DrawFn) -> dict[str, str]:
    """One batch CSV row as text cells (``ketacost.batch`` columns), valid or hostile."""
    plan = draw(st.sampled_from(BATCH_PLANS))
    row = {
        "row_id": str(draw(st.integers(1, 10_000))),
        "payer": draw(_mostly(st.sampled_from(BATCH_PAYERS), st.just("no-such-payer"))),
        "network": draw(st.sampled_from(["", "in", "out"])),
        "prior_authorization": draw(st.sampled_from(["", "approved", "denied", "pending"])),
        "age": draw(_WHOLE_CELLS),
        "diagnoses": draw(st.sampled_from(["F33.2", "", "F32.9;F33.2"])),
        "failed_trials": draw(_WHOLE_CELLS),
        "plan": plan,
        "start": draw(_DATE_CELLS),
        "deductible_met": draw(_MONEY_CELLS),
        "out_of_pocket_met": draw(_MONEY_CELLS),
    }
    if _chance(draw, 8):  # a second payer: one that follows Medicare, or a hostile cell
        row["secondary_payer"] = draw(_mostly(st.sampled_from(_BATCH_SECONDS), _HOSTILE_SECOND))
        row["qmb"] = draw(st.sampled_from(["", "", "", "no", "yes", "YES", "maybe"]))
    if not plan:
        row["session"] = draw(st.sampled_from(["iv-infusion", "intake", "esketamine-56"]))
        row["sessions"] = draw(_COUNT_CELLS)
        row["every_days"] = draw(_COUNT_CELLS)
    return row


# -- claim edits -----------------------------------
_EDIT_MODIFIERS = ("25", "59", "XU", "KX", "95")
_EDIT_KINDS = (
    "commercial",
    "commercial-hdhp",
    "medicare",
    "medicare-advantage",
    "medicaid",
    "tricare",
    "va",
    "self-pay",
)
_EDIT_REFERENCE = [{"title": "generated for a property test", "href": "https://example.org/e"}]


def _edit_scope(
    draw: st.DrawFn, payer_ids: tuple[str, ...], kinds: tuple[str, ...]
) -> dict[str, Any]:
    """Mostly the estimate's own payers (by id or kind), sometimes any kinds."""
    if payer_ids and _chance(draw, 2):
        return {"payers": draw(st.lists(st.sampled_from(payer_ids), min_size=1, unique=True))}
    pool = kinds if kinds and not _chance(draw, 4) else _EDIT_KINDS
    return {"payer_kinds": draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))}


def _edit_limit(draw: st.DrawFn, starts: date, most: int) -> Any:
    # Half the time below the most units the estimate bills of the code in a day (so that the
    # limit meets it when it can), else anything up to a drug's 120 units.
    units = st.integers(1, max(1, most - 1)) if _chance(draw, 2) else st.integers(1, 120)
    if not _chance(draw, 3):
        return draw(units)
    change = starts + timedelta(days=draw(st.integers(1, 400)))
    return {starts: draw(units), change: draw(units)}


def _edit_keys(days: tuple[tuple[str, ...], ...]) -> st.SearchStrategy[tuple[str, ...]]:
    """Half the time a pair of codes billed on one day or a limit on one of them (so that the
    edit meets the estimate), else any pair or limit over the codes."""
    codes = sorted({code for day in days for code in day}) or ["99214"]
    limits = [("unit-limit", code) for code in codes]
    together = sorted({("same-day-pair", a, b) for day in days for a in day for b in day if a != b})
    anything = [("same-day-pair", a, b) for a in codes for b in codes if a != b] + limits
    return st.sampled_from(together + limits) | st.sampled_from(anything)


@st.composite
def claim_edit_files(
    draw: st.DrawFn,
    days: tuple[tuple[tuple[str, int], ...], ...],
    *,
    payer_ids: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
    around: date = date(2026, 6, 1),
) -> list[ClaimEdits]:
    """Up to three claim-edit files over the (code, units) an estimate bills on each of its ``days``
    (so that the edits often meet it): same-day pairs and unit limits in force from around the
    date ``around`` (sometimes after it, sometimes ending), for the estimate's payers (by id or
    kind) or any kinds. Never two edits about the same codes (a duplicate the loader refuses)."""
    if _chance(draw, 8):
        return []  # no edits at all
    most: dict[str, int] = {}
    for day in days:
        units: dict[str, int] = {}
        for code, count in day:
            units[code] = units.get(code, 0) + count
        for code, count in units.items():
            most[code] = max(most.get(code, 0), count)
    chosen = draw(
        st.lists(
            _edit_keys(tuple(tuple(code for code, _ in day) for day in days)),
            min_size=1,
            max_size=6,
            unique_by=lambda key: (key[0], *sorted(key[1:])),
        )
    )
    files: dict[int, list[dict[str, Any]]] = {}
    for i, key in enumerate(chosen):
        starts = around + timedelta(days=draw(st.integers(-400, 60)))
        edit: dict[str, Any] = {
            "id": f"edit-{i}",
            "kind": key[0],
            "name": f"generated edit {i}",
            "effective_from": starts,
            "reference": _EDIT_REFERENCE,
            "illustrative": draw(st.booleans()),
            **_edit_scope(draw, payer_ids, kinds),
        }
        if _chance(draw, 4):
            edit["effective_until"] = starts + timedelta(days=draw(st.integers(0, 900)))
        if key[0] == "same-day-pair":
            edit["column_1"], edit["column_2"] = key[1], key[2]
            modifiers = st.lists(st.sampled_from(_EDIT_MODIFIERS), max_size=2, unique=True)
            edit["bypass_modifiers"] = draw(modifiers) if _chance(draw, 2) else []
            if not edit["bypass_modifiers"] and _chance(draw, 3):
                edit["denied"] = "either"
        else:
            edit["code"] = key[1]
            edit["max_units_per_day"] = _edit_limit(draw, starts, most.get(key[1], 1))
        files.setdefault(draw(st.integers(0, 2)), []).append(edit)
    return [
        edits_from_data(
            {
                "id": f"gen-edits-{n}",
                "name": f"Generated edits {n}",
                "metadata": _METADATA,
                "edits": edits,
            }
        )
        for n, edits in sorted(files.items())
    ]
