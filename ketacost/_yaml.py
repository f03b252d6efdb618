"""Parse YAML and JSON rule files into plain values that remember where they came from.

:func:`parse_yaml` and :func:`parse_json` turn text into ``dict``/``list``/``str``/``int``/
``Decimal``/``bool``/``None`` (never a ``float``) plus a :class:`SourceMap` from each value's
path to its line and column. :func:`validate` runs a pydantic model over the values and turns
every validation error into a :class:`~ketacost._errors.FileIssue` such as
``payers/acme.yaml:14:7: networks.in.coinsurance: must be at most 1 (got 1.2)``.
"""

from __future__ import annotations

import bisect
import json.decoder
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NoReturn, TypeAlias, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ketacost._errors import FileIssue, RuleFileError
from ketacost._limits import (
    MAX_BODY_DEPTH,
    MAX_ISSUES,
    MAX_RULE_FILE_BYTES,
    MAX_YAML_ALIASES,
    MAX_YAML_VALUES,
    number_literal_problem,
)
from ketacost._money import JsonFraction

__all__ = [
    "Loc",
    "SourceMap",
    "field_path",
    "issue_at",
    "parse_json",
    "parse_yaml",
    "position_of_byte",
    "too_large_issue",
    "validate",
]

Loc: TypeAlias = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

# Guards against hostile input (a web form can send a request file): deep nesting would
# overflow the stack, nested aliases ("billion laughs") expand exponentially, and a long
# number literal would become a huge Python number. The limits live in _limits.py.
_MAX_DEPTH = MAX_BODY_DEPTH

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# libyaml reports a reader error's position in UTF-8 bytes, the pure-Python reader in characters.
_READER_POSITION_IN_BYTES = _Loader is not yaml.SafeLoader
# The tag a plain scalar gets without an explicit one (the same resolver the loader uses).
_implicit_tag: Callable[[type[yaml.Node], str, tuple[bool, bool]], str] = (
    yaml.resolver.Resolver().resolve
)
# The C string scanner json itself uses (typeshed does not declare it).
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_MAP_TAG = _TAG + "map"
_SEQ_TAG = _TAG + "seq"
_MERGE_TAG = _TAG + "merge"

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_DECIMAL = re.compile(
    r"[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)"
)
_NOT_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_STRING_PROBLEMS = {
    "Unterminated string starting at": "unterminated string",
    "Invalid control character at": "control character in a string (write it as an escape)",
    "Invalid \\escape": "invalid escape in a string",
    "Invalid \\uXXXX escape": "invalid \\uXXXX escape in a string",
}
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
            >>> data, source = parse_yaml("a:\\n  b: 1\\n", "x.yaml", RuleFileError)
            >>> source.locate(("a", "function-after[check]", "b"))
            (('a', 'b'), 2, 6)
        """
        matched = _match(loc, self.values.__contains__)
        position = self.keys.get(matched) if prefer_key else None
        if position is None:
            position = self.values.get(matched, (0, 0))
        return matched, position[0], position[1]

    @classmethod
    def empty(cls, filename: str) -> SourceMap:
        """A map that knows no positions, for data that did not come from a file."""
        return cls(filename, MappingProxyType({}), MappingProxyType({}))


def _match(loc: Sequence[str | int], known: Callable[[Loc], bool]) -> Loc:
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


# --------------------------------------------------------------------------- YAML


class _AbortError(Exception):
    """Raised inside a parser to give up at once; the issues gathered so far are reported."""


class _Collector:
    """Positions and issues gathered while one document is turned into values."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.values: dict[Loc, tuple[int, int]] = {}
        self.keys: dict[Loc, tuple[int, int]] = {}
        self.issues: list[FileIssue] = []

    def issue(self, position: tuple[int, int], message: str, field: str = "") -> None:
        self.issues.append(FileIssue(self.filename, position[0], position[1], field, message))

    def stop(self, position: tuple[int, int], message: str, field: str = "") -> NoReturn:
        self.issue(position, message, field)
        raise _AbortError

    def finish(self, value: Any, error_cls: type[RuleFileError]) -> tuple[Any, SourceMap]:
        if self.issues:
            raise error_cls(_sorted(self.issues))
        source = SourceMap(
            self.filename, MappingProxyType(self.values), MappingProxyType(self.keys)
        )
        return value, source


