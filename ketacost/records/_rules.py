"""Which rule files an estimate was made with, and their bytes (stored once by content hash).

The payer library loads all or nothing and its files refer to one another (claim edits name
payers, a ``percent_of_payer`` basis names another payer, a Medicare basis names a fee
schedule), so a subset of a folder may not load on its own. :func:`rule_files_of` therefore
returns every file of the library (each stored once, by content hash, however many estimates
use it) and :func:`used_rule_paths` says which of them the estimate's coverage read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ketacost._errors import KetacostError
from ketacost._library import PayerLibrary
from ketacost._payer import MedicareFeeSchedule, Payer, PercentOfPayer
from ketacost._request import Coverage, EstimateRequest

__all__ = ["CLINIC_FILE", "RuleFilesError", "rule_files_of", "used_rule_paths"]

#: The key under which the request's clinic (its canonical JSON) is stored with the rule files.
CLINIC_FILE = "clinic.json"


class RuleFilesError(KetacostError, ValueError):
    """The rule files of an estimate cannot be read as the estimate read them."""


def _path_of(key: str) -> str:
    """The file of a library hash key: ``id`` -> ``id.yaml``, ``programs/id`` -> ``.../id.yaml``."""
    return f"{key}.yaml"


def rule_files_of(request: EstimateRequest, payers: PayerLibrary) -> dict[str, bytes]:
    """Every rule file of the library the estimate used (path -> bytes), and the clinic.

    The bytes are checked against the hashes taken when the library was loaded: a file changed
    on disk since then is refused (the bytes stored must be the ones estimated with).

    Raises:
        RuleFilesError: the library has no folder (built in memory), or a file changed.
    """
    if payers.directory is None or not payers.file_hashes:
        raise RuleFilesError(
            "the payer library was not loaded from a folder, so its rule files cannot be "
            "stored; load it with ketacost.load_payers(DIR)"
        )
    out: dict[str, bytes] = {}
    for key, digest in sorted(payers.file_hashes.items()):
        rel = _path_of(key)
        raw = (Path(payers.directory) / rel).read_bytes()
        if hashlib.sha256(raw).hexdigest() != digest:
            raise RuleFilesError(
                f"{rel} in {payers.directory} changed after the payer library was loaded; "
                "load it again and re-estimate"
            )
        out[rel] = raw
    out[CLINIC_FILE] = request.clinic.model_dump_json().encode()
    return out


def _coverages(request: EstimateRequest) -> list[Coverage]:
    found: list[Coverage] = []
    for cov in (request.coverage, *request.coverage_periods):
        found.append(cov)
        if cov.secondary is not None:
            found.append(cov.secondary)
    return found


def _referenced(payer: Payer) -> tuple[set[str], set[str]]:
    """(payers, fee schedules) a payer's networks take their allowed amounts from."""
    others: set[str] = set()
    schedules: set[str] = set()
    for net in payer.networks.values():
        if isinstance(net.allowed, PercentOfPayer):
            others.add(net.allowed.payer)
        elif isinstance(net.allowed, MedicareFeeSchedule):
            schedules.update(net.allowed.schedule.values)
    return others, schedules


def used_rule_paths(request: EstimateRequest, payers: PayerLibrary) -> set[str]:
    """The files (as keyed by :func:`rule_files_of`) the request's coverage reads."""
    coverages = _coverages(request)
    todo = [c.payer for c in coverages]
    seen_payers: set[str] = set()
    schedules: set[str] = set()
    while todo:
        pid = todo.pop()
        if pid in seen_payers or pid not in payers:
            continue
        seen_payers.add(pid)
        others, used_schedules = _referenced(payers[pid])
        todo.extend(others)
        schedules |= used_schedules
    used = {f"{p}.yaml" for p in seen_payers}
    used |= {f"programs/{c.savings_program}.yaml" for c in coverages if c.savings_program}
    used |= {f"fee-schedules/{s}.yaml" for s in schedules}
    for eid, edits in payers.edits.items():
        if any(e.applies_to(p, payers[p].kind) for e in edits.edits for p in seen_payers):
            used.add(f"edits/{eid}.yaml")
    used.add(CLINIC_FILE)
    return used
