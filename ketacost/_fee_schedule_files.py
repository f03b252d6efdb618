"""Load physician fee schedule files (``payers/fee-schedules/<id>.yaml``).

Checked like every rule file: each problem is one line ``file:line:column: field: message``,
all or nothing. Across files: a payer may name only schedules of the folder
(``allowed.schedule``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import FileIssue, PayerFileError
from ._fee_schedule import PhysicianFeeSchedule, fee_schedule_issues
from ._limits import MAX_ISSUES
from ._loader import read_document
from ._payer import MedicareFeeSchedule, Payer
from ._source import SourceMap, in_file_order, issue_at
from ._validation import validate

__all__ = [
    "FEE_SCHEDULES_FOLDER",
    "fee_schedule_from_data",
    "load_fee_schedule",
    "scan_fee_schedules",
    "schedule_reference_issues",
]

#: The subfolder of a payer folder that holds the fee schedule files.
FEE_SCHEDULES_FOLDER = "fee-schedules"


def _schedule(data: Any, source: SourceMap, stem: str | None) -> PhysicianFeeSchedule:
    issues: list[FileIssue] = []
    if (
        stem is not None
        and isinstance(data, dict)
        and isinstance(data.get("id"), str)
        and data["id"] != stem
    ):
        message = (
            f"must equal the file name {stem!r}: {FEE_SCHEDULES_FOLDER}/<id>.yaml holds fee "
            f"schedule <id> (got {data['id']!r})"
        )
        issues.append(issue_at(source, ("id",), message))
    schedule = validate(PhysicianFeeSchedule, data, source, PayerFileError)
    issues += [issue_at(source, loc, message) for loc, message in fee_schedule_issues(schedule)]
    if issues:
        issues = in_file_order(issues)
        raise PayerFileError(issues[:MAX_ISSUES], omitted=len(issues[MAX_ISSUES:]))
    return schedule


def load_fee_schedule(path: str | os.PathLike[str]) -> PhysicianFeeSchedule:
    """Load and check one fee schedule file. Its ``id`` must equal the file's stem."""
    data, source, _ = read_document(path, PayerFileError)
    return _schedule(data, source, Path(path).stem)


def fee_schedule_from_data(
    data: Mapping[str, Any], *, source: str = "<fee schedule>"
) -> PhysicianFeeSchedule:
    """Validate a fee schedule given as Python data."""
    return _schedule(data, SourceMap.empty(source), None)


def scan_fee_schedules(
    directory: Path,
) -> tuple[dict[str, PhysicianFeeSchedule], dict[str, str], list[FileIssue]]:
    """Every fee schedule file of a payer folder: (schedules by id, hashes, issues)."""
    found: dict[str, PhysicianFeeSchedule] = {}
    hashes: dict[str, str] = {}
    issues: list[FileIssue] = []
    for path in sorted((directory / FEE_SCHEDULES_FOLDER).glob("*.yaml")):
        try:
            data, source, raw = read_document(path, PayerFileError)
            schedule = _schedule(data, source, path.stem)
        except PayerFileError as exc:
            issues.extend(exc.issues)
            continue
        found[schedule.id] = schedule
        hashes[f"{FEE_SCHEDULES_FOLDER}/{schedule.id}"] = hashlib.sha256(raw).hexdigest()
    return found, hashes, issues


def schedule_reference_issues(
    payers: Mapping[str, Payer],
    sources: Mapping[str, SourceMap],
    schedules: Mapping[str, PhysicianFeeSchedule],
) -> list[FileIssue]:
    """A ``medicare_fee_schedule`` basis names schedules of the folder."""
    issues: list[FileIssue] = []
    for pid, payer in payers.items():
        for net_name, net in payer.networks.items():
            basis = net.allowed
            if not isinstance(basis, MedicareFeeSchedule):
                continue
            for name in basis.schedule.values:
                if name not in schedules:
                    known = ", ".join(sorted(schedules)) or "none"
                    message = (
                        f"fee schedule {name!r} does not exist in {FEE_SCHEDULES_FOLDER}/ "
                        f"(known: {known})"
                    )
                    loc = ("networks", net_name, "allowed", "schedule")
                    issues.append(issue_at(sources[pid], loc, message))
    return issues
