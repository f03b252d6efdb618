"""Load claim-edit files (``payers/edits/<id>.yaml``): checked like every rule file.

Each problem is one line ``file:line:column: field: message``; nothing is returned unless
every file of the folder validated. Across files: an edit may name only payers of the folder,
and two files may not hold the same edit (the same codes for a common payer on common dates).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._claim_edits import ClaimEdit, ClaimEdits, claim_edits_issues
from ._errors import FileIssue, PayerFileError
from ._limits import MAX_ISSUES
from ._loader import read_document
from ._payer import Payer
from ._source import SourceMap, in_file_order, issue_at
from ._validation import validate

__all__ = ["EDITS_FOLDER", "edits_from_data", "load_edits", "scan_edits"]

#: The subfolder of a payer folder that holds the claim-edit files.
EDITS_FOLDER = "edits"

_Seen = dict[tuple[str, ...], list[tuple[str, ClaimEdit]]]


def _stem_issue(data: Any, source: SourceMap, stem: str | None) -> list[FileIssue]:
    if stem is None or not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return []
    if data["id"] == stem:
        return []
    message = (
        f"must equal the file name {stem!r}: edits/<id>.yaml holds claim edits <id> "
        f"(got {data['id']!r})"
    )
    return [issue_at(source, ("id",), message)]


def _payer_issues(
    edit_file: ClaimEdits, source: SourceMap, payers: Mapping[str, Payer] | None
) -> list[FileIssue]:
    """An edit may name only payers of the library (a misspelt id would never apply)."""
    if payers is None:
        return []
    issues = []
    for i, edit in enumerate(edit_file.edits):
        for j, payer_id in enumerate(edit.payers):
            if payer_id not in payers:
                known = ", ".join(sorted(payers))
                message = f"payer {payer_id!r} does not exist (known: {known})"
                issues.append(issue_at(source, ("edits", i, "payers", j), message))
    return issues


def _edits(
    data: Any,
    source: SourceMap,
    stem: str | None,
    payers: Mapping[str, Payer] | None = None,
    seen: _Seen | None = None,
) -> ClaimEdits:
    stem_issues = _stem_issue(data, source, stem)
    edit_file = validate(ClaimEdits, data, source, PayerFileError)
    issues = [
        *stem_issues,
        *(issue_at(source, loc, message) for loc, message in claim_edits_issues(edit_file, seen)),
        *_payer_issues(edit_file, source, payers),
    ]
    if issues:
        issues = in_file_order(issues)
        raise PayerFileError(issues[:MAX_ISSUES], omitted=len(issues[MAX_ISSUES:]))
    return edit_file


def load_edits(
    path: str | os.PathLike[str], *, payers: Mapping[str, Payer] | None = None
) -> ClaimEdits:
    """Load and check one claim-edit file. Its ``id`` must equal the file's stem.

    With ``payers``, the payer ids the edits name are checked.
    """
    data, source, _ = read_document(path, PayerFileError)
    return _edits(data, source, Path(path).stem, payers)


def edits_from_data(data: Mapping[str, Any], *, source: str = "<edits>") -> ClaimEdits:
    """Validate a claim-edit file given as Python data."""
    return _edits(data, SourceMap.empty(source), None)


def scan_edits(
    directory: Path, payers: Mapping[str, Payer]
) -> tuple[dict[str, ClaimEdits], dict[str, str], list[FileIssue]]:
    """Every claim-edit file of a payer folder's ``edits/``: (files by id, hashes, issues)."""
    found: dict[str, ClaimEdits] = {}
    hashes: dict[str, str] = {}
    issues: list[FileIssue] = []
    seen: _Seen = {}
    for path in sorted((directory / EDITS_FOLDER).glob("*.yaml")):
        try:
            data, source, raw = read_document(path, PayerFileError)
            edit_file = _edits(data, source, path.stem, payers, seen)
        except PayerFileError as exc:
            issues.extend(exc.issues)
            continue
        found[edit_file.id] = edit_file
        hashes[f"{EDITS_FOLDER}/{edit_file.id}"] = hashlib.sha256(raw).hexdigest()
    return found, hashes, issues
