"""The payer library: every ``payers/*.yaml`` file of a folder, loaded all or nothing."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._claim_edits import ClaimEdits
from ._edit_files import scan_edits
from ._errors import FileIssue, PayerFileError, UnknownPayerError
from ._fee_schedule import PhysicianFeeSchedule
from ._fee_schedule_files import scan_fee_schedules, schedule_reference_issues
from ._limits import MAX_UNIT_RATE_CENTS
from ._loader import _payer, _program, read_document
from ._money import Money, round_half_up_cents
from ._paths import PayerDirSource, resolve_payer_dir
from ._payer import SCHEDULE_BASES, FeeSchedule, MedicareFeeSchedule, Payer, PercentOfPayer
from ._savings import SavingsProgram
from ._source import SourceMap, issue_at

__all__ = ["PayerLibrary", "check_payers", "default_payers", "load_payers", "stale_payers"]


class PayerLibrary(Mapping[str, Payer]):
    """An immutable mapping of payer id → :class:`Payer`, with where each came from.

    It also holds the manufacturer savings programs of the folder's ``programs/`` subfolder,
    the claim edits of its ``edits/`` subfolder (``edits``, by file id) and the physician fee
    schedules of its ``fee-schedules/`` subfolder (``fee_schedules``, by id).
    """

    def __init__(
        self,
        payers: Mapping[str, Payer],
        *,
        programs: Mapping[str, SavingsProgram] | None = None,
        edits: Mapping[str, ClaimEdits] | None = None,
        fee_schedules: Mapping[str, PhysicianFeeSchedule] | None = None,
        directory: Path | None = None,
        source: PayerDirSource | None = None,
        file_hashes: Mapping[str, str] | None = None,
    ) -> None:
        self._payers = dict(sorted(payers.items()))
        self.programs: Mapping[str, SavingsProgram] = dict(sorted((programs or {}).items()))
        self.edits: Mapping[str, ClaimEdits] = dict(sorted((edits or {}).items()))
        self.fee_schedules: Mapping[str, PhysicianFeeSchedule] = dict(
            sorted((fee_schedules or {}).items())
        )
        self.directory = directory
        self.source = source
        self.file_hashes: Mapping[str, str] = dict(file_hashes or {})

    def __getitem__(self, payer_id: str) -> Payer:
        try:
            return self._payers[payer_id]
        except KeyError:
            raise UnknownPayerError(payer_id, tuple(self._payers)) from None

    def __contains__(self, payer_id: object) -> bool:
        return payer_id in self._payers

    def get(self, payer_id: str, default: Any = None) -> Any:
        return self._payers.get(payer_id, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._payers)

    def __len__(self) -> int:
        return len(self._payers)

    def __repr__(self) -> str:
        return f"PayerLibrary({list(self._payers)}, directory={str(self.directory)!r})"


def _reference_issues(
    payers: Mapping[str, Payer], sources: Mapping[str, SourceMap]
) -> list[FileIssue]:
    """A ``percent_of_payer`` basis must name a payer in the library.

    That payer's in-network allowed amount must be its own fee schedule.
    """
    issues: list[FileIssue] = []
    for pid, payer in payers.items():
        for net_name, net in payer.networks.items():
            basis = net.allowed
            if not isinstance(basis, PercentOfPayer):
                continue
            loc = ("networks", net_name, "allowed", "payer")
            ref = payers.get(basis.payer)
            if ref is None:
                msg = f"payer {basis.payer!r} does not exist (known: {', '.join(sorted(payers))})"
            elif not (
                (ref_in := ref.networks.get("in")) is not None
                and isinstance(ref_in.allowed, SCHEDULE_BASES)
            ):
                msg = f"payer {basis.payer!r} has no in-network fee schedule to take a percent of"
            else:
                issues.extend(_percent_issues(sources[pid], net_name, basis, ref_in.allowed))
                continue
            issues.append(issue_at(sources[pid], loc, msg))
    return issues


def _percent_issues(
    source: SourceMap,
    net_name: str,
    basis: PercentOfPayer,
    schedule: FeeSchedule | MedicareFeeSchedule,
) -> list[FileIssue]:
    """A percent of another payer's fees stays within the per-unit ceiling, at its largest.

    The largest percent in force times the largest rate it could take a percent of must stay
    within the ceiling: a value an estimate could use, checked here rather than at estimate
    time; linear in the file's size.
    """
    rates = [(amount, code) for code, rate in schedule.rates.items() for amount in rate.values]
    if not rates:
        return []
    amount, code = max(rates, key=lambda found: found[0].cents)
    percent = max(basis.percent.values)
    unit = round_half_up_cents(amount.amount * percent)
    if unit <= MAX_UNIT_RATE_CENTS:
        return []
    message = (
        f"{percent} x {basis.payer}'s rate for {code} ({amount:$}) is "
        f"{Money.from_cents(unit):$} a unit, above the "
        f"{Money.from_cents(MAX_UNIT_RATE_CENTS):$} ceiling"
    )
    return [issue_at(source, ("networks", net_name, "allowed", "percent"), message)]


def _scan(
    directory: Path,
) -> tuple[
    dict[str, Payer],
    dict[str, SavingsProgram],
    dict[str, str],
    list[FileIssue],
    dict[str, ClaimEdits],
    dict[str, PhysicianFeeSchedule],
]:
    payers: dict[str, Payer] = {}
    programs: dict[str, SavingsProgram] = {}
    sources: dict[str, SourceMap] = {}
    hashes: dict[str, str] = {}
    issues: list[FileIssue] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        issues.append(FileIssue(str(directory), 0, 0, "", "no payer files (*.yaml) in the folder"))
    for path in files:
        try:
            data, source, raw = read_document(path, PayerFileError)
            payer = _payer(data, source, path.stem)
        except PayerFileError as exc:
            issues.extend(exc.issues)
            continue
        payers[payer.id] = payer
        sources[payer.id] = source
        hashes[payer.id] = hashlib.sha256(raw).hexdigest()
    for path in sorted((directory / "programs").glob("*.yaml")):
        try:
            data, source, raw = read_document(path, PayerFileError)
            program = _program(data, source, path.stem)
        except PayerFileError as exc:
            issues.extend(exc.issues)
            continue
        programs[program.id] = program
        hashes[f"programs/{program.id}"] = hashlib.sha256(raw).hexdigest()
    issues.extend(_reference_issues(payers, sources))
    edits, edit_hashes, edit_issues = scan_edits(directory, payers)
    hashes.update(edit_hashes)
    issues.extend(edit_issues)
    schedules, schedule_hashes, schedule_issues = scan_fee_schedules(directory)
    hashes.update(schedule_hashes)
    issues.extend(schedule_issues)
    issues.extend(schedule_reference_issues(payers, sources, schedules))
    return payers, programs, hashes, issues, edits, schedules


def load_payers(directory: str | os.PathLike[str] | None = None) -> PayerLibrary:
    """Load every payer file of a folder (see :func:`resolve_payer_dir` for the default).

    All or nothing: if any file has a problem, :class:`PayerFileError` lists every problem
    in every file and no library is returned.
    """
    path, how = resolve_payer_dir(directory)
    return _load(path, how)


def _load(path: Path, how: PayerDirSource) -> PayerLibrary:
    payers, programs, hashes, issues, edits, schedules = _scan(path)
    if issues:
        raise PayerFileError(issues)
    return PayerLibrary(
        payers,
        programs=programs,
        edits=edits,
        fee_schedules=schedules,
        directory=path,
        source=how,
        file_hashes=hashes,
    )


def check_payers(directory: str | os.PathLike[str] | None = None) -> list[FileIssue]:
    """Every problem in a payer folder (empty when all files are good)."""
    path, _ = resolve_payer_dir(directory)
    return _scan(path)[3]


def stale_payers(
    payers: Mapping[str, Payer], *, today: date, max_age_days: int = 365
) -> list[tuple[str, date, int]]:
    """Payers whose ``metadata.last_reviewed`` is older than ``max_age_days`` on ``today``.

    Each as (id, last_reviewed, age in days), oldest first. ``today`` is an input: no clock
    here.
    """
    cutoff = today - timedelta(days=max_age_days)
    stale = [
        (pid, p.metadata.last_reviewed, (today - p.metadata.last_reviewed).days)
        for pid, p in payers.items()
        if p.metadata.last_reviewed < cutoff
    ]
    return sorted(stale, key=lambda s: (s[1], s[0]))


@lru_cache(maxsize=8)
def _cached(directory: Path, how: PayerDirSource) -> PayerLibrary:
    return _load(directory, how)


def default_payers() -> PayerLibrary:
    """The payer library found by :func:`resolve_payer_dir`, loaded once per folder."""
    return _cached(*resolve_payer_dir())
