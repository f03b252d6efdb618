"""Parsing rule files with positions (ketacost._yaml_parser, ._json_parser, ._source), and
turning pydantic errors into issues (ketacost._validation)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ketacost import _json_parser, _yaml_parser
from ketacost._errors import ClinicFileError, PayerFileError, RequestFileError, RuleFileError
from ketacost._json_parser import parse_json
from ketacost._source import Loc, SourceMap, field_path, issue_at
from ketacost._validation import validate
from ketacost._yaml_parser import parse_yaml

# --------------------------------------------------------------------------- bad input


def _assert_unchained(error: BaseException) -> None:
    """A user error shows no chained traceback."""
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "a: [1\n",
            "acme.yaml:2:1: invalid YAML: did not find expected ',' or ']'"
            " (while parsing a flow sequence at line 1)",
            id="unclosed-flow-sequence",
        ),
        pytest.param(
            "a: 1\n b: 2\n",
            "acme.yaml:2:3: invalid YAML: mapping values are not allowed in this context",
            id="bad-indent",
        ),
        pytest.param(
            "a:\n\tb: 1\n",
            "acme.yaml:2:1: invalid YAML: found character that cannot start any token"
            " (got '\\t'; indent with spaces)",
            id="tab-indent",
        ),
        pytest.param(
            'a: "abc\n',
            "acme.yaml:2:1: invalid YAML: found unexpected end of stream"
            " (while scanning a quoted scalar at line 1)",
            id="unclosed-quote",
        ),
        pytest.param(
            "é: \x01\n",
            "acme.yaml:1:4: invalid YAML: control characters are not allowed (got '\\x01')",
            id="control-character",
        ),
        pytest.param(
            "a: *nowhere\n", "acme.yaml:1:4: invalid YAML: found undefined alias", id="alias"
        ),
        pytest.param(
            "a: 1\nb: 2\na: 3\n",
            "acme.yaml:3:1: duplicate key 'a' (first at line 1)",
            id="duplicate-key",
        ),
        pytest.param(
            "top:\n  a: 1\n  b: 2\n  a: 3\n",
            "acme.yaml:4:3: duplicate key 'a' (first at line 2)",
            id="duplicate-key-nested",
        ),
        pytest.param(
            "'a': 1\na: 2\n",
            "acme.yaml:2:1: duplicate key 'a' (first at line 1)",
            id="duplicate-key-quoted-first",
        ),
        pytest.param(
            "rates:\n  2025-01-01: 1\n  '2025-01-01': 2\n",
            "acme.yaml:3:3: duplicate key '2025-01-01' (first at line 2)",
            id="duplicate-date-key",
        ),
        pytest.param(
            "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",
            "acme.yaml:3:3: merge keys are not supported; write the values out",
            id="merge-key",
        ),
        pytest.param(
            "? [1, 2]\n: x\n",
            "acme.yaml:1:3: a mapping key must be text (got a list)",
            id="list-key",
        ),
        pytest.param(
            "rate: .inf\n",
            "acme.yaml:1:7: rate: expected a finite number (got .inf)",
            id="inf",
        ),
        pytest.param(
            "a:\n  - -.Inf\n  - .nan\n",
            "acme.yaml:2:5: a[0]: expected a finite number (got -.Inf) (and 1 more)",
            id="inf-and-nan",
        ),
        pytest.param(
            "a: !!binary aGk=\n",
            "acme.yaml:1:4: a: YAML tag '!!binary' is not supported",
            id="binary-tag",
        ),
        pytest.param(
            "a: !custom {x: 1}\n",
            "acme.yaml:1:4: a: YAML tag '!custom' is not supported",
            id="custom-tag",
        ),
        pytest.param(
            "a: &x [1, *x]\n",
            "acme.yaml:1:4: an alias refers to a node that contains it",
            id="recursive-alias",
        ),
        pytest.param(
            "a: 1\n---\nb: 2\n",
            "acme.yaml:2:1: expected one YAML document (found more than one)",
            id="two-documents",
        ),
        pytest.param("", "acme.yaml:1:1: expected one YAML document (found none)", id="empty"),
        pytest.param(
            "# nothing here\n",
            "acme.yaml:1:1: expected one YAML document (found none)",
            id="only-comments",
        ),
        pytest.param(
            "---\n",
            "acme.yaml:2:1: expected one YAML document (found an empty one)",
            id="empty-document",
        ),
    ],
)
def test_bad_yaml(text: str, message: str) -> None:
    with pytest.raises(PayerFileError) as caught:
        parse_yaml(text, "acme.yaml", PayerFileError)
    assert str(caught.value) == message
    _assert_unchained(caught.value)


def test_yaml_issues_are_all_reported_in_file_order() -> None:
    text = "b: .nan\na: 1\na: 2\nc:\n  <<: {}\n"
    with pytest.raises(ClinicFileError) as caught:
        parse_yaml(text, "clinic.yaml", ClinicFileError)
    assert [str(issue) for issue in caught.value.issues] == [
        "clinic.yaml:1:4: b: expected a finite number (got .nan)",
        "clinic.yaml:3:1: duplicate key 'a' (first at line 2)",
        "clinic.yaml:5:3: merge keys are not supported; write the values out",
    ]


def test_nested_problem_inside_a_duplicate_value_is_reported_too() -> None:
    with pytest.raises(PayerFileError) as caught:
        parse_yaml("a: 1\na:\n  b: .inf\n", "p.yaml", PayerFileError)
    assert [str(issue) for issue in caught.value.issues] == [
        "p.yaml:2:1: duplicate key 'a' (first at line 1)",
        "p.yaml:3:6: a.b: expected a finite number (got .inf)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '{"a": 1, "a": 2}', "r.json:1:10: duplicate key 'a' (first at line 1)", id="dup"
        ),
        pytest.param(
            '{\n  "x": {\n    "a": 1,\n    "b": [],\n    "a": 2\n  }\n}',
            "r.json:5:5: duplicate key 'a' (first at line 3)",
            id="dup-nested",
        ),
        pytest.param(
            '{"a": [1, 2,]}', "r.json:1:13: invalid JSON: expected a value (got ']')", id="comma"
        ),
        pytest.param(
            '{\n  "a": 1\n  "b": 2\n}',
            "r.json:3:3: invalid JSON: expected ',' or '}' (got '\"')",
            id="missing-comma",
        ),
        pytest.param("[1 2]", "r.json:1:4: invalid JSON: expected ',' or ']' (got '2')", id="arr"),
        pytest.param(
            "{a: 1}",
            "r.json:1:2: invalid JSON: expected a key in double quotes (got 'a')",
            id="bare-key",
        ),
        pytest.param(
            '{"a" 1}', "r.json:1:6: invalid JSON: expected ':' after the key (got '1')", id="colon"
        ),
        pytest.param(
            "", "r.json:1:1: invalid JSON: expected a value (got end of file)", id="empty"
        ),
        pytest.param(
            '{"a": 1} x',
            "r.json:1:10: invalid JSON: expected end of file after the document (got 'x')",
            id="trailing",
        ),
        pytest.param(
            '{"a": \n "abc', "r.json:2:2: invalid JSON: unterminated string", id="unterminated"
        ),
        pytest.param('["\\q"]', "r.json:1:3: invalid JSON: invalid escape in a string", id="esc"),
        pytest.param('{"a": NaN}', "r.json:1:7: a: expected a finite number (got NaN)", id="nan"),
        pytest.param(
            "[1, -Infinity]", "r.json:1:5: [1]: expected a finite number (got -Infinity)", id="inf"
        ),
        pytest.param("[01]", "r.json:1:3: invalid JSON: expected ',' or ']' (got '1')", id="zero"),
    ],
)
def test_bad_json(text: str, message: str) -> None:
    with pytest.raises(RequestFileError) as caught:
        parse_json(text, "r.json", RequestFileError)
    assert str(caught.value) == message


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("0.2", Decimal("0.2")),
        ("1500.50", Decimal("1500.50")),
        ("-.5", Decimal("-.5")),
        ("1e3", Decimal("1E+3")),
        ("1.5e-2", Decimal("0.015")),
        ("1500", 1500),
        ("-12", -12),
        ("+7", 7),
        ("0", 0),
        ("02134", "02134"),  # a ZIP code, not octal
        ("0755", "0755"),
        ("00", "00"),
        ("1_500", "1_500"),
        ("0x1F", "0x1F"),
        ("0o17", "0o17"),
        ("1:30", "1:30"),  # YAML 1.1 sexagesimal
        ("no", "no"),  # the Norway problem
        ("NO", "NO"),
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("NULL", None),
        ("", None),
        ("2026-01-01", "2026-01-01"),
        ("2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"),
        ('"90791"', "90791"),
        ("'0.2'", "0.2"),
        ('"true"', "true"),
        ("'~'", "~"),
        ("|\n  1500\n", "1500\n"),
        (">-\n  0.2\n", "0.2"),
        ("!!str 1500", "1500"),
        ("inf", "inf"),
        ("Infinity", "Infinity"),
        ("plain text", "plain text"),
    ],
)
def test_scalar_typing(written: str, value: Any) -> None:
    data, _ = parse_yaml(f"v: {written}\n", "t.yaml", PayerFileError)
    assert _same(data["v"], value), (data["v"], value)


@pytest.mark.parametrize(
    ("written", "key"),
    [("90791", "90791"), ("2025-01-01", "2025-01-01"), ("true", "true"), ("0.2", "0.2"),
     ("'x y'", "x y"), ("~", "~"), ("no", "no")],
)  # fmt: skip
def test_mapping_keys_are_their_source_text(written: str, key: str) -> None:
    data, source = parse_yaml(f"{written}: 1\n", "t.yaml", PayerFileError)
    assert data == {key: 1}
    assert source.keys[(key,)] == (1, 1)


def test_json_numbers_are_int_or_decimal_never_float() -> None:
    data, _ = parse_json('[1.5, 1e3, -0, 10, 1500.50, 2E-2, "1.5"]', "r.json", RequestFileError)
    expected = [Decimal("1.5"), Decimal("1E+3"), 0, 10, Decimal("1500.50"), Decimal("0.02"), "1.5"]
    assert _same(data, expected)
    # A number with a fraction or exponent is a JsonFraction: exact, but never money.
    assert [type(x).__name__ for x in data] == [
        "JsonFraction", "JsonFraction", "int", "int", "JsonFraction", "JsonFraction", "str"
    ]  # fmt: skip


def test_aliases_resolve_and_share_the_anchor_position() -> None:
    data, source = parse_yaml("a: &x {b: 1}\nc: *x\n", "t.yaml", PayerFileError)
    assert data == {"a": {"b": 1}, "c": {"b": 1}}
    assert source.values[("c", "b")] == source.values[("a", "b")] == (1, 11)


# --------------------------------------------------------------------------- positions

_YAML_DOC = """\
# a comment
networks:
  in:
    coinsurance: 0.2
    codes: ["90791", 90792]
  é: {x: ü, y: 2}
