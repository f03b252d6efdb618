"""Validate parsed values with a pydantic model and say what is wrong where, in the user's words.

:func:`validate` runs a model over values from :mod:`ketacost._yaml_parser` or
:mod:`ketacost._json_parser` (or in-memory data) and turns every pydantic error into a
:class:`~ketacost._errors.FileIssue` such as
``payers/acme.yaml:14:7: networks.in.coinsurance: must be at most 1 (got 1.2)``.
Positions are looked up only for errors, so a valid document never asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ketacost._errors import FileIssue, RuleFileError
from ketacost._limits import MAX_ISSUES
from ketacost._source import Loc, SourceMap, field_path, in_file_order, matched_path

__all__ = ["validate"]

M = TypeVar("M", bound=BaseModel)

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
    raise error_cls(in_file_order(issues), omitted=omitted) from None


def _without_echoes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop pydantic's ``too_short`` on a list whose items failed.

    It counts the items that validated (``after validation``), so it only echoes the item
    errors, and misleadingly.
    """
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
    path = matched_path(loc, lambda candidate: _walk(data, candidate)[0])
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