def _sorted(issues: list[FileIssue]) -> list[FileIssue]:
    return sorted(issues, key=lambda issue: (issue.line, issue.column))


def _mark(mark: Any) -> tuple[int, int]:
    return int(mark.line) + 1, int(mark.column) + 1


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _YamlBuilder(_Collector):
    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self.count = 0
        self.open_nodes: set[int] = set()  # ids of the collections being built (alias cycles)

    def build(self, node: yaml.Node, path: Loc) -> Any:
        position = _mark(node.start_mark)
        self.values[path] = position
        self.count += 1
        if self.count > MAX_YAML_VALUES:
            self.stop(
                position, f"too many values (more than {MAX_YAML_VALUES} after expanding aliases)"
            )
        if len(path) > _MAX_DEPTH:
            self.stop(position, f"nested too deeply (more than {_MAX_DEPTH} levels)")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path, position)
        if id(node) in self.open_nodes:
            self.stop(position, "an alias refers to a node that contains it")
        default_tag = _MAP_TAG if isinstance(node, yaml.MappingNode) else _SEQ_TAG
        if node.tag != default_tag:
            self.issue(
                position, f"YAML tag {_tag_name(node.tag)!r} is not supported", field_path(path)
            )
            return None
        self.open_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            result: Any = self.mapping(node, path)
        else:
            result = [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        self.open_nodes.discard(id(node))
        return result

    def mapping(self, node: yaml.MappingNode, path: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            where = _mark(key_node.start_mark)
            if key_node.tag == _MERGE_TAG and key_node.style in (None, ""):
                self.issue(where, "merge keys are not supported; write the values out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a mapping" if isinstance(key_node, yaml.MappingNode) else "a list"
                self.issue(where, f"a mapping key must be text (got {kind})")
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in first_line:
                # Reported, and its value still checked; no SourceMap is returned after an issue.
                self.issue(where, f"duplicate key {key!r} (first at line {first_line[key]})")
                self.build(value_node, child)
                continue
            first_line[key] = where[0]
            self.keys[child] = where
            result[key] = self.build(value_node, child)
        return result

    def scalar(self, node: yaml.ScalarNode, path: Loc, position: tuple[int, int]) -> Any:
        text = str(node.value)
        if node.style in (None, ""):  # plain: libyaml says "", the Python parser None
            implicit = _implicit_tag(yaml.ScalarNode, text, (True, False))
            if node.tag == implicit:
                return self.plain(text, path, position)
        if node.tag == _STR_TAG:
            return text
        self.issue(position, f"YAML tag {_tag_name(node.tag)!r} is not supported", field_path(path))
        return None

    def plain(self, text: str, path: Loc, position: tuple[int, int]) -> Any:
        if text in _NULLS:
            return None
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        is_int = _INT.fullmatch(text) is not None
        if is_int or _DECIMAL.fullmatch(text):
            problem = number_literal_problem(text)
            if problem is not None:
                self.issue(position, problem, field_path(path))
                return None
            return int(text) if is_int else Decimal(text)
        if _NOT_FINITE.fullmatch(text):
            self.issue(position, f"expected a finite number (got {text})", field_path(path))
            return None
        return text


def parse_yaml(text: str, filename: str, error_cls: type[RuleFileError]) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain values and a :class:`SourceMap`.

    Mapping keys are always text, as written (``90791:`` is ``"90791"``). Plain scalars
    become ``None``, ``bool`` (``true``/``false`` only), ``int`` (decimal, no leading zero),
    ``Decimal`` (with a fraction or exponent) or ``str``; anything quoted stays ``str``.

    Args:
        text: the document.
        filename: the file as the user gave it, used in error messages.
        error_cls: the :class:`RuleFileError` subclass to raise.

    Raises:
        RuleFileError: (as ``error_cls``) on a syntax error, duplicate or merge keys,
            a non-finite number, an unsupported tag, or not exactly one document.
    """
    builder = _YamlBuilder(filename)
    _too_large(text, filename, error_cls)
    try:
        aliases = _prescan(text, filename, error_cls)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(mark) if mark is not None else (0, 0)
        if exc.problem == "but found another document":
            message = "expected one YAML document (found more than one)"
        else:
            message = "invalid YAML: " + _yaml_problem(exc, text, where)
        raise error_cls([FileIssue(filename, where[0], where[1], "", message)]) from None
    except yaml.reader.ReaderError as exc:
        where = _reader_position(text, exc.position)
        found = exc.character if isinstance(exc.character, str) else chr(exc.character)
        message = f"invalid YAML: {exc.reason} (got {found!r})"
        raise error_cls([FileIssue(filename, where[0], where[1], "", message)]) from None
    except yaml.YAMLError as exc:  # not raised by PyYAML 6 for str input; kept as a net
        raise error_cls([FileIssue(filename, 0, 0, "", f"invalid YAML: {exc}")]) from None
    if root is None:  # empty, or only comments: the document would start at 1:1
        raise error_cls([FileIssue(filename, 1, 1, "", "expected one YAML document (found none)")])
    if isinstance(root, yaml.ScalarNode) and root.value == "" and root.style in (None, ""):
        where = _mark(root.start_mark)
        message = "expected one YAML document (found an empty one)"
        raise error_cls([FileIssue(filename, where[0], where[1], "", message)])
    expanded = _expanded_size(root) if aliases else 0  # without aliases, the prescan counted
    if expanded > MAX_YAML_VALUES:
        raise error_cls(
            [
                FileIssue(
                    filename,
                    1,
                    1,
                    "",
                    f"too many values: {expanded:,} after expanding aliases "
                    f"(at most {MAX_YAML_VALUES:,})",
                )
            ]
        )
    try:
        value = builder.build(root, ())
    except _AbortError:
        value = None
    return builder.finish(value, error_cls)


def too_large_issue(size: int, filename: str) -> FileIssue | None:
    """An issue when a document of ``size`` bytes (UTF-8) is larger than a rule or request
    file may be; checked before parsing (and before reading it all, for a file)."""
    if size <= MAX_RULE_FILE_BYTES:
        return None
    message = (
        f"too large: more than {MAX_RULE_FILE_BYTES:,} bytes "
        "(the most a rule or request file may have)"
    )
    return FileIssue(filename, 1, 1, "", message)


def _too_large(text: str, filename: str, error_cls: type[RuleFileError]) -> None:
    if len(text) <= MAX_RULE_FILE_BYTES // 4:  # no need to count bytes
        return
    issue = too_large_issue(len(text.encode("utf-8", errors="surrogatepass")), filename)
    if issue is not None:
        raise error_cls([issue])


def _prescan(text: str, filename: str, error_cls: type[RuleFileError]) -> int:
    """Count values, aliases and nesting from the parser's events, before any node is
    composed (a mapping's keys count as values: the bound is on work, not on meaning).
    Returns the number of aliases."""
    aliases = depth = values = 0

    def refuse(event: yaml.Event, message: str) -> NoReturn:
        where = _mark(event.start_mark)
        raise error_cls([FileIssue(filename, where[0], where[1], "", message)])

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            values += 1
            if values > MAX_YAML_VALUES:
                refuse(event, f"too many values (more than {MAX_YAML_VALUES:,})")
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                refuse(event, f"too many aliases (more than {MAX_YAML_ALIASES})")
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH + 1:  # the outermost collection is level 0
                refuse(event, f"nested too deeply (more than {_MAX_DEPTH} levels)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return aliases


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document has once every alias is expanded, without expanding.

    An alias shares its node, so the sizes are memoised by node; a node that contains
    itself counts once here (the builder reports it).
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > _MAX_DEPTH:  # too deep once expanded: the builder stops there and says so
            return 1
        sizes[key] = 1  # a cycle back to this node counts once (the builder reports it)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(value, depth + 1) for _, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        sizes[key] = total
        return total

    return size(root, 0)


def position_of_byte(raw: bytes, offset: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of byte ``offset`` of ``raw``.

    Example:
        >>> position_of_byte("a: 1\nb: \u00e9\xff".encode("utf-8", "surrogateescape"), 9)
        (2, 4)
    """
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str, where: tuple[int, int]) -> str:
    problem = exc.problem or exc.context or "syntax error"
    if "cannot start any token" in problem and where[0]:
        lines = text.splitlines()
        if where[0] <= len(lines) and where[1] <= len(lines[where[0] - 1]):
            found = lines[where[0] - 1][where[1] - 1]
            problem += f" (got {found!r}" + ("; indent with spaces)" if found == "\t" else ")")
    elif exc.context and exc.context_mark is not None and exc.problem_mark is not None:
        context_line = exc.context_mark.line + 1
        if context_line != where[0]:
            problem += f" ({exc.context} at line {context_line})"
    return problem


def _reader_position(text: str, position: int) -> tuple[int, int]:
    if _READER_POSITION_IN_BYTES:
        position = len(text.encode("utf-8")[:position].decode("utf-8", errors="ignore"))
    before = text[:position]
    line = len(re.findall(r"\r\n|\r|\n", before)) + 1
    start = max(before.rfind("\n"), before.rfind("\r")) + 1
    return line, position - start + 1


# --------------------------------------------------------------------------- JSON


class _JsonParser(_Collector):
    def __init__(self, text: str, filename: str) -> None:
        super().__init__(filename)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

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


def parse_json(text: str, filename: str, error_cls: type[RuleFileError]) -> tuple[Any, SourceMap]:
    """Parse a JSON document into plain values and a :class:`SourceMap`.

    Numbers with a fraction or exponent become ``Decimal``, other numbers ``int``.

    Args:
        text: the document.
        filename: the file as the user gave it, used in error messages.
        error_cls: the :class:`RuleFileError` subclass to raise.

    Raises:
        RuleFileError: (as ``error_cls``) on a syntax error, a duplicate key, or
            ``NaN``/``Infinity``.
    """
    _too_large(text, filename, error_cls)
    parser = _JsonParser(text.removeprefix("\ufeff"), filename)  # a byte order mark is no column
    value: Any = None
    try:
        value, end = parser.value(0, ())
        end = parser.space(end)
        if end < len(parser.text):
            parser.fail(end, "end of file after the document")
    except _AbortError:
        pass
    return parser.finish(value, error_cls)


# --------------------------------------------------------------------------- validation

_EXPECTED = {
    **dict.fromkeys(
        ("int_type", "int_parsing", "int_from_float", "int_parsing_size"), "a whole number"
    ),
    **dict.fromkeys(
        ("decimal_type", "decimal_parsing", "float_type", "float_parsing"),
        "a number",
    ),
    "finite_number": "a finite number",
    **dict.fromkeys(("string_type", "string_sub_type", "string_unicode"), "text"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "true or false"),
    **dict.fromkeys(
        ("date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"),
        "a date (YYYY-MM-DD)",
    ),
    **dict.fromkeys(
        (
            "datetime_type",
            "datetime_parsing",
            "datetime_from_date_parsing",
            "datetime_object_invalid",
        ),
        "a date and time (YYYY-MM-DDTHH:MM:SS)",
    ),
    **dict.fromkeys(("time_type", "time_parsing"), "a time (HH:MM)"),
    **dict.fromkeys(
        ("list_type", "tuple_type", "set_type", "frozen_set_type", "iterable_type"), "a list"
    ),
    **dict.fromkeys(
        ("dict_type", "mapping_type", "model_type", "model_attributes_type", "dataclass_type"),
        "a mapping",
    ),
    "none_required": "null",
    **dict.fromkeys(("url_type", "url_parsing"), "a URL"),
}

# Limits: the text is formatted with the error's ctx and followed by "(got <input>)".
_LIMITS = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "multiple_of": "must be a multiple of {multiple_of}",
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} character(s) long",
    "string_pattern_mismatch": "must match {pattern!r}",
    "decimal_max_places": "must have at most {decimal_places} decimal place(s)",
    "decimal_max_digits": "must have at most {max_digits} digit(s)",
    "decimal_whole_digits": "must have at most {whole_digits} digit(s) before the point",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
}
_PROBE_TAG = "\x00ketacost-probe"


def validate(
    model: type[M],
    data: Any,
    source: SourceMap,
    error_cls: type[RuleFileError],
    *,
    context: dict[str, Any] | None = None,
) -> M:
    """Validate parsed data with a pydantic model, reporting every error at its place.

    Args:
        model: the model to build.
        data: values from :func:`parse_yaml` / :func:`parse_json`, or in-memory data.
        source: where ``data`` came from (:meth:`SourceMap.empty` for in-memory data).
        error_cls: the :class:`RuleFileError` subclass to raise.
        context: passed to pydantic validators.

    Raises:
        RuleFileError: (as ``error_cls``) with one issue per pydantic error, in file order.
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = _without_echoes(exc.errors(include_url=False))
    # A hostile file can hold thousands of errors: the first MAX_ISSUES in file order are
    # described (each may cost a look-up), the rest only counted.
    if len(errors) > MAX_ISSUES:
        errors.sort(key=lambda error: source.locate(error["loc"])[1:])
    shown, omitted = errors[:MAX_ISSUES], len(errors[MAX_ISSUES:])
    issues = [_issue(error, model, data, source, context) for error in shown]
    raise error_cls(_sorted(issues), omitted=omitted) from None


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop pydantic's ``too_short`` on a list whose items failed: it counts the items that
    validated (``after validation``), so it only echoes the item errors, and misleadingly."""
    locs = [tuple(e["loc"]) for e in errors]
    parents = {loc[:end] for loc in locs for end in range(len(loc))}
    return [
        error
        for error, loc in zip(errors, locs, strict=True)
        if not (error["type"] == "too_short" and loc in parents)
    ]


def _issue(
    error: ErrorDetails,
    model: type[BaseModel],
    data: Any,
    source: SourceMap,
    context: dict[str, Any] | None,
) -> FileIssue:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx", {})
    # The field comes from the data itself, so that in-memory data gets one too.
    path = _match(loc, lambda candidate: _walk(data, candidate)[0])
    prefer_key = kind == "extra_forbidden" or loc[-1:] == ("[key]",)
    where = loc
    if (kind == "missing" and loc and path != loc) or (
        kind == "extra_forbidden" and path[-1:] != loc[-1:]
    ):
        path = (*path, loc[-1])
    elif kind == "union_tag_invalid":
        where = (*loc, _discriminator(ctx))
    _, line, column = source.locate(where, prefer_key=prefer_key)
    message = _message(error, model, data, path, context)
    return FileIssue(source.filename, line, column, field_path(path), message)


def _walk(data: Any, path: Loc) -> tuple[bool, Any]:
    """Follow ``path`` into ``data``; return whether it exists, and the value there."""
    for element in path:
        if isinstance(data, Mapping):
            if element not in data:
                return False, None
            data = data[element]
        elif isinstance(data, list | tuple):
            if not isinstance(element, int) or not -len(data) <= element < len(data):
                return False, None
            data = data[element]
        elif isinstance(data, BaseModel) and element in type(data).model_fields:
            data = getattr(data, element)
        else:
            return False, None
    return True, data


def _message(
    error: ErrorDetails,
    model: type[BaseModel],
    data: Any,
    path: Loc,
    context: dict[str, Any] | None,
) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    # A whole document that is not a mapping is not echoed: it may be any file at all.
    got = _short(error["input"]) if path else _kind_of(error["input"])
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return f"unknown key {str(error['loc'][-1])!r}"
    if kind in _LIMITS:
        return f"{_LIMITS[kind].format(**ctx)} (got {got})"
    if kind in ("literal_error", "enum"):
        expected = _listing(str(ctx.get("expected", "")))
        return (
            f"must be one of {expected} (got {got})"
            if ", " in expected
            else f"must be {expected} (got {got})"
        )
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]} (got {got})"
    if kind == "union_tag_invalid":
        expected_tags = _listing(str(ctx.get("expected_tags", "")))
        return f"expected {_discriminator(ctx)} one of {expected_tags} (got {ctx.get('tag')!r})"
    if kind == "union_tag_not_found":
        name = _discriminator(ctx)
        if not isinstance(error["input"], Mapping):
            return f"expected a mapping with a {name!r} key (got {got})"
        tags = _expected_tags(model, data, path, name, error["loc"], context)
        if tags is None:
            return f"required key {name!r} is missing"
        return f"expected {name} one of {tags} (got no {name!r} key)"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    if kind == "assertion_error":
        return error["msg"].removeprefix("Assertion failed, ")
    return error["msg"]


