"""Money: exact cents over Decimal, floats refused, half-up at named points, JSON as a string."""

from __future__ import annotations

import copy
import json
import pickle
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from strategies import rates, signed_money

from ketacost import Estimate, Money
from ketacost._money import MONEY_PATTERN
from ketacost._money import cents_times_rate as _times_rate

MONEY = TypeAdapter(Money)


class _Bill(BaseModel):
    amount: Money


# -- floats are refused --------------------------------------------------------------------
def test_money_from_a_float_raises_type_error() -> None:
    with pytest.raises(TypeError, match="float"):
        Money(450.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "mix",
    [
        pytest.param(lambda m: m + 1.5, id="add"),
        pytest.param(lambda m: 1.5 + m, id="radd"),
        pytest.param(lambda m: m - 1.5, id="sub"),
        pytest.param(lambda m: 1.5 - m, id="rsub"),
        pytest.param(lambda m: m * 1.5, id="mul"),
        pytest.param(lambda m: 1.5 * m, id="rmul"),
        pytest.param(lambda m: m.times_rate(0.2), id="times_rate"),
        pytest.param(lambda m: m < 1.5, id="lt"),
        pytest.param(lambda m: m >= 1.5, id="ge"),
    ],
)
def test_mixing_money_with_a_float_raises_type_error(mix: object) -> None:
    with pytest.raises(TypeError):
        mix(Money("1.00"))  # type: ignore[operator]


def test_a_float_in_json_is_refused() -> None:
    # JSON 450.5 is a float to the parser: money must be written exactly.
    with pytest.raises(ValidationError, match="written exactly"):
        _Bill.model_validate_json('{"amount": 450.5}')


# -- places and rounding -------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["1.005", "0.001", "-2.999"])
def test_more_than_two_places_raises(text: str) -> None:
    with pytest.raises(ValueError, match="at most 2 decimal places"):
        Money(text)
    with pytest.raises(ValueError, match="at most 2 decimal places"):
        Money(Decimal(text))


def test_trailing_zeros_beyond_two_places_are_whole_cents() -> None:
    assert Money("1.500") == Money("1.50")


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("0.01", "0.5", "0.01"),  # 0.005 rounds half up to 0.01
        ("-0.01", "0.5", "-0.01"),  # -0.005 rounds half away from zero to -0.01
        ("0.03", "0.5", "0.02"),  # 0.015 → 0.02
        ("0.05", "0.5", "0.03"),  # 0.025 → 0.03 (banker's rounding would give 0.02)
        ("123.45", "0.2", "24.69"),  # 24.690 exactly
        ("0.01", "0.4999", "0.00"),  # 0.004999 → 0.00
    ],
)
def test_times_rate_rounds_half_up(amount: str, rate: str, expected: str) -> None:
    assert Money(amount).times_rate(Decimal(rate)) == Money(expected)


@given(signed_money(), rates("3"))
def test_times_rate_is_decimal_round_half_up(m: Money, rate: Decimal) -> None:
    exact = m.amount * rate
    assert m.times_rate(rate).amount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@given(signed_money(), rates("3"))
def test_engine_integer_rounding_agrees_with_money(m: Money, rate: Decimal) -> None:
    # The engine rounds in exact integers; both are the same named rounding point.
    assert _times_rate(m.cents, rate) == m.times_rate(rate).cents


# -- JSON -----------------------------------------------------------------------------------------
def test_json_is_a_string_with_two_places() -> None:
    assert MONEY.dump_json(Money(450)) == b'"450.00"'
    assert _Bill(amount=Money("0.5")).model_dump_json() == '{"amount":"0.50"}'
    assert _Bill(amount=Money("-3")).model_dump(mode="json") == {"amount": "-3.00"}


def test_python_dump_keeps_money() -> None:
    assert _Bill(amount=Money(1)).model_dump() == {"amount": Money(1)}


def test_json_schema_has_the_pattern() -> None:
    schema = MONEY.json_schema()
    assert schema["type"] == "string"
    assert schema["pattern"] == MONEY_PATTERN == r"^-?[0-9]+\.[0-9]{2}$"