phases:
  - session: 1
    note: >
      folded
  -
    - 3
"""


def test_yaml_positions() -> None:
    data, source = parse_yaml(_YAML_DOC, "payers/acme.yaml", PayerFileError)
    assert data == {
        "networks": {
            "in": {"coinsurance": Decimal("0.2"), "codes": ["90791", 90792]},
            "é": {"x": "ü", "y": 2},
        },
        "phases": [{"session": 1, "note": "folded\n"}, [3]],
    }
    assert dict(source.values) == {
        (): (2, 1),
        ("networks",): (3, 3),
        ("networks", "in"): (4, 5),
        ("networks", "in", "coinsurance"): (4, 18),
        ("networks", "in", "codes"): (5, 12),
        ("networks", "in", "codes", 0): (5, 13),
        ("networks", "in", "codes", 1): (5, 22),
        ("networks", "é"): (6, 6),
        ("networks", "é", "x"): (6, 10),  # columns count characters, not UTF-8 bytes
        ("networks", "é", "y"): (6, 16),
        ("phases",): (8, 3),
        ("phases", 0): (8, 5),
        ("phases", 0, "session"): (8, 14),
        ("phases", 0, "note"): (9, 11),
        ("phases", 1): (12, 5),
        ("phases", 1, 0): (12, 7),
    }
    assert dict(source.keys) == {
        ("networks",): (2, 1),
        ("networks", "in"): (3, 3),
        ("networks", "in", "coinsurance"): (4, 5),
        ("networks", "in", "codes"): (5, 5),
        ("networks", "é"): (6, 3),
        ("networks", "é", "x"): (6, 7),
        ("networks", "é", "y"): (6, 13),
        ("phases",): (7, 1),
        ("phases", 0, "session"): (8, 5),
        ("phases", 0, "note"): (9, 5),
    }
    assert source.filename == "payers/acme.yaml"


def test_json_positions() -> None:
    text = '{\n  "a": {"b": [1, {"c": null}],\n\t"é": "ü"},\n  "d": [ ]\n}\n'
    data, source = parse_json(text, "r.json", RequestFileError)
    assert data == {"a": {"b": [1, {"c": None}], "é": "ü"}, "d": []}
    assert dict(source.values) == {
        (): (1, 1),
        ("a",): (2, 8),
        ("a", "b"): (2, 14),
        ("a", "b", 0): (2, 15),
        ("a", "b", 1): (2, 18),
        ("a", "b", 1, "c"): (2, 24),
        ("a", "é"): (3, 7),
        ("d",): (4, 8),
    }
    assert dict(source.keys) == {
        ("a",): (2, 3),
        ("a", "b"): (2, 9),
        ("a", "b", 1, "c"): (2, 19),
        ("a", "é"): (3, 2),
        ("d",): (4, 3),
    }


def test_json_byte_order_mark_is_skipped() -> None:
    data, source = parse_json('\ufeff{"a": 1}', "r.json", RequestFileError)
    assert data == {"a": 1}
    assert source.values[("a",)] == (1, 7)  # the mark is not a column


def test_locate_skips_what_is_not_in_the_document() -> None:
    _, source = parse_yaml(_YAML_DOC, "p.yaml", PayerFileError)
    loc = ("networks", "in", "function-after[check(), Rate]", "coinsurance")
    assert source.locate(loc) == (("networks", "in", "coinsurance"), 4, 18)
    assert source.locate(loc, prefer_key=True) == (("networks", "in", "coinsurance"), 4, 5)
    assert source.locate(("phases", 0, "flat", "session")) == (("phases", 0, "session"), 8, 14)
    # A missing key: the deepest parent that exists.
    assert source.locate(("networks", "out", "coinsurance")) == (("networks",), 3, 3)
    # A list item has no key; prefer_key falls back to the value.
    assert source.locate(("phases", 1), prefer_key=True) == (("phases", 1), 12, 5)
    assert source.locate(("nothing",), prefer_key=True) == ((), 2, 1)
    assert source.locate(()) == ((), 2, 1)


def test_empty_source_map_knows_no_positions() -> None:
    source = SourceMap.empty("<request>")
    assert source.filename == "<request>"
    assert source.locate(("a", 1, "b")) == ((), 0, 0)
    assert source.locate(("a",), prefer_key=True) == ((), 0, 0)


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        (("networks", "in", "coinsurance"), "networks.in.coinsurance"),
        (("phases", 2, "session"), "phases[2].session"),
        ((0, "a", 1, 2), "[0].a[1][2]"),
        (("rates", "2025-01-01"), "rates.2025-01-01"),
        (("rates", "a.b", "c"), "rates['a.b'].c"),
        (("x", ""), "x['']"),
        ((), ""),
    ],
)
def test_field_path(loc: Loc, text: str) -> None:
    assert field_path(loc) == text


def test_issue_at() -> None:
    _, source = parse_yaml(_YAML_DOC, "p.yaml", PayerFileError)
    issue = issue_at(source, ("networks", "in", "codes", 1), "not a billable code")
    assert str(issue) == "p.yaml:5:22: networks.in.codes[1]: not a billable code"
    issue = issue_at(source, ("networks", "é"), "unknown network", prefer_key=True)
    assert str(issue) == "p.yaml:6:3: networks.é: unknown network"
    issue = issue_at(source, ("networks", "out", "copay"), "needs a copay")
    assert str(issue) == "p.yaml:3:3: networks.out.copay: needs a copay"
    issue = issue_at(SourceMap.empty("<request>"), ("a", 0), "bad")
    assert str(issue) == "<request>: a[0]: bad"


# --------------------------------------------------------------------------- validate


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Deductible(_Closed):
    individual: Decimal
    family: Decimal


class _Item(_Closed):
    code: str
    rate: Decimal = Field(ge=0, le=1)

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("codes")
        if known is not None and code not in known:
            raise ValueError(f"unknown code {code!r}")
        return code


class _Flat(_Closed):
    kind: Literal["flat"]
    amount: Decimal


class _Share(_Closed):
    kind: Literal["share"]
    rate: Decimal = Field(le=1)


_Cost = Annotated[_Flat | _Share, Field(discriminator="kind")]


class _Plan(_Closed):
    network: Literal["in", "out"]
    deductible: _Deductible
    items: tuple[_Item, ...] = ()
    costs: tuple[_Cost, ...] = ()
    rates: dict[date, Decimal] = {}
    covered: bool = True


_GOOD = """\
network: in
deductible:
  individual: 500
  family: 1000
