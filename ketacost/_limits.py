"""The limits every input is held to, in one place.

Files, request bodies, CSV rows and web forms all reach ketacost's models through the
parsers and types that import these names, so one number here is one rule everywhere. The
README's "Limits" section lists them for users.

Numbers are bounded *before* they become Python numbers: a 278-byte JSON body holding
``1e999999999`` once made a lax integer field build a billion-digit ``int`` and froze the
web server. A number literal longer than :data:`MAX_NUMBER_CHARS` or with an exponent
outside ±:data:`MAX_EXPONENT` is refused where it is read, with its position.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "MAX_AMOUNT_CENTS",
    "MAX_BODY_DEPTH",
    "MAX_EXPONENT",
    "MAX_ISSUES",
    "MAX_MONEY_DIGITS",
    "MAX_NUMBER_CHARS",
    "MAX_RULE_FILE_BYTES",
    "MAX_UNIT_RATE_CENTS",
    "MAX_VISITS",
    "MAX_X12_BYTES",
    "MAX_YAML_ALIASES",
    "MAX_YAML_VALUES",
    "MONEY_TEXT",
    "number_literal_problem",
]

#: The longest number literal read from a file or body (``-1234567.125`` is 12 characters).
MAX_NUMBER_CHARS: Final = 40
#: The largest exponent a number literal may carry (``1e2`` is fine, ``1e100`` is not).
MAX_EXPONENT: Final = 99

#: No amount of money above $10,000,000.00 is accepted as input anywhere (a deductible, a
#: price, a starting accumulator): larger is a typing error, and bounding it keeps arithmetic
#: cheap.
MAX_AMOUNT_CENTS: Final = 1_000_000_000
#: Any ``Money`` (an estimate's totals included) has at most 13 digits of dollars: the
#: bound that keeps a hostile ``Decimal("1e999999")`` from becoming a huge integer.
MAX_MONEY_DIGITS: Final = 13
#: No per-unit rate (a fee schedule's or chargemaster's price of one unit) above $1,000,000.00.
MAX_UNIT_RATE_CENTS: Final = 100_000_000

#: A payer, clinic, program or request file larger than this is refused before it is parsed
#: (the bundled payer files are about 4 KiB each; parsing 256 KiB of YAML takes ~0.5 s).
MAX_RULE_FILE_BYTES: Final = 262_144
#: An X12 271 eligibility response larger than this is refused before it is read (one
#: member's 271 is 2-10 KiB; 4 MiB holds a batch response of several hundred members and
#: reads in about a second).
MAX_X12_BYTES: Final = 4_194_304
#: At most this many aliases (``*name``) in one YAML document.
MAX_YAML_ALIASES: Final = 100
#: At most this many values in one document, counting every alias's expansion.
MAX_YAML_VALUES: Final = 100_000
#: Deepest nesting of lists and mappings.
MAX_BODY_DEPTH: Final = 64
#: The most visits one plan (or one combination of a range) may have.
MAX_VISITS: Final = 400
#: At most this many problems are described in one error (the rest are counted).
MAX_ISSUES: Final = 50

#: Money as text: ASCII digits, an optional ``$``, thousands commas only in groups of three,
#: at most two decimals, or more that are zeros (``450``, ``450.5``, ``$1,234.56``,
#: ``-12.00``, ``1.500``). Nothing else: no spaces, underscores, exponents or non-ASCII digits.
MONEY_TEXT: Final = re.compile(
    r"-?\$?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2}0*)?", re.ASCII
)

_EXPONENT = re.compile(r"[eE]([-+]?[0-9]+)\Z", re.ASCII)


def number_literal_problem(text: str) -> str | None:
    """Why a number literal (already known to be one) is too large to read, or ``None``.

    Example:
        >>> number_literal_problem("450.00") is None
        True
        >>> number_literal_problem("1e999999999")
        'number out of range: the exponent must be between -99 and 99 (got 1e999999999)'
    """
    if len(text) > MAX_NUMBER_CHARS:
        shown = text[:12] + "..." + text[-4:]
        return f"number too long: at most {MAX_NUMBER_CHARS} characters (got {len(text)}: {shown})"
    exponent = _EXPONENT.search(text)
    if exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
        return (
            f"number out of range: the exponent must be between -{MAX_EXPONENT} and "
            f"{MAX_EXPONENT} (got {text})"
        )
    return None
