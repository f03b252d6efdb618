"""Parse a JSON request body or file into plain values that remember where they came from.

:func:`parse_json` enforces the same rules as everywhere else
(:func:`~ketacost._limits.number_literal_problem` on every number as it is read, a fraction
becomes a :class:`~ketacost._money.JsonFraction` so it is never money, no
``NaN``/``Infinity``, no duplicate key, nesting bounded) and records each value's and
key's line and column in a :class:`~ketacost._source.SourceMap`.
"""

from __future__ import annotations

import bisect
import json.decoder
import re
from collections.abc import Callable
from typing import Any, NoReturn

from ketacost._errors import RuleFileError
from ketacost._limits import MAX_BODY_DEPTH, number_literal_problem
from ketacost._money import JsonFraction
from ketacost._source import (
    Collector,
    Loc,
    ParseAbortedError,
    SourceMap,
    field_path,
    refuse_if_too_large,
)

__all__ = ["parse_json"]

_MAX_DEPTH = MAX_BODY_DEPTH

# The C string scanner json itself uses (typeshed does not declare it).
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_STRING_PROBLEMS = {
    "Unterminated string starting at": "unterminated string",
    "Invalid control character at": "control character in a string (write it as an escape)",
    "Invalid \\escape": "invalid escape in a string",
    "Invalid \\uXXXX escape": "invalid \\uXXXX escape in a string",
}


def parse_json(text: str, filename: str, error_cls: type[RuleFileError]) -> tuple[Any, SourceMap]:
    """Parse a JSON document into plain values and a :class:`SourceMap`.

    Numbers with a fraction or exponent become ``JsonFraction`` (a ``Decimal``), other
    numbers ``int``.

    Args:
        text: the document.
        filename: the file as the user gave it, used in error messages.
        error_cls: the :class:`RuleFileError` subclass to raise.

    Raises:
        RuleFileError: (as ``error_cls``) on a syntax error, a duplicate key,
            ``NaN``/``Infinity``, a number literal too long or too large, or nesting deeper
            than 64 levels.
    """
    refuse_if_too_large(text, filename, error_cls)
    parser = _JsonParser(text.removeprefix("\ufeff"), filename)  # a byte order mark is no column
    return parser.finish(parser.document(), error_cls)


# --------------------------------------------------------------------------- positions


class _JsonParser(Collector):
    """A JSON parser that records where each value and key sits, and says what is wrong where."""

    def __init__(self, text: str, filename: str) -> None:
        super().__init__(filename)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def document(self) -> Any:
        """The whole text as one value (``None`` after an issue that stopped the parse)."""
        try:
            value, end = self.value(0, ())
            end = self.space(end)
            if end < len(self.text):
                self.fail(end, "end of file after the document")
        except ParseAbortedError:
            return None
        return value

    def where(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def found(self, index: int) -> str:
        return "end of file" if index >= len(self.text) else repr(self.text[index])

    def fail(self, index: int, expected: str) -> NoReturn:
        self.stop(self.where(index), f"invalid JSON: expected {expected} (got {self.found(index)})")

    def space(self, index: int) -> int:
        match = _JSON_SPACE.match(self.text, index)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def string(self, index: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, index + 1, True)
        except json.JSONDecodeError as exc:
            problem = _JSON_STRING_PROBLEMS.get(exc.msg, exc.msg)
            self.stop(self.where(exc.pos), f"invalid JSON: {problem}")

    def value(self, index: int, path: Loc) -> tuple[Any, int]:
        text = self.text
        index = self.space(index)
        self.values[path] = self.where(index)
        if len(path) > _MAX_DEPTH:
            self.stop(self.where(index), f"nested too deeply (more than {_MAX_DEPTH} levels)")
        char = text[index : index + 1]
        if char == "{":
            return self.object(index + 1, path)
        if char == "[":
            return self.array(index + 1, path)
        if char == '"':
            return self.string(index)
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, index):
                return literal, index + len(word)
        for word in ("NaN", "Infinity", "-Infinity"):
            if text.startswith(word, index):
                self.stop(
                    self.where(index), f"expected a finite number (got {word})", field_path(path)
                )
        number = _JSON_NUMBER.match(text, index)
        if number is None:
            self.fail(index, "a value")
        digits = number.group()
        problem = number_literal_problem(digits)
        if problem is not None:
            self.stop(self.where(index), problem, field_path(path))
        if number.group(1) or number.group(2):
            return JsonFraction(digits), number.end()
        return int(digits), number.end()

    def object(self, index: int, path: Loc) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        index = self.space(index)
        if self.text.startswith("}", index):
            return result, index + 1
        while True:
            index = self.space(index)
            if not self.text.startswith('"', index):
                self.fail(index, "a key in double quotes")
            where = self.where(index)
            key, index = self.string(index)
            index = self.space(index)
            if not self.text.startswith(":", index):
                self.fail(index, "':' after the key")
            child = (*path, key)
            if key in first_line:
                # Reported, and its value still checked; no SourceMap is returned after an issue.
                self.issue(where, f"duplicate key {key!r} (first at line {first_line[key]})")
                _, index = self.value(index + 1, child)
            else:
                first_line[key] = where[0]
                self.keys[child] = where
                result[key], index = self.value(index + 1, child)
            index = self.space(index)
            if self.text.startswith("}", index):
                return result, index + 1
            if not self.text.startswith(",", index):
                self.fail(index, "',' or '}'")
            index += 1

    def array(self, index: int, path: Loc) -> tuple[list[Any], int]:
        result: list[Any] = []
        index = self.space(index)
        if self.text.startswith("]", index):
            return result, index + 1
        while True:
            item, index = self.value(index, (*path, len(result)))
            result.append(item)
            index = self.space(index)
            if self.text.startswith("]", index):
                return result, index + 1
            if not self.text.startswith(",", index):
                self.fail(index, "',' or ']'")
            index += 1