items:
  - code: "90791"
    rate: 0.2
costs:
  - kind: share
    rate: 0.2
"""


def _errors(text: str, context: dict[str, Any] | None = None) -> list[str]:
    data, source = parse_yaml(text, "plan.yaml", PayerFileError)
    with pytest.raises(PayerFileError) as caught:
        validate(_Plan, data, source, PayerFileError, context=context)
    _assert_unchained(caught.value)
    return [str(issue) for issue in caught.value.issues]


def test_validate_returns_the_model() -> None:
    data, source = parse_yaml(_GOOD, "plan.yaml", PayerFileError)
    plan = validate(_Plan, data, source, PayerFileError)
    assert plan.deductible.family == Decimal("1000")
    assert plan.items == (_Item(code="90791", rate=Decimal("0.2")),)
    assert plan.costs == (_Share(kind="share", rate=Decimal("0.2")),)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "  family: 1000\n",
            "  family: 1000\n  famly: 1\n",
            "plan.yaml:5:3: deductible.famly: unknown key 'famly'",
            id="unknown-key",
        ),
        pytest.param(
            "  family: 1000\n",
            "",
            "plan.yaml:3:3: deductible.family: required field is missing",
            id="missing-points-at-parent",
        ),
        pytest.param(
            "network: in\n",
            "",
            "plan.yaml:1:1: network: required field is missing",
            id="missing-top-level",
        ),
        pytest.param(
            "    rate: 0.2\ncosts",
            "    rate: 1.2\ncosts",
            "plan.yaml:7:11: items[0].rate: must be at most 1 (got 1.2)",
            id="above-max",
        ),
        pytest.param(
            "    rate: 0.2\ncosts",
            "    rate: -0.5\ncosts",
            "plan.yaml:7:11: items[0].rate: must be at least 0 (got -0.5)",
            id="below-min",
        ),
        pytest.param(
            "network: in\n",
            "network: inn\n",
            "plan.yaml:1:10: network: must be one of 'in', 'out' (got 'inn')",
            id="literal",
        ),
        pytest.param(
            "costs:\n",
            "  - code: '90792'\n    rate: abc\ncosts:\n",
            "plan.yaml:9:11: items[1].rate: expected a number (got 'abc')",
            id="type-in-list-item",
        ),
        pytest.param(
            "  - kind: share\n    rate: 0.2\n",
            "  - kind: share\n    rate: 2\n",
            "plan.yaml:10:11: costs[0].rate: must be at most 1 (got 2)",
            id="inside-tagged-union",
        ),
        pytest.param(
            "  - kind: share\n",
            "  - kind: shares\n",
            "plan.yaml:9:11: costs[0]: expected kind one of 'flat', 'share' (got 'shares')",
            id="bad-tag",
        ),
        pytest.param(
            "  - kind: share\n",
            "  - \n",
            "plan.yaml:10:5: costs[0]: expected kind one of 'flat', 'share' (got no 'kind' key)",
            id="missing-tag",
        ),
        pytest.param(
            "  - kind: share\n    rate: 0.2\n",
            "  - 7\n",
            "plan.yaml:9:5: costs[0]: expected a mapping (got 7)",
            id="tagged-union-not-a-mapping",
        ),
        pytest.param(
            "deductible:\n  individual: 500\n  family: 1000\n",
            "deductible: [500, 1000]\n",
            "plan.yaml:2:13: deductible: expected a mapping (got a list)",
            id="list-for-mapping",
        ),
        pytest.param(
            'items:\n  - code: "90791"\n    rate: 0.2\n',
            "items: 5\n",
            "plan.yaml:5:8: items: expected a list (got 5)",
            id="scalar-for-list",
        ),
        pytest.param(
            '  - code: "90791"\n',
            "  - code: 90791\n",
            "plan.yaml:6:11: items[0].code: expected text (got 90791)",
            id="unquoted-code",
        ),
        pytest.param(
            "network: in\n",
            "network: in\ncovered: maybe\n",
            "plan.yaml:2:10: covered: expected true or false (got 'maybe')",
            id="not-a-bool",
        ),
        pytest.param(
            "network: in\n",
            "network: in\nrates:\n  2025-13-01: 5\n",
            "plan.yaml:3:3: rates.2025-13-01: expected a date (YYYY-MM-DD) (got '2025-13-01')",
            id="bad-date-key-points-at-key",
        ),
        pytest.param(
            "network: in\n",
            "network: " + "x" * 60 + "\n",
            f"plan.yaml:1:10: network: must be one of 'in', 'out' (got '{'x' * 35}...')",
            id="long-input-is-cut",
        ),
    ],
)
def test_validate_messages(old: str, new: str, expected: str) -> None:
    assert old in _GOOD
    assert _errors(_GOOD.replace(old, new, 1)) == [expected]


def test_validate_value_error_message_and_context() -> None:
    assert _errors(_GOOD, context={"codes": {"90792"}}) == [
        "plan.yaml:6:11: items[0].code: unknown code '90791'"
    ]


def test_validate_reports_every_error_sorted_by_position() -> None:
    text = """\
