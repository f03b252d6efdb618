"""Constrained types declared once and reused, and the base model every rule object uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ._errors import quoted
from ._limits import MAX_AMOUNT_CENTS, MAX_UNIT_RATE_CENTS
from ._money import Money

__all__ = [
    "RATE_PLACES",
    "Code",
    "Day",
    "Icd10",
    "Int",
    "Model",
    "Modifier",
    "Multiplier",
    "NetworkName",
    "Npi",
    "Rate",
    "Slug",
    "Taxonomy",
    "Tin",
    "UnitRate",
    "Usd",
    "Weekday",
    "build_models",
    "builder",
    "npi_check_digit_ok",
    "strict_day",
]


class Model(BaseModel):
    """Frozen and closed: unknown keys are errors, collections are tuples.

    A model builds its validator and serializer when first used (``defer_build``), so a
    command builds only the models it uses (issue 10: the CLI's cold start). Validating,
    serializing and ``model_json_schema`` use it; :func:`builder`, ``model_construct`` and
    unpickling do not. A long-lived process builds them all at start (:func:`build_models`).
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_timedelta="iso8601", defer_build=True
    )


def build_models() -> int:
    """Build every :class:`Model` subclass imported so far; returns how many were built.

    A web server's worker calls it at start, so that no request pays for building a model,
    and what the models are made of is put out of the collector's sight with the rest of
    the start-up (``ketacost.web._server.freeze_startup``). The tests call it too: a model
    whose annotations are broken fails there, not at its first use.
    """
    built = 0
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [Model]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        if not cls.__pydantic_complete__:
            cls.model_rebuild()
            built += 1
    return built


M = TypeVar("M", bound=BaseModel)


_BUILDERS: dict[type[BaseModel], Callable[[dict[str, Any]], Any]] = {}


def builder(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A fast constructor for ``cls`` from a complete dict of trusted field values.

    The hot loop of the engine builds thousands of frozen objects per second; this skips
    validation and keyword unpacking. All objects of a class share one fields-set: frozen
    models never add to it, and pydantic copies it before ``model_copy`` updates it.
    """
    found = _BUILDERS.get(cls)
    if found is not None:
        return found
    fields_set = set(cls.model_fields)
    new = cls.__new__

    def build(values: dict[str, Any]) -> M:
        obj = new(cls)
        _set(obj, "__dict__", values)
        _set(obj, "__pydantic_fields_set__", fields_set)
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj

    _BUILDERS[cls] = build
    return build


_set = object.__setattr__


def _whole_number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        got = "true" if value else "false"
        message = "expected a whole number (got {got})"
    else:
        if isinstance(value, str):
            got = quoted(value)
        elif isinstance(value, Decimal | float):
            got = str(value)[:40]
        else:
            got = type(value).__name__
        message = "expected a whole number (got {got})"
    raise PydanticCustomError("int_strict", message, {"got": got})


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def strict_day(value: Any) -> Any:
    """A date as ``YYYY-MM-DD`` text (or a :class:`datetime.date`), nothing else.

    pydantic's lax mode would read ``1767571200`` or ``0`` as a Unix time and
    ``"2026-01-05T00:00"`` as a date, silently changing an estimate.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value  # pydantic then checks that the day exists
    if isinstance(value, str):
        got = quoted(value)
    elif isinstance(value, bool | int | Decimal | float):
        got = str(value).lower() if isinstance(value, bool) else str(value)[:40]
    else:
        got = type(value).__name__
    raise PydanticCustomError(
        "date_strict", "expected a date (YYYY-MM-DD) (got {got})", {"got": got}
    )


#: A calendar date, written ``YYYY-MM-DD`` (years 0001 to 9999).
Day = Annotated[date, BeforeValidator(strict_day)]


#: A whole number, strictly: a JSON/YAML integer (or a Python ``int``), never ``true``/
#: ``false``, text, a float or a Decimal. Lax conversion once turned ``1e999999999`` into a
#: billion-digit integer before any range check; every field using this also states its range.
Int = Annotated[int, BeforeValidator(_whole_number)]


def _no_number(kind: str, example: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | Decimal | float):
            raise PydanticCustomError(
                f"{kind}_unquoted",
                'write {kind} as quoted text, e.g. "{example}" (got the number {value})',
                {"kind": kind, "example": example, "value": str(value)},
            )
        return value

    return BeforeValidator(check)


#: A CPT, HCPCS or Category III code: five characters (``"90791"``, ``"J0013"``, ``"0820T"``).
Code = Annotated[
    str,
    _no_number("codes", "90791"),
    Field(pattern=r"^[0-9A-Z]{5}$", description="CPT/HCPCS code, five characters"),
]

#: A CPT/HCPCS modifier (``"25"``, ``"KX"``, ``"95"``).
Modifier = Annotated[
    str, _no_number("modifiers", "25"), Field(pattern=r"^[0-9A-Z]{2}$", description="modifier")
]

#: An ICD-10-CM diagnosis code with its dot (``"F33.2"``).
Icd10 = Annotated[
    str,
    Field(pattern=r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$", description="ICD-10-CM code"),
]

RATE_PLACES = 6


def _rate_places(value: Decimal) -> Decimal:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -RATE_PLACES:
        raise PydanticCustomError(
            "rate_places",
            "a rate has at most {places} decimal places (got {value})",
            {"places": RATE_PLACES, "value": str(value)},
        )
    return value


_RATE_TEXT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,12})?", re.ASCII)


