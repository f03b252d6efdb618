"""Load payer, clinic and request files: YAML/JSON text → validated models, all or nothing.

Every problem becomes a :class:`~ketacost.RuleFileError` subclass whose message names
``file:line:column``, the field path, what was expected and what was found. Nothing is
returned unless everything validated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from ._checks import request_problems
from ._clinic import Clinic, clinic_issues
from ._errors import (
    ClinicFileError,
    FileIssue,
    PayerFileError,
    RequestFileError,
    RuleFileError,
)
from ._json_parser import parse_json
from ._limits import MAX_ISSUES, MAX_RULE_FILE_BYTES
from ._payer import Payer, payer_issues
from ._request import EstimateRequest
from ._savings import SavingsProgram
from ._source import SourceMap, issue_at, position_of_byte, too_large_issue
from ._validation import validate
from ._yaml_parser import parse_yaml

__all__ = [
    "Syntax",
    "clinic_from_bytes",
    "clinic_from_data",
    "load_clinic",
    "load_payer",
    "load_program",
    "load_request",
    "parse_document",
    "payer_from_bytes",
    "payer_from_data",
    "program_from_data",
    "read_document",
    "request_from_bytes",
    "request_from_data",
]

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


#: How a document is parsed: ``json``, ``yaml``, or ``None`` for "by its name" (``.json``
#: is JSON, anything else YAML).
Syntax = Literal["json", "yaml"] | None


def read_document(
    path: str | os.PathLike[str], error_cls: type[RuleFileError]
) -> tuple[Any, SourceMap, bytes]:
    """Read and parse a YAML (or ``.json``) file; returns (data, source map, raw bytes)."""
    name = os.fspath(path)
    try:
        with Path(path).open("rb") as f:
            # Refused at once, before reading it all: a rule file is a few KiB.
            raw = f.read(MAX_RULE_FILE_BYTES + 1)
    except OSError as exc:
        raise error_cls(
            [FileIssue(name, 0, 0, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    data, source = parse_document(raw, name, error_cls)
    return data, source, raw


def parse_document(
    raw: bytes, name: str, error_cls: type[RuleFileError], *, syntax: Syntax = None
) -> tuple[Any, SourceMap]:
    """Parse the bytes of a YAML or JSON document, with a file's checks and positions.

    Args:
        raw: the document's bytes (at most ``MAX_RULE_FILE_BYTES``; one byte more is read to
            tell a file that is too large).
        name: how errors name it (a path, or ``<stdin>``).
        error_cls: the error a bad document raises (naming ``name``, line and column).
        syntax: ``json`` or ``yaml``; ``None`` decides by ``name`` (``.json`` is JSON).

    Returns:
        The parsed data and its source map.

    Raises:
        RuleFileError: too large, not UTF-8, or not well-formed (as ``error_cls``).
    """
    too_large = too_large_issue(len(raw), name)
    if too_large is not None:
        raise error_cls([too_large])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = position_of_byte(raw, exc.start)
        message = f"not UTF-8 text: byte {raw[exc.start]:#04x} at byte offset {exc.start}"
        raise error_cls([FileIssue(name, line, column, "", message)]) from None
    if syntax == "json" or (syntax is None and name.endswith(".json")):
        return parse_json(text, name, error_cls)
    return parse_yaml(text, name, error_cls)


def _checked(
    model: type[M],
    data: Any,
    source: SourceMap,
    error_cls: type[RuleFileError],
    extra: list[FileIssue],
    semantic: Any,
) -> M:
    obj = validate(model, data, source, error_cls)
    issues = list(extra)
    for loc, message in semantic(obj):
        issues.append(issue_at(source, loc, message))
    if issues:
        issues.sort(key=lambda i: (i.line, i.column))
        raise error_cls(issues[:MAX_ISSUES], omitted=len(issues[MAX_ISSUES:]))
    return obj


def _stem_issues(data: Any, source: SourceMap, stem: str | None, kind: str) -> list[FileIssue]:
    """A rule file's ``id`` must equal its file name (``payers/<id>.yaml`` holds payer <id>)."""
    if stem is None or not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return []
    if data["id"] == stem:
        return []
    folder = "payers" if kind == "payer" else "programs"
    return [
        issue_at(
            source,
            ("id",),
            f"must equal the file name {stem!r}: {folder}/<id>.yaml holds {kind} <id> "
            f"(got {data['id']!r})",
        )
    ]


def _payer(data: Any, source: SourceMap, stem: str | None) -> Payer:
    extra = _stem_issues(data, source, stem, "payer")
    return _checked(Payer, data, source, PayerFileError, extra, payer_issues)


def load_payer(path: str | os.PathLike[str]) -> Payer:
    """Load and check one payer file. Its ``id`` must equal the file's stem.

    Cross-payer references (``percent_of_payer``) are checked by :func:`load_payers`.
    """
    data, source, _ = read_document(path, PayerFileError)
    return _payer(data, source, Path(path).stem)