costs:
  - kind: flat
    amount: lots
network: inn
items:
  - {code: "1", rate: 2, extra: 1}
deductible: {individual: x}
"""
    assert _errors(text) == [
        "plan.yaml:3:13: costs[0].amount: expected a number (got 'lots')",
        "plan.yaml:4:10: network: must be one of 'in', 'out' (got 'inn')",
        "plan.yaml:6:23: items[0].rate: must be at most 1 (got 2)",
        "plan.yaml:6:26: items[0].extra: unknown key 'extra'",
        "plan.yaml:7:13: deductible.family: required field is missing",
        "plan.yaml:7:26: deductible.individual: expected a number (got 'x')",
    ]
    data, source = parse_yaml(text, "plan.yaml", PayerFileError)
    with pytest.raises(PayerFileError) as caught:
        validate(_Plan, data, source, PayerFileError)
    assert str(caught.value) == (
        "plan.yaml:3:13: costs[0].amount: expected a number (got 'lots') (and 5 more)"
    )
    assert (caught.value.line, caught.value.column) == (3, 13)


def test_validate_root_error() -> None:
    data, source = parse_yaml("- 1\n", "plan.yaml", PayerFileError)
    with pytest.raises(
        PayerFileError, match=r"^plan\.yaml:1:1: expected a mapping \(got a list\)$"
    ):
        validate(_Plan, data, source, PayerFileError)


def test_validate_in_memory_data_still_names_fields() -> None:
    data = {
        "network": "in",
        "deductible": {"individual": 1},
        "costs": [{"kind": "share", "rate": Decimal(2)}, {"rate": 1}],
        "nope": 1,
    }
    with pytest.raises(RequestFileError) as caught:
        validate(_Plan, data, SourceMap.empty("<request>"), RequestFileError)
    assert [str(issue) for issue in caught.value.issues] == [
        "<request>: deductible.family: required field is missing",
        "<request>: costs[0].rate: must be at most 1 (got 2)",
        "<request>: costs[1]: expected kind one of 'flat', 'share' (got no 'kind' key)",
        "<request>: nope: unknown key 'nope'",
    ]


def test_json_and_validate_together() -> None:
    text = '{"network": "in",\n "deductible": {"individual": 1, "family": 1.5e40},\n "x": 1}'
    data, source = parse_json(text, "plan.json", PayerFileError)
    assert data["deductible"]["family"] == Decimal("1.5E+40")
    with pytest.raises(PayerFileError) as caught:
        validate(_Plan, data, source, PayerFileError)
    assert [str(issue) for issue in caught.value.issues] == ["plan.json:3:2: x: unknown key 'x'"]


# --------------------------------------------------------------------------- round trips


class _Dumper(yaml.SafeDumper):
    """safe_dump, taught which plain strings ketacost reads as numbers or booleans.

    YAML 1.1 leaves ``1e3``, ``1.5e3`` and ``tRuE`` as strings, so safe_dump writes them
    plain; ketacost reads them as a Decimal and a bool, so they must be quoted.
    """


_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+.0123456789"),
)
_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?i:true|false)$"), list("tTfF")
)
_Dumper.add_representer(
    Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value))
)


def _documents(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Nested dicts and lists of None, bool, int, Decimal (two places) and text."""
    scalars = (
        st.none()
        | st.booleans()
        # within MAX_NUMBER_CHARS (40): a longer number is refused, not read back
        | st.integers(-(10**30), 10**30)
        | st.decimals(-(10**30), 10**30, places=2, allow_nan=False, allow_infinity=False)
        | text
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=20,
    )


