"""Values that change over time, written with dated keys (the OpenFisca convention).

In a rule file, any scalar value may be written either plainly or as a mapping of dates to
values::

    individual: 1500                                 # always 1500
    individual: {2025-01-01: 1500, 2026-01-01: 1700} # 1500 from 2025-01-01, 1700 from 2026-01-01

A value holds from its date until the next date. Dates must be in increasing order as
written. A date of service before the first date has no value in force; asking for it raises
:class:`NoValueInForceError` (the engine turns that into an ``EstimateError`` naming the field).
"""

from __future__ import annotations

import bisect
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any, Generic, TypeVar, get_args

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ._errors import InvalidArgumentError, KetacostError
from ._money import Money
from ._types import strict_day

__all__ = ["Dated", "NoValueInForceError"]

T = TypeVar("T")


class NoValueInForceError(KetacostError, LookupError):
    """No dated value is in force on the date asked for (a ``LookupError`` as before)."""

    def __init__(self, on: date, first: date) -> None:
        self.on = on
        self.first = first
        super().__init__(
            f"no value in force on {on.isoformat()} (the first is {first.isoformat()})"
        )


class Dated(Generic[T]):
    """A value, or a step function of dates to values.

    >>> d = Dated.of({date(2025, 1, 1): 257, date(2026, 1, 1): 283})
    >>> d.at(date(2025, 12, 31)), d.at(date(2026, 1, 1))
    (257, 283)
    """

    __slots__ = ("_dates", "_values", "plain")

    _dates: tuple[date, ...]
    _values: tuple[T, ...]
    plain: bool

    def __init__(self, value: T) -> None:
        self._dates = (date.min,)
        self._values = (value,)
        self.plain = True

    @classmethod
    def of(cls, steps: dict[date, T]) -> Dated[T]:
        """A dated value from an ordered mapping of start dates to values."""
        if not steps:
            raise InvalidArgumentError("a dated value needs at least one date")
        dates = tuple(steps)
        if any(b <= a for a, b in pairwise(dates)):
            raise InvalidArgumentError("dated keys must be in increasing date order")
        out: Dated[T] = cls.__new__(cls)
        out._dates = dates
        out._values = tuple(steps.values())
        out.plain = False
        return out

    def at(self, on: date) -> T:
        """The value in force on ``on``.

        Raises:
            NoValueInForceError: ``on`` is before the first date.
        """
        if self.plain:
            return self._values[0]
        i = bisect.bisect_right(self._dates, on) - 1
        if i < 0:
            raise NoValueInForceError(on, self._dates[0])
        return self._values[i]

    def in_plan_year(self, on: date, start: date) -> T:
        """A plan-year amount (a deductible, a maximum, a session limit) for the date ``on``.

        The value in force on the plan year's first day (``start``) holds for the whole plan
        year, as the plan year's own terms do: a July-June plan year beginning in 2025 keeps
        the 2025 amounts after January 1 (the IRS limits apply "for plan years beginning in"
        a year). Where the value has no date that early, the value in force on ``on``.

        Raises:
            NoValueInForceError: no value is in force on ``on`` either.
        """
        if self.plain:
            return self._values[0]
        return self.at(start if start >= self._dates[0] else on)

    @property
    def steps(self) -> tuple[tuple[date, T], ...]:
        """The (start date, value) pairs; a plain value starts at ``date.min``."""
        return tuple(zip(self._dates, self._values, strict=True))

    @property
    def values(self) -> tuple[T, ...]:
        return self._values

    def change_dates(self) -> tuple[date, ...]:
        """Dates on which the value changes (empty for a plain value)."""
        return () if self.plain else self._dates

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dated):
            return NotImplemented
        return (self.plain, self._dates, self._values) == (other.plain, other._dates, other._values)

    def __hash__(self) -> int:
        return hash((self.plain, self._dates, self._values))

    def __repr__(self) -> str:
        if self.plain:
            return f"Dated({self._values[0]!r})"
        inner = ", ".join(f"{d.isoformat()}: {v!r}" for d, v in self.steps)
        return f"Dated({{{inner}}})"

    # -- pydantic ------------------------------------------------------------------------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        args = get_args(source)
        item_schema = handler.generate_schema(args[0] if args else Any)
        day = core_schema.no_info_before_validator_function(strict_day, core_schema.date_schema())
        dated_schema = core_schema.dict_schema(day, item_schema)

        def pick(value: Any) -> str:
            if isinstance(value, Dated):
                return "ready"
            return "dated" if isinstance(value, dict) else "plain"

        def from_dated(steps: dict[date, Any]) -> Dated[Any]:
            if not steps:
                raise PydanticCustomError("dated_empty", "a dated value needs at least one date")
            dates = list(steps)
            for a, b in pairwise(dates):
                if b <= a:
                    raise PydanticCustomError(
                        "dated_order",
                        "dated keys must be in increasing date order ({b} comes after {a})",
                        {"a": a.isoformat(), "b": b.isoformat()},
                    )
            return Dated.of(steps)

        return core_schema.tagged_union_schema(
            choices={
                "ready": core_schema.is_instance_schema(Dated),
                "dated": core_schema.no_info_after_validator_function(from_dated, dated_schema),
                "plain": core_schema.no_info_after_validator_function(Dated, item_schema),
            },
            discriminator=pick,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialize, info_arg=True
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        assert schema["type"] == "tagged-union"
        item = handler(schema["choices"]["plain"]["schema"])
        return {
            "anyOf": [
                item,
                {
                    "type": "object",
                    "description": "dated values: each holds from its date until the next",
                    "patternProperties": {r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$": item},
                    "additionalProperties": False,
                    "minProperties": 1,
                },
            ]
        }


def _scalar(value: Any, json: bool) -> Any:
    if not json:
        return value
    if isinstance(value, Money | Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _serialize(value: Dated[Any], info: core_schema.SerializationInfo) -> Any:
    json = info.mode_is_json()
    if value.plain:
        return _scalar(value.at(date.min), json)
    return {(d.isoformat() if json else d): _scalar(v, json) for d, v in value.steps}
