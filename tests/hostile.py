"""The hostile-input table: every attack found on the library, the CLI and the web, with the
exact outcome each must give. ``tests/test_hostile.py`` runs it.

A request attack puts one literal into one field of a small, valid request. The same request
is written as a YAML file, as a JSON file (both run by the library and by ``ketacost
estimate``) and, without its ``clinic`` (the server's), as a web body. The expected message
is exact; the position is where the literal stands in each text (worked out by the runner,
which checks that the error points there).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CALCULATOR_ATTACKS",
    "FILE_ATTACKS",
    "REQUEST_ATTACKS",
    "CalculatorAttack",
    "FileAttack",
    "RequestAttack",
    "request_text",
    "slot_field",
    "slot_key",
]

_MONEY_HINT = (
    ' (write dollars as digits with at most two decimals, e.g. 450, 450.00 or "$1,234.56")'
)
_OUT_OF_RANGE = "number out of range: the exponent must be between -99 and 99 (got {})"
_FIVE_THOUSAND_NINES = "9" * 5000
_TOO_LONG_5000 = "number too long: at most 40 characters (got 5000: 999999999999...9999)"


@dataclass(frozen=True)
class RequestAttack:
    """One literal in one field of a request.

    Attributes:
        id: the case's name.
        field: where the literal goes (a key of :func:`request_text`'s slots).
        literal: the value as written in the file or body (JSON syntax, valid YAML too).
        message: the exact message (after ``field: ``).
        error_field: the field the error names (default: ``field``'s path).
        formats: which texts it applies to (``yaml``, ``json``, ``web``).
        web_status: the status the web answers (400 for a body that is not a JSON value
            ketacost reads, 422 for a valid body that fails validation).
    """

    id: str
    field: str
    literal: str
    message: str
    error_field: str = ""
    formats: tuple[str, ...] = ("yaml", "json", "web")
    web_status: int = 422


# Slots of the request: each attack replaces one; the rest keep these valid values.
_SLOTS: dict[str, tuple[str, str, str]] = {
    # slot: (field path as errors name it, its key in the text, valid literal)
    "age": ("patient.age", "age", "45"),
    "failed_trials": ("patient.failed_trials", "failed_trials", "2"),
    "deductible_met": (
        "coverage.accumulators.deductible_met.individual",
        "individual",
        '"250.00"',
    ),
    "sessions": ("plan.phases[0].sessions", "sessions", "4"),
    "every_days": ("plan.phases[0].every_days", "every_days", "3"),
    "start": ("plan.start", "start", '"2026-01-05"'),
    "extra": ("patient.zz", "zz", "null"),
}


def request_text(fmt: str, slot: str = "", literal: str = "", *, clinic: str = "") -> str:
    """The request as ``fmt`` (``yaml``, ``json`` or ``web``) with ``slot`` set to ``literal``.

    One field a line, so that the runner can find the literal's line and column.
    """
    values = {name: valid for name, (_, _, valid) in _SLOTS.items()}
    if slot:
        values[slot] = literal
    extra = f', "zz": {values["extra"]}' if slot == "extra" else ""
    lines = [
        "{",
        f'"patient": {{"age": {values["age"]}, "failed_trials": {values["failed_trials"]}, '
        f'"diagnoses": ["F33.2"]{extra}}},',
        '"coverage": {"payer": "commercial-ppo", "network": "in", '
        '"prior_authorization": "approved",',
        f'  "accumulators": {{"as_of": "2026-01-01", "deductible_met": {{"individual": '
        f"{values['deductible_met']}}}}}}},",
        f'"plan": {{"start": {values["start"]}, "phases": [{{"session": "esketamine-56", '
        f'"sessions": {values["sessions"]}, "every_days": {values["every_days"]}}}]}}',
    ]
    if fmt != "web":
        lines[-1] += ","
        lines.append(f'"clinic": "{clinic or "clinic.yaml"}"')
    lines.append("}")
    text = "\n".join(lines) + "\n"
    if fmt == "yaml":  # YAML's flow style reads this JSON; keep the same positions
        text = "# a request\n" + text
    return text


def slot_field(slot: str) -> str:
    """The field path an error about ``slot`` names."""
    return _SLOTS[slot][0]


def slot_key(slot: str) -> str:
    """The key that holds ``slot`` in the text (``"every_days": 3``)."""
    return _SLOTS[slot][1]


REQUEST_ATTACKS: tuple[RequestAttack, ...] = (
    # -- numbers that would become huge Python numbers (the freeze and the 500s) -----------
    RequestAttack(
        "exponent-billion-in-count",
        "failed_trials",
        "1e999999999",
        _OUT_OF_RANGE.format("1e999999999"),
        web_status=400,
    ),
    RequestAttack(
        "exponent-in-age", "age", "1e3000000", _OUT_OF_RANGE.format("1e3000000"), web_status=400
    ),
    RequestAttack(
        "exponent-in-sessions",
        "sessions",
        "1e999999999",
        _OUT_OF_RANGE.format("1e999999999"),
        web_status=400,
    ),
    RequestAttack(
        "5000-digits-in-age", "age", _FIVE_THOUSAND_NINES, _TOO_LONG_5000, web_status=400
    ),
    RequestAttack(
        "5000-digits-under-unknown-key",
        "extra",
        _FIVE_THOUSAND_NINES,
        _TOO_LONG_5000,
        web_status=400,
    ),
    RequestAttack(
        "negative-exponent",
        "every_days",
        "1e-999999999",
        _OUT_OF_RANGE.format("1e-999999999"),
        web_status=400,
    ),
    # -- whole numbers are strict ----------------------------------------------------------
    RequestAttack(
        "small-exponent-in-count", "sessions", "1e2", "expected a whole number (got 1E+2)"
    ),
    RequestAttack("fraction-in-age", "age", "45.0", "expected a whole number (got 45.0)"),
    RequestAttack("text-in-age", "age", '"45"', "expected a whole number (got '45')"),
    RequestAttack("boolean-in-age", "age", "true", "expected a whole number (got true)"),
    RequestAttack("age-above-range", "age", "131", "must be at most 130 (got 131)"),
    RequestAttack("every-days-zero", "every_days", "0", "must be at least 1 (got 0)"),
    # -- money only in its documented forms, and bounded -----------------------------------
    RequestAttack(
        "money-exponent-text",
        "deductible_met",
        '"1e5000"',
        "not an amount of money: '1e5000'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-huge-exponent-text",
        "deductible_met",
        '"1e999999"',
        "not an amount of money: '1e999999'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-bad-commas",
        "deductible_met",
        '"$1,2,3"',
        "not an amount of money: '$1,2,3'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-decimal-comma",
        "deductible_met",
        '"1,50"',
        "not an amount of money: '1,50'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-arabic-indic-digits",
        "deductible_met",
        '"\u0663\u0665\u0660"',
        "not an amount of money: '\u0663\u0665\u0660'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-full-width-digits",
        "deductible_met",
        '"\uff13\uff15\uff10"',
        "not an amount of money: '\uff13\uff15\uff10'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-underscores",
        "deductible_met",
        '"3_5_0"',
        "not an amount of money: '3_5_0'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-trailing-newline",
        "deductible_met",
        '"100\\n"',
        "not an amount of money: '100\\n'" + _MONEY_HINT,
    ),
    RequestAttack(
        "money-above-ceiling",
        "deductible_met",
        '"10000000.01"',
        "must be at most $10,000,000.00 (got 10000000.01)",
    ),
    RequestAttack(
        "money-three-places",
        "deductible_met",
        '"12.345"',
        "money has at most 2 decimal places (got 12.345)",
    ),
    RequestAttack(
        "money-as-json-fraction",
        "deductible_met",
        "0.1",
        'write money in JSON as text, e.g. "450.00" (got the number 0.1)',
        formats=("json", "web"),
    ),
    RequestAttack(
        "money-huge-yaml-number",
        "deductible_met",
        "1e40",
        "too large for money (at most 13 digits of dollars) (got 1E+40)",
        formats=("yaml",),
    ),
    # -- not finite ------------------------------------------------------------------------
    RequestAttack(
        "nan-in-json",
        "age",
        "NaN",
        "expected a finite number (got NaN)",
        formats=("json", "web"),
        web_status=400,
    ),
    RequestAttack(
        "infinity-in-json",
        "deductible_met",
        "-Infinity",
        "expected a finite number (got -Infinity)",
        formats=("json", "web"),
        web_status=400,
    ),
    # -- dates -----------------------------------------------------------------------------
    RequestAttack(
        "date-past-9999",
        "start",
        '"10000-01-01"',
        "expected a date (YYYY-MM-DD) (got '10000-01-01')",
    ),
    RequestAttack(
        "date-as-number", "start", "20260105", "expected a date (YYYY-MM-DD) (got 20260105)"
    ),
    RequestAttack(
        "date-as-unix-time",
        "start",
        "1767571200",
        "expected a date (YYYY-MM-DD) (got 1767571200)",
    ),
    RequestAttack(
        "date-with-a-time",
        "start",
        '"2026-01-05T00:00"',
        "expected a date (YYYY-MM-DD) (got '2026-01-05T00:00')",
    ),
)


@dataclass(frozen=True)
class FileAttack:
    """A whole file, and the exact error loading it gives.

    Attributes:
        id: the case's name.
        kind: ``payer``, ``clinic`` or ``request``.
        name: the file's name.
        content: the bytes of the file.
        expected: the exact one-line error, ``{path}`` standing for the file's path.
    """

    id: str
    kind: str
    name: str
    content: bytes
    expected: str


def _bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        items = ",".join([f"*{previous}"] * 9)
        lines.append(f"{name}: &{name} [{items}]")
        previous = name
    return ("\n".join(lines) + "\n").encode()


def _many(entry: str, count: int, head: str = "") -> bytes:
    return (head + "".join(entry.format(i=i) for i in range(count))).encode()


FILE_ATTACKS: tuple[FileAttack, ...] = (
    FileAttack(
        "empty", "payer", "acme.yaml", b"", "{path}:1:1: expected one YAML document (found none)"
    ),
    FileAttack(
        "comments-only",
        "clinic",
        "clinic.yaml",
        b"# nothing\n# here\n",
        "{path}:1:1: expected one YAML document (found none)",
    ),
    FileAttack(
        "not-utf8",
        "payer",
        "acme.yaml",
        b"id: acme\nname: Caf\xe9\n",
        "{path}:2:10: not UTF-8 text: byte 0xe9 at byte offset 18",
    ),
    FileAttack(
        "alias-bomb",
        "payer",
        "acme.yaml",
        _bomb(),
        "{path}:1:1: too many values: 490,329,055 after expanding aliases (at most 100,000)",
    ),
    FileAttack(
        "too-many-aliases",
        "payer",
        "acme.yaml",
        ("a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n").encode(),
        "{path}:2:405: too many aliases (more than 100)",
    ),
    FileAttack(
        "fifty-megabyte-list",
        "request",
        "r.yaml",
        b"- 1\n" * 13_000_000,
        "{path}:1:1: too large: more than 262,144 bytes (the most a rule or request file may have)",
    ),
    FileAttack(
        "deep-nesting",
        "request",
        "r.json",
        b"[" * 500 + b"]" * 500,
        "{path}:1:66: nested too deeply (more than 64 levels)",
    ),
    FileAttack(
        "a-flow-list-of-100001-values",
        "clinic",
        "clinic.yaml",
        b"[" + b"0," * 100_001 + b"0]",
        "{path}:1:200000: too many values (more than 100,000)",
    ),
    FileAttack(
        "five-thousand-bad-sessions",
        "clinic",
        "clinic.yaml",
        _many("  s{i}: {{description: x, lines: []}}\n", 5_000, "sessions:\n"),
        "{path}:1:1: name: required field is missing (and 5004 more)",
    ),
    FileAttack(
        "not-a-mapping-is-not-echoed",
        "clinic",
        "clinic.yaml",
        b"root:x:0:0:root:/root:/bin/bash\n",
        "{path}:1:1: expected a mapping (got text of 31 character(s))",
    ),
)


@dataclass(frozen=True)
class CalculatorAttack:
    """The patient's answers (the page's body) with one field set to a literal."""

    id: str
    field: str
    literal: str
    status: int
    message: str


CALCULATOR_ATTACKS: tuple[CalculatorAttack, ...] = (
    CalculatorAttack(
        "age-billion-exponent", "age", "1e999999999", 400, _OUT_OF_RANGE.format("1e999999999")
    ),
    CalculatorAttack("age-5000-digits", "age", _FIVE_THOUSAND_NINES, 400, _TOO_LONG_5000),
    CalculatorAttack("age-float", "age", "45.5", 422, "expected a whole number (got 45.5)"),
    CalculatorAttack(
        "dollars-trailing-newline",
        "deductible_met",
        '"100\\n"',
        422,
        'write the amount as text in dollars, e.g. "1200" or "1200.50" (got "100\\n")',
    ),
    CalculatorAttack(
        "dollars-exponent",
        "deductible_met",
        '"1e5000"',
        422,
        'write the amount as text in dollars, e.g. "1200" or "1200.50" (got "1e5000")',
    ),
    # each mistake is named (a review found one message for all of them)
    *(
        CalculatorAttack(
            f"dollars-{name}",
            "deductible_met",
            raw,
            422,
            f'write the amount as text in dollars, e.g. "1200" or "1200.50" (got {raw}: {why})',
        )
        for name, raw, why in (
            ("three-decimals", '"100.005"', "at most two decimals (cents)"),
            ("negative", '"-5"', "an amount is never negative"),
            ("fourteen-digits", '"12345678901234"', "must be at most $10,000,000.00"),
            ("sign-and-commas", '"$1,200.00"', 'plain digits, without "$" or ","'),
            ("a-number", "1200", "send it as text, in quotes"),
        )
    ),
    CalculatorAttack(
        "dollars-above-ceiling",
        "deductible_met",
        '"10000000.01"',
        422,
        "must be at most $10,000,000.00 (got 10000000.01)",
    ),
)