_any_text = st.text(max_size=12)
# PyYAML's emitter writes NEL, LS and PS raw inside quoted scalars when allow_unicode is on, and
# every YAML reader then folds them (yaml.safe_load too): a PyYAML bug, not ours.
_dumpable_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x85\u2028\u2029"), max_size=12
)


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down, and Decimals to the digit."""
    if type(a) is not type(b) and not (isinstance(a, Decimal) and isinstance(b, Decimal)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    return bool(a == b)


def _paths(value: Any, path: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    yield path, value
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        yield from _paths(item, (*path, key))


def _at(text: str, position: tuple[int, int]) -> str:
    line, column = position
    return text.split("\n")[line - 1][column - 1 :]


def _to_json(value: Any, ensure_ascii: bool, comma: str) -> str:
    if isinstance(value, dict):
        entries = (
            f"{json.dumps(k, ensure_ascii=ensure_ascii)}: {_to_json(v, ensure_ascii, comma)}"
            for k, v in value.items()
        )
        return "{" + comma.join(entries) + "}"
    if isinstance(value, list):
        return "[" + comma.join(_to_json(v, ensure_ascii, comma) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=ensure_ascii)


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return None


@settings(deadline=None)
@given(_documents(_dumpable_text), st.booleans(), st.booleans())
def test_yaml_round_trip(value: Any, flow: bool, allow_unicode: bool) -> None:
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=flow, allow_unicode=allow_unicode)
    data, source = parse_yaml(text, "t.yaml", PayerFileError)
    assert _same(data, value)
    paths = dict(_paths(value))
    assert set(source.values) == set(paths)
    assert set(source.keys) == {p for p in paths if p and isinstance(p[-1], str)}
    for path, item in paths.items():
        expected = _scalar_text(item)
        if expected is not None:
            assert _at(text, source.values[path]).startswith(expected), (path, text)


@settings(deadline=None)
@given(_documents(_any_text), st.booleans(), st.sampled_from([", ", ",\n  ", "\n,"]))
def test_json_round_trip(value: Any, ensure_ascii: bool, comma: str) -> None:
    text = _to_json(value, ensure_ascii, comma)
    data, source = parse_json(text, "t.json", RequestFileError)
    assert _same(data, value)
    paths = dict(_paths(value))
    assert set(source.values) == set(paths)
    assert set(source.keys) == {p for p in paths if p and isinstance(p[-1], str)}
    for path, item in paths.items():
        if isinstance(item, dict | list):
            expected = "{" if isinstance(item, dict) else "["
        else:
            expected = _scalar_text(item) or json.dumps(item, ensure_ascii=ensure_ascii)
        assert _at(text, source.values[path]).startswith(expected), (path, text)
        if path and isinstance(path[-1], str):
            key = json.dumps(path[-1], ensure_ascii=ensure_ascii)
            assert _at(text, source.keys[path]).startswith(key), (path, text)


def test_error_classes_are_the_ones_asked_for() -> None:
    for cls in (PayerFileError, ClinicFileError, RequestFileError):
        with pytest.raises(cls):
            parse_yaml("a: 1\na: 2\n", "x.yaml", cls)
        with pytest.raises(cls):
            parse_json("[", "x.json", cls)
        with pytest.raises(cls):
            validate(_Plan, {}, SourceMap.empty("x"), cls)
    assert issubclass(PayerFileError, RuleFileError)


# --------------------------------------------------------------------------- limits, fallback


@pytest.mark.parametrize("parse", [parse_yaml, parse_json])
def test_deep_nesting_is_an_error_not_a_crash(parse: Any) -> None:
    text = "[" * 300 + "]" * 300
    with pytest.raises(PayerFileError) as caught:
        parse(text, "deep", PayerFileError)
    # The 65th list nested in the outer one opens at column 66.
    assert str(caught.value) == "deep:1:66: nested too deeply (more than 64 levels)"


def test_alias_expansion_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yaml_parser, "MAX_YAML_VALUES", 50)
    text = "a: &a [1, 2, 3, 4, 5, 6, 7]\nb: &b [*a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b]\n"
    with pytest.raises(PayerFileError) as caught:
        parse_yaml(text, "bomb.yaml", PayerFileError)
    # Counted before anything is expanded: 1 root + a (8) + b (1 + 7 * 8 = 57)
    # + c (1 + 2 * 57 = 115) = 181.
    assert str(caught.value) == (
        "bomb.yaml:1:1: too many values: 181 after expanding aliases (at most 50)"
    )


def test_alias_count_is_bounded_before_composing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yaml_parser, "MAX_YAML_ALIASES", 3)
    text = "a: &a [1]\nb: [*a, *a, *a, *a]\n"
    with pytest.raises(PayerFileError) as caught:
        parse_yaml(text, "aliases.yaml", PayerFileError)
    assert str(caught.value) == "aliases.yaml:2:17: too many aliases (more than 3)"


def test_pure_python_loader_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    with_libyaml = parse_yaml(_YAML_DOC, "p.yaml", PayerFileError)
    monkeypatch.setattr(_yaml_parser, "_Loader", yaml.SafeLoader)
    monkeypatch.setattr(_yaml_parser, "_READER_POSITION_IN_BYTES", False)
    assert parse_yaml(_YAML_DOC, "p.yaml", PayerFileError) == with_libyaml
    data, _ = parse_yaml("v: 02134\nw: no\nx: ''\ny:\nz: 1e3\n", "t.yaml", PayerFileError)
    assert _same(data, {"v": "02134", "w": "no", "x": "", "y": None, "z": Decimal("1E+3")})
    with pytest.raises(
        PayerFileError, match=r"^t\.yaml:3:1: duplicate key 'a' \(first at line 1\)$"
    ):
        parse_yaml("a: 1\nb: 2\na: 3\n", "t.yaml", PayerFileError)
    with pytest.raises(PayerFileError, match=r"^t\.yaml:1:4: invalid YAML: .* \(got '\\x01'\)$"):
        parse_yaml("é: \x01\n", "t.yaml", PayerFileError)


# --------------------------------------------------------------------------- JSON fast path
# parse_json reads with the standard library's decoder and works positions out only when
# asked; the position parser alone gives the answers it gave before. The two must agree on
# every text: same values (types included), same positions, same errors.


def _json_answer(parse: Any, text: str) -> tuple[Any, ...]:
    try:
        data, source = parse(text, "t.json", RequestFileError)
    except RequestFileError as exc:
        return ("refused", [str(issue) for issue in exc.issues])
    return ("read", _Exactly(data), dict(source.values), dict(source.keys))


class _Exactly:
    """A value that equals another only when :func:`_same` says so (types, Decimal digits)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Exactly) and _same(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.value)


