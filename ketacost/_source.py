"""Where parsed values came from: source maps, field paths and issues that point at a place.

The YAML and JSON parsers (:mod:`ketacost._yaml_parser`, :mod:`ketacost._json_parser`)
return plain values and a :class:`SourceMap`; :mod:`ketacost._validation` and every check
done after validation (:func:`issue_at`) use the map to say
``payers/acme.yaml:14:7: networks.in.coinsurance: must be at most 1 (got 1.2)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn, TypeAlias

from ketacost._errors import FileIssue, RuleFileError
from ketacost._limits import MAX_RULE_FILE_BYTES

__all__ = [
    "Collector",
    "Loc",
    "ParseAbortedError",
    "SourceMap",
    "field_path",
    "in_file_order",
    "issue_at",
    "matched_path",
    "position_of_byte",
    "refuse_if_too_large",
    "too_large_issue",
]

Loc: TypeAlias = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"[^.\[\]\s'\"]+")


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Where each value of a parsed document sits in its file.

    Attributes:
        filename: the file as the user gave it (``payers/acme.yaml``).
        values: 1-based (line, column) of the value at each path; ``()`` is the root.
        keys: 1-based (line, column) of the key of each mapping entry, by the entry's path.
    """

    filename: str
    values: Mapping[Loc, tuple[int, int]]
    keys: Mapping[Loc, tuple[int, int]]

    def locate(self, loc: Sequence[str | int], *, prefer_key: bool = False) -> tuple[Loc, int, int]:
        """Find the longest path in the document that matches ``loc``.

        Elements of ``loc`` that are not in the document (pydantic's union tags and
        function names, a missing key) are skipped.

        Args:
            loc: a path such as a pydantic error's ``loc``.
            prefer_key: give the key's position when the match is a mapping entry.

        Returns:
            The matched path and its 1-based line and column; ``(0, 0)`` only when not even
            the root is known.

        Example:
            >>> source = SourceMap("x.yaml", {(): (1, 1), ("a",): (2, 3), ("a", "b"): (2, 6)}, {})
            >>> source.locate(("a", "function-after[check]", "b"))
            (('a', 'b'), 2, 6)
        """
        matched = matched_path(loc, self.values.__contains__)
        position = self.keys.get(matched) if prefer_key else None
        if position is None:
            position = self.values.get(matched, (0, 0))
        return matched, position[0], position[1]

    @classmethod
    def empty(cls, filename: str) -> SourceMap:
        """A map that knows no positions, for data that did not come from a file."""
        return cls(filename, MappingProxyType({}), MappingProxyType({}))


def matched_path(loc: Sequence[str | int], known: Callable[[Loc], bool]) -> Loc:
    """Walk ``loc`` left to right, keeping each element that extends a known path."""
    matched: Loc = ()
    for element in loc:
        candidate = (*matched, element)
        if known(candidate):
            matched = candidate
    return matched


def field_path(loc: Sequence[str | int]) -> str:
    """Spell a path the way a user reads it.

    Example:
        >>> field_path(("phases", 2, "session"))
        'phases[2].session'
        >>> field_path(("rates", "a.b"))
        "rates['a.b']"
    """
    out = ""
    for element in loc:
        if isinstance(element, int):
            out += f"[{element}]"
        elif _PLAIN_KEY.fullmatch(element):
            out += f".{element}" if out else element
        else:
            out += f"[{element!r}]"
    return out


def issue_at(
    source: SourceMap, loc: Sequence[str | int], message: str, *, prefer_key: bool = False
) -> FileIssue:
    """Make an issue for a check done after validation, pointing at ``loc`` in the file.

    Args:
        source: where the checked data came from.
        loc: path of the offending value, e.g. ``("networks", "in", "coinsurance")``.
        message: what was expected and what was found.
        prefer_key: point at the key rather than the value of a mapping entry.
    """
    _, line, column = source.locate(loc, prefer_key=prefer_key)
    return FileIssue(source.filename, line, column, field_path(loc), message)


def in_file_order(issues: list[FileIssue]) -> list[FileIssue]:
    """The issues sorted by line and column."""
    return sorted(issues, key=lambda issue: (issue.line, issue.column))


def position_of_byte(raw: bytes, offset: int) -> tuple[int, int]:
    r"""The 1-based line and column (in characters) of byte ``offset`` of ``raw``.

    Example:
        >>> position_of_byte(b"a: 1\nb: \xc3\xa9\xff", 10)  # bad byte after "é" (2 bytes)
        (2, 5)
    """
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def too_large_issue(size: int, filename: str) -> FileIssue | None:
    """An issue when a document of ``size`` bytes (UTF-8) is too large for a rule or request file.

    Checked before parsing (and before reading it all, for a file).
    """
    if size <= MAX_RULE_FILE_BYTES:
        return None
    message = (
        f"too large: more than {MAX_RULE_FILE_BYTES:,} bytes "
        "(the most a rule or request file may have)"
    )
    return FileIssue(filename, 1, 1, "", message)


def refuse_if_too_large(text: str, filename: str, error_cls: type[RuleFileError]) -> None:
    """Raise ``error_cls`` when ``text`` is larger than a rule or request file may be."""
    if len(text) <= MAX_RULE_FILE_BYTES // 4:  # no need to count bytes
        return
    issue = too_large_issue(len(text.encode("utf-8", errors="surrogatepass")), filename)
    if issue is not None:
        raise error_cls([issue])


class ParseAbortedError(Exception):
    """Raised inside a parser to give up at once; the issues gathered so far are reported."""


class Collector:
    """Positions and issues gathered while one document is turned into values."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.values: dict[Loc, tuple[int, int]] = {}
        self.keys: dict[Loc, tuple[int, int]] = {}
        self.issues: list[FileIssue] = []

    def issue(self, position: tuple[int, int], message: str, field: str = "") -> None:
        """Record a problem and go on (so that later problems are reported too)."""
        self.issues.append(FileIssue(self.filename, position[0], position[1], field, message))

    def stop(self, position: tuple[int, int], message: str, field: str = "") -> NoReturn:
        """Record a problem and give up (:class:`ParseAbortedError`)."""
        self.issue(position, message, field)
        raise ParseAbortedError

    def finish(self, value: Any, error_cls: type[RuleFileError]) -> tuple[Any, SourceMap]:
        """The value and its map, or ``error_cls`` with every issue in file order."""
        if self.issues:
            raise error_cls(in_file_order(self.issues))
        source = SourceMap(
            self.filename, MappingProxyType(self.values), MappingProxyType(self.keys)
        )
        return value, source
