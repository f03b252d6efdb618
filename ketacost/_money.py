"""Money: an immutable amount of US dollars in whole cents, over ``decimal.Decimal``.

Rules (STYLE.md rule 1):

* A ``Money`` is always a whole number of cents. It is built from ``Decimal``, ``int``
  (dollars) or ``str``; building it from a ``float`` raises ``TypeError``, and so does
  mixing it with a float in arithmetic.
* An amount with more than two decimal places is rejected where it enters
  (``Money("1.005")`` raises). Rounding happens only at named points, through
  :func:`round_half_up_cents`, which always rounds ROUND_HALF_UP to the cent.
* In JSON, money is a string with exactly two places (``"450.00"``); the JSON Schema
  carries the pattern :data:`MONEY_PATTERN`.

The engine computes in integer cents (exact, and fast); ``Money`` is what crosses the API.
"""

from __future__ import annotations

import operator
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from ._errors import MoneyError, quoted
from ._limits import MAX_MONEY_DIGITS, MONEY_TEXT

__all__ = [
    "MONEY_PATTERN",
    "JsonFraction",
    "Money",
    "cents_times_rate",
    "round_half_up_cents",
    "share_cents",
]

MONEY_PATTERN: Final = r"^-?[0-9]+\.[0-9]{2}$"
_CENT: Final = Decimal("0.01")
_HUNDRED: Final = Decimal(100)