def _position_parser_only(text: str, filename: str, error_cls: type[RuleFileError]) -> Any:
    """parse_json as it was: the position parser reads everything."""
    parser = _json_parser._JsonParser(text.removeprefix("\ufeff"), filename)
    return parser.finish(parser.document(), error_cls)


def _assert_paths_agree(text: str) -> None:
    assert _json_answer(parse_json, text) == _json_answer(_position_parser_only, text), text


_JSON_PIECES = st.sampled_from(
    ["{", "}", "[", "]", ",", ":", " ", "\n", "\r\n", "\t", '"a"', '"b"', '"é"', '"\\q"',
     '"\\u12"', '"\\ud800"', '"\x01"', '"', "0", "-0", "01", "1.5", "1.", ".5", "-", "1e3",
     "2E-2", "1e99", "1e100", "1E+999", "9" * 40, "9" * 41, "0." + "1" * 39, "true", "false",
     "null", "tru", "NaN", "Infinity", "-Infinity", "-NaN", "\ufeff", "\u00a0", "\u0661"]
)  # fmt: skip


@settings(deadline=None)
@given(st.lists(_JSON_PIECES, max_size=30).map("".join))
def test_fast_path_agrees_with_the_position_parser_on_fragments(text: str) -> None:
    _assert_paths_agree(text)


