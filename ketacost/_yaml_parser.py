"""Parse a YAML rule file into plain values that remember where they came from.

:func:`parse_yaml` turns text into ``dict``/``list``/``str``/``int``/``Decimal``/``bool``/
``None`` (never a ``float``) plus a :class:`~ketacost._source.SourceMap` from each value's
path to its line and column. It loads with libyaml's safe loader, keeps dates as text,
refuses duplicate and merge keys, tags, non-finite numbers and over-long number literals,
and bounds aliases, values and nesting from the parser's events before any node is
composed (a 988-byte alias bomb once cost 41 s and 260 MB).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn

import yaml

from ketacost._errors import FileIssue, RuleFileError
from ketacost._limits import (
    MAX_BODY_DEPTH,
    MAX_YAML_ALIASES,
    MAX_YAML_VALUES,
    number_literal_problem,
)
from ketacost._source import (
    Collector,
    Loc,
    ParseAbortedError,
    SourceMap,
    field_path,
    refuse_if_too_large,
)

__all__ = ["parse_yaml"]

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


def _mark(mark: Any) -> tuple[int, int]:
    return int(mark.line) + 1, int(mark.column) + 1


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _YamlBuilder(Collector):
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
    refuse_if_too_large(text, filename, error_cls)
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
    except ParseAbortedError:
        value = None
    return builder.finish(value, error_cls)


def _prescan(text: str, filename: str, error_cls: type[RuleFileError]) -> int:
    """Count values, aliases and nesting from the parser's events, before any node is composed.

    A mapping's keys count as values: the bound is on work, not on meaning.

    Returns:
        The number of aliases.
    """
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