def _discriminator(ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("discriminator", "kind")).strip("'")


def _listing(expected: str) -> str:
    """Turn pydantic's ``'a', 'b' or 'c'`` into ``'a', 'b', 'c'``."""
    head, sep, last = expected.rpartition(" or ")
    return f"{head}, {last}" if sep else expected


_TAGS: dict[tuple[object, ...], str | None] = {}


def _expected_tags(
    model: type[BaseModel],
    data: Any,
    path: Loc,
    name: str,
    loc: Sequence[str | int],
    context: dict[str, Any] | None,
) -> str | None:
    """Learn the tags a tagged union accepts by validating again with a tag that cannot match.

    pydantic's ``union_tag_not_found`` error does not list them; ``union_tag_invalid`` does.
    The answer depends on the model and where the union sits (not on list positions), so it
    is remembered: a file with many such errors validates again once.
    """
    key = (model, name, *(0 if isinstance(e, int) else e for e in loc))
    if key not in _TAGS:
        if len(_TAGS) > 256:
            _TAGS.clear()
        _TAGS[key] = _probe_tags(model, data, path, name, loc, context)
    return _TAGS[key]


def _probe_tags(
    model: type[BaseModel],
    data: Any,
    path: Loc,
    name: str,
    loc: Sequence[str | int],
    context: dict[str, Any] | None,
) -> str | None:
    probe = _replace(data, path, lambda value: {**value, name: _PROBE_TAG})
    if probe is None:
        return None
    try:
        model.model_validate(probe, context=context)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if error["type"] == "union_tag_invalid" and tuple(error["loc"]) == tuple(loc):
                return _listing(str(error.get("ctx", {}).get("expected_tags", "")))
    except Exception:  # a validator that chokes on the probe: fall back to a plainer message
        return None
    return None