@settings(deadline=None)
@given(_documents(_any_text), st.data())
def test_fast_path_agrees_with_the_position_parser_on_edited_documents(
    value: Any, data: st.DataObject
) -> None:
    text = _to_json(value, ensure_ascii=data.draw(st.booleans()), comma=", ")
    _assert_paths_agree(text)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(start + 3, len(text))))
    _assert_paths_agree(text[:start] + data.draw(_JSON_PIECES | st.just("")) + text[end:])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * 65 + "]" * 65, id="empty-list-at-level-64"),
        pytest.param("[" * 66 + "]" * 66, id="empty-list-at-level-65"),
        pytest.param("[" * 64 + "1" + "]" * 64, id="number-at-level-64"),
        pytest.param("[" * 65 + "1" + "]" * 65, id="number-at-level-65"),
        pytest.param('{"a": ' * 64 + "{}" + "}" * 64, id="empty-mapping-at-level-64"),
        pytest.param('{"a": ' * 65 + "{}" + "}" * 65, id="empty-mapping-at-level-65"),
        pytest.param('["' + "[" * 100 + '"]', id="brackets-in-text-are-no-nesting"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="past-the-decoders-recursion-limit"),
        pytest.param("[" * 100_000, id="unclosed-past-the-recursion-limit"),
        pytest.param('{"a": 1, "b": {"a": 2, "a": 3}, "a": 4}', id="duplicates"),
        pytest.param('\ufeff{"a": 1.50}', id="byte-order-mark"),
    ],
)
def test_fast_path_agrees_with_the_position_parser_at_the_limits(text: str) -> None:
    _assert_paths_agree(text)