def payer_from_bytes(raw: bytes, *, name: str, syntax: Syntax = None) -> Payer:
    """Check a payer file's bytes, read from somewhere other than its file (``<stdin>``).

    The checks of :func:`load_payer` except that the ``id`` must equal the file's name.

    Args:
        raw: the document's bytes.
        name: how errors name it.
        syntax: see :func:`parse_document`.

    Returns:
        The payer.
    """
    data, source = parse_document(raw, name, PayerFileError, syntax=syntax)
    return _payer(data, source, None)


def payer_from_data(data: Mapping[str, Any], *, source: str = "<payer>") -> Payer:
    """Validate a payer given as Python data (the same checks as a file, without lines)."""
    return _payer(data, SourceMap.empty(source), None)


def _program(data: Any, source: SourceMap, stem: str | None) -> SavingsProgram:
    extra = _stem_issues(data, source, stem, "program")
    return _checked(SavingsProgram, data, source, PayerFileError, extra, lambda _: [])


def load_program(path: str | os.PathLike[str]) -> SavingsProgram:
    """Load and check one manufacturer savings program file (``programs/<id>.yaml``)."""
    data, source, _ = read_document(path, PayerFileError)
    return _program(data, source, Path(path).stem)


def program_from_data(data: Mapping[str, Any], *, source: str = "<program>") -> SavingsProgram:
    """Validate a savings program given as Python data."""
    return _program(data, SourceMap.empty(source), None)


def _clinic(data: Any, source: SourceMap) -> Clinic:
    return _checked(Clinic, data, source, ClinicFileError, [], clinic_issues)


def load_clinic(path: str | os.PathLike[str]) -> Clinic:
    """Load and check a clinic file."""
    data, source, _ = read_document(path, ClinicFileError)
    return _clinic(data, source)


def clinic_from_bytes(raw: bytes, *, name: str, syntax: Syntax = None) -> Clinic:
    """Check a clinic document's bytes (from standard input, say) as :func:`load_clinic`.

    Args:
        raw: the document's bytes.
        name: how errors name it.
        syntax: see :func:`parse_document`.

    Returns:
        The clinic.
    """
    data, source = parse_document(raw, name, ClinicFileError, syntax=syntax)
    return _clinic(data, source)


def clinic_from_data(data: Mapping[str, Any], *, source: str = "<clinic>") -> Clinic:
    """Validate a clinic given as Python data."""
    return _clinic(data, SourceMap.empty(source))


def _request(
    data: Any,
    source: SourceMap,
    payers: Mapping[str, Payer] | None,
    base: Path | None,
) -> EstimateRequest:
    if isinstance(data, dict) and isinstance(data.get("clinic"), str):
        data = {**data, "clinic": load_clinic(_clinic_path(data["clinic"], source, base))}
    return _checked(
        EstimateRequest,
        data,
        source,
        RequestFileError,
        [],
        lambda req: request_problems(req, payers),
    )


_CLINIC_SUFFIXES = (".yaml", ".yml", ".json")


def _clinic_path(clinic_ref: str, source: SourceMap, base: Path | None) -> Path:
    """The clinic file a request names, checked before it is opened.

    A request names a clinic file, never any other file (whose first bytes an error would
    otherwise echo).
    """
    clinic_path = Path(clinic_ref)
    if base is not None and not clinic_path.is_absolute():
        clinic_path = base / clinic_path
    problem = None
    if clinic_path.suffix.lower() not in _CLINIC_SUFFIXES:
        problem = f"a clinic file's name ends in .yaml, .yml or .json (got {clinic_ref!r})"
    elif not clinic_path.is_file():
        problem = f"clinic file {clinic_ref!r} not found (looked at {clinic_path})"
    if problem is not None:
        raise RequestFileError([issue_at(source, ("clinic",), problem)])
    return clinic_path


def load_request(
    path: str | os.PathLike[str], *, payers: Mapping[str, Payer] | None = None
) -> EstimateRequest:
    """Load a request file (YAML or JSON).

    ``clinic:`` may name a clinic file, relative to the request file, or hold the clinic
    inline. With ``payers``, the payer id is checked.
    """
    data, source, _ = read_document(path, RequestFileError)
    return _request(data, source, payers, Path(path).parent)


def request_from_bytes(
    raw: bytes,
    *,
    name: str,
    base_dir: str | os.PathLike[str],
    payers: Mapping[str, Payer] | None = None,
    syntax: Syntax = None,
) -> EstimateRequest:
    """Check a request document's bytes (from standard input, say) as :func:`load_request`.

    Args:
        raw: the document's bytes.
        name: how errors name it.
        base_dir: the folder a clinic file it names is relative to.
        payers: with them, the payer id is checked.
        syntax: see :func:`parse_document`.

    Returns:
        The request.
    """
    data, source = parse_document(raw, name, RequestFileError, syntax=syntax)
    return _request(data, source, payers, Path(base_dir))


def request_from_data(
    data: Mapping[str, Any] | str | bytes,
    *,
    payers: Mapping[str, Payer] | None = None,
    source: str = "<request>",
) -> EstimateRequest:
    """Validate a request given as Python data or as JSON text."""
    if isinstance(data, str | bytes):
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        parsed, smap = parse_json(text, source, RequestFileError)
        return _request(parsed, smap, payers, None)
    return _request(dict(data), SourceMap.empty(source), payers, None)