def _replace(data: Any, path: Loc, change: Callable[[Any], Any]) -> Any:
    """A copy of ``data`` with the mapping at ``path`` changed; ``None`` if it is not one."""
    if not path:
        return change(data) if isinstance(data, Mapping) else None
    head, rest = path[0], path[1:]
    if isinstance(data, Mapping) and head in data:
        inner = _replace(data[head], rest, change)
        return None if inner is None else {**data, head: inner}
    if isinstance(data, list | tuple) and isinstance(head, int) and 0 <= head < len(data):
        inner = _replace(data[head], rest, change)
        return None if inner is None else [*data[:head], inner, *data[head + 1 :]]
    return None


def _kind_of(value: Any) -> str:
    """What a value is, without showing it."""
    if isinstance(value, str):
        return f"text of {len(value):,} character(s)"
    if isinstance(value, bool) or value is None:
        return _short(value)
    if isinstance(value, int | Decimal):
        return "a number"
    return _short(value)


def _short(value: Any) -> str:
    """A short, YAML-flavoured rendering of an input for a ``(got ...)`` note."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, Mapping):
        return "a mapping"
    elif isinstance(value, list | tuple | set | frozenset):
        return "a list"
    elif isinstance(value, date | datetime | time):
        text = value.isoformat()
    elif isinstance(value, BaseModel):
        return f"a {type(value).__name__}"
    else:
        text = repr(value)
    if len(text) > 40:
        text = text[:36] + "..." + (text[-1] if text[-1] in "'\"" else "")
    return text