def round_half_up_cents(value: Decimal) -> int:
    """Round a dollar amount to whole cents, half up (away from zero), and return the cents.

    This is the single rounding primitive; every caller is a named rounding point.

    >>> round_half_up_cents(Decimal("0.125")), round_half_up_cents(Decimal("-0.125"))
    (13, -13)
    """
    return int((value * _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_RATIOS: dict[Decimal, tuple[int, int]] = {}


def cents_times_rate(cents: int, rate: Decimal) -> int:
    """``cents × rate`` rounded half-up (away from zero) to whole cents, in exact integers.

    The same rounding as :func:`round_half_up_cents`, without building a Decimal: the
    engine's hot path.

    >>> cents_times_rate(125, Decimal("0.1")), cents_times_rate(-125, Decimal("0.1"))
    (13, -13)
    """
    ratio = _RATIOS.get(rate)
    if ratio is None:
        ratio = rate.as_integer_ratio()
        if len(_RATIOS) > 4_096:
            _RATIOS.clear()
        _RATIOS[rate] = ratio
    numerator, denominator = ratio
    product = cents * numerator
    if product >= 0:
        return (2 * product + denominator) // (2 * denominator)
    return -((-2 * product + denominator) // (2 * denominator))


def share_cents(total: int, weights: list[int]) -> list[int]:
    """Share ``total`` cents over parts in proportion to ``weights``, in whole cents.

    Each part gets its floor, and the cents left go to the largest remainders, ties to the
    earlier part (the named rounding point ``self-pay-split``). With no weight, the first part
    takes all.

    >>> share_cents(100, [1, 1, 1])
    [34, 33, 33]
    """
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    shares = [total * w // weight_sum for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def _cents_from(value: object) -> int:
    """Exact cents of a dollar amount given as Decimal, int or str; raises on anything else.

    Text must be one of the documented forms (:data:`~ketacost._limits.MONEY_TEXT`), and no
    amount has more than :data:`~ketacost._limits.MAX_MONEY_DIGITS` digits of dollars: both
    are checked before any conversion, so no input can make a huge number. (The ceilings on
    amounts a user gives, $10,000,000.00, are the input types' ``Usd`` and ``UnitRate``.)
    """
    if isinstance(value, bool):
        raise TypeError("money cannot be built from a bool")
    if isinstance(value, float):
        raise TypeError(
            f"money cannot be built from a float ({value!r}); use Decimal or a string like '450.00'"
        )
    if isinstance(value, str):
        if not MONEY_TEXT.fullmatch(value):
            if _MORE_PLACES.fullmatch(value):
                raise MoneyError(f"money has at most 2 decimal places (got {value[:40]})")
            raise MoneyError(
                f"not an amount of money: {quoted(value)} (write dollars as digits with at "
                'most two decimals, e.g. 450, 450.00 or "$1,234.56")'
            )
        value = Decimal(value.replace(",", "").replace("$", ""))
    if isinstance(value, int):
        if abs(value) >= _TOO_MANY_DOLLARS:
            got = str(value) if value.bit_length() < 128 else "a number of more than 38 digits"
            raise MoneyError(f"{_TOO_LARGE} (got {got})")
        return value * 100
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"money must be finite (got {value})")
        # adjusted() is the exponent of the leading digit: cheap, whatever the exponent.
        if value and value.adjusted() >= MAX_MONEY_DIGITS:
            raise MoneyError(f"{_TOO_LARGE} (got {str(value)[:40]})")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2 and value != value.quantize(_CENT):
            raise MoneyError(f"money has at most 2 decimal places (got {str(value)[:40]})")
        return int(value.scaleb(2).to_integral_value())
    raise TypeError(f"cannot build money from {type(value).__name__}")


#: The documented form with more decimals than two, told apart for a clearer message.
_MORE_PLACES: Final = re.compile(r"-?\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.[0-9]{3,}", re.ASCII)
_TOO_MANY_DOLLARS: Final = 10**MAX_MONEY_DIGITS
_TOO_LARGE: Final = f"too large for money (at most {MAX_MONEY_DIGITS} digits of dollars)"


class JsonFraction(Decimal):
    """A JSON number written with a fraction or exponent (``0.1``).

    Exact, and fine as a rate, but not money, which crosses JSON as text (``"0.10"``) so that
    its two places survive.
    """

    __slots__ = ()


class Money:
    """An immutable amount in whole cents.

    >>> Money("450.00") + Money(50)
    Money('500.00')
    >>> str(Money.from_cents(28300))
    '283.00'
    """

    __slots__ = ("_cents", "_text")
    _cents: int
    _text: str  # str(self), made with the instance (shared ones: once per amount)
    _interned: ClassVar[_Interned]

    def __init__(self, amount: Decimal | int | str | Money = 0) -> None:
        cents = amount._cents if isinstance(amount, Money) else _cents_from(amount)
        object.__setattr__(self, "_cents", cents)
        object.__setattr__(self, "_text", _plain_text(cents))

    @classmethod
    def from_cents(cls, cents: int) -> Money:
        """The amount of ``cents`` whole cents. Instances are shared (they are immutable)."""
        if type(cents) is not int:
            raise TypeError(f"cents must be an int (got {type(cents).__name__})")
        return cls._interned[cents]

    # -- value ----------------------------------------------------------------------------
    @property
    def cents(self) -> int:
        """The amount in whole cents."""
        return self._cents

    @property
    def amount(self) -> Decimal:
        """The amount in dollars, as a Decimal with exactly two places."""
        return Decimal(self._cents).scaleb(-2)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Money is immutable")

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (Money.from_cents, (self._cents,))

    # -- arithmetic (Money with Money only; ints scale) ---------------------------------
    def _other(self, other: object) -> int:
        if isinstance(other, Money):
            return other._cents
        if isinstance(other, float):
            raise TypeError("cannot mix Money with a float")
        return NotImplemented  # type: ignore[no-any-return]

    def __add__(self, other: Money) -> Money:
        o = self._other(other)
        return NotImplemented if o is NotImplemented else Money.from_cents(self._cents + o)

    def __radd__(self, other: object) -> Money:
        """``0 + money``, so that ``sum(amounts)`` works (it starts from the integer 0)."""
        if other == 0 and type(other) is int:
            return self
        o = self._other(other)
        return NotImplemented if o is NotImplemented else Money.from_cents(o + self._cents)

    def __sub__(self, other: Money) -> Money:
        o = self._other(other)
        return NotImplemented if o is NotImplemented else Money.from_cents(self._cents - o)

    def __mul__(self, units: int) -> Money:
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError("Money can only be multiplied by a whole number; use times_rate()")
        return Money.from_cents(self._cents * units)

    __rmul__ = __mul__

    def times_rate(self, rate: Decimal) -> Money:
        """This amount times a Decimal rate, rounded half-up to the cent (a named point)."""
        if not isinstance(rate, Decimal):
            raise TypeError("rate must be a Decimal")
        return Money.from_cents(round_half_up_cents(self.amount * rate))

    def __neg__(self) -> Money:
        return Money.from_cents(-self._cents)

    def __bool__(self) -> bool:
        return self._cents != 0

    # -- comparison -------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self._cents == other._cents
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Money", self._cents))

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._cents < other._cents

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._cents <= other._cents

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._cents > other._cents

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self._cents >= other._cents

    # -- text ------------------------------------------------------------------------
    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Money('{self}')"

    def __format__(self, spec: str) -> str:
        """``format(m, "$")`` gives ``$1,234.50``; any other spec formats the Decimal amount."""
        if spec == "$":
            sign = "-" if self._cents < 0 else ""
            whole, cents = divmod(abs(self._cents), 100)
            return f"{sign}${whole:,}.{cents:02d}"
        return format(self.amount, spec) if spec else str(self)

    # -- pydantic ----------------------------------------------------------------------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_money,
            # its text, read without a Python call: a line has a dozen amounts
            serialization=core_schema.plain_serializer_function_ser_schema(
                _TEXT, when_used="json-unless-none"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "description": 'US dollars with exactly two decimal places, e.g. "450.00"',
            "examples": ["450.00"],
        }


class _Interned(dict[int, Money]):
    """Shared Money instances by cents (they are immutable); ``table[cents]`` builds on a miss.

    The engine's hottest operation is turning cents into Money; a hit here is one subscript.
    The table is bounded: past 200,000 amounts it starts again.
    """

    def __missing__(self, cents: int) -> Money:
        if type(cents) is not int:
            raise TypeError(f"cents must be an int (got {type(cents).__name__})")
        money = Money.__new__(Money)
        object.__setattr__(money, "_cents", cents)
        object.__setattr__(money, "_text", _plain_text(cents))
        if len(self) >= 200_000:
            self.clear()
        self[cents] = money
        return money


Money._interned = _Interned()

#: A Money's JSON text (``str``), read by the serializer.
_TEXT = operator.attrgetter("_text")


def _plain_text(cents: int) -> str:
    """``"-1234.50"``: the amount of ``cents`` with two places, no separators."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def _validate_money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, float):
        raise PydanticCustomError(
            "money_float",
            "money must be written exactly, as a string like '450.00' or a whole number "
            "(got the float {value})",
            {"value": value},
        )
    if type(value) is JsonFraction:
        raise PydanticCustomError(
            "money_json_number",
            'write money in JSON as text, e.g. "450.00" (got the number {value})',
            {"value": str(value)},
        )
    try:
        return Money.from_cents(_cents_from(value))
    except (TypeError, ValueError) as exc:
        raise PydanticCustomError("money", "{reason}", {"reason": str(exc)}) from None