def test_estimate_schema_gives_every_money_field_the_pattern() -> None:
    text = json.dumps(Estimate.model_json_schema())
    assert text.count(json.dumps(MONEY_PATTERN)) >= 10  # Totals alone has ten money fields
    totals = Estimate.model_json_schema()["$defs"]["Totals"]["properties"]
    assert all(p.get("pattern") == MONEY_PATTERN for p in totals.values())


@given(signed_money())
def test_json_round_trip(m: Money) -> None:
    text = MONEY.dump_json(m)
    assert re.fullmatch(MONEY_PATTERN, json.loads(text))
    assert MONEY.validate_json(text) == m


# -- arithmetic -----------------------------------------------------------------------------------
@given(signed_money(), signed_money())
def test_add_and_sub_are_inverse(a: Money, b: Money) -> None:
    assert (a + b) - b == a
    assert (a - b) + b == a


@given(signed_money(), signed_money())
def test_add_is_commutative(a: Money, b: Money) -> None:
    assert a + b == b + a


@given(signed_money(), signed_money(), signed_money())
def test_add_is_associative(a: Money, b: Money, c: Money) -> None:
    assert (a + b) + c == a + (b + c)


@given(signed_money(), signed_money())
def test_arithmetic_matches_decimal(a: Money, b: Money) -> None:
    assert (a + b).amount == a.amount + b.amount
    assert (a - b).amount == a.amount - b.amount
    assert (a < b) == (a.amount < b.amount)


@given(signed_money(), st.integers(-1000, 1000))
def test_times_whole_number(a: Money, n: int) -> None:
    assert (a * n).amount == a.amount * n
    assert n * a == a * n


@given(signed_money())
def test_zero_and_negation(a: Money) -> None:
    assert a + Money(0) == a
    assert -(-a) == a
    assert a + (-a) == Money(0)
    assert bool(a) == (a.cents != 0)


@given(signed_money())
def test_str_and_cents_agree(a: Money) -> None:
    assert Money(str(a)) == a
    assert Money.from_cents(a.cents) == a
    assert a.amount.as_tuple().exponent == -2


# -- value semantics ------------------------------------------------------------------------------
def test_money_is_immutable() -> None:
    m = Money("1.00")
    with pytest.raises(AttributeError):
        m._cents = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        m.anything = 5  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del m._cents
    assert m == Money("1.00")


@given(signed_money())
def test_hash_and_eq(a: Money) -> None:
    b = Money(a.amount)
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != a.amount  # Money is not a Decimal
    assert a != a.cents


def test_equal_amounts_written_differently() -> None:
    assert Money("1.5") == Money(Decimal("1.50")) == Money.from_cents(150) == Money("$1.50")
    assert hash(Money("1.5")) == hash(Money.from_cents(150))


@given(signed_money())
def test_pickle_and_copy(a: Money) -> None:
    assert pickle.loads(pickle.dumps(a)) == a
    assert copy.deepcopy(a) == a
    assert copy.copy(a) == a


# -- formatting -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.5", "$1,234.50"),
        ("0", "$0.00"),
        ("-1234.5", "-$1,234.50"),
        ("1000000", "$1,000,000.00"),
    ],
)
def test_format_dollar(amount: str, text: str) -> None:
    assert format(Money(amount), "$") == text
    assert f"{Money(amount):$}" == text


def test_str_repr_and_plain_format() -> None:
    m = Money("1234.5")
    assert str(m) == "1234.50"
    assert repr(m) == "Money('1234.50')"
    assert f"{m}" == "1234.50"
    assert f"{m:,.2f}" == "1,234.50"


def test_money_sums_with_the_builtin_sum() -> None:
    amounts = [Money("1.50"), Money(2), Money("0.01")]
    assert sum(amounts) == Money("3.51")  # starts from the integer 0
    assert sum(amounts, Money(0)) == Money("3.51")
    assert sum([], Money(0)) == Money(0)
    with pytest.raises(TypeError):
        sum([Money(1)], 1)  # only 0 starts a sum of money
    with pytest.raises(TypeError):
        _ = 0.0 + Money(1)  # type: ignore[operator]