def _exact_rate(value: Any) -> Any:
    """A rate as a Decimal, an int, or text of ASCII digits with an optional fraction.

    Text such as ``"0.2"``; never a float, and never the forms ``Decimal()`` would also read
    (spaces, underscores, exponents, other scripts' digits).
    """
    if isinstance(value, Decimal):
        return Decimal(value)  # a JsonFraction is a fine rate: keep the plain Decimal
    if isinstance(value, float):
        raise PydanticCustomError(
            "rate_float",
            "write rates exactly, as a Decimal or a string like '0.2' (got the float {value})",
            {"value": value},
        )
    if isinstance(value, str) and not _RATE_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "rate_text",
            "expected a number like 0.2 (got {value})",
            {"value": quoted(value)},
        )
    return value


#: A fraction from 0 to 1 (coinsurance ``0.2`` = 20 %). Never a float.
Rate = Annotated[
    Decimal,
    BeforeValidator(_exact_rate),
    Field(ge=0, le=1, description="a fraction from 0 to 1, e.g. 0.2 for 20%"),
    AfterValidator(_rate_places),
]

#: A non-negative multiplier that may exceed 1 (``1.4`` = 140 % of Medicare).
Multiplier = Annotated[
    Decimal,
    BeforeValidator(_exact_rate),
    Field(ge=0, le=10, description="a multiplier, e.g. 1.4 for 140%"),
    AfterValidator(_rate_places),
]

#: An identifier: lower-case words joined by hyphens (``commercial-ppo``, ``iv-infusion``).
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]

NetworkName = Literal["in", "out"]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_NPI = re.compile(r"^[0-9]{10}$")


def npi_check_digit_ok(npi: str) -> bool:
    """Luhn check of an NPI with the 80840 card-issuer prefix (CMS NPI check-digit rule)."""
    if not _NPI.match(npi):
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


def _check_npi(value: str) -> str:
    if not npi_check_digit_ok(value):
        raise PydanticCustomError(
            "npi",
            "not a valid NPI: 10 digits with a correct check digit (got '{value}')",
            {"value": value},
        )
    return value


#: A National Provider Identifier: 10 digits with a Luhn check digit.
Npi = Annotated[str, _no_number("NPIs", "1234567893"), AfterValidator(_check_npi)]

#: A Taxpayer Identification Number (EIN form ``12-3456789``).
Tin = Annotated[
    str, _no_number("TINs", "12-3456789"), Field(pattern=r"^[0-9]{2}-[0-9]{7}$", description="EIN")
]


#: A provider taxonomy code from the NUCC Health Care Provider Taxonomy code set: 10
#: characters, the last one ``X`` (e.g. ``2084P0800X`` psychiatry); nucc.org code set.
Taxonomy = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{3}[0-9A-Z]{6}X$",
        description="NUCC taxonomy code, e.g. 2084P0800X",
    ),
]


def _non_negative(value: Money) -> Money:
    if value.cents < 0:
        raise PydanticCustomError(
            "money_negative", "must not be negative (got {value})", {"value": str(value)}
        )
    if value.cents > MAX_AMOUNT_CENTS:
        raise PydanticCustomError(
            "money_ceiling",
            "must be at most ${most} (got {value})",
            {"most": f"{MAX_AMOUNT_CENTS // 100:,}.00", "value": str(value)},
        )
    return value


#: Money that may not be negative (charges, rates, deductibles, copays, prices); like every
#: amount, at most $10,000,000.00.
Usd = Annotated[Money, AfterValidator(_non_negative)]


def _unit_rate_ceiling(value: Money) -> Money:
    if value.cents > MAX_UNIT_RATE_CENTS:
        raise PydanticCustomError(
            "unit_rate_ceiling",
            "a price of one unit must be at most ${most} (got {value})",
            {"most": f"{MAX_UNIT_RATE_CENTS // 100:,}.00", "value": str(value)},
        )
    return value


#: The price or allowed amount of one unit of a code (a fee schedule's or chargemaster's
#: rate): non-negative and at most $1,000,000.00.
UnitRate = Annotated[Money, AfterValidator(_non_negative), AfterValidator(_unit_rate_ceiling)]
