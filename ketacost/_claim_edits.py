"""Claim edits, declared as data: same-day code pairs and per-day unit limits.

A file ``payers/edits/<id>.yaml`` holds edits a payer applies when it processes a claim, each
with its dates and its source. Two kinds:

* ``same-day-pair``: a column 1 and a column 2 code the payer does not pay together for one
  patient on one date of service, the way a CMS NCCI procedure-to-procedure (PTP) edit does:
  the column 1 code is paid and the column 2 code denied. ``bypass_modifiers`` are the
  modifiers that let both be paid (an NCCI modifier indicator of 1); none means no modifier
  does (indicator 0). ``denied: either`` is for a source that says only "not on the same
  day", without saying which code the payer denies.
* ``unit-limit``: the most units of one code the payer pays for one patient on one date of
  service (a CMS medically unlikely edit, MUE, or a payer's quantity limit).

Each edit names the payers it applies to, by id or by plan kind (``payer_kinds: [medicare]``).
Edits never change an estimate's lines or amounts: :mod:`ketacost._edit_warnings` turns the ones
an estimate meets into warnings (a claim the payer will likely deny in part), so that nothing is
silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from ._dated import Dated
from ._payer import PayerKind, PayerMetadata, Reference
from ._types import Code, Day, Int, Model, Modifier, Slug

__all__ = [
    "ClaimEdit",
    "ClaimEdits",
    "SameDayPair",
    "UnitLimit",
    "claim_edits_issues",
]

Loc = tuple[str | int, ...]

#: The most units of one code a unit limit may allow per day (a drug's mg units stay far below).
MAX_UNITS_PER_DAY = 100_000


class _EditBase(Model):
    id: Slug = Field(description="unique in its file; warnings name it")
    name: str = Field(min_length=1, max_length=200, description="what the edit is, in a few words")
    payers: tuple[Slug, ...] = Field(default=(), description="payer ids it applies to")
    payer_kinds: tuple[PayerKind, ...] = Field(
        default=(), description="plan kinds it applies to (every payer of the kind)"
    )
    effective_from: Day = Field(description="first date of service the edit applies to")
    effective_until: Day | None = Field(
        default=None, description="last date of service it applies to, inclusive"
    )
    reference: tuple[Reference, ...] = Field(min_length=1, description="where the edit is")
    illustrative: StrictBool = Field(
        default=False, description="true when the edit is not from a published edit table"
    )

    def in_force(self, on: date) -> bool:
        """Whether the edit applies to a date of service."""
        return on >= self.effective_from and (
            self.effective_until is None or on <= self.effective_until
        )

    def applies_to(self, payer_id: str, kind: str) -> bool:
        """Whether the edit applies to a payer (by its id or its kind)."""
        return payer_id in self.payers or kind in self.payer_kinds


class SameDayPair(_EditBase):
    """Two codes a payer does not pay together on one date of service (an NCCI PTP edit)."""

    kind: Literal["same-day-pair"]
    column_1: Code = Field(description="the code the payer pays")
    column_2: Code = Field(description="the code the payer denies when both are billed")
    bypass_modifiers: tuple[Modifier, ...] = Field(
        default=(),
        description="modifiers that let both be paid when either line carries one (NCCI "
        "modifier indicator 1); empty: no modifier does (indicator 0)",
    )
    denied: Literal["column-2", "either"] = Field(
        default="column-2",
        description="which code the payer denies: the column 2 code (NCCI), or either one "
        "(a source that says only 'not on the same day')",
    )


class UnitLimit(_EditBase):
    """The most units of one code a payer pays on one date of service (an MUE)."""

    kind: Literal["unit-limit"]
    code: Code
    max_units_per_day: Dated[Annotated[Int, Field(ge=1, le=MAX_UNITS_PER_DAY)]] = Field(
        description="units of the code over all lines of one date of service"
    )


ClaimEdit = Annotated[SameDayPair | UnitLimit, Field(discriminator="kind")]


class ClaimEdits(Model):
    """One claim-edit file. The file ``payers/edits/<id>.yaml`` holds edits ``<id>``."""

    id: Slug
    name: str = Field(min_length=1, description="the edits' source, e.g. 'Medicare NCCI'")
    metadata: PayerMetadata
    edits: tuple[ClaimEdit, ...] = Field(min_length=1, max_length=1_000)


def _overlap(a: SameDayPair | UnitLimit, b: SameDayPair | UnitLimit) -> bool:
    """Whether two edits apply to a common payer (id or kind) on a common date."""
    scope = bool(set(a.payers) & set(b.payers) or set(a.payer_kinds) & set(b.payer_kinds))
    a_end = a.effective_until or date.max
    b_end = b.effective_until or date.max
    return scope and a.effective_from <= b_end and b.effective_from <= a_end


def _what(edit: SameDayPair | UnitLimit) -> tuple[str, ...]:
    """The codes an edit is about: two edits about the same codes must not overlap."""
    if isinstance(edit, SameDayPair):
        return ("same-day-pair", *sorted((edit.column_1, edit.column_2)))
    return ("unit-limit", edit.code)


def _edit_issues(loc: Loc, edit: SameDayPair | UnitLimit) -> Iterator[tuple[Loc, str]]:
    if not edit.payers and not edit.payer_kinds:
        yield loc, "an edit must name the payers or payer_kinds it applies to"
    if edit.effective_until is not None and edit.effective_until < edit.effective_from:
        yield (
            (*loc, "effective_until"),
            f"{edit.effective_until.isoformat()} is before effective_from "
            f"{edit.effective_from.isoformat()}",
        )
    if isinstance(edit, SameDayPair) and edit.column_1 == edit.column_2:
        yield (*loc, "column_2"), f"a pair needs two different codes (both are {edit.column_1})"
    if isinstance(edit, SameDayPair) and edit.bypass_modifiers and edit.denied == "either":
        yield (*loc, "bypass_modifiers"), "a pair denied either way has no bypass modifiers"
    if isinstance(edit, UnitLimit) and edit.max_units_per_day.change_dates():
        first = edit.max_units_per_day.change_dates()[0]
        if first > edit.effective_from:
            yield (
                (*loc, "max_units_per_day"),
                f"no limit in force from effective_from {edit.effective_from.isoformat()} "
                f"(the first date is {first.isoformat()})",
            )


def claim_edits_issues(
    edit_file: ClaimEdits, seen: dict[tuple[str, ...], list[tuple[str, ClaimEdit]]] | None = None
) -> list[tuple[Loc, str]]:
    """Cross-field problems of one file, each with the path of the field at fault.

    Two edits with one id, an edit that applies to no payer, dates the wrong way round, a pair
    of one code with itself, and two edits about the same codes for a common payer on a common
    date (a duplicate: which one applies?). ``seen`` carries the edits of the files checked
    before (the folder's other files) by the codes they are about, each as ``<file id>:<edit
    id>``; it is updated.
    """
    issues: list[tuple[Loc, str]] = []
    ids: dict[str, int] = {}
    known = {} if seen is None else seen
    for i, edit in enumerate(edit_file.edits):
        loc: Loc = ("edits", i)
        if edit.id in ids:
            message = f"duplicate edit id {edit.id!r} (first at edits[{ids[edit.id]}])"
            issues.append(((*loc, "id"), message))
        ids.setdefault(edit.id, i)
        issues.extend(_edit_issues(loc, edit))
        same = known.setdefault(_what(edit), [])
        clash = next((label for label, other in same if _overlap(edit, other)), None)
        if clash is not None:
            message = (
                f"duplicate edit: {clash} is about the same codes for a payer it also applies "
                "to, on overlapping dates"
            )
            issues.append((loc, message))
        same.append((f"{edit_file.id}:{edit.id}", edit))
    return issues
