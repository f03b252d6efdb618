"""Parse a JSON request body or file into plain values that remember where they came from.

:func:`parse_json` reads with the standard library's C decoder, whose hooks enforce the
same rules as everywhere else (:func:`~ketacost._limits.number_literal_problem` on every
number as it is read, a fraction becomes a :class:`~ketacost._money.JsonFraction` so it is
never money, no ``NaN``/``Infinity``, no duplicate key, nesting bounded). Positions cost
more than the parse itself, and a valid body never needs them, so they are worked out only
when asked for: the :class:`~ketacost._source.SourceMap` it returns runs the position
parser (:class:`_JsonParser`) on first use. When the fast path refuses a document for any
reason, the position parser reads it again and gives the error, with its line and column.
"""

from __future__ import annotations

import bisect
import json.decoder
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn, TypeAlias

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
    numbers ``int``. The map's positions are worked out on first use.

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
    text = text.removeprefix("\ufeff")  # a byte order mark is no column
    try:
        value = _DECODER.decode(text)
        accepted = not _nested_too_deeply(text, value)
    except (_RefusedError, ValueError, RecursionError):
        accepted = False
    if not accepted:  # the position parser reads it again and says what is wrong where
        parser = _JsonParser(text, filename)
        return parser.finish(parser.document(), error_cls)
    positions = _DeferredPositions(text, filename)
    return value, SourceMap(
        filename, _Positions(positions.value_positions), _Positions(positions.key_positions)
    )


# --------------------------------------------------------------------------- fast path


class _RefusedError(Exception):
    """Raised by a decoder hook: the document breaks a rule (the position parser says which)."""


def _whole_number(literal: str) -> int:
    if number_literal_problem(literal) is not None:
        raise _RefusedError
    return int(literal)


def _fraction(literal: str) -> JsonFraction:
    if number_literal_problem(literal) is not None:
        raise _RefusedError
    return JsonFraction(literal)


def _not_finite(literal: str) -> NoReturn:
    raise _RefusedError


def _mapping(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # a duplicate key
        raise _RefusedError
    return result


_DECODER = json.JSONDecoder(
    parse_float=_fraction,
    parse_int=_whole_number,
    parse_constant=_not_finite,
    object_pairs_hook=_mapping,
    strict=True,
)


def _nested_too_deeply(text: str, value: Any) -> bool:
    """Whether some value sits more than 64 levels down (as the position parser counts).

    A value that deep has that many lists or mappings around it, each opened by a bracket:
    with few brackets in the text (strings included), there is nothing to walk.
    """
    if text.count("[") + text.count("{") <= _MAX_DEPTH:
        return False
    return _deeper_than(value, _MAX_DEPTH)


def _deeper_than(value: Any, levels: int) -> bool:
    children = value.values() if isinstance(value, dict) else value
    if not isinstance(value, dict | list) or not children:
        return False
    return levels == 0 or any(_deeper_than(child, levels - 1) for child in children)


_Table: TypeAlias = dict[Loc, tuple[int, int]]


class _DeferredPositions:
    """The positions of a document the fast path accepted, worked out on first use."""

    __slots__ = ("_found", "filename", "text")

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self._found: tuple[_Table, _Table] | None = None

    def value_positions(self) -> _Table:
        """Where each value starts, by its path."""
        return self._work_out()[0]

    def key_positions(self) -> _Table:
        """Where each mapping entry's key starts, by the entry's path."""
        return self._work_out()[1]

    def _work_out(self) -> tuple[_Table, _Table]:
        if self._found is None:
            parser = _JsonParser(self.text, self.filename)
            # The fast path accepted the text, so the position parser finds no issue (a
            # property test holds the two to it); were it to, the positions found so far serve.
            parser.document()
            self._found = (parser.values, parser.keys)
            self.text = ""
        return self._found


class _Positions(Mapping[Loc, tuple[int, int]]):
    """A read-only mapping whose entries are worked out on first use."""

    __slots__ = ("_table",)

    def __init__(self, table: Callable[[], _Table]) -> None:
        self._table = table

    def __getitem__(self, path: Loc) -> tuple[int, int]:
        return self._table()[path]

    def __contains__(self, path: object) -> bool:
        return path in self._table()

    def __iter__(self) -> Iterator[Loc]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._table()!r})"


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
