"""Claim edits an estimate meets, as warnings a billing office can act on. Pure.

The check reads an estimate and the claim edits (:mod:`ketacost._claim_edits`) and says, in
plain words, where a payer will likely deny part of a claim: two codes billed on one date that
the payer does not pay together, or more units of a code on one date than it pays. It never
drops or changes a line or an amount: the estimate still counts every line, and the warning
says so.

Rules, each tested:

* Only lines the plan covers are claims the payer adjudicates; a line it does not cover is
  already priced as not covered, so edits are checked over covered lines.
* Lines are grouped by date of service and payer: every visit of the estimate on one date is
  one clinic's claim for that date.
* A same-day pair applies when both codes are billed on the date. When either code's line
  carries one of the edit's ``bypass_modifiers`` (NCCI modifier indicator 1: 25, 59, XU...),
  the modifier says the services were distinct and no warning is given (the estimate trusts
  the clinic's coding; the medical record must support the modifier).
* A unit limit applies when the units of the code over the date's lines exceed the limit in
  force on the date.
* One warning per edit and payer, naming the dates it applies on (three or fewer listed,
  otherwise counted with the first and last); warnings are sorted by first date, then text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from ._claim_edits import ClaimEdit, ClaimEdits, SameDayPair, UnitLimit
from ._dated import NoValueInForceError
from ._estimate import Estimate, EstimateLine

__all__ = ["claim_edit_warnings", "with_claim_edit_warnings"]

#: Lines of one date of service billed to one payer.
_Day = tuple[date, str]


def _claims(estimate: Estimate) -> dict[_Day, list[EstimateLine]]:
    days: dict[_Day, list[EstimateLine]] = {}
    for visit in estimate.visits:
        covered = [line for line in visit.lines if line.covered]
        if covered:
            days.setdefault((visit.date, visit.payer_id), []).extend(covered)
    return days


def _pair_met(edit: SameDayPair, lines: list[EstimateLine]) -> bool:
    pair = [line for line in lines if line.code in (edit.column_1, edit.column_2)]
    if {line.code for line in pair} != {edit.column_1, edit.column_2}:
        return False
    bypass = set(edit.bypass_modifiers)
    return not any(bypass.intersection(line.modifiers) for line in pair)


def _limit_met(edit: UnitLimit, on: date, lines: list[EstimateLine]) -> int | None:
    """The units over the limit's date, when they exceed it; else None."""
    try:
        most = edit.max_units_per_day.at(on)
    except NoValueInForceError:
        return None
    units = sum(line.units for line in lines if line.code == edit.code)
    return units if units > most else None


def _dates(days: list[date]) -> str:
    text = [d.isoformat() for d in days]
    if len(text) == 1:
        return text[0]
    if len(text) <= 3:
        return f"{', '.join(text[:-1])} and {text[-1]}"
    return f"{len(text)} dates from {text[0]} to {text[-1]}"


def _source(edits: ClaimEdits, edit: ClaimEdit) -> str:
    marked = " (illustrative)" if edit.illustrative or edits.metadata.illustrative else ""
    return f"{edits.name} edit {edit.id}{marked}"


def _pair_text(edits: ClaimEdits, edit: SameDayPair) -> str:
    if edit.denied == "either":
        outcome = "the payer pays only one of them"
    elif edit.bypass_modifiers:
        outcome = (
            f"{edit.column_2} is denied unless billed with modifier "
            f"{' or '.join(edit.bypass_modifiers)} for a distinct service"
        )
    else:
        outcome = f"{edit.column_2} is denied; no modifier lets both be paid"
    return (
        f"{edit.column_2} with {edit.column_1} on the same day: {edit.name} "
        f"[{_source(edits, edit)}]: {outcome} — the estimate still counts both; expect a denial"
    )


def _limit_text(edits: ClaimEdits, edit: UnitLimit, on: date, units: int) -> str:
    most = edit.max_units_per_day.at(on)
    return (
        f"{edit.code} × {units} units in one day, above the {most} a day the payer pays: "
        f"{edit.name} [{_source(edits, edit)}] — the estimate still counts all {units} units; "
        "expect a denial"
    )


def claim_edit_warnings(
    estimate: Estimate, edit_files: Iterable[ClaimEdits], payer_kinds: Mapping[str, str]
) -> tuple[str, ...]:
    """The warnings for the claim edits an estimate meets (empty when it meets none).

    Args:
        estimate: the estimate; it is only read.
        edit_files: the claim-edit files in force (a library's ``edits``).
        payer_kinds: payer id -> plan kind, for the payers of the estimate's visits.

    Example:
        A same-day pair met on one date gives ``"2027-01-04: 96372 with 96365 on the same
        day: ... — the estimate still counts both; expect a denial"``.
    """
    found: dict[str, list[date]] = {}
    for (on, payer_id), lines in sorted(_claims(estimate).items()):
        kind = payer_kinds.get(payer_id, "")
        codes = {line.code for line in lines}
        for edits in edit_files:
            for edit in edits.edits:
                # An edit about a code not billed on the date cannot be met (checked first:
                # most edits are about other codes).
                if isinstance(edit, SameDayPair):
                    if edit.column_1 not in codes or edit.column_2 not in codes:
                        continue
                elif edit.code not in codes:
                    continue
                if not (edit.in_force(on) and edit.applies_to(payer_id, kind)):
                    continue
                if isinstance(edit, SameDayPair):
                    if _pair_met(edit, lines):
                        found.setdefault(_pair_text(edits, edit), []).append(on)
                elif (units := _limit_met(edit, on, lines)) is not None:
                    found.setdefault(_limit_text(edits, edit, on, units), []).append(on)
    texts = [(days[0], f"{_dates(days)}: {text}") for text, days in found.items()]
    return tuple(text for _, text in sorted(texts))


def with_claim_edit_warnings(estimate: Estimate, payers: Mapping[str, Any]) -> Estimate:
    """The estimate with the warnings of the claim edits of ``payers`` (a payer library).

    The same object when the library carries no edits or the estimate meets none, so an
    estimate's bytes change only when it has something to warn about.
    """
    edit_files: Mapping[str, ClaimEdits] = getattr(payers, "edits", None) or {}
    if not edit_files:
        return estimate
    kinds = {
        visit.payer_id: payer.kind
        for visit in estimate.visits
        if (payer := payers.get(visit.payer_id)) is not None
    }
    warnings = claim_edit_warnings(estimate, edit_files.values(), kinds)
    if not warnings:
        return estimate
    return estimate.model_copy(update={"warnings": (*estimate.warnings, *warnings)})