def test_json_positions_are_worked_out_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[str] = []

    class Counting(_json_parser._JsonParser):
        def document(self) -> Any:
            runs.append(self.text)
            return super().document()

    monkeypatch.setattr(_json_parser, "_JsonParser", Counting)
    data, source = parse_json('{"a": [1, {"b": 2.5}]}', "r.json", RequestFileError)
    assert _same(data, {"a": [1, {"b": Decimal("2.5")}]})
    assert runs == []  # a valid document is read once, by the standard library
    assert source.locate(("a", 1, "b")) == (("a", 1, "b"), 1, 17)
    assert source.keys[("a",)] == (1, 2)
    assert len(runs) == 1  # values and keys are worked out together, once
    with pytest.raises(RequestFileError, match=r"^r\.json:1:10: duplicate key 'a'"):
        parse_json('{"a": 1, "a": 2}', "r.json", RequestFileError)
    assert len(runs) == 2  # a refused document is read again, for the error's position


def test_validation_errors_in_json_point_where_they_did() -> None:
    text = '{\n  "network": "maybe",\n  "deductible": {"individual": 500},\n  "extra": 1\n}'
    messages = []
    for parse in (parse_json, _position_parser_only):
        data, source = parse(text, "r.json", RequestFileError)
        with pytest.raises(RequestFileError) as caught:
            validate(_Plan, data, source, RequestFileError)
        messages.append([str(issue) for issue in caught.value.issues])
    assert messages[0] == messages[1]
    assert messages[0][0] == "r.json:2:14: network: must be one of 'in', 'out' (got 'maybe')"
